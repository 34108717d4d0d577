"""The ``vta`` command line (also ``python -m sim``).

Subcommands
-----------
``vta run fc``    compile a fully-connected layer for random int8 data, run it on a backend, check it
                  against numpy and print the statistics (the seed tutorial's table) and the cycle count
``vta exec``      run a raw VTA program given as binary files (one per DRAM region)
``vta check``     run only the static checker on such files
``vta disasm``    print the instructions and micro-ops of a binary program
``vta verilog``   write the core as Verilog (``sim.verilog``)
``vta backends``  list the backends and whether each can be loaded

Exit status: 0 on success, 1 when a result does not match numpy, 2 for a usage error, an input the
command refuses (configuration, file, checker) or a run that stopped on an error (``VTARunError``).
Every refusal is one line on stderr, ``vta: error: ...``, naming the file, instruction, field or value.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

from hw.config import ConfigError, VTAConfig
from hw.regs import FSIM_COUNTERS
from .result import BACKENDS, VTARunError

__all__ = ["main", "build_parser", "CliError", "stats_table"]

PROG = "vta"


class CliError(Exception):
    """A refusal reported as one line on stderr, with exit status ``status``."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


# -- argument parsing ---------------------------------------------------------------------------------

class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def _add_config(p):
    p.add_argument("--config", metavar="FILE",
                   help="VTA configuration (a vta_config.json); default: VTA's default configuration "
                        "(1x16x16 int8 GEMM core, 64-bit bus)")


def _add_backend(p):
    g = p.add_argument_group("backend")
    g.add_argument("--backend", default="amaranth", choices=BACKENDS, metavar="NAME",
                   help=f"where to run: {', '.join(BACKENDS)} (default: amaranth, the core cycle by "
                        "cycle in Amaranth's simulator; fsim is the functional model; icarus and "
                        "verilator run the generated Verilog under cocotb)")
    g.add_argument("--max-cycles", type=int, metavar="N",
                   help="cycle bound of the cycle-level backends; reaching it is an error "
                        "(default: a bound derived from the program)")
    g.add_argument("--vcd", metavar="FILE", help="write a waveform (cycle-level backends)")
    g.add_argument("--mem-latency", type=int, metavar="N",
                   help="memory read/write latency in cycles of the cycle-level backends' memory model")
    g.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress line on stderr while a cycle-level backend runs "
                        "(default: when stderr is a terminal)")
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


def _add_program_files(p, out_required: bool):
    p.add_argument("--insn", metavar="INSN.bin", required=True,
                   help="instructions: 16 bytes each, little-endian (VTA's binary format)")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=_Formatter,
        description="Run, check and inspect programs for the VTA accelerator (Apache TVM's Versatile "
                    "Tensor Accelerator) modelled in Amaranth HDL.",
        epilog="Exit status: 0 ok, 1 result differs from numpy, 2 refused input or failed run.\n"
               "Reproduce the seed tutorial:  vta run fc --batch 1 --in-features 1024 "
               "--out-features 1024 --shift 8 --clip 0 127 --schedule tutorial")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    # run
    p_run = sub.add_parser("run", help="compile and run a workload on random data, check it against numpy",
                           description="Compile a workload for random int8 data, run it on a backend "
                                       "and check the result against numpy.")
    run_sub = p_run.add_subparsers(dest="workload", metavar="WORKLOAD", required=True)
    p_fc = run_sub.add_parser(
        "fc", formatter_class=_Formatter,
        help="fully-connected layer: res = epilogue(x . w^T)",
        description="Fully-connected layer res = epilogue(x . w^T) with x (B, K) and w (N, K) random int8\n"
                    "from --seed.  The epilogue runs on VTA's ALU: arithmetic shift right by --shift, clip\n"
                    "to [LO, HI] with --clip, ReLU with --relu; the result is the low 8 bits.  Prints the\n"
                    "execution statistics (the seed tutorial's table), the cycle count and whether the\n"
                    "result matches numpy; exits 1 if it does not.",
        epilog="Example (the seed tutorial): vta run fc --batch 1 --in-features 1024 --out-features 1024 "
               "--shift 8 --clip 0 127 --schedule tutorial")
    p_fc.add_argument("--batch", type=int, required=True, metavar="B", help="batch size (rows of x)")
    p_fc.add_argument("--in-features", type=int, required=True, metavar="K", help="input features")
    p_fc.add_argument("--out-features", type=int, required=True, metavar="N", help="output features")
    p_fc.add_argument("--shift", type=int, default=0, metavar="S",
                      help="arithmetic right shift of the int32 result, 0..31 (default 0)")
    p_fc.add_argument("--clip", type=int, nargs=2, metavar=("LO", "HI"),
                      help="clip the shifted result to [LO, HI] (16-bit immediates)")
    p_fc.add_argument("--relu", action="store_true", help="apply max(., 0) after the clip")
    p_fc.add_argument("--schedule", default="default", metavar="NAME",
                      help="tiling schedule of the FC compiler: 'default' (double-buffered, sized from "
                           "the SRAMs) or 'tutorial' (the seed tutorial's 256x256 blocks)")
    p_fc.add_argument("--seed", type=int, default=0, metavar="N", help="random seed of x and w (default 0)")
    p_fc.add_argument("--save", metavar="DIR",
                      help="also write the compiled program as vta exec files (insn.bin, ...) in DIR")
    _add_config(p_fc)
    _add_backend(p_fc)

    # exec
    p_exec = sub.add_parser(
        "exec", formatter_class=_Formatter, help="run a raw VTA program given as binary files",
        description="Run a raw VTA program.  Each region file is placed in memory at its own base address\n"
                    "and the matching base register is set, so every dram_base is an element index\n"
                    "inside its region.  The program is checked statically first (--no-check skips it).\n"
                    "OUT.bin receives the whole out region (N elements, starting from OUT0.bin where given)\n"
                    "after a successful run.")
    _add_program_files(p_exec, out_required=True)
    _add_config(p_exec)
    _add_backend(p_exec)

    # check
    p_check = sub.add_parser(
        "check", help="check a raw VTA program statically (SRAM and DRAM ranges, illegal instructions)",
        description="Run the static checker on a program given as binary files, as vta exec does "
                    "before running it.")
    _add_program_files(p_check, out_required=False)
    _add_config(p_check)

    # disasm
    p_dis = sub.add_parser(
        "disasm", help="print the instructions and micro-ops of a binary program",
        description="Print one line per instruction (index, the decoded instruction, the queue fetch "
                    "dispatches it to), then the micro-ops.")
    p_dis.add_argument("insn", metavar="INSN.bin", help="instructions, 16 bytes each")
    p_dis.add_argument("--uop", metavar="UOP.bin", help="micro-ops, 4 bytes each")
    _add_config(p_dis)

    # verilog
    p_v = sub.add_parser("verilog", help="write the VTA core as Verilog",
                         description="Write the VTA top level as one Verilog file.")
    try:
        from . import verilog as _verilog
        _verilog.add_arguments(p_v)
        p_v.set_defaults(verilog_run=_verilog.run)
    except Exception as e:   # the Verilog generator is not there: the subcommand says so when used
        p_v.set_defaults(verilog_error=f"vta verilog is not available: {type(e).__name__}: {_one_line(e)}")
        p_v.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    p_b = sub.add_parser("bench", help="measure the core's throughput on a cycle-level backend",
                         description="Measure GEMM and ALU micro-ops per cycle, DMA beats per cycle, and the "
                                     "seed FC's cycles against the memory-bus bound, with the backend's "
                                     "simulation speed.")
    from . import bench as _bench
    _bench.add_arguments(p_b)

    sub.add_parser("backends", help="list the backends and whether each can be loaded",
                   description="List the backends and whether each can be loaded.")
    return parser


# -- helpers -------------------------------------------------------------------------------------------

def _config(path) -> VTAConfig:
    try:
        return VTAConfig.load(path)
    except ConfigError as e:
        raise CliError(_one_line(e)) from None


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise CliError(f"cannot read {what} file {path!r}: {e.strerror}") from None


def _load_program(args, cfg):
    """The Program of the vta exec / check file options."""
    from sw.program import Program, ProgramError
    insns = _read(args.insn, "--insn")
    if len(insns) % 16:
        raise CliError(f"{args.insn}: {len(insns)} bytes is not a multiple of 16 "
                       f"(an instruction is 16 bytes)")
    regions = {}
    for name in ("uop", "inp", "wgt", "acc"):
        path = getattr(args, name)
        if path is None:
            continue
        blob = _read(path, f"--{name}")
        eb = cfg.elem_bytes(name)
        if len(blob) % eb:
            raise CliError(f"{path}: {len(blob)} bytes is not a multiple of the {eb}-byte {name} element")
        regions[name] = blob
    ob = cfg.out_elem_bytes
    out_init = b""
    if args.out_init is not None:
        out_init = _read(args.out_init, "--out-init")
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
        raise CliError(_one_line(e)) from None


def _check(program):
    from sw.check import check_program, CheckError
    try:
        check_program(program)
    except CheckError as e:
        raise CliError(f"program refused by the checker: {_one_line(e)}") from None


def _backend_opts(args) -> dict:
    opts = {"max_cycles": args.max_cycles, "progress": sys.stderr.isatty() if args.progress is None else args.progress, "vcd": args.vcd}
    if args.mem_latency is not None:
        opts["mem_latency"] = args.mem_latency
    return opts


def _run_backend(program, args):
    from .backends import BackendUnavailable, get_backend
    try:
        func = get_backend(args.backend)
    except (BackendUnavailable, ValueError) as e:
        raise CliError(_one_line(e)) from None
    try:
        return func(program, **_backend_opts(args))
    except VTARunError as e:
        msg = _one_line(e.message)
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


def _result_json(res, cfg) -> dict:
    return {"backend": res.backend, "cycles": res.cycles, "counters": dict(res.counters),
            "instructions": res.instructions, "uops": res.uops, "bus_bytes": cfg.bus_bytes,
            "wall_time": res.wall_time, "config": cfg.to_json()}


def _error_json(err: CliError) -> dict:
    e = getattr(err, "run_error", None)
    if e is None:
        return {"message": str(err)}
    return {"code": e.code.name, "index": e.index, "message": str(err)}


# -- commands ------------------------------------------------------------------------------------------

def _cmd_run_fc(args) -> int:
    import time
    import numpy as np
    cfg = _config(args.config)
    for name in ("batch", "in_features", "out_features"):
        v = getattr(args, name)
        if v < 1:
            raise CliError(f"--{name.replace('_', '-')} {v} must be at least 1")
    try:
        from sw import fc
    except ImportError as e:
        raise CliError(f"the FC compiler (sw.fc) is not available: {_one_line(e)}") from None
    if args.schedule not in fc.SCHEDULES:
        raise CliError(f"--schedule {args.schedule!r} is not one of: {', '.join(fc.SCHEDULES)}")
    rng = np.random.default_rng(args.seed)
    x = rng.integers(-128, 128, (args.batch, args.in_features), dtype=np.int8)
    w = rng.integers(-128, 128, (args.out_features, args.in_features), dtype=np.int8)
    t0 = time.perf_counter()
    try:
        fcp = fc.build_fc(x, w, shift=args.shift, clip=tuple(args.clip) if args.clip else None,
                          relu=args.relu, schedule=args.schedule, config=cfg)
    except (ValueError, TypeError) as e:
        raise CliError(f"cannot compile the FC layer: {_one_line(e)}") from None
    compile_time = time.perf_counter() - t0
    program = fcp.program
    if args.save:
        try:
            program.save(args.save)
        except OSError as e:
            raise CliError(f"cannot save the program in {args.save!r}: {e.strerror}") from None
    if not args.no_check:
        _check(program)
    res = _run_backend(program, args)
    got, ref = fcp.unpack(res.out), fcp.reference()
    verified = bool(np.array_equal(got, ref))
    bad = np.argwhere(got != ref)
    shape = {"batch": args.batch, "in_features": args.in_features, "out_features": args.out_features}
    if args.json:
        obj = {"workload": "fc", "verified": verified, **_result_json(res, cfg), **shape,
               "schedule": args.schedule, "shift": args.shift,
               "clip": list(args.clip) if args.clip else None, "relu": args.relu, "seed": args.seed,
               "mismatches": int(len(bad)), "compile_time": compile_time}
        print(json.dumps(obj))
    else:
        print(f"FC {args.batch}x{args.in_features} -> {args.out_features} (shift {args.shift}"
              f"{', clip %d..%d' % tuple(args.clip) if args.clip else ''}{', relu' if args.relu else ''}), "
              f"schedule {args.schedule}, backend {res.backend}, configuration {cfg.name}")
        print(f"{res.instructions} instructions, {res.uops} micro-ops, {res.wall_time:.3f} s")
        print(stats_table(res.counters, res.cycles))
        if verified:
            print("Result matches numpy: yes")
        else:
            i, j = bad[0]
            print(f"Result matches numpy: NO: {len(bad)} of {ref.size} elements differ, first at "
                  f"[{i}, {j}]: got {got[i, j]}, expected {ref[i, j]}")
    return 0 if verified else 1


def _cmd_exec(args) -> int:
    cfg = _config(args.config)
    program = _load_program(args, cfg)
    if not args.no_check:
        _check(program)
    res = _run_backend(program, args)
    # Write the out region only now, atomically: a failed run never clobbers OUT.bin.
    out_dir = os.path.dirname(os.path.abspath(args.out))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".vta-out-", dir=out_dir)
        with os.fdopen(fd, "wb") as f:
            f.write(res.out)
        os.replace(tmp, args.out)
    except OSError as e:
        raise CliError(f"cannot write --out file {args.out!r}: {e.strerror}") from None
    if args.json:
        print(json.dumps({**_result_json(res, cfg), "out": args.out, "out_bytes": len(res.out)}))
    else:
        print(f"{res.instructions} instructions, {res.uops} micro-ops on {res.backend}, "
              f"{res.wall_time:.3f} s; wrote {len(res.out)} bytes to {args.out}")
        print(stats_table(res.counters, res.cycles))
    return 0


def _cmd_check(args) -> int:
    cfg = _config(args.config)
    program = _load_program(args, cfg)
    _check(program)
    print(f"ok: {program.n_insns} instructions, {program.n_uops} micro-ops")
    return 0


def _cmd_disasm(args) -> int:
    from hw.isa import Opcode, decode_insn, decode_uops
    from hw.isa import illegal_reason, module_of
    cfg = _config(args.config)
    data = _read(args.insn, "instruction")
    if len(data) % 16:
        raise CliError(f"{args.insn}: {len(data)} bytes is not a multiple of 16 "
                       f"(an instruction is 16 bytes)")
    uops = b""
    if args.uop is not None:
        uops = _read(args.uop, "--uop")
        if len(uops) % 4:
            raise CliError(f"{args.uop}: {len(uops)} bytes is not a multiple of 4 (a micro-op is 4 bytes)")
    lines = []
    finished = False
    for i in range(len(data) // 16):
        insn = decode_insn(int.from_bytes(data[16 * i:16 * i + 16], "little"), cfg)
        why = illegal_reason(insn)
        queue = f"illegal: {why}" if why else module_of(insn)
        if finished:
            queue += ", after FINISH: never fetched"
        lines.append(f"{i:5d}  {str(insn):<72}  {queue}")
        finished |= insn.opcode == Opcode.FINISH
    if uops:
        lines.append(f"micro-ops ({len(uops) // 4}):")
        for j, u in enumerate(decode_uops(uops, cfg)):
            lines.append(f"{j:5d}  {u}")
    print("\n".join(lines))
    return 0


def _cmd_verilog(args) -> int:
    err = getattr(args, "verilog_error", None)
    if err:
        raise CliError(err)
    try:
        return args.verilog_run(args)
    except ConfigError as e:
        raise CliError(_one_line(e)) from None


def _cmd_bench(args) -> int:
    from . import bench
    from .backends import BackendUnavailable
    try:
        return bench.run(args)
    except (ConfigError, BackendUnavailable) as e:
        raise CliError(_one_line(e)) from None
    except VTARunError as e:
        raise CliError(f"benchmark run stopped: {_one_line(e.message)}") from None


def _cmd_backends(args) -> int:
    from .backends import available
    for name, why in available().items():
        print(f"{name:<10} {'ok' if why is None else why}")
    return 0


_COMMANDS = {"exec": _cmd_exec, "check": _cmd_check, "disasm": _cmd_disasm, "verilog": _cmd_verilog,
             "backends": _cmd_backends, "bench": _cmd_bench}


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
        return e.code if isinstance(e.code, int) else 2
    cmd = _cmd_run_fc if args.command == "run" else _COMMANDS[args.command]
    try:
        return cmd(args)
    except CliError as e:
        if getattr(args, "json", False):
            print(json.dumps({"verified": False, "backend": getattr(args, "backend", None),
                              "error": _error_json(e)}))
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
