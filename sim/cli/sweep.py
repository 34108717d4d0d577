"""``vta sweep``: a grid of configurations × workloads on a cycle backend, each point a Ray task.

The lead adds it with :func:`register` (``subparsers`` is the top-level subparsers object of ``vta``);
the parser's default ``func`` is :func:`cmd_sweep`: exit status 0 when every point ran and verified, 1
when a point failed or did not match numpy (each is in the results with its error), and
``sim.cli.CliError`` for input it refuses.  See :mod:`sim.sweep`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .common import CliError, add_backend_name, add_config, add_mem_latency, nonneg_int, one_line

__all__ = ["register", "cmd_sweep"]


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``sweep`` to ``vta``'s subparsers; returns its parser."""
    p = subparsers.add_parser(
        "sweep", help="sweep configurations x workloads on a cycle backend, in parallel on Ray",
        description="Run every configuration of a grid (VTA configuration keys, over --config) with "
                    "every workload, each point a Ray task; write PREFIX.json, PREFIX.csv and a "
                    "roofline PREFIX.png.  On verilator/icarus each configuration's model is built "
                    "once, by its first point, before its other points start.",
        epilog="Example: vta sweep --backend verilator --grid LOG_BUS_WIDTH=6,7 --grid LOG_BLOCK=4,5 "
               "--workload fc:1x1024x1024 --workload fc:64x256x256 --out sweep")
    p.add_argument("--grid", action="append", metavar="KEY=V1,V2",
                   help="a configuration key and its values (repeatable), e.g. LOG_BLOCK=4,5")
    p.add_argument("--workload", action="append", metavar="SPEC",
                   help="fc:BxKxN or mlp:digits[:IMAGES] (repeatable; default fc:1x1024x1024)")
    p.add_argument("--shift", type=int, default=0, metavar="S", help="FC shift, as vta run fc (default 0)")
    p.add_argument("--clip", type=int, nargs=2, metavar=("LO", "HI"), help="FC clip, as vta run fc")
    p.add_argument("--relu", action="store_true", help="FC relu, as vta run fc")
    p.add_argument("--schedule", default="default", help="FC schedule, as vta run fc (default default)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="FC data seed, as vta run fc (default 0)")
    p.add_argument("--out", metavar="PREFIX",
                   help="results prefix: PREFIX.json, PREFIX.csv, PREFIX.png (default: sweep, or the "
                        "--resume file's prefix)")
    p.add_argument("--resume", metavar="FILE",
                   help="a results JSON of an earlier sweep: its ok points are kept, the rest run")
    p.add_argument("--address", metavar="ADDR",
                   help="join this Ray cluster (default: start a local Ray)")
    p.add_argument("--workers", type=int, default=2, metavar="N",
                   help="CPUs of the local Ray (default 2)")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG")
    add_config(p)
    add_backend_name(p, default="verilator")
    add_mem_latency(p)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=cmd_sweep)
    return p


def cmd_sweep(args) -> int:
    """The handler of ``vta sweep``."""
    from hw.config import ConfigError, VTAConfig
    from .. import sweep
    try:
        import ray  # noqa: F401
    except ImportError:
        raise CliError('vta sweep needs Ray: pip install -e ".[sweep]"') from None
    if not args.no_plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise CliError('the roofline plot needs matplotlib: pip install -e ".[sweep]" '
                            '(or --no-plot)') from None
    if args.backend not in sweep.CYCLE_BACKENDS:
        raise CliError(f"--backend {args.backend} counts no cycles; a sweep needs one of "
                        f"{', '.join(sweep.CYCLE_BACKENDS)}")
    if args.workers < 1:
        raise CliError(f"--workers {args.workers} must be at least 1")
    try:
        base = VTAConfig.load(args.config)
    except ConfigError as e:
        raise CliError(one_line(e)) from None
    opts = {"shift": args.shift, "clip": list(args.clip) if args.clip else None, "relu": args.relu,
            "schedule": args.schedule, "seed": args.seed, "mem_latency": args.mem_latency}
    try:
        grid = sweep.parse_grid(args.grid)
        points = sweep.make_points(base, grid, args.workload or ["fc:1x1024x1024"], args.backend, opts)
        previous = sweep.load_results(args.resume) if args.resume else None
    except ValueError as e:
        raise CliError(one_line(e)) from None
    prefix = args.out or (os.path.splitext(args.resume)[0] if args.resume else "sweep")
    folder = os.path.dirname(os.path.abspath(prefix))
    if not os.path.isdir(folder):
        raise CliError(f"--out {prefix!r}: folder {folder} does not exist")
    meta = {"grid": grid, "workloads": args.workload or ["fc:1x1024x1024"], "backend": args.backend,
            "base_config": base.to_json(), "options": opts}
    records = sweep.run_sweep(points, prefix, previous=previous, address=args.address,
                              num_cpus=args.workers, grid_keys=list(grid), plot=not args.no_plot,
                              meta=meta)
    bad = [r for r in records if r["status"] != "ok" or not r.get("verified")]
    summary = {"points": len(records), "ok": sum(r["status"] == "ok" for r in records),
               "failed": sum(r["status"] != "ok" for r in records),
               "unverified": sum(r["status"] == "ok" and not r.get("verified") for r in records),
               "json": f"{prefix}.json", "csv": f"{prefix}.csv",
               "png": None if args.no_plot else f"{prefix}.png"}
    if args.json:
        print(json.dumps({**summary, "results": records}))
    else:
        print(_table(records, list(grid)))
        print(f"{summary['ok']} of {summary['points']} points ok, {summary['failed']} failed, "
              f"{summary['unverified']} not verified; wrote {summary['json']}, {summary['csv']}"
              + (f", {summary['png']}" if summary["png"] else ""))
    return 1 if bad else 0


def _table(records, keys) -> str:
    head = "".join(f"{k:>14}" for k in keys)
    lines = [f"{head} {'workload':>16} {'cycles':>9} {'bus bound':>10} {'compute':>9} {'bound':>9} {'ratio':>6} "
             f"{'GEMM util':>9} {'MAC/cycle':>9}"]
    for r in records:
        cfg = "".join(f"{r['config'].get(k)!s:>14}" for k in keys)
        if r["status"] != "ok":
            lines.append(f"{cfg} {r['workload']:>16}  FAILED: {r['error']}")
            continue
        f = lambda v, spec: "n/a" if v is None else format(v, spec)
        lines.append(f"{cfg} {r['workload']:>16} {f(r['cycles'], 'd'):>9} {r['bus_bound_cycles']:>10.0f} "
                     f"{r['compute_bound_cycles']:>9} {r['bound_cycles']:>9.0f} "
                     f"{f(r['cycles_over_bound'], '.2f'):>6} "
                     f"{f(r['gemm_utilisation'], '.3f'):>9} {f(r['mac_per_cycle'], '.1f'):>9}")
    return "\n".join(lines)
