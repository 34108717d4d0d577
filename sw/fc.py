"""The fully-connected-layer compiler: ``res = epilogue(x · wᵀ)`` on VTA.

``build_fc(x, w, shift=, clip=, relu=, schedule=, config=)`` packs the operands (:mod:`sw.pack`), builds
the instruction stream with :class:`sw.runtime.StreamBuilder` and returns an :class:`FCProgram`.

The epilogue, on VTA's ALU, per output tile: SHR by ``shift`` (split into steps of at most 15, since
the hardware reads a shift amount as a signed 5-bit value), MAX ``lo`` and MIN ``hi`` if ``clip``,
MAX 0 if ``relu``; the STORE keeps the low 8 bits.

Schedules (:data:`SCHEDULES`):

``tutorial``
    The seed tutorial's tiling (vta-reference §10): blocks of 256 output × 256 input channels, one
    buffer, for each block row a reset GEMM, one INP and one WGT load and a GEMM per 256×256 block, the
    ALU epilogue, and one single-element STORE per output element block.  One batch block at a time.
    Where 256-channel blocks do not fit the configuration's SRAMs the block is halved until it does
    (noted in ``FCProgram.tiles``).
``default``
    Tiles chosen by a cost model (:mod:`sw.fcplan`) that plays the pipeline for each candidate tiling,
    first load and last epilogue and store included, and keeps the one with the fewest predicted
    cycles.  Every micro-op kernel is loaded up front by one LOAD UOP and reused; the weights are read
    once per batch tile (once for the whole batch where the acc SRAM holds it); the steps rotate through
    up to 8 weight (and streamed input) slots, so loads run ahead of the GEMMs; two acc slots alternate
    so that the store of one output tile overlaps the next.  The input rows stay resident in inp SRAM
    when they fit (loaded piece by piece along the first output tile), else they stream with the
    weights; stores write whole tiles with multi-element rows.  Each output tile's last step and each
    batch tile's last output tile may be shorter than the rest, to shorten the pipeline's drain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hw.config import VTAConfig
from hw.isa import AluOp, MemType
from sw.fcplan import choose_tiling, drain_chunks, early_reset, fc_bounds, fill_order
from sw.pack import check_int8_matrix, n_blocks, pack_inp, pack_wgt, unpack_out
from sw.program import Program
from sw.runtime import (MAX_LOOP_EXTENT, STAGE_COMPUTE, STAGE_LOAD, STAGE_STORE, StreamBuilder,
                        UopKernel)

__all__ = ["SCHEDULES", "FCProgram", "build_fc", "epilogue_ops", "fc_reference", "TUTORIAL_CHANNELS"]

SCHEDULES = ("default", "tutorial")

#: The tutorial's block of channels (256 input × 256 output channels).
TUTORIAL_CHANNELS = 256

#: Largest shift one SHR performs under the hardware's rule (amount = low 5 bits read as signed).
_MAX_SHR_STEP = 15

_INT16 = (-(1 << 15), (1 << 15) - 1)
_MAX_FIELD16 = (1 << 16) - 1


def fc_reference(x: np.ndarray, w: np.ndarray, shift: int = 0, clip=None, relu: bool = False) -> np.ndarray:
    """The tutorial's numpy computation: int32 dot product, arithmetic ``>> shift``, ``clip(lo, hi)``
    if given, ``max(., 0)`` if ``relu``, then the low 8 bits, as int8 (B, N)."""
    acc = (np.asarray(x, dtype=np.int64) @ np.asarray(w, dtype=np.int64).T).astype(np.int32)
    acc = acc >> np.int32(shift)
    if clip is not None:
        acc = np.clip(acc, clip[0], clip[1])
    if relu:
        acc = np.maximum(acc, 0)
    return acc.astype(np.int8)


def epilogue_ops(shift: int = 0, clip=None, relu: bool = False) -> list[tuple[AluOp, int]]:
    """The ALU instructions (opcode, immediate) of the epilogue, in order.

    Raises
    ------
    ValueError
        If ``shift`` is outside 0..31 or a clip bound does not fit a 16-bit immediate.
    """
    if isinstance(shift, bool) or not isinstance(shift, (int, np.integer)) or not 0 <= shift <= 31:
        raise ValueError(f"shift = {shift!r} must be an integer in 0..31")
    ops: list[tuple[AluOp, int]] = []
    left = int(shift)
    while left > 0:
        step = min(left, _MAX_SHR_STEP)
        ops.append((AluOp.SHR, step))
        left -= step
    if clip is not None:
        try:
            lo, hi = (int(v) for v in clip)
        except (TypeError, ValueError):
            raise ValueError(f"clip = {clip!r} must be a pair of integers (lo, hi)") from None
        for name, v in (("lo", lo), ("hi", hi)):
            if not _INT16[0] <= v <= _INT16[1]:
                raise ValueError(f"clip {name} = {v} does not fit a 16-bit ALU immediate "
                                 f"({_INT16[0]}..{_INT16[1]})")
        ops += [(AluOp.MAX, lo), (AluOp.MIN, hi)]
    if relu:
        ops.append((AluOp.MAX, 0))
    return ops


@dataclass
class FCProgram:
    """A compiled fully-connected layer.

    Members
    -------
    program : Program      instructions, micro-ops and the packed inp/wgt regions
    x, w : np.ndarray      the int8 operands, (B, K) and (N, K)
    shift, clip, relu      the epilogue
    schedule : str
    config : VTAConfig
    tiles : dict           facts about the tiling: padded shape in blocks, tile sizes in blocks,
                           slot counts, tile counts, and the DRAM traffic it implies
    """
    program: Program
    x: np.ndarray
    w: np.ndarray
    shift: int
    clip: tuple | None
    relu: bool
    schedule: str
    config: VTAConfig
    tiles: dict = field(default_factory=dict)

    @property
    def batch(self) -> int:
        return self.x.shape[0]

    @property
    def in_features(self) -> int:
        return self.x.shape[1]

    @property
    def out_features(self) -> int:
        return self.w.shape[0]

    def unpack(self, out_bytes: bytes | np.ndarray) -> np.ndarray:
        """The int8 (B, N) result held in the out region ``out_bytes`` (e.g. ``RunResult.out``)."""
        return unpack_out(out_bytes, self.batch, self.out_features, self.config)

    def bounds(self):
        """The layer's bus and ISA bounds (:func:`sw.fcplan.fc_bounds`) for its epilogue."""
        return fc_bounds(self.batch, self.in_features, self.out_features, self.config,
                         len(epilogue_ops(self.shift, self.clip, self.relu)))

    def explain(self, cycles: int | None = None) -> dict:
        """The chosen tiling, both bounds, the cost model's prediction (default schedule) and, given the
        measured ``cycles``, their ratio to the larger bound."""
        b = self.bounds()
        out = {"schedule": self.schedule, "tiling": dict(self.tiles), **b.as_dict()}
        pred = self.tiles.get("predicted_cycles")
        if pred is not None:
            out["predicted_cycles"] = pred
            out["predicted_over_bound"] = round(b.ratio(pred), 4)
        if cycles is not None:
            out["cycles_over_bound"] = round(b.ratio(cycles), 4)
        return out

    def reference(self) -> np.ndarray:
        """The expected int8 (B, N) result, computed with numpy as the tutorial does."""
        return fc_reference(self.x, self.w, self.shift, self.clip, self.relu)


def build_fc(x, w, *, shift: int = 0, clip=None, relu: bool = False, schedule: str = "default",
             config: VTAConfig | None = None) -> FCProgram:
    """Compile ``epilogue(x · wᵀ)`` for VTA.

    Parameters
    ----------
    x : array (B, K) of int8
    w : array (N, K) of int8
    shift : int          arithmetic right shift, 0..31
    clip : (lo, hi) or None   bounds as 16-bit immediates
    relu : bool
    schedule : str       one of :data:`SCHEDULES`
    config : VTAConfig   default: VTA's default configuration

    Raises
    ------
    TypeError, ValueError
        On operands that are not int8 matrices of matching width, a bad epilogue, an unknown schedule,
        or a shape too large for the instruction fields.
    """
    cfg = config or VTAConfig()
    if not isinstance(cfg, VTAConfig):
        raise TypeError(f"config must be a VTAConfig, got {type(cfg).__name__}")
    x = check_int8_matrix("x", x)
    w = check_int8_matrix("w", w)
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"x has {x.shape[1]} input features but w has {w.shape[1]} (w is (N, K))")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule = {schedule!r} is not one of {SCHEDULES}")
    ops = epilogue_ops(shift, clip, relu)
    clip_t = None if clip is None else (int(clip[0]), int(clip[1]))

    B, K = x.shape
    N = w.shape[0]
    dims = _Dims(n_blocks(B, cfg.batch), n_blocks(K, cfg.block_in), n_blocks(N, cfg.block_out))
    for name, v in (("K / BLOCK_IN", dims.kb), ("N / BLOCK_OUT", dims.nb)):
        if v > _MAX_FIELD16:
            raise ValueError(f"{name} = {v} blocks exceeds the 16-bit x_stride field ({_MAX_FIELD16})")

    sb = StreamBuilder(cfg)
    if schedule == "tutorial":
        tiles = _build_tutorial(sb, cfg, dims, ops)
    else:
        tiles = _build_default(sb, cfg, dims, ops)
    sb.finish()
    tiles = {"padded_blocks": (dims.bb, dims.kb, dims.nb),
             "padded_shape": (dims.bb * cfg.batch, dims.kb * cfg.block_in, dims.nb * cfg.block_out),
             **tiles}
    program = sb.program(inp=pack_inp(x, cfg), wgt=pack_wgt(w, cfg), out_elems=dims.bb * dims.nb,
                         meta={"workload": "fc", "batch": B, "in_features": K, "out_features": N,
                               "shift": int(shift), "clip": list(clip_t) if clip_t else None,
                               "relu": bool(relu), "schedule": schedule})
    return FCProgram(program=program, x=x, w=w, shift=int(shift), clip=clip_t, relu=bool(relu),
                     schedule=schedule, config=cfg, tiles=tiles)


@dataclass(frozen=True)
class _Dims:
    bb: int      # batch blocks
    kb: int      # input-channel blocks
    nb: int      # output-channel blocks


def _alu_kernel(op: AluOp, imm: int, loops, uop) -> UopKernel:
    return UopKernel(mode="alu", loops=loops, uops=[uop], alu_opcode=op, use_imm=True, imm=imm)


# -- the tutorial's schedule ----------------------------------------------------------------------------

def _build_tutorial(sb: StreamBuilder, cfg: VTAConfig, d: _Dims, ops) -> dict:
    ob = max(TUTORIAL_CHANNELS // cfg.block_out, 1)
    ib = max(TUTORIAL_CHANNELS // cfg.block_in, 1)
    shrunk = False
    while ob * ib > cfg.wgt_depth or ib > cfg.inp_depth or ob > cfg.acc_depth:
        if ib >= ob and ib > 1:
            ib //= 2
        else:
            ob //= 2
        shrunk = True
    ob, ib = min(ob, d.nb), min(ib, d.kb)

    sb.dep_push(STAGE_STORE, STAGE_COMPUTE)
    for b in range(d.bb):
        for oc0 in range(0, d.nb, ob):
            on = min(ob, d.nb - oc0)
            sb.dep_pop(STAGE_STORE, STAGE_COMPUTE)
            sb.gemm(UopKernel(mode="gemm", reset=True, loops=[(on, 1, 0, 0)], uops=[(0, 0, 0)]))
            sb.dep_push(STAGE_COMPUTE, STAGE_LOAD)
            for ic0 in range(0, d.kb, ib):
                inn = min(ib, d.kb - ic0)
                sb.dep_pop(STAGE_COMPUTE, STAGE_LOAD)
                sb.load_2d(b * d.kb + ic0, inn, 1, inn, 0, 0, 0, 0, 0, MemType.INP)
                sb.load_2d(oc0 * d.kb + ic0, inn, on, d.kb, 0, 0, 0, 0, 0, MemType.WGT)
                sb.dep_push(STAGE_LOAD, STAGE_COMPUTE)
                sb.dep_pop(STAGE_LOAD, STAGE_COMPUTE)
                sb.gemm(UopKernel(mode="gemm", loops=[(on, 1, 0, inn), (inn, 0, 1, 1)],
                                  uops=[(0, 0, 0)]))
                sb.dep_push(STAGE_COMPUTE, STAGE_LOAD)
            sb.dep_pop(STAGE_COMPUTE, STAGE_LOAD)
            for op, imm in ops:
                sb.alu(_alu_kernel(op, imm, [(on, 1, 1, 0)], (0, 0, 0)))
            sb.dep_push(STAGE_COMPUTE, STAGE_STORE)
            sb.dep_pop(STAGE_COMPUTE, STAGE_STORE)
            for i in range(on):
                sb.store_2d(i, MemType.OUT, b * d.nb + oc0 + i, 1, 1, 1)
            sb.dep_push(STAGE_STORE, STAGE_COMPUTE)
    n_ot, n_it = n_blocks(d.nb, ob), n_blocks(d.kb, ib)
    return {"o_block": ob, "i_block": ib, "b_block": 1, "shrunk_to_fit": shrunk,
            "n_tiles": n_ot, "k_tiles": n_it, "b_tiles": d.bb,
            "inp_load_nbytes": d.bb * n_ot * d.kb * cfg.inp_elem_bytes,
            "wgt_load_nbytes": d.bb * d.nb * d.kb * cfg.wgt_elem_bytes}


# -- the default schedule ---------------------------------------------------------------------------------

def _build_default(sb: StreamBuilder, cfg: VTAConfig, d: _Dims, ops) -> dict:
    t, predicted = choose_tiling(cfg, d, len(ops))
    S, A = t.wgt_slots, t.acc_slots
    wslot = t.tn * t.tk                          # wgt SRAM entries of one slot
    islot = t.tb * t.tk                          # inp SRAM entries of one streamed slot / resident chunk
    region = t.tb * d.kb                         # inp SRAM entries of one resident region
    aslot = t.tb * t.tn
    steps = fill_order(t, d)
    n_steps, n_out = len(steps), t.n_tiles

    def places(s, tile, bt, k0):
        wbase = (s % S) * wslot
        if t.resident:
            ibase = (bt % t.inp_regions) * region + t.tb * k0
        else:
            ibase = (s % S) * islot
        return wbase, ibase, (tile % A) * aslot

    def reset_kernel(abase, tb, tn):
        return UopKernel(mode="gemm", reset=True,
                         loops=[(tb, tn if tb > 1 else 0, 0, 0), (tn, 1 if tn > 1 else 0, 0, 0)],
                         uops=[(abase, 0, 0)])

    def gemm_kernel(abase, ibase, wbase, tb, tn, tk):
        return UopKernel(mode="gemm",
                         loops=[(tk, 0, 1 if tk > 1 else 0, 1 if tk > 1 else 0),
                                (tb, tn if tb > 1 else 0, tk if tb > 1 else 0, 0)],
                         uops=[(abase + n, ibase, wbase + n * tk) for n in range(tn)])

    def alu_loops(tb, tn):
        return [(tb, tn if tb > 1 else 0, tn if tb > 1 else 0, 0), (tn, 1 if tn > 1 else 0,
                                                                    1 if tn > 1 else 0, 0)]

    # Every micro-op kernel, loaded up front in one LOAD UOP when they fit the uop SRAM together.
    kernels = []
    for s, (tile, bt, nt, kt, b0, tb, n0, tn, k0, tk) in enumerate(steps):
        wbase, ibase, abase = places(s, tile, bt, k0)
        if kt == 0:
            kernels.append(reset_kernel(abase, tb, tn))
        kernels.append(gemm_kernel(abase, ibase, wbase, tb, tn, tk))
        if s + 1 == n_steps or steps[s + 1][0] != tile:
            for r0, rows, c0, cols in drain_chunks(t, s + 1 == n_steps, tb, tn):
                base = abase + r0 * tn + c0
                kernels += [_alu_kernel(op, imm, alu_loops(rows, cols), (base, base, 0)) for op, imm in ops]
    preloaded = sb.preload(kernels)
    early = early_reset(t, n_out)
    if early:
        s1 = next(i for i, st in enumerate(steps) if st[0] == 1)
        second = (places(s1, 1, steps[s1][1], steps[s1][8])[2], steps[s1][5], steps[s1][7])

    for s, (tile, bt, nt, kt, b0, tb, n0, tn, k0, tk) in enumerate(steps):
        wbase, ibase, abase = places(s, tile, bt, k0)
        if kt == 0:
            # Compute: wait until the store of the tile that used this acc slot is done, then reset.
            # The second tile's slot is reset up front, right after the first's.
            if tile >= A:
                sb.dep_pop(STAGE_STORE, STAGE_COMPUTE)
            if tile != 1 or not early:
                sb.gemm(reset_kernel(abase, tb, tn))
            if tile == 0 and early:
                sb.gemm(reset_kernel(*second))
        # Load: wait until the GEMM that last read this slot is done, then fill it.  A resident input
        # is loaded piece by piece along its batch tile's first output tile.
        if s >= S:
            sb.dep_pop(STAGE_COMPUTE, STAGE_LOAD)
        if not t.resident or nt == 0:
            sb.load_2d(b0 * d.kb + k0, tk, tb, d.kb, 0, 0, 0, 0, ibase, MemType.INP)
        sb.load_2d(n0 * d.kb + k0, tk, tn, d.kb, 0, 0, 0, 0, wbase, MemType.WGT)
        sb.dep_push(STAGE_LOAD, STAGE_COMPUTE)
        # Compute: wait for the step's data, accumulate, free the slot for the load S steps on.
        sb.dep_pop(STAGE_LOAD, STAGE_COMPUTE)
        sb.gemm(gemm_kernel(abase, ibase, wbase, tb, tn, tk))
        if s + S < n_steps:
            sb.dep_push(STAGE_COMPUTE, STAGE_LOAD)
        if s + 1 == n_steps or steps[s + 1][0] != tile:
            # Epilogue on the ALU, then hand the tile to the store (the last tile maybe in halves, so
            # that the first half's store overlaps the second half's epilogue).
            for r0, rows, c0, cols in drain_chunks(t, s + 1 == n_steps, tb, tn):
                base = abase + r0 * tn + c0
                for op, imm in ops:
                    sb.alu(_alu_kernel(op, imm, alu_loops(rows, cols), (base, base, 0)))
                sb.dep_push(STAGE_COMPUTE, STAGE_STORE)
                sb.dep_pop(STAGE_COMPUTE, STAGE_STORE)
                sb.store_2d(base, MemType.OUT, (b0 + r0) * d.nb + n0 + c0, cols, rows, d.nb)
            if tile + A < n_out:
                sb.dep_push(STAGE_STORE, STAGE_COMPUTE)
    inp_bytes = d.bb * d.kb * cfg.inp_elem_bytes * (1 if t.resident else t.ntn)
    wgt_bytes = d.nb * d.kb * cfg.wgt_elem_bytes * t.nbt
    return {"tb": t.tb, "tn": t.tn, "tk": t.tk, "tk_last": t.k_split(d.kb)[-1],
            "tn_last": t.n_split(d.nb)[-1], "tn_first": t.n_split(d.nb)[0], "tb_last": t.b_split(d.bb)[-1],
            "split_drain": t.split_drain, "inp_resident": t.resident, "wgt_slots": S,
            "inp_slots": t.inp_regions if t.resident else S, "acc_slots": A,
            "b_tiles": t.nbt, "n_tiles": t.ntn, "k_tiles": t.nkt, "uops_preloaded": preloaded,
            "predicted_cycles": predicted,
            "inp_load_nbytes": inp_bytes, "wgt_load_nbytes": wgt_bytes}
