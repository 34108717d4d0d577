"""What the ``vta`` commands share: the one-line refusal (:class:`CliError`), common options, reading
program files, running a program on a backend, and the statistics table."""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile

from hw.config import ConfigError, VTAConfig
from hw.axicodes import ADDR_WIDTH
from hw.regs import ErrorCode, FSIM_COUNTERS
from sim.report import bus_bound
from sim.result import BACKENDS, VTARunError

__all__ = ["PROG", "EXIT_OK", "EXIT_DIFFERS", "EXIT_REFUSED", "EXIT_HW_ERROR", "EXIT_BOUND",
           "EXIT_INTERNAL", "EXIT_CODES", "exit_codes_text", "CliError", "Parser", "one_line",
           "Formatter", "nonneg_int", "positive_int", "mem_latency", "add_mem_latency", "MAX_MEM_LATENCY", "add_config", "add_backend_name", "add_backend",
           "add_max_uops", "add_program_files", "config", "read", "output_path", "write_atomic", "MEM_LIMIT_BYTES",
           "check_fits", "load_program", "check", "backend_opts", "memory_opts", "resolve_faults", "get_backend", "run_error", "run_backend", "write_trace_outputs",
           "stats_table", "result_json", "error_json"]

PROG = "vta"

#: Exit status of every ``vta`` command (shown by ``vta --help`` and in README.md).
EXIT_OK, EXIT_DIFFERS, EXIT_REFUSED, EXIT_HW_ERROR, EXIT_BOUND, EXIT_INTERNAL = 0, 1, 2, 3, 4, 5
EXIT_CODES = {
    EXIT_OK: "ok",
    EXIT_DIFFERS: "the result differs from the reference (numpy, the int8 model)",
    EXIT_REFUSED: "bad input (option, file, value) or a program refused before it ran",
    EXIT_HW_ERROR: "the run stopped on a hardware error (illegal instruction, deadlock, no FINISH, "
                   "memory error: hw.regs.ErrorCode)",
    EXIT_BOUND: "the run hit its cycle bound (--max-cycles) or micro-op budget (--max-uops)",
    EXIT_INTERNAL: "an internal error of vta itself (a bug; VTA_TRACEBACK=1 shows the traceback)",
}


def exit_codes_text() -> str:
    """:data:`EXIT_CODES` as the lines of ``vta --help``'s epilog."""
    return "Exit status:\n" + "\n".join(f"  {code}  {text}" for code, text in EXIT_CODES.items())


class CliError(Exception):
    """A refusal reported as one line on stderr, with exit status ``status`` (:data:`EXIT_CODES`)."""

    def __init__(self, message: str, status: int = EXIT_REFUSED):
        super().__init__(message)
        self.status = status


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, ``vta: error: ...``, with status 2."""

    def error(self, message):
        sub = self.prog[len(PROG):].strip()
        m = re.fullmatch(r"argument ([^:]+): (.*)", one_line(message))
        if m:                          # "argument --seed: -1 is negative" -> "--seed -1 is negative"
            opt, rest = m[1].split("/")[0], m[2]
            message = f"{opt} {rest}" if re.match(r"['\-\d]", rest) else f"{opt}: {rest}"
        print(f"{PROG}: error: {sub + ': ' if sub else ''}{one_line(message)} (see {self.prog} --help)",
              file=sys.stderr)
        sys.exit(EXIT_REFUSED)


def nonneg_int(text: str) -> int:
    """An argparse type: an integer >= 0."""
    v = _int(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative (give 0 or more)")
    return v


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    v = _int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return v


def _int(text: str) -> int:
    try:
        return int(text, 0) if text.strip().lower().startswith(("0x", "-0x")) else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


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
                        "cycle by cycle in Amaranth's simulator; fsim is the functional model; verilator "
                        "runs the generated Verilog in a native harness; icarus and cocotb-verilator run "
                        "it under cocotb; soc-sim is the self-test SoC on Verilator, driven through its "
                        "UART; board is that SoC on an FPGA board, over --port)")


def _uop_budget() -> int:
    from sw.check import UOP_BUDGET
    return UOP_BUDGET


#: The largest --mem-latency: the memory model (sim/axi_mem.py) times its latencies on a 32-bit
#: wrap-safe cycle counter, so a latency must stay below 2^31 cycles (its own check gives the least).
def _max_mem_latency() -> int:
    from sim.memsettings import MAX_LATENCY
    return MAX_LATENCY - 1


MAX_MEM_LATENCY = _max_mem_latency()


def add_mem_latency(parser) -> None:
    """The ``--mem-latency N`` option (parsed by :func:`mem_latency`) of every command that runs a
    cycle-level backend."""
    from sim.memsettings import MIN_READ_LATENCY, MIN_WRITE_LATENCY
    parser.add_argument("--mem-latency", type=mem_latency, metavar="N",
                        help="memory read/write latency in cycles of the cycle-level backends' memory "
                             f"model ({max(MIN_READ_LATENCY, MIN_WRITE_LATENCY)} to {MAX_MEM_LATENCY}; "
                             "no rebuild)")


def mem_latency(text: str) -> int:
    """An argparse type: a latency the memory model supports (``sim.memsettings.MemSettings``'s
    check), at most :data:`MAX_MEM_LATENCY`."""
    from sim.memsettings import MemSettings
    v = _int(text)
    try:
        if v > MAX_MEM_LATENCY:
            raise ValueError(f"a latency is at most {MAX_MEM_LATENCY} cycles")
        MemSettings(read_latency=v, write_latency=v)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{text} is out of the memory model's range: {e}") from None
    return v


def add_max_uops(p):
    """``--max-uops N``: the micro-op budget of the checker and of fsim."""
    p.add_argument("--max-uops", type=positive_int, metavar="N",
                   help="micro-op budget of the checker and of fsim: a program whose GEMM/ALU "
                        f"instructions run more micro-ops is refused (default {_uop_budget():,})")


def add_backend(p):
    """The backend options of a command that runs a program."""
    g = p.add_argument_group("backend")
    add_backend_name(g)
    g.add_argument("--max-cycles", type=positive_int, metavar="N",
                   help="cycle bound of the cycle-level backends (on fsim: at most N micro-ops, as "
                        "the core issues one per cycle at best); reaching it is exit status 4 "
                        "(default: a bound derived from the program and the memory latency)")
    add_max_uops(g)
    g.add_argument("--port", metavar="DEVICE",
                   help="serial port of the board backend, e.g. /dev/ttyUSB0 (the board runs the "
                        "self-test SoC's bitstream; docs/soc.md)")
    g.add_argument("--baud", type=positive_int, metavar="N",
                   help="baud rate of --port, as the bitstream was built for "
                        "(default: sim.board.DEFAULT_BAUD, 115200)")
    g.add_argument("--waves", "--vcd", dest="waves", metavar="FILE",
                   help="write a waveform, its format from the suffix: .vcd on amaranth, verilator and "
                        "cocotb-verilator, .fst on icarus (cycle-level backends only)")
    g.add_argument("--trace", metavar="FILE.json",
                   help="write a pipeline trace sampled from the design: Chrome/Perfetto trace-event JSON "
                        "(ui.perfetto.dev, chrome://tracing), one slice per instruction per unit, token "
                        "waits, memory bursts, queue levels; timestamps are cycles (cycle-level backends "
                        "only; see docs/trace.md)")
    g.add_argument("--timeline", metavar="FILE.png",
                   help="draw the same trace as a timeline picture (needs matplotlib; as vta plot)")
    add_mem_latency(g)
    g.add_argument("--fault", action="append", metavar="SPEC",
                   help="inject an error response into the memory model (cycle-level backends): "
                        "read|write, then :region=insn|uop|inp|wgt|acc|out or :addr=LO-HI, :burst=N "
                        "(the N-th matching burst, from 0; default 0), :beat=N (default 1), "
                        ":resp=SLVERR|DECERR (default SLVERR); e.g. read:region=wgt:beat=3:resp=DECERR; "
                        "at most one read and one write fault")
    g.add_argument("--back-pressure", metavar="SPEC",
                   help="let the memory model withhold ARREADY/RVALID/AWREADY/WREADY/BVALID on a "
                        "deterministic pattern (cycle-level backends): on, off, or "
                        "rate=N (stalls per 256 decisions, default 64):seed=N:channels=ar,r,aw,w,b")
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
    p.add_argument("--out-elems", type=nonneg_int, metavar="N",
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
    if os.path.isdir(path):
        raise CliError(f"{what} {path!r} is a directory, not a file")
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise CliError(f"cannot read {what} file {path!r}: {e.strerror}") from None


def output_path(path, what: str):
    """Refuse, before any work, an output file ``path`` (the ``what`` option's) that cannot be written:
    a directory, or a file in a missing or unwritable directory.  Returns ``path``."""
    if path is None or path == "-":
        return path
    if os.path.isdir(path):
        raise CliError(f"{what} {path!r} is a directory, not a file")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CliError(f"{what} {path!r}: directory {folder!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CliError(f"{what} {path!r}: directory {folder!r} is not writable")
    return path


def write_atomic(path: str, data: bytes, what: str) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file in the same directory, renamed), with
    the permissions of a normal new file (0666 less the umask); on failure no temporary file is left."""
    output_path(path, what)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".vta-out-", dir=folder)
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise CliError(f"cannot write {what} file {path!r}: {e.strerror}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


#: The core's address space (hw/interfaces.py ADDR_WIDTH): no memory image can be larger.
MEM_LIMIT_BYTES = 1 << ADDR_WIDTH


def check_fits(nbytes: int, what: str) -> None:
    """Refuse ``what`` (naming the options) if its memory image of ``nbytes`` bytes cannot fit the
    core's address space."""
    if nbytes > MEM_LIMIT_BYTES:
        raise CliError(f"{what} needs {nbytes:,} bytes of memory, more than the core's "
                       f"{MEM_LIMIT_BYTES:,}-byte ({ADDR_WIDTH}-bit) address space")


def load_program(args, cfg):
    """The Program of the vta exec / check file options."""
    from sw.program import Program, ProgramError
    from sim.memimage import PAGE
    insns = read(args.insn, "--insn")
    if len(insns) % 16:
        raise CliError(f"--insn {args.insn}: {len(insns)} bytes is not a multiple of 16 "
                       f"(an instruction is 16 bytes)")
    regions = {}
    for name in ("uop", "inp", "wgt", "acc"):
        path = getattr(args, name)
        if path is None:
            continue
        blob = read(path, f"--{name}")
        eb = cfg.elem_bytes(name)
        if len(blob) % eb:
            raise CliError(f"--{name} {path}: {len(blob)} bytes is not a multiple of the {eb}-byte "
                           f"{name} element")
        regions[name] = blob
    ob = cfg.out_elem_bytes
    out_init = b""
    if args.out_init is not None:
        out_init = read(args.out_init, "--out-init")
        if len(out_init) % ob:
            raise CliError(f"--out-init {args.out_init}: {len(out_init)} bytes is not a multiple of the "
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
            raise CliError(f"--out-init {args.out_init}: {len(out_init) // ob} out elements exceed "
                           f"--out-elems {out_elems}")
    pages = lambda n: -(-n // PAGE) * PAGE
    image = sum(pages(len(b)) for b in (insns, *regions.values())) + pages(out_elems * ob) + PAGE
    check_fits(image, f"the program (--out-elems {out_elems} x {ob} bytes and its region files)")
    try:
        return Program(config=cfg, insns=insns, out_init=out_init, out_elems=out_elems, **regions)
    except ProgramError as e:
        raise CliError(one_line(e)) from None


def check(program, args=None):
    """Run the static checker (with the ``--max-uops`` budget of ``args``); a refusal is a CliError."""
    from sw.check import check_program, CheckError
    try:
        check_program(program, max_uops=getattr(args, "max_uops", None))
    except CheckError as e:
        raise CliError(f"program refused by the checker: {one_line(e)}") from None


def backend_opts(args) -> dict:
    """The backend options of :func:`add_backend`'s arguments, refused here (before any work) where a
    backend cannot honour them."""
    from sim.backends import BLOCK_RAM_BACKENDS, SERIAL_BACKENDS, WAVE_FORMATS
    waves = getattr(args, "waves", None)
    if waves is not None:
        formats = WAVE_FORMATS.get(args.backend, ())
        if not formats:
            why = "it runs a board" if args.backend == "board" else "it is not a cycle-level backend" \
                if args.backend == "fsim" else "its harness traces no signals"
            raise CliError(f"--waves/--vcd {waves!r}: backend {args.backend} has no waveform ({why})")
        suffix = os.path.splitext(waves)[1].lstrip(".").lower()
        if suffix not in formats:
            raise CliError(f"--waves/--vcd {waves!r}: backend {args.backend} writes "
                           f"{' or '.join('.' + f for f in formats)} waveforms, not {suffix or 'no suffix'!r}")
        output_path(waves, "--waves/--vcd")
    opts = {"max_cycles": args.max_cycles, "vcd": waves,
            "progress": sys.stderr.isatty() if args.progress is None else args.progress}
    for option, path in (("--trace", getattr(args, "trace", None)), ("--timeline", getattr(args, "timeline", None))):
        if path is None:
            continue
        if not WAVE_FORMATS.get(args.backend):
            raise CliError(f"{option} {path!r}: backend {args.backend} has no trace (only the cycle-level "
                           f"backends amaranth, verilator, cocotb-verilator and icarus sample the trace port)")
        output_path(path, option)
        if option == "--timeline":
            try:
                import matplotlib  # noqa: F401
            except ImportError:
                raise CliError(f'--timeline {path!r} needs matplotlib: pip install -e ".[sweep]"') from None
        from sim.trace import TraceCollector
        opts.setdefault("trace", TraceCollector())
    if getattr(args, "max_uops", None) is not None:
        opts["max_uops"] = args.max_uops
    if args.mem_latency is not None:
        if args.backend in BLOCK_RAM_BACKENDS:
            raise CliError(f"--mem-latency {args.mem_latency}: backend {args.backend} runs on the SoC's "
                           f"block RAM, whose timing is fixed")
        opts["mem_latency"] = args.mem_latency
    port, baud = getattr(args, "port", None), getattr(args, "baud", None)
    if args.backend in SERIAL_BACKENDS:
        if port is None:
            raise CliError(f"--backend {args.backend} needs --port DEVICE (the board's serial port, "
                           f"e.g. /dev/ttyUSB0)")
        if not os.path.exists(port):
            raise CliError(f"--port {port!r}: no such serial port")
        opts["port"] = port
        if baud is not None:
            opts["baud"] = baud
    else:
        for opt, value in (("--port", port), ("--baud", baud)):
            if value is not None:
                raise CliError(f"{opt} {value}: only the {' and '.join(SERIAL_BACKENDS)} backend uses a "
                               f"serial port, not {args.backend}")
    opts.update(memory_opts(args))
    return opts


def memory_opts(args) -> dict:
    """The ``read_fault``, ``write_fault`` and ``back_pressure`` options of ``--fault`` and
    ``--back-pressure``; a CliError naming the spec if one does not parse, or if the backend has no
    memory model."""
    from sim.backends import MEMORY_MODEL
    from sim.memsettings import parse_back_pressure, parse_fault
    faults = getattr(args, "fault", None) or []
    bp = getattr(args, "back_pressure", None)
    if not faults and bp is None:
        return {}
    backend = getattr(args, "backend", None)
    if backend not in MEMORY_MODEL:
        given = f"--fault {faults[0]!r}" if faults else f"--back-pressure {bp!r}"
        raise CliError(f"{given}: backend {backend} has no memory model (use one of "
                       f"{', '.join(MEMORY_MODEL)})")
    opts = {}
    for spec in faults:
        try:
            kind, fault = parse_fault(spec)
        except ValueError as e:
            raise CliError(f"--{one_line(e)}") from None
        if f"{kind}_fault" in opts:
            raise CliError(f"--fault {spec!r}: a second {kind} fault (at most one read and one write)")
        opts[f"{kind}_fault"] = fault
    if bp is not None:
        try:
            opts["back_pressure"] = parse_back_pressure(bp)
        except ValueError as e:
            raise CliError(f"--{one_line(e)}") from None
    return opts


def get_backend(name: str):
    """The run function of backend ``name``, or a CliError saying why it is not available."""
    from sim.backends import BackendUnavailable, get_backend as _get
    try:
        return _get(name)
    except (BackendUnavailable, ValueError) as e:
        raise CliError(one_line(e)) from None


def run_error(e: VTARunError, backend: str) -> CliError:
    """The CliError of a run that stopped: exit status 4 at the cycle bound / micro-op budget, else 3."""
    msg = one_line(e.message)
    if not msg.startswith(backend):
        msg = f"{backend}: {msg}"
    err = CliError(msg, EXIT_BOUND if e.code == ErrorCode.TIMEOUT else EXIT_HW_ERROR)
    err.run_error = e
    return err


def resolve_faults(program, opts: dict) -> dict:
    """``opts`` with the ``--fault`` regions turned into addresses of ``program``'s memory image; a
    CliError if a region is empty (no access can fault there)."""
    faults = {k: opts[k] for k in ("read_fault", "write_fault") if opts.get(k) is not None}
    if not faults:
        return opts
    from sim.memimage import MemImage
    layout = MemImage.place(program)
    out = dict(opts)
    for k, f in faults.items():
        try:
            out[k] = f.resolve(layout)
        except ValueError as e:
            raise CliError(f"--fault: {one_line(e)}") from None
    return out


def run_backend(program, args, opts: dict | None = None, meta: dict | None = None):
    """Run ``program`` on ``args.backend``; an unavailable backend or a VTARunError is a CliError.  The
    trace (``--trace``, ``--timeline``) is written after the run, also after one that stopped on an
    error; ``meta`` goes into it."""
    opts = backend_opts(args) if opts is None else opts
    from sim.links import LinkError, Refused
    func = get_backend(args.backend)
    opts = resolve_faults(program, opts)
    try:
        res = func(program, **opts)
    except VTARunError as e:
        write_trace_outputs(args, opts, meta)
        raise run_error(e, args.backend) from None
    except LinkError as e:             # soc-sim, board: the UART link failed (a timeout is a bound)
        raise CliError(one_line(e), EXIT_BOUND if e.timeout else EXIT_HW_ERROR) from None
    except Refused as e:               # the SoC or its port cannot run this program: nothing ran
        raise CliError(f"{args.backend}: {one_line(e)}") from None
    write_trace_outputs(args, opts, meta)
    return res


def write_trace_outputs(args, opts: dict, meta: dict | None = None) -> None:
    """Write ``--trace`` and ``--timeline`` from the runs the ``trace`` collector of ``opts`` saw
    (:func:`backend_opts` made it); nothing when neither was asked for."""
    collector = opts.get("trace")
    if collector is None or not collector.traces:
        return
    from sim.trace import TraceError, write_trace
    trace = collector.trace({"backend": args.backend, **(meta or {})})
    if getattr(args, "trace", None):
        try:
            write_trace(args.trace, trace)
        except OSError as e:
            raise CliError(f"cannot write --trace {args.trace}: {e.strerror}") from None
        print(f"wrote trace {args.trace} ({len(trace['traceEvents'])} events, {other_cycles(trace)} cycles)",
              file=sys.stderr)
    if getattr(args, "timeline", None):
        from sim.plot import plot_timeline
        other = trace["otherData"]
        title = " ".join(str(other[k]) for k in ("workload", "backend") if k in other)
        try:
            plot_timeline(trace, args.timeline, title=title or None)
        except TraceError as e:
            raise CliError(f"--timeline {args.timeline}: {e}") from None
        except OSError as e:
            raise CliError(f"cannot write --timeline {args.timeline}: {e.strerror}") from None
        print(f"wrote timeline {args.timeline}", file=sys.stderr)


def other_cycles(trace: dict):
    """The cycles a trace covers (its ``otherData``)."""
    return trace.get("otherData", {}).get("cycles")


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
