"""``vta exec``, ``vta check`` and ``vta disasm``: commands on a raw VTA program given as binary files."""

from __future__ import annotations

import json
import os

from sim.report import report
from .common import (CliError, Formatter, add_backend, add_config, add_max_uops, add_program_files, backend_opts,
                     check, config, load_program, output_path, read, result_json, run_backend,
                     stats_table, write_atomic)
from .saved import add_program_dir, load_dir, program_of

__all__ = ["register", "exec_program", "check_program", "disasm"]


def _program_parser(subparsers, name: str, out_required: bool, **kwargs):
    """The parser of a command on one program (exec, check): ``subparsers.add_parser(name, **kwargs)``
    with the arguments naming the program, a saved directory or the binary files, and its
    configuration."""
    p = subparsers.add_parser(name, **kwargs)
    add_program_dir(p)
    add_program_files(p, out_required=out_required)
    add_config(p)
    return p


def register(subparsers) -> None:
    """Add ``vta exec``, ``vta check`` and ``vta disasm``."""
    # exec
    p_exec = _program_parser(
        subparsers, "exec", out_required=True, formatter_class=Formatter,
        help="run a raw VTA program given as binary files",
        description="Run a raw VTA program.  Each region file is placed in memory at its own base address\n"
                    "and the matching base register is set, so every dram_base is an element index\n"
                    "inside its region.  The program is checked statically first (--no-check skips it).\n"
                    "OUT.bin receives the whole out region (N elements, starting from OUT0.bin where given)\n"
                    "after a successful run.")
    add_backend(p_exec)

    # check
    p_check = _program_parser(
        subparsers, "check", out_required=False,
        help="check a raw VTA program statically (SRAM and DRAM ranges, illegal instructions)",
        description="Run the static checker on a program given as binary files, as vta exec does "
                    "before running it.")
    add_max_uops(p_check)

    # disasm
    p_dis = subparsers.add_parser(
        "disasm", help="print the instructions and micro-ops of a binary program",
        description="Print one line per instruction (index, the decoded instruction, the queue fetch "
                    "dispatches it to), then the micro-ops.  INSN.bin may be a saved program directory "
                    "(vta run fc --save DIR): its insn.bin, uop.bin and configuration.")
    p_dis.add_argument("insn", metavar="INSN.bin|DIR", help="instructions, 16 bytes each, or a saved program directory")
    p_dis.add_argument("--uop", metavar="UOP.bin", help="micro-ops, 4 bytes each (default: a DIR's uop.bin)")
    add_config(p_dis)
    p_exec.set_defaults(func=exec_program)
    p_check.set_defaults(func=check_program)
    p_dis.set_defaults(func=disasm)


def exec_program(args) -> int:
    output_path(args.out, "--out")
    program = program_of(args)
    cfg = program.config
    opts = backend_opts(args)
    if not args.no_check:
        check(program, args)
    res = run_backend(program, args, opts, meta={"workload": "exec " + os.path.basename(
        os.path.normpath(getattr(args, "program_dir", None) or args.insn or "program"))})
    # Write the out region only now, atomically: a failed run never clobbers OUT.bin.
    write_atomic(args.out, res.out, "--out")
    if args.json:
        print(json.dumps({**result_json(res, cfg), "out": args.out, "out_bytes": len(res.out)}))
    else:
        print(f"{res.instructions} instructions, {res.uops} micro-ops on {res.backend}, "
              f"{res.wall_time:.3f} s; wrote {len(res.out)} bytes to {args.out}")
        print(stats_table(res.counters, res.cycles))
        print(report(res.counters, res.cycles, res.instructions, cfg.bus_bytes))
    return 0


def check_program(args) -> int:
    program = program_of(args)
    check(program, args)
    print(f"ok: {program.n_insns} instructions, {program.n_uops} micro-ops")
    return 0


def disasm(args) -> int:
    from hw.isa import Opcode, decode_insn, decode_uops
    from hw.isa import illegal_reason, module_of
    if os.path.isdir(args.insn):
        program = load_dir(args.insn, args.config)
        cfg, data, uops = program.config, program.insns, program.uop
    else:
        cfg = config(args.config)
        data = read(args.insn, "instruction")
        uops = b""
    if len(data) % 16:
        raise CliError(f"{args.insn}: {len(data)} bytes is not a multiple of 16 "
                       f"(an instruction is 16 bytes)")
    if not data:
        raise CliError(f"{args.insn}: the instruction file is empty")
    if args.uop is not None:
        uops = read(args.uop, "--uop")
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
    if not finished:
        lines.append("(no FINISH: the core would stop with NO_FINISH after the last instruction)")
    if uops:
        lines.append(f"micro-ops ({len(uops) // 4}):")
        for j, u in enumerate(decode_uops(uops, cfg)):
            lines.append(f"{j:5d}  {u}")
    print("\n".join(lines))
    return 0
