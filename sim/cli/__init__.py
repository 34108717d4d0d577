"""The ``vta`` command line (also ``python -m sim``).

Subcommands
-----------
``vta run fc``    compile a fully-connected layer for random int8 data, run it on a backend, check it
                  against numpy and print the statistics (the seed tutorial's table) and the cycle count
``vta exec``      run a raw VTA program given as binary files (one per DRAM region)
``vta check``     run only the static checker on such files
``vta disasm``    print the instructions and micro-ops of a binary program
``vta unpack``    turn the out region of a saved FC program into its (B, N) result
``vta verilog``   write the core as Verilog (``sim.verilog``)
``vta backends``  list the backends and whether each can be loaded
``vta synth``     estimate the core's FPGA utilisation with Yosys (``bitstreams.synth``)
``vta bitstream`` build a board bitstream of the self-test SoC, with its utilisation and timing report

Exit status (:data:`sim.cli.common.EXIT_CODES`): 0 ok, 1 a result differs from numpy, 2 bad input or a
program refused before it ran, 3 a run that stopped on a hardware error (``hw.regs.ErrorCode``), 4 a run
that hit its cycle bound or micro-op budget, 5 an internal error.  Every refusal is one line on stderr,
``vta: error: ...``, naming the option or file and the value; no user input gives a traceback.

Each command group is a module of this package with ``register(subparsers)``, which adds its parser(s)
with ``set_defaults(func=...)``; :data:`COMMANDS` lists them, so adding a command is one line there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import bitstream, fpga, plot, program, run, saved, sweep, tools
from .common import (EXIT_INTERNAL, EXIT_REFUSED, PROG, CliError, Formatter, Parser, error_json,
                     exit_codes_text, one_line, stats_table)

__all__ = ["main", "build_parser", "version", "CliError", "stats_table", "COMMANDS"]

#: The command modules, in the order ``vta --help`` lists them.
COMMANDS = [run, program, saved, tools, sweep, plot, fpga, bitstream]


def version() -> str:
    """The installed vta-amaranth package's version (its metadata), or a note that it is not installed."""
    from importlib import metadata
    try:
        return metadata.version("vta-amaranth")
    except metadata.PackageNotFoundError:
        return "(version unknown: the vta-amaranth package is not installed; pip install -e .)"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG, formatter_class=Formatter,
        description="Run, check and inspect programs for the VTA accelerator (Apache TVM's Versatile "
                    "Tensor Accelerator) modelled in Amaranth HDL.",
        epilog=exit_codes_text() + "\n"
               "Reproduce the seed tutorial:  vta run fc --batch 1 --in-features 1024 "
               "--out-features 1024 --shift 8 --clip 0 127 --schedule tutorial")
    parser.add_argument("--version", action="version", version=f"{PROG} {version()}",
                        help="print the version of the vta-amaranth package and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``vta``; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:            # --help, or a usage error argparse reported
        return e.code if isinstance(e.code, int) else EXIT_REFUSED
    try:
        return args.func(args)
    except CliError as e:
        if getattr(args, "json", False):
            print(json.dumps({"verified": False, "backend": getattr(args, "backend", None),
                              "error": error_json(e)}))
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:            # stdout closed early (| head): not an error of ours
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except MemoryError:
        print(f"{PROG}: error: out of memory (the host ran out; give smaller sizes)", file=sys.stderr)
        return EXIT_REFUSED
    except Exception as e:             # a bug of ours: still one line, unless asked for the traceback
        if os.environ.get("VTA_TRACEBACK"):
            raise
        print(f"{PROG}: error: internal error: {type(e).__name__}: {one_line(e)} "
              f"(VTA_TRACEBACK=1 shows the traceback)", file=sys.stderr)
        return EXIT_INTERNAL
