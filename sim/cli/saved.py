"""Saved program directories (``vta run fc --save DIR``): reading one back for ``vta exec DIR``,
``vta check DIR`` and ``vta disasm DIR``, writing the run's expected and actual result next to it, and
``vta unpack DIR OUT.bin``, which turns an out region into the (B, N) result matrix.

A directory holds the files of ``sw.program.Program.save`` (``insn.bin``, the region files and
``program.json`` with the configuration, ``out_elems`` and the workload's shape) and, from ``--save``,
``expected.npy`` (numpy's result), ``result.npy`` (the run's result, unpacked) and ``out.bin`` (the
run's whole out region).
"""

from __future__ import annotations

import os
import sys

from .common import CliError, config, load_program, one_line, read

__all__ = ["register", "add_program_dir", "program_of", "load_dir", "save_results", "unpack", "RESULT_FILES"]

#: What ``--save`` writes besides the program: file name -> what it holds.
RESULT_FILES = {"expected.npy": "numpy's (B, N) int8 result", "result.npy": "the run's (B, N) int8 result",
                "out.bin": "the run's whole out region"}

_FILE_OPTIONS = ("insn", "uop", "inp", "wgt", "acc", "out_init", "out_elems")


def add_program_dir(p) -> None:
    """The optional ``DIR`` argument of ``vta exec`` and ``vta check``."""
    p.add_argument("program_dir", nargs="?", metavar="DIR",
                   help="a directory written by vta run fc --save (program.json gives the configuration "
                        "and the out size); instead of --insn and the region files")


def load_dir(directory: str, config_path: str | None = None):
    """The Program saved in ``directory`` (its configuration from program.json unless ``config_path``)."""
    from hw.config import ConfigError
    from sw.program import Program, ProgramError
    if not os.path.isdir(directory):
        raise CliError(f"{directory!r} is not a directory (a saved program directory holds insn.bin "
                       f"and program.json)")
    cfg = config(config_path) if config_path is not None else None
    try:
        return Program.load(directory, config=cfg)
    except (ProgramError, ConfigError) as e:
        raise CliError(one_line(e)) from None
    except KeyError as e:
        raise CliError(f"{os.path.join(directory, 'program.json')}: missing key {e.args[0]!r}") from None
    except OSError as e:
        raise CliError(f"cannot read the program in {directory!r}: {e.strerror}") from None
    except TypeError as e:
        raise CliError(f"{os.path.join(directory, 'program.json')}: unexpected content: {one_line(e)}") from None


def program_of(args):
    """The program of ``vta exec`` / ``vta check``: from ``DIR`` or from the file options."""
    if args.program_dir is None:
        if args.insn is None:
            raise CliError("no program: give a saved program DIR or --insn INSN.bin")
        return load_program(args, config(args.config))
    given = [f"--{o.replace('_', '-')}" for o in _FILE_OPTIONS if getattr(args, o, None) is not None]
    if given:
        raise CliError(f"give either DIR ({args.program_dir}) or the file options, not both "
                       f"({', '.join(given)})")
    return load_dir(args.program_dir, args.config)


def shape_of(program, directory: str) -> tuple[int, int]:
    """(B, N) of the FC result a saved program writes, from its program.json."""
    meta = program.meta
    try:
        b, n = int(meta["batch"]), int(meta["out_features"])
    except (KeyError, TypeError, ValueError):
        raise CliError(f"{os.path.join(directory, 'program.json')} gives no batch and out_features "
                       f"(it was not written by vta run fc --save)") from None
    return b, n


def save_results(directory: str, expected, got, out: bytes) -> None:
    """Write :data:`RESULT_FILES` in ``directory``."""
    import numpy as np
    try:
        np.save(os.path.join(directory, "expected.npy"), expected)
        np.save(os.path.join(directory, "result.npy"), got)
        with open(os.path.join(directory, "out.bin"), "wb") as f:
            f.write(out)
    except OSError as e:
        raise CliError(f"cannot save the results in {directory!r}: {e.strerror}") from None


def register(subparsers) -> None:
    """Add ``vta unpack``."""
    p = subparsers.add_parser(
        "unpack", help="turn an out region of a saved FC program into its (B, N) result matrix",
        description="Read OUT.bin (an out region, as vta exec --out writes it) of the FC program saved in\n"
                    "DIR (vta run fc --save DIR) and print the (B, N) int8 result, one row per line,\n"
                    "or write it with -o (a .npy file, else text).",
        epilog="Example: vta run fc --batch 4 --in-features 64 --out-features 32 --save D && "
               "vta exec D --out o.bin && vta unpack D o.bin")
    p.add_argument("program_dir", metavar="DIR", help="the saved program directory")
    p.add_argument("out", metavar="OUT.bin", help="the out region after a run")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write the matrix here: NAME.npy as numpy's .npy, any other name as text "
                        "(default: text on stdout)")
    p.set_defaults(func=unpack)


def unpack(args) -> int:
    import numpy as np
    from sw.pack import unpack_out
    program = load_dir(args.program_dir)
    b, n = shape_of(program, args.program_dir)
    blob = read(args.out, "OUT.bin")
    try:
        matrix = unpack_out(blob, b, n, program.config)
    except ValueError as e:
        raise CliError(f"{args.out}: {one_line(e)}") from None
    if args.output is None:
        np.savetxt(sys.stdout, matrix, fmt="%d")
        return 0
    try:
        if args.output.endswith(".npy"):
            np.save(args.output, matrix)
        else:
            np.savetxt(args.output, matrix, fmt="%d")
    except OSError as e:
        raise CliError(f"cannot write -o file {args.output!r}: {e.strerror}") from None
    return 0
