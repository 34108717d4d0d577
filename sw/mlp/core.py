"""The int8 MLP on the core: one FC program per layer, chained through VTA's tiled layout.

Layer ``i`` is compiled by :func:`sw.fc.build_fc` with its shift and clip.  Its out region, (B/BATCH,
N/BLOCK_OUT, BATCH, BLOCK_OUT) int8 with element ``b * N/BLOCK_OUT + n``, is byte for byte the inp
region layer ``i + 1`` reads, (B/BATCH, K/BLOCK_IN, BATCH, BLOCK_IN) with element ``b * K/BLOCK_IN + k``,
because ``K_{i+1} = N_i`` and BLOCK_IN = BLOCK_OUT (:func:`check_chain`).  So the bytes a run returns
become the next program's inp region as they are: the host never unpacks between layers.  The zero
padding carries over too: the padded output channels come from all-zero weight rows, whose
accumulator 0 stays 0 under every shift and under a clip that holds 0 (:func:`compile_mlp` refuses a
clip that does not), and padded batch rows are zero inputs.

Each layer's program is compiled once for a batch shape (the default schedule tiles the batch as it
tiles any FC); only the first layer's inp region changes from batch to batch (:meth:`CompiledMLP.run`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from hw.config import VTAConfig
from sw.fc import FCProgram, build_fc
from sw.pack import pack_inp, unpack_out

from .quant import QuantMLP

__all__ = ["CompiledMLP", "LayerRun", "MLPRun", "compile_mlp", "check_chain", "with_inp",
           "layer_bounds", "run_mlp"]


def with_inp(fc: FCProgram, inp: bytes) -> FCProgram:
    """``fc`` with its inp region replaced by ``inp``, bytes already in VTA's packed layout (e.g. the out
    region of the previous layer).

    Raises
    ------
    ValueError
        If ``inp`` is not the size of the region ``fc`` reads.
    """
    inp = bytes(inp)
    if len(inp) != len(fc.program.inp):
        raise ValueError(f"the packed input is {len(inp)} bytes, but the {fc.batch}x{fc.in_features} FC "
                         f"reads an inp region of {len(fc.program.inp)} bytes")
    return dataclasses.replace(fc, program=dataclasses.replace(fc.program, inp=inp))


def check_chain(prev: FCProgram, nxt: FCProgram) -> None:
    """Check that ``prev``'s out region is laid out as ``nxt``'s inp region.

    Raises
    ------
    ValueError
        Naming what differs: the batch, the feature counts, the configuration or the region sizes.
    """
    cfg = prev.config
    if nxt.config != cfg:
        raise ValueError("consecutive layers are compiled for different configurations")
    if prev.batch != nxt.batch:
        raise ValueError(f"layer batches differ: {prev.batch} then {nxt.batch}")
    if prev.out_features != nxt.in_features:
        raise ValueError(f"a layer with {prev.out_features} outputs feeds one with {nxt.in_features} "
                         f"inputs")
    if cfg.block_in != cfg.block_out or cfg.out_elem_bytes != cfg.inp_elem_bytes:
        raise ValueError(f"configuration {cfg.name}: the out layout (BLOCK_OUT {cfg.block_out}) is not "
                         f"the inp layout (BLOCK_IN {cfg.block_in})")
    out_bytes = prev.program.out_elems * cfg.out_elem_bytes
    if out_bytes != len(nxt.program.inp):
        raise ValueError(f"layer output region is {out_bytes} bytes, the next layer's inp region "
                         f"{len(nxt.program.inp)}")


@dataclass
class LayerRun:
    """One layer's run on a backend, summed over the batches of the input.

    Members
    -------
    cycles : int | None        launch to finish (None on the functional model)
    bus_bound : float          the busier AXI channel's bytes over the bus width (sim.report)
    compute_bound : int        GEMM and ALU micro-ops, one per cycle on the tensor core
    bound : float              the sum over the runs of each run's larger bound (no run is faster
                               than either of its bounds)
    counters : dict            the run's counters, summed
    exact : bool               the out region equals the int8 model's output, packed, byte for byte
                               (padding included)
    """
    cycles: int | None
    bus_bound: float
    compute_bound: int
    counters: dict
    exact: bool
    bound: float = 0.0
    instructions: int = 0


@dataclass
class MLPRun:
    """The MLP on a backend: the core's int8 logits and each layer's run."""
    backend: str
    logits: np.ndarray
    layers: list[LayerRun]
    wall_time: float = 0.0

    @property
    def cycles(self) -> int | None:
        c = [l.cycles for l in self.layers]
        return None if None in c else sum(c)


def layer_bounds(result, cfg: VTAConfig) -> tuple[float, int]:
    """(bus bound, compute bound) in cycles of one run: :func:`sim.bench.bus_bound_cycles`, and the GEMM
    plus ALU micro-ops the tensor core issues at one per cycle."""
    from sim.bench import bus_bound_cycles
    return bus_bound_cycles(result, cfg), result.counters["gemm_counter"] + result.counters["alu_counter"]


@dataclass
class CompiledMLP:
    """Every layer of a :class:`QuantMLP` compiled for one batch size.

    Members
    -------
    model : QuantMLP
    layers : list of FCProgram   one per layer; their inp regions are placeholders, filled by run
    batch : int
    config : VTAConfig
    """
    model: QuantMLP
    layers: list[FCProgram]
    batch: int
    config: VTAConfig
    schedule: str = "default"
    _by_batch: dict = field(default_factory=dict, repr=False)

    def for_batch(self, batch: int) -> "CompiledMLP":
        """The same network compiled for ``batch`` images (cached; used for a last, shorter batch)."""
        if batch == self.batch:
            return self
        if batch not in self._by_batch:
            self._by_batch[batch] = compile_mlp(self.model, batch, self.config, self.schedule)
        return self._by_batch[batch]

    def run(self, x: np.ndarray, backend: str = "fsim", *, check: bool = True, **opts) -> MLPRun:
        """Run int8 inputs ``x`` (M, K) through the core in batches of :attr:`batch`.

        Parameters
        ----------
        x : array (M, K) of int8
        backend : str            a backend of :mod:`sim.backends`
        check : bool             run the static checker on each program first
        opts                     backend options (``mem_latency``, ``max_cycles``, ...)

        Raises
        ------
        sim.result.VTARunError, ValueError
            From the backend or the checker.
        """
        import time
        from sim import backends
        x = np.asarray(x)
        refs = self.model.forward_int8(x, all_layers=True)
        cfg = self.config
        n = len(self.layers)
        sums = [dict(cycles=0, bus=0.0, comp=0, bound=0.0, counters={}, exact=True, insns=0)
                for _ in range(n)]
        logits = []
        t0 = time.perf_counter()
        for b0 in range(0, len(x), self.batch):
            comp = self.for_batch(min(self.batch, len(x) - b0))
            inp = pack_inp(x[b0:b0 + comp.batch], cfg).tobytes()
            for i, fc in enumerate(comp.layers):
                prog = with_inp(fc, inp).program
                if check:
                    from sw.check import check_program
                    check_program(prog)
                res = backends.run(prog, backend, **opts)
                expect = pack_inp(refs[i][b0:b0 + comp.batch], cfg).tobytes()
                s = sums[i]
                s["exact"] &= res.out == expect
                s["cycles"] = None if res.cycles is None or s["cycles"] is None else s["cycles"] + res.cycles
                bus, cb = layer_bounds(res, cfg)
                s["bus"] += bus
                s["comp"] += cb
                s["bound"] += max(bus, cb)
                s["insns"] += res.instructions
                for k, v in res.counters.items():
                    s["counters"][k] = s["counters"].get(k, 0) + v
                inp = res.out                   # the next layer reads these bytes as they are
            logits.append(unpack_out(inp, comp.batch, comp.layers[-1].out_features, cfg))
        runs = [LayerRun(cycles=s["cycles"], bus_bound=s["bus"], compute_bound=s["comp"],
                         counters=s["counters"], exact=s["exact"], bound=s["bound"],
                         instructions=s["insns"]) for s in sums]
        return MLPRun(backend=backend, logits=np.concatenate(logits), layers=runs,
                      wall_time=time.perf_counter() - t0)


def compile_mlp(model: QuantMLP, batch: int, config: VTAConfig | None = None,
                schedule: str = "default") -> CompiledMLP:
    """Compile every layer of ``model`` as an FC for ``batch`` images.

    Raises
    ------
    ValueError
        If ``batch`` is not positive, a layer's clip excludes 0 (the zero padding would not stay zero),
        or consecutive layers' layouts do not chain (:func:`check_chain`); or from :func:`build_fc`.
    """
    cfg = config or VTAConfig()
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"batch = {batch!r} must be a positive integer")
    layers = []
    for i, layer in enumerate(model.layers):
        lo, hi = layer.clip
        if not lo <= 0 <= hi:
            raise ValueError(f"layer {i}: clip {layer.clip} excludes 0, so the zero padding of its "
                             f"output would not stay zero for the next layer")
        placeholder = np.zeros((int(batch), layer.in_features), dtype=np.int8)
        fc = build_fc(placeholder, layer.w, shift=layer.shift, clip=layer.clip, schedule=schedule,
                      config=cfg)
        if layers:
            check_chain(layers[-1], fc)
        layers.append(fc)
    return CompiledMLP(model=model, layers=layers, batch=int(batch), config=cfg, schedule=schedule)


def run_mlp(model: QuantMLP, x: np.ndarray, *, batch: int = 64, backend: str = "fsim",
            config: VTAConfig | None = None, schedule: str = "default", **opts) -> MLPRun:
    """Compile ``model`` for ``batch`` images and run int8 inputs ``x`` on ``backend``."""
    return compile_mlp(model, batch, config, schedule).run(x, backend, **opts)
