"""What the ``vta`` commands share: the one-line refusal (:class:`CliError`), common options, reading
program files, running a program on a backend, and the statistics table."""

from __future__ import annotations

import argparse

from hw.config import ConfigError, VTAConfig
from hw.regs import FSIM_COUNTERS
from sim.report import bus_bound
from sim.result import BACKENDS, VTARunError

__all__ = ["PROG", "CliError", "one_line", "Formatter", "add_config", "add_backend_name", "add_backend", "add_program_files",
           "config", "read", "load_program", "check", "backend_opts", "run_backend", "stats_table",
           "result_json", "error_json"]

PROG = "vta"


class CliError(Exception):
    """A refusal reported as one line on stderr, with exit status ``status``."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


def one_line(text: str) -> str:
    """``text`` with its lines joined by ``; ``."""
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


# -- options --------------------------------------------------------------------------------------------

class Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def add_config(p):
    """``--config FILE``."""
    p.add_argument("--config", metavar="FILE",
                   help="VTA configuration (a vta_config.json); default: VTA's default configuration "
                        "(1x16x16 int8 GEMM core, 64-bit bus)")


def add_backend_name(p, default: str = "amaranth"):
    """``--backend NAME``."""
    p.add_argument("--backend", default=default, choices=BACKENDS, metavar="NAME",
                   help=f"where to run: {', '.join(BACKENDS)} (default: {default}; amaranth is the core "
                        "cycle by cycle in Amaranth's simulator; fsim is the functional model; icarus and "
                        "verilator run the generated Verilog under cocotb)")


def add_backend(p):
    """The backend options of a command that runs a program."""
    g = p.add_argument_group("backend")
    add_backend_name(g)
    g.add_argument("--max-cycles", type=int, metavar="N",
                   help="cycle bound of the cycle-level backends; reaching it is an error "
                        "(default: a bound derived from the program)")
    g.add_argument("--vcd", metavar="FILE", help="write a waveform (cycle-level backends)")
    g.add_argument("--mem-latency", type=int, metavar="N",
                   help="memory read/write latency in cycles of the cycle-level backends' memory model")
    g.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="show a progress line on stderr while a cycle-level backend runs: cycles so far "
                        "of an estimated total and the time left, redrawn on a terminal, one line every "
                        "few seconds on a pipe or file, nothing for a run shorter than that (default: on)")
    g.add_argument("--no-check", action="store_true",
                   help="skip the static program checker (to exercise the hardware's own error paths)")
    g.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout instead of the text report")


_REGION_HELP = {
    "uop": "micro-ops, 4 bytes each (LOAD UOP dram_base indexes it)",
    "inp": "input elements (BATCH x BLOCK_IN int8, 16 bytes by default)",
    "wgt": "weight elements (BLOCK_OUT x BLOCK_IN int8, 256 bytes by default)",
    "acc": "accumulator elements (BATCH x BLOCK_OUT int32 little-endian, 64 bytes by default)",
}


def add_program_files(p, out_required: bool):
    """The region file options of ``vta exec`` and ``vta check``."""
    p.add_argument("--insn", metavar="INSN.bin",
                   help="instructions: 16 bytes each, little-endian (VTA's binary format); "
                        "needed unless a saved program DIR is given")
    for name, text in _REGION_HELP.items():
        p.add_argument(f"--{name}", metavar=f"{name.upper()}.bin", help=f"{name} region: {text}")
    p.add_argument("--out-init", metavar="OUT0.bin",
                   help="initial contents of the out region (BATCH x BLOCK_OUT int8 elements)")
    p.add_argument("--out-elems", type=int, metavar="N",
                   help="size of the out region in out elements (default: the size of --out-init)")
    if out_required:
        p.add_argument("--out", metavar="OUT.bin", required=True,
                       help="file that receives the whole out region after a successful run "
                            "(left untouched if the run fails)")


# -- helpers --------------------------------------------------------------------------------------------

def config(path) -> VTAConfig:
    """The configuration in ``path`` (default if None), or a CliError."""
    try:
        return VTAConfig.load(path)
    except ConfigError as e:
        raise CliError(one_line(e)) from None


def read(path: str, what: str) -> bytes:
    """The bytes of file ``path`` (the ``what`` option's), or a CliError naming it."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise CliError(f"cannot read {what} file {path!r}: {e.strerror}") from None


def load_program(args, cfg):
    """The Program of the vta exec / check file options."""
    from sw.program import Program, ProgramError
    insns = read(args.insn, "--insn")
    if len(insns) % 16:
        raise CliError(f"{args.insn}: {len(insns)} bytes is not a multiple of 16 "
                       f"(an instruction is 16 bytes)")
    regions = {}
    for name in ("uop", "inp", "wgt", "acc"):
        path = getattr(args, name)
        if path is None:
            continue
        blob = read(path, f"--{name}")
        eb = cfg.elem_bytes(name)
        if len(blob) % eb:
            raise CliError(f"{path}: {len(blob)} bytes is not a multiple of the {eb}-byte {name} element")
        regions[name] = blob
    ob = cfg.out_elem_bytes
    out_init = b""
    if args.out_init is not None:
        out_init = read(args.out_init, "--out-init")
        if len(out_init) % ob:
            raise CliError(f"{args.out_init}: {len(out_init)} bytes is not a multiple of the "
                           f"{ob}-byte out element")
    if args.out_elems is None:
        if args.out_init is None:
            raise CliError("the size of the out region is unknown: give --out-elems N or --out-init FILE")
        out_elems = len(out_init) // ob
    else:
        out_elems = args.out_elems
        if out_elems < 0:
            raise CliError(f"--out-elems {out_elems} is negative")
        if len(out_init) > out_elems * ob:
            raise CliError(f"{args.out_init}: {len(out_init) // ob} out elements exceed "
                           f"--out-elems {out_elems}")
    try:
        return Program(config=cfg, insns=insns, out_init=out_init, out_elems=out_elems, **regions)
    except ProgramError as e:
        raise CliError(one_line(e)) from None


def check(program):
    """Run the static checker; a refusal is a CliError."""
    from sw.check import check_program, CheckError
    try:
        check_program(program)
    except CheckError as e:
        raise CliError(f"program refused by the checker: {one_line(e)}") from None


def backend_opts(args) -> dict:
    """The backend options of :func:`add_backend`'s arguments."""
    opts = {"max_cycles": args.max_cycles, "progress": args.progress, "vcd": args.vcd}
    if args.mem_latency is not None:
        opts["mem_latency"] = args.mem_latency
    return opts


def run_backend(program, args):
    """Run ``program`` on ``args.backend``; an unavailable backend or a VTARunError is a CliError."""
    from sim.backends import BackendUnavailable, get_backend
    try:
        func = get_backend(args.backend)
    except (BackendUnavailable, ValueError) as e:
        raise CliError(one_line(e)) from None
    try:
        return func(program, **backend_opts(args))
    except VTARunError as e:
        msg = one_line(e.message)
        if not msg.startswith(args.backend):
            msg = f"{args.backend}: {msg}"
        err = CliError(msg)
        err.run_error = e
        raise err from None


def stats_table(counters: dict, cycles) -> str:
    """The seed tutorial's statistics table: the seven fsim counters, then the cycle count."""
    lines = ["Execution statistics:"]
    for k in FSIM_COUNTERS:
        lines.append("\t{:<16}: {:>16}".format(k, counters[k]))
    lines.append("\t{:<16}: {:>16}".format("cycle_count", "n/a" if cycles is None else cycles))
    return "\n".join(lines)


def result_json(res, cfg) -> dict:
    """The JSON fields of a run's result."""
    return {"backend": res.backend, "cycles": res.cycles, "counters": dict(res.counters),
            "instructions": res.instructions, "uops": res.uops, "bus_bytes": cfg.bus_bytes,
            "bus_bound_cycles": bus_bound(res.counters, res.instructions, cfg.bus_bytes),
            "wall_time": res.wall_time, "config": cfg.to_json()}


def error_json(err: CliError) -> dict:
    """The JSON ``error`` object of a refusal."""
    e = getattr(err, "run_error", None)
    if e is None:
        return {"message": str(err)}
    return {"code": e.code.name, "index": e.index, "message": str(err)}
