"""The bounds of an FC layer on VTA, and the cost model the default FC schedule chooses its tiles by.

:func:`fc_bounds` is the one definition of the two lower bounds of ``epilogue(x · wᵀ)`` (B×K by N×K):

* **bus bound**: every operand byte crosses the memory bus once, ``(K·N + B·K + B·N) / bus bytes`` cycles
  (int8 weights, inputs and outputs);
* **ISA bound**: the micro-ops the compute module issues one per cycle, in sequence,
  ``⌈B/BATCH⌉·⌈K/BLOCK_IN⌉·⌈N/BLOCK_OUT⌉`` GEMM plus ``⌈B/BATCH⌉·⌈N/BLOCK_OUT⌉`` for the accumulator
  reset and for each epilogue ALU instruction.

No schedule runs faster than the larger of the two.

:func:`choose_tiling` picks the default schedule's tiles: for each candidate tiling (batch, output and
input blocks per tile, weight buffer slots, input resident or streamed) :func:`predict_cycles` plays the
schedule's three pipeline stages step by step (load, compute, store, the token waits between them and
the slots they free), with the first load and the last epilogue and store in the count, and the
candidate with the fewest predicted cycles wins (ties: fewer instructions, then the earlier candidate,
so the choice is deterministic).  The per-instruction costs in :data:`COSTS` were measured on the
cycle-level backends (``vta bench --fc-table`` prints prediction and measurement side by side).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

from hw.config import VTAConfig
from sw.pack import n_blocks
from sw.uops import MAX_LOOP_EXTENT

__all__ = ["FCBounds", "fc_bounds", "Tiling", "COSTS", "predict_cycles", "choose_tiling",
           "fill_order", "early_reset"]

#: The most weight buffer slots the default schedule rotates through.
MAX_WGT_SLOTS = 8


@dataclass(frozen=True)
class FCBounds:
    """The two lower bounds of an FC layer, in cycles, and their larger."""
    bus: float
    isa: int

    @property
    def bound(self) -> float:
        return max(self.bus, self.isa)

    def ratio(self, cycles) -> float:
        """``cycles`` over the larger bound."""
        return cycles / self.bound

    def as_dict(self) -> dict:
        return {"bus_bound_cycles": round(self.bus, 2), "isa_bound_cycles": self.isa,
                "bound_cycles": round(self.bound, 2)}


def fc_bounds(batch: int, in_features: int, out_features: int, cfg: VTAConfig | None = None,
              n_alu: int = 0) -> FCBounds:
    """The bus and ISA bounds of an FC layer of ``batch`` × ``in_features`` → ``out_features`` with
    ``n_alu`` epilogue ALU instructions (:func:`sw.fc.epilogue_ops`) on configuration ``cfg``."""
    cfg = cfg or VTAConfig()
    B, K, N = batch, in_features, out_features
    bus = (K * N + B * K + B * N) / cfg.bus_bytes
    bb, kb, nb = n_blocks(B, cfg.batch), n_blocks(K, cfg.block_in), n_blocks(N, cfg.block_out)
    isa = bb * kb * nb + bb * nb * (1 + n_alu)
    return FCBounds(bus, isa)


@dataclass(frozen=True)
class Tiling:
    """A tiling of the default schedule, in blocks.

    Members
    -------
    tb, tn, tk : int       batch, output and input blocks per tile (the last tile of each may be smaller)
    resident : bool        the input rows of a batch tile stay in inp SRAM for all its output tiles
                           (loaded piece by piece along the first output tile); else streamed per step
    wgt_slots : int        weight (and streamed input) buffer slots the steps rotate through
    inp_regions : int      resident input regions (2 when batch tiles alternate)
    acc_slots : int        accumulator slots the output tiles alternate between
    nbt, ntn, nkt : int    tile counts
    tk0 : int              input blocks of each output tile's last step when smaller than ``tk`` (a
                           short last step shortens the wait of the first tile on its resident input
                           and the drain); 0: steps split evenly
    tn_last : int          output blocks of the last output tile of each batch tile when smaller than
                           ``tn`` (a narrow last tile shortens the drain); 0: tiles split evenly
    tn_first : int         output blocks of the first output tile of each batch tile when smaller than
                           ``tn``: a narrow first tile shortens the first weight load, which nothing
                           overlaps (what compute-bound layers lose at the start); 0: no such tile
    tb_last : int          batch blocks of the last batch tile when smaller than ``tb``: its epilogue
                           and store are the drain nothing overlaps (the weights are read once more
                           for it); 0: batch tiles split evenly
    split_drain : bool     the last output tile's epilogue and store go in two halves (rows, or columns
                           of a one-row tile), so the first half's store overlaps the second's epilogue
    """
    tb: int
    tn: int
    tk: int
    resident: bool
    wgt_slots: int
    inp_regions: int
    acc_slots: int
    nbt: int
    ntn: int
    nkt: int
    tk0: int = 0
    tn_last: int = 0
    tn_first: int = 0
    tb_last: int = 0
    split_drain: bool = False

    def b_split(self, bb: int) -> list[int]:
        """The batch blocks of each batch tile."""
        if self.tb_last and self.tb_last < bb:
            return _split(bb - self.tb_last, self.tb) + [self.tb_last]
        return _split(bb, self.tb)

    def k_split(self, kb: int) -> list[int]:
        """The input blocks of each step of an output tile."""
        if self.tk0 and self.tk0 < kb:
            return _split(kb - self.tk0, self.tk) + [self.tk0]
        return _split(kb, self.tk)

    def n_split(self, nb: int) -> list[int]:
        """The output blocks of each output tile of a batch tile."""
        head = [self.tn_first] if 0 < self.tn_first < nb else []
        rest = nb - sum(head)
        if self.tn_last and self.tn_last < rest:
            return head + _split(rest - self.tn_last, self.tn) + [self.tn_last]
        return head + _split(rest, self.tn)

    @property
    def n_steps(self) -> int:
        return self.nbt * self.ntn * self.nkt

    @property
    def n_tiles(self) -> int:
        return self.nbt * self.ntn


#: Per-instruction costs of the cost model, in cycles beyond the data it moves or the micro-ops it
#: issues: a load's memory round trip and set-up, a GEMM/ALU instruction's pipeline fill, a store's.
#: ``gap`` is what a load costs instead of ``load`` when it follows the one before on the bus (loads
#: overlap: its requests go out while the data of the one before still comes in).  ``row`` is the
#: fewest cycles a DMA row (one burst) takes, however few beats it has.
COSTS = {"load": 24, "gap": 4, "gemm": 8, "alu": 8, "store": 25, "start": 30, "row": 5}


def drain_chunks(t: Tiling, last: bool, tb: int, tn: int) -> list[tuple[int, int, int, int]]:
    """The pieces the epilogue and store of an output tile of ``tb`` x ``tn`` blocks go in, as
    ``(row, rows, column, columns)``: the whole tile, or for the last tile (``last``) with
    ``t.split_drain`` two halves of its rows (of its columns when it has one row)."""
    if last and t.split_drain and tb >= 2:
        return [(0, tb // 2, 0, tn), (tb // 2, tb - tb // 2, 0, tn)]
    if last and t.split_drain and tn >= 2:
        return [(0, 1, 0, tn // 2), (0, 1, tn // 2, tn - tn // 2)]
    return [(0, tb, 0, tn)]


def _split(total: int, size: int) -> list[int]:
    n = n_blocks(total, size)
    return [size] * (n - 1) + [total - size * (n - 1)]


def fill_order(t: Tiling, d) -> list:
    """The steps of tiling ``t`` over ``d`` (``bb, kb, nb`` blocks) in program order:
    ``(tile index, bt, nt, kt, b0, tb, n0, tn, k0, tk)`` per step."""
    out = []
    tile = 0
    ks = t.k_split(d.kb)
    b0 = 0
    for bt, tb in enumerate(t.b_split(d.bb)):
        n0 = 0
        for nt, tn in enumerate(t.n_split(d.nb)):
            k0 = 0
            for kt, tk in enumerate(ks):
                out.append((tile, bt, nt, kt, b0, tb, n0, tn, k0, tk))
                k0 += tk
            n0 += tn
            tile += 1
        b0 += tb
    return out


def _beats(cfg: VTAConfig, row_bytes: int, rows: int, elem_bytes: int) -> int:
    """Cycles a DMA of ``rows`` rows of ``row_bytes`` each (elements of ``elem_bytes``) keeps the bus
    busy: a beat a cycle, but an SRAM element a cycle at most when elements are narrower than the bus."""
    return rows * max(n_blocks(row_bytes, cfg.bus_bytes), row_bytes // elem_bytes, COSTS["row"])


def early_reset(t: Tiling, n_tiles: int) -> bool:
    """Whether the schedule resets the second output tile's acc slot right after the first's, at the
    start of the program: its slot is free then, and the reset fills time the compute unit would
    otherwise spend waiting for the first load."""
    return t.acc_slots >= 2 and n_tiles >= 2


def predict_cycles(t: Tiling, d, cfg: VTAConfig, n_alu: int, uops: int = 0, limit: float | None = None,
                   costs: dict | None = None) -> int:
    """Cycles the default schedule with tiling ``t`` takes on ``d`` blocks, by playing its pipeline:
    each step's loads wait for the GEMM that last used their slot, each GEMM for its loads, each reset
    for the store of the tile that last used its acc slot, each store for its tile's epilogue.

    With ``limit``, the play stops (returning a value above ``limit``) once it is known to exceed it."""
    c = costs or COSTS
    S, A = t.wgt_slots, t.acc_slots
    ib, wb, ob = cfg.inp_elem_bytes, cfg.wgt_elem_bytes, cfg.out_elem_bytes
    c_load, c_gap, c_gemm, c_alu, c_store = c["load"], c["gap"], c["gemm"], c["alu"], c["store"]
    memo: dict = {}

    def beats(row_bytes, rows, elem_bytes):
        k = (row_bytes, rows, elem_bytes)
        if k not in memo:
            memo[k] = _beats(cfg, row_bytes, rows, elem_bytes)
        return memo[k]

    gemm_done: list[int] = []
    store_done: list[int] = []
    uop_beats = n_blocks(uops * cfg.uop_elem_bytes, cfg.bus_bytes) if uops else 0   # a beat a cycle
    # The up-front micro-op load shares the read bus with the first input and weight loads.
    load_free = c["start"] + uop_beats
    store_free = c["start"]
    comp = c["start"] + (c_load + uop_beats if uops else 0)
    s = 0
    loads_done = 0
    ks = t.k_split(d.kb)
    tile = 0
    sizes = [(tb, tn) for tb in t.b_split(d.bb) for tn in t.n_split(d.nb)]
    for tb in t.b_split(d.bb):
        for nt, tn in enumerate(t.n_split(d.nb)):
            if tile >= A:
                comp = max(comp, store_done[tile - A])
            if tile == 0 and early_reset(t, len(sizes)):
                comp += sizes[1][0] * sizes[1][1] + c_gemm    # the second tile's reset, up front
            if tile != 1 or not early_reset(t, len(sizes)):
                comp += tb * tn + c_gemm              # reset
            for tk in ks:
                # A load waits for its slot (the GEMM that last used it), then for its data's round
                # trip, or, if the load before it is still receiving, only a ``gap`` behind that one.
                ready = gemm_done[s - S] if s >= S else 0
                for nbeats in ((beats(tk * ib, tb, ib),) if not t.resident or nt == 0 else ()) + (beats(tk * wb, tn, wb),):
                    if loads_done:
                        load_free = max(load_free + c_gap, ready + c_load) + nbeats
                    else:
                        load_free = max(load_free, ready) + c_load + nbeats
                    loads_done += 1
                start = load_free
                comp = max(comp, start) + tb * tn * tk + c_gemm
                gemm_done.append(comp)
                s += 1
            for _, rows, _, cols in drain_chunks(t, tile + 1 == len(sizes), tb, tn):
                comp += n_alu * (rows * cols + c_alu)
                store_free = max(store_free, comp) + c_store + beats(cols * ob, rows, ob)
            store_done.append(store_free)
            tile += 1
            if limit is not None and comp > limit:
                return int(limit) + 1
    return max(comp, store_free)


def _balanced(total: int, cap: int) -> tuple[int, int]:
    """Split ``total`` into the fewest tiles of at most ``cap``, evened out: (tile size, tile count)."""
    n = n_blocks(total, cap)
    return n_blocks(total, n), n


def _sizes(total: int, cap: int) -> list[int]:
    """Candidate tile sizes up to ``cap``: evened-out splits into 1, 2, 3, 4, 6, 8, ... tiles."""
    cap = min(cap, total)
    if cap < 1:
        return []
    out = set()
    n = n_blocks(total, cap)
    while True:
        size = n_blocks(total, n)
        out.add(size)
        if size == 1:
            break
        n = max(n + 1, int(n * 1.5))
    return sorted(out, reverse=True)


def candidates(cfg: VTAConfig, d):
    """Every tiling the default schedule may use on ``d`` blocks (all fit the SRAMs and loop fields)."""
    inp_d, wgt_d, acc_d, uop_d = cfg.inp_depth, cfg.wgt_depth, cfg.acc_depth, cfg.uop_depth
    min_nbt = n_blocks(d.bb, min(acc_d, MAX_LOOP_EXTENT))
    bound = max(d.kb * d.nb * cfg.wgt_elem_bytes / cfg.bus_bytes, d.bb * d.kb * d.nb)
    for tb in _sizes(d.bb, min(acc_d, MAX_LOOP_EXTENT)):
        tb, nbt = _balanced(d.bb, tb)
        # Weights are read once per batch tile: more batch tiles than needed only while that
        # traffic stays under the layer's larger bound.
        if nbt > min_nbt and nbt * d.kb * d.nb * cfg.wgt_elem_bytes / cfg.bus_bytes > bound:
            continue
        A = 2 if acc_d >= 2 * tb else 1
        for resident in (True, False):
            R = 1 if nbt == 1 else 2
            if resident and R * tb * d.kb > inp_d:
                continue
            kcap = min(MAX_LOOP_EXTENT, wgt_d // 2 if wgt_d >= 2 else 1)
            if not resident:
                kcap = min(kcap, inp_d // (2 * tb))
            for tk in _sizes(d.kb, kcap):
                nkt = n_blocks(d.kb, tk)
                ncap = min(wgt_d // (2 * tk) if wgt_d >= 2 * tk else wgt_d // tk, acc_d // A // tb,
                           uop_d // 4, MAX_LOOP_EXTENT)
                for tn in _sizes(d.nb, ncap):
                    ntn = n_blocks(d.nb, tn)
                    steps = nbt * ntn * nkt
                    smax = min(MAX_WGT_SLOTS, wgt_d // (tn * tk), steps)
                    if not resident:
                        smax = min(smax, inp_d // (tb * tk))
                    if resident and nbt > 1:
                        smax = min(smax, ntn * nkt)     # a batch tile's region is free S steps on
                    for S in sorted({min(smax, v) for v in (2, 3, 4, MAX_WGT_SLOTS)}):
                        if S < 1:
                            continue
                        yield Tiling(tb, tn, tk, resident, S, R if resident else 0, A if ntn * nbt > 1
                                     else 1, nbt, ntn, nkt)


def n_instructions(t: Tiling, n_alu: int) -> int:
    loads = t.n_steps * (1 if t.resident else 2) + (t.nbt * t.nkt if t.resident else 0)
    return loads + t.n_steps + t.n_tiles * (2 + n_alu)


def n_uops(t: Tiling, n_alu: int) -> int:
    """About how many micro-ops the schedule's kernels hold: a GEMM kernel of ``tn`` micro-ops per
    (weight slot, acc slot, input place) in use, a reset and the ALU kernels per acc slot."""
    places = t.nkt * t.inp_regions if t.resident else 1
    gemm = min(t.n_steps, t.wgt_slots * t.acc_slots * places) * t.tn
    return gemm + t.acc_slots * (1 + n_alu) * 2


def _estimate(t: Tiling, d, cfg: VTAConfig, n_alu: int) -> float:
    """A closed-form estimate of :func:`predict_cycles` (tiles of full size): the larger of the loads
    followed by the last tile's drain and the first load followed by all compute, with the wait of a
    first output tile whose resident input comes in along it."""
    c = COSTS
    ib, wb, ob = cfg.inp_elem_bytes, cfg.wgt_elem_bytes, cfg.out_elem_bytes
    steps = t.n_steps
    wstep = c["load"] + _beats(cfg, t.tk * wb, t.tn, wb)
    istep = c["load"] + _beats(cfg, t.tk * ib, t.tb, ib)
    saved = c["load"] - c["gap"]         # by each load but the first: it overlaps the one before
    gstep = t.tb * t.tn * t.tk + c["gemm"]
    epi = (1 + n_alu) * (t.tb * t.tn + c["alu"])
    n_iloads = t.nbt * t.nkt if t.resident else steps
    loads = steps * wstep + n_iloads * istep - (steps + n_iloads - 1) * saved
    compute = (d.bb * d.nb * (d.kb + 1 + n_alu) + steps * c["gemm"] + t.n_tiles * (1 + n_alu) * c["alu"]
               + c["load"] + n_blocks(n_uops(t, n_alu) * cfg.uop_elem_bytes, cfg.bus_bytes))
    store = c["store"] + _beats(cfg, t.tn * ob, t.tb, ob)
    fill = wstep + istep
    if t.resident:                       # the first output tile waits for its input pieces
        fill += max(0, t.nkt * (wstep + istep) - (t.nkt * gstep + epi))
    else:
        fill += max(0, steps * (wstep + istep - gstep) - t.n_tiles * epi)
    drain = gstep + epi + store
    return max(loads + drain, fill + compute + store)


@functools.lru_cache(maxsize=256)
def choose_tiling(cfg: VTAConfig, d, n_alu: int) -> tuple[Tiling, int]:
    """The candidate tiling with the fewest predicted cycles, and the prediction.

    A first pass ranks every tile shape by a closed-form estimate (the larger of total load and total
    compute time, plus the first step's load and the last tile's GEMM, epilogue and store); the best
    few shapes are then played step by step with :func:`predict_cycles`, with each slot count."""
    c = COSTS
    ib, wb, ob = cfg.inp_elem_bytes, cfg.wgt_elem_bytes, cfg.out_elem_bytes
    shapes: dict[tuple, list] = {}
    for t in candidates(cfg, d):
        shapes.setdefault((t.tb, t.tn, t.tk, t.resident), []).append(t)
    if not shapes:
        raise ValueError(f"no tiling of {d.bb}x{d.kb}x{d.nb} blocks fits the SRAMs of configuration "
                         f"{cfg.name}")
    ranked = []
    for idx, (key, ts) in enumerate(shapes.items()):
        ranked.append((_estimate(ts[0], d, cfg, n_alu), idx, ts))
    ranked.sort(key=lambda r: r[:2])
    best = None

    per_shape: dict[int, tuple] = {}

    def play(t, idx, bound=True):
        nonlocal best
        if t.resident and t.nbt > 1 and t.ntn * t.nkt < t.wgt_slots:
            return
        cyc = predict_cycles(t, d, cfg, n_alu, n_uops(t, n_alu),
                             limit=None if best is None or not bound else best[0][0])
        key = (cyc, n_instructions(t, n_alu), idx, t.wgt_slots, t.tk0, t.tn_last, t.tn_first)
        if best is None or key < best[0]:
            best = (key, t)
        if not bound and (idx not in per_shape or key < per_shape[idx][0]):
            per_shape[idx] = (key, t)

    def tails(t, tk0, tnl, tnf=0):
        t = dataclasses.replace(t, tk0=tk0, tn_last=tnl, tn_first=tnf)
        return dataclasses.replace(t, nkt=len(t.k_split(d.kb)), ntn=len(t.n_split(d.nb)))

    # The best shapes with each slot count, evenly split or with a narrow last output tile.
    for est, idx, ts in ranked[:6]:
        for t in ts:
            play(t, idx, bound=False)
            if 1 < t.tn < d.nb:
                play(tails(t, 0, max(1, t.tn // 4)), idx, bound=False)
    # A shorter last step of each output tile and a narrower last output tile, tried on the best
    # three shapes (their predictions are often within a fraction of a percent of each other).
    for _, (key, t0) in sorted(per_shape.items(), key=lambda kv: kv[1][0])[:3]:
        idx = key[2]
        tk0s = [0] + [v for v in sorted({1, 2, 4, t0.tk // 2}) if 1 <= v < t0.tk and v < d.kb]
        tnls = [0] + [v for v in sorted({1, 2, 4, t0.tn // 2}) if 1 <= v < t0.tn and v < d.nb]
        for tk0 in tk0s:
            for tnl in tnls:
                if tk0 or tnl:
                    play(tails(dataclasses.replace(t0, tk0=0, tn_last=0), tk0, tnl), idx)
    # A narrower first output tile, tried on the winner.
    t0, idx = best[1], best[0][2]
    for tnf in sorted({1, 2, 4, t0.tn // 2}):
        if 1 <= tnf < t0.tn and tnf < d.nb:
            play(tails(t0, t0.tk0, t0.tn_last, tnf), idx)
    # The last tile's epilogue and store in two halves, tried on the winner.
    play(dataclasses.replace(best[1], split_drain=True), best[0][2])
    # A narrower last batch tile, tried on the winner: a shorter drain for one more read of the weights.
    t0, idx = best[1], best[0][2]
    for tbl in sorted({1, 2, 4, t0.tb // 4, t0.tb // 2}):
        if 1 <= tbl < t0.tb and tbl < d.bb:
            t = dataclasses.replace(t0, tb_last=tbl)
            nbt = len(t.b_split(d.bb))
            regions = (1 if nbt == 1 else 2) if t.resident else 0
            if t.resident and regions * t.tb * d.kb > cfg.inp_depth:
                continue
            acc = 2 if cfg.acc_depth >= 2 * t.tb else 1
            t = dataclasses.replace(t, nbt=nbt, inp_regions=regions, acc_slots=acc)
            if t.resident and nbt > 1 and t.wgt_slots > t.ntn * t.nkt:
                continue
            play(t, idx)
    return best[1], best[0][0]
