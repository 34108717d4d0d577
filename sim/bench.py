"""``vta bench``: throughput of the core, measured on a cycle-level backend, printed as numbers.

Each figure is a difference of two runs that differ only in the amount of work, so fixed costs (launch,
memory latency, pipeline fill, FINISH) cancel:

* GEMM and ALU micro-ops per cycle: one GEMM (ALU) instruction of N micro-op iterations, N large vs small.
* DMA beats per cycle: one long LOAD WGT (and one long STORE) vs a short one.
* The seed FC (tutorial schedule): cycles, the memory-bus bound (the busier AXI channel's bytes,
  instructions included, over the bus width), their ratio, and the backend's simulated cycles per second.

``--fc-table`` instead runs FC layers of several shapes on the default schedule (by default the shapes of
issue 9's table, ``--shift 8 --clip 0 127``) and prints, for each, whether it matches numpy, the cycles,
the cost model's prediction, the bus and ISA bounds of :func:`sw.fcplan.fc_bounds`, cycles over the
larger bound and the GEMM utilisation (GEMM micro-ops per cycle).

``--speed`` instead runs the seed FC on each cycle-level backend of the core with its memory model
(``sim.backends.MEMORY_MODEL``; or on the one ``--backend`` names) and
prints how fast each simulates it: the wall time of the run end to end (everything the backend does
for one run, in this process: its set-up, loading the image, the run, reading back; a build is not
counted: a backend that builds runs once first) with its cycles per second, and the design-only rate
(cycles over the seconds from launch to the end of the run).  A backend that cannot load is a row
saying why.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from hw.config import VTAConfig
from hw.isa import (AluInsn, AluOp, FinishInsn, GemmInsn, MemInsn, MemType, Opcode, Uop,
                    encode_insns, encode_uops)
from sw.program import Program
from .report import bus_bound_cycles   # re-exported: its home is sim.report

__all__ = ["add_arguments", "run", "measure", "bus_bound_cycles", "fc_table", "FC_TABLE_SHAPES",
           "speed_rows"]

#: The FC shapes (batch, in features, out features) of ``vta bench --fc-table``.
FC_TABLE_SHAPES = ((1, 1024, 1024), (16, 1024, 1024), (32, 1024, 1024), (64, 1024, 1024),
                   (128, 512, 512), (256, 1024, 1024))


def _program(cfg: VTAConfig, body, *, wgt_elems=0, out_elems=1) -> Program:
    insns = [MemInsn(opcode=Opcode.LOAD, memory_type=MemType.UOP, sram_base=0, dram_base=0,
                     y_size=1, x_size=1, x_stride=1)] + body + [FinishInsn()]
    return Program(config=cfg, insns=encode_insns(insns, cfg), uop=encode_uops([Uop(0, 0, 0)], cfg),
                   wgt=bytes(wgt_elems * cfg.wgt_elem_bytes), out_elems=out_elems)


def _gemm(cfg, n):
    side = int(np.sqrt(n))
    return _program(cfg, [GemmInsn(uop_bgn=0, uop_end=1, iter_out=side, iter_in=n // side,
                                   dst_factor_out=1, src_factor_in=1, wgt_factor_in=1)])


def _alu(cfg, n):
    side = int(np.sqrt(n))
    return _program(cfg, [AluInsn(alu_opcode=AluOp.ADD, use_imm=True, imm=1, uop_bgn=0, uop_end=1,
                                  iter_out=side, iter_in=n // side, dst_factor_out=1, src_factor_out=1)])


def _load(cfg, n):
    rows = max(n // 256, 1)
    return _program(cfg, [MemInsn(opcode=Opcode.LOAD, memory_type=MemType.WGT, y_size=rows,
                                  x_size=n // rows, x_stride=n // rows)], wgt_elems=n)


def _store(cfg, n):
    return _program(cfg, [MemInsn(opcode=Opcode.STORE, memory_type=MemType.OUT, y_size=1, x_size=n,
                                  x_stride=n)], out_elems=n)


def _rate(runner, make, small, large, work, what):
    a, b = runner(make(small), what), runner(make(large))
    return (work(b) - work(a)) / (b.cycles - a.cycles)


def measure(backend: str = "amaranth", config: VTAConfig | None = None, *, seed_fc: bool = True,
            fc_features: int = 1024, **opts) -> dict:
    """Run the micro-benchmarks (and the seed FC) on ``backend``; return the figures."""
    from . import backends
    cfg = config or VTAConfig()
    steps = 5 if seed_fc else 4
    done = [0]

    def runner(p, what=None):
        if what and opts.get("progress"):
            done[0] += 1
            print(f"bench: {what} ({done[0]} of {steps})", file=sys.stderr, flush=True)
        return backends.run(p, backend, **opts)
    beats_per_elem = lambda eb: max(eb // cfg.bus_bytes, 1)
    out = {"backend": backend, "config": cfg.name}
    n_small, n_large = 64, 1024
    out["gemm_uops_per_cycle"] = _rate(runner, lambda n: _gemm(cfg, n), n_small, n_large,
                                       lambda r: r.counters["gemm_counter"], "GEMM micro-ops per cycle")
    out["alu_uops_per_cycle"] = _rate(runner, lambda n: _alu(cfg, n), n_small, n_large,
                                      lambda r: r.counters["alu_counter"], "ALU micro-ops per cycle")
    wgt_small, wgt_large = 16, min(256, cfg.wgt_depth)
    out["load_beats_per_cycle"] = _rate(runner, lambda n: _load(cfg, n), wgt_small, wgt_large,
                                        lambda r: r.counters["wgt_load_nbytes"] / cfg.bus_bytes, "LOAD beats per cycle")
    st_small, st_large = 16, min(1024, cfg.out_depth)
    out["store_beats_per_cycle"] = _rate(runner, lambda n: _store(cfg, n), st_small, st_large,
                                         lambda r: r.counters["out_store_nbytes"] / cfg.bus_bytes, "STORE beats per cycle")
    if seed_fc:
        from sw.fc import build_fc
        rng = np.random.default_rng(0)
        k = n = fc_features
        x = rng.integers(-128, 128, (1, k), dtype=np.int8)
        w = rng.integers(-128, 128, (n, k), dtype=np.int8)
        fc = build_fc(x, w, shift=8, clip=(0, 127), schedule="tutorial", config=cfg)
        t0 = time.perf_counter()
        r = runner(fc.program, f"the seed FC {k}x{n}")
        wall = time.perf_counter() - t0
        bound = bus_bound_cycles(r, cfg)
        out["seed_fc"] = {
            "features": fc_features, "verified": bool((fc.unpack(r.out) == fc.reference()).all()),
            "cycles": r.cycles, "bus_bound_cycles": round(bound), "cycles_over_bound": r.cycles / bound,
            "sim_cycles_per_second": r.cycles / r.wall_time, "wall_time": wall,
            "axi_read_beats": r.counters.get("axi_read_beats"),
            "overlap_load_compute": r.counters.get("overlap_load_compute"),
        }
    return out


def fc_table(backend: str = "verilator", config: VTAConfig | None = None, shapes=FC_TABLE_SHAPES, *,
             seed: int = 0, **opts) -> list[dict]:
    """Run each FC shape on ``backend`` with the default schedule (``shift 8``, ``clip 0..127``);
    one row of figures per shape."""
    from . import backends
    from sw.fc import build_fc
    cfg = config or VTAConfig()
    rng = np.random.default_rng(seed)
    rows = []
    for b, k, n in shapes:
        x = rng.integers(-128, 128, (b, k), dtype=np.int8)
        w = rng.integers(-128, 128, (n, k), dtype=np.int8)
        fc = build_fc(x, w, shift=8, clip=(0, 127), config=cfg)
        r = backends.run(fc.program, backend, **opts)
        if r.cycles is None:
            raise ValueError(f"backend {backend} counts no cycles: the FC table needs a cycle-level "
                             f"backend (amaranth, icarus, verilator)")
        e = fc.explain(r.cycles)
        rows.append({"batch": b, "in_features": k, "out_features": n,
                     "verified": bool((fc.unpack(r.out) == fc.reference()).all()), "cycles": r.cycles,
                     "predicted_cycles": e.get("predicted_cycles"),
                     "bus_bound_cycles": e["bus_bound_cycles"], "isa_bound_cycles": e["isa_bound_cycles"],
                     "cycles_over_bound": e.get("cycles_over_bound"),
                     "gemm_utilisation": r.counters["gemm_counter"] / r.cycles if r.cycles else None,
                     "tiling": e["tiling"]})
    return rows


def speed_rows(backends_: list[str] | None = None, config: VTAConfig | None = None, *,
               fc_features: int = 1024, **opts) -> list[dict]:
    """One row of simulation-speed figures per cycle-level backend (module docstring): ``backend``,
    ``verified``, ``cycles``, ``wall_seconds``, ``end_to_end_cycles_per_second``, ``run_seconds``,
    ``design_cycles_per_second``, ``warmed`` (a first run was made to build); or ``backend`` and
    ``unavailable`` (why)."""
    from . import backends
    from sw.fc import build_fc
    cfg = config or VTAConfig()
    names = backends_ or list(backends.MEMORY_MODEL)
    rng = np.random.default_rng(0)
    k = n = fc_features
    x = rng.integers(-128, 128, (1, k), dtype=np.int8)
    w = rng.integers(-128, 128, (n, k), dtype=np.int8)
    fc = build_fc(x, w, shift=8, clip=(0, 127), schedule="tutorial", config=cfg)
    rows = []
    for name in names:
        try:
            func = backends.get_backend(name)
        except (backends.BackendUnavailable, ValueError) as e:
            rows.append({"backend": name, "unavailable": str(e)})
            continue
        warmed = name not in ("amaranth",)        # every other cycle backend builds a model once
        if warmed:
            func(fc.program, **opts)
        t0 = time.perf_counter()
        r = func(fc.program, **opts)
        wall = time.perf_counter() - t0
        run_s = r.extra.get("sim_seconds")
        rows.append({"backend": name, "verified": bool((fc.unpack(r.out) == fc.reference()).all()),
                     "cycles": r.cycles, "wall_seconds": wall,
                     "end_to_end_cycles_per_second": r.cycles / wall if wall else None,
                     "run_seconds": run_s,
                     "design_cycles_per_second": r.cycles / run_s if run_s else None, "warmed": warmed})
    return rows


def _shapes(text: str):
    from sim.cli.common import CliError
    try:
        shapes = [tuple(int(v) for v in s.lower().split("x")) for s in text.split(",")]
    except ValueError:
        shapes = []
    if not shapes or any(len(s) != 3 or min(s) < 1 for s in shapes):
        raise CliError(f"--fc-shapes {text!r} must be BxKxN[,BxKxN...] with positive sizes")
    return shapes


def add_arguments(p):
    from sim.cli.common import add_mem_latency, positive_int
    from .backends import SERIAL_BACKENDS
    from .result import BACKENDS
    cycle = [b for b in BACKENDS if b != "fsim" and b not in SERIAL_BACKENDS]   # a board has no --port here
    p.add_argument("--backend", default=None, choices=cycle, metavar="NAME",
                   help=f"cycle-level backend: {', '.join(cycle)} (default amaranth, verilator with --fc-table; "
                        f"fsim counts no cycles)")
    p.add_argument("--speed", action="store_true",
                   help="simulation speed of the seed FC on each cycle-level backend (or --backend): end "
                        "to end and design-only cycles per second")
    p.add_argument("--fc-table", action="store_true",
                   help="run FC layers of several shapes on the default schedule: cycles, bounds, ratio")
    p.add_argument("--fc-shapes", metavar="BxKxN,...",
                   help="the shapes of --fc-table (default: " + ",".join(
                       "x".join(map(str, s)) for s in FC_TABLE_SHAPES) + ")")
    p.add_argument("--config", metavar="FILE", help="VTA configuration (default: VTA's default)")
    add_mem_latency(p)
    p.add_argument("--fc-features", type=positive_int, default=1024, metavar="K",
                   help="in and out features of the seed FC (default 1024, the tutorial's)")
    p.add_argument("--no-fc", action="store_true", help="skip the seed FC")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=False,
                   help="show each step and a progress line of each run on stderr (redrawn on a terminal, "
                        "one line every few seconds on a pipe)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    cfg = VTAConfig.load(args.config)
    opts = {}
    if args.mem_latency is not None:
        opts["mem_latency"] = args.mem_latency
    opts["progress"] = args.progress
    if args.fc_table or args.fc_shapes:
        return _run_fc_table(args, cfg, opts)
    if args.speed:
        return _run_speed(args, cfg, opts)
    res = measure(args.backend or "amaranth", cfg, seed_fc=not args.no_fc, fc_features=args.fc_features,
                  **opts)
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f"backend {res['backend']}, configuration {res['config']}")
    print(f"  GEMM micro-ops per cycle   {res['gemm_uops_per_cycle']:.3f}   (target 1.0)")
    print(f"  ALU micro-ops per cycle    {res['alu_uops_per_cycle']:.3f}   (target 1.0)")
    print(f"  LOAD WGT beats per cycle   {res['load_beats_per_cycle']:.3f}   (target >= 0.95)")
    print(f"  STORE beats per cycle      {res['store_beats_per_cycle']:.3f}")
    fc = res.get("seed_fc")
    if fc:
        print(f"  seed FC {fc['features']}x{fc['features']} (tutorial schedule): verified {fc['verified']}, "
              f"{fc['cycles']} cycles, bus bound {fc['bus_bound_cycles']}, "
              f"ratio {fc['cycles_over_bound']:.3f} (target <= 1.10)")
        print(f"  simulation speed           {fc['sim_cycles_per_second']:.0f} cycles/s "
              f"({fc['wall_time']:.1f} s wall)")
    return 0


def _run_speed(args, cfg, opts) -> int:
    rows = speed_rows([args.backend] if args.backend else None, cfg, fc_features=args.fc_features,
                      **opts)
    if args.json:
        print(json.dumps({"config": cfg.name, "fc_features": args.fc_features, "speed": rows}, indent=1))
    else:
        k = args.fc_features
        print(f"seed FC {k}x{k} (tutorial schedule), configuration {cfg.name}; end to end: one run in this "
              f"process, build excluded; design only: launch to the end of the run")
        print(f"{'backend':>16} {'ok':>3} {'cycles':>8} {'wall s':>8} {'end-to-end c/s':>15} "
              f"{'design c/s':>11}")
        for r in rows:
            if "unavailable" in r:
                print(f"{r['backend']:>16}   -  {r['unavailable']}")
                continue
            design = r["design_cycles_per_second"]
            design = f"{design:>11,.0f}" if design else f"{'n/a':>11}"
            print(f"{r['backend']:>16} {'yes' if r['verified'] else 'NO':>3} {r['cycles']:>8} "
                  f"{r['wall_seconds']:>8.3f} {r['end_to_end_cycles_per_second']:>15,.0f} {design}")
    return 0 if all(r.get("verified", True) for r in rows) else 1


def _run_fc_table(args, cfg, opts) -> int:
    shapes = _shapes(args.fc_shapes) if args.fc_shapes else FC_TABLE_SHAPES
    backend = args.backend or "verilator"
    try:
        rows = fc_table(backend, cfg, shapes, **opts)
    except ValueError as e:
        from sim.cli.common import CliError
        raise CliError(str(e)) from None
    if args.json:
        print(json.dumps({"backend": backend, "config": cfg.name, "fc_table": rows}, indent=1))
    else:
        print(f"backend {backend}, configuration {cfg.name}, default schedule, shift 8, clip 0..127")
        print(f"{'B, K, N':>16} {'ok':>3} {'cycles':>9} {'predicted':>9} {'bus bound':>10} "
              f"{'ISA bound':>9} {'ratio':>6} {'GEMM/cyc':>8}")
        for r in rows:
            shape = f"{r['batch']}, {r['in_features']}, {r['out_features']}"
            print(f"{shape:>16} {'yes' if r['verified'] else 'NO':>3} {r['cycles']:>9} "
                  f"{r['predicted_cycles']:>9} {r['bus_bound_cycles']:>10.0f} {r['isa_bound_cycles']:>9} "
                  f"{r['cycles_over_bound']:>6.3f} {r['gemm_utilisation']:>8.3f}")
    return 0 if all(r["verified"] for r in rows) else 1
