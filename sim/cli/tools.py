"""``vta verilog``, ``vta bench`` and ``vta backends``: the hardware as Verilog, its throughput, and
which backends load."""

from __future__ import annotations

import argparse

from hw.config import ConfigError
from sim.result import VTARunError
from .common import CliError, get_backend, one_line, output_path, run_error

__all__ = ["register", "verilog", "bench", "backends"]


def register(subparsers) -> None:
    """Add ``vta verilog``, ``vta bench`` and ``vta backends``."""
    # verilog
    p_v = subparsers.add_parser("verilog", help="write the VTA core as Verilog",
                         description="Write the VTA top level as one Verilog file.")
    try:
        from sim import verilog as _verilog
        _verilog.add_arguments(p_v)
        p_v.set_defaults(verilog_run=_verilog.run)
    except Exception as e:   # the Verilog generator is not there: the subcommand says so when used
        p_v.set_defaults(verilog_error=f"vta verilog is not available: {type(e).__name__}: {one_line(e)}")
        p_v.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    p_b = subparsers.add_parser("bench", help="measure the core's throughput on a cycle-level backend",
                         description="Measure GEMM and ALU micro-ops per cycle, DMA beats per cycle, and the "
                                     "seed FC's cycles against the memory-bus bound, with the backend's "
                                     "simulation speed.")
    from sim import bench as _bench
    _bench.add_arguments(p_b)

    p_v.set_defaults(func=verilog)
    p_b.set_defaults(func=bench)
    p_l = subparsers.add_parser("backends", help="list the backends and whether each can be loaded",
                                description="List the backends and whether each can be loaded.")
    p_l.set_defaults(func=backends)


def verilog(args) -> int:
    err = getattr(args, "verilog_error", None)
    if err:
        raise CliError(err)
    output_path(args.output, "-o")
    try:
        return args.verilog_run(args)
    except ConfigError as e:
        raise CliError(one_line(e)) from None


def bench(args) -> int:
    from sim import bench as bench_module
    # No --backend: amaranth, or verilator for --fc-table (sim.bench chooses).
    if args.backend is not None:
        get_backend(args.backend)
    try:
        return bench_module.run(args)
    except ConfigError as e:
        raise CliError(one_line(e)) from None
    except VTARunError as e:
        raise run_error(e, args.backend) from None


def backends(args) -> int:
    from sim.backends import available
    for name, why in available().items():
        print(f"{name:<17} {'ok' if why is None else why}")
    return 0
