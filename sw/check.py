"""The static program checker: refuses a program that would index outside an SRAM or a DRAM region, or
that holds an illegal instruction, before any backend runs it.

The hardware wraps SRAM indices modulo the depth and has no notion of a region's end (semantics.md §3);
such programs are almost always compiler bugs, so ``vta exec`` and ``vta run`` check first (``--no-check``
skips it to exercise the hardware's own error paths).  The check is cheap: it follows the instructions in
program order up to the first FINISH (fetch never dispatches what follows), tracks statically which
micro-ops the LOAD UOPs place in uop SRAM (from ``program.uop``), and bounds every GEMM / ALU index over
its whole loop nest, without executing any data.  Slots no LOAD UOP wrote are taken as zero micro-ops
(the SRAM's reset value).
"""

from __future__ import annotations

import numpy as np

from hw.isa import AluOp, MemType, Opcode, decode_insn, layouts
from .program import LOAD_REGIONS, Program, ProgramError

__all__ = ["check_program", "CheckError", "UOP_BUDGET"]

#: The default micro-op budget of a program: the GEMM and ALU micro-op iterations it may run up to its
#: first FINISH.  2^24 is a few seconds on the functional model and about a minute on Verilator; a
#: legal GEMM of iter_out = iter_in = 16383 (2.7 x 10^8 micro-ops) is refused, not run for hours.
UOP_BUDGET = 1 << 24


class CheckError(ProgramError):
    """A program the checker refuses.  The one-line message names the instruction index, its kind, the
    field and the value.

    Members
    -------
    index : int     the instruction
    field : str     the field at fault (``sram_base``, ``dram_base``, ``uop_end``, ``opcode``, ...)
    value : int     that field's value
    """

    def __init__(self, index: int | None, kind: str, field: str, value: int, why: str):
        self.index, self.field, self.value = index, field, value
        where = f"instruction {index} ({kind})" if index is not None else kind
        super().__init__(f"{where}: {field} = {value}: {why}")



def _kind(insn) -> str:
    op = insn.opcode
    if op in (Opcode.LOAD, Opcode.STORE):
        try:
            mt = MemType(insn.memory_type).name
        except ValueError:
            mt = f"memory_type {insn.memory_type}"
        return f"{Opcode(op).name} {mt}" if op == Opcode.LOAD else "STORE"
    if op == Opcode.ALU:
        try:
            return f"ALU {AluOp(insn.alu_opcode).name}"
        except ValueError:
            return "ALU"
    try:
        return Opcode(op).name
    except ValueError:
        return f"opcode {op}"


def check_program(program: Program, max_uops: int | None = None) -> None:
    """Check ``program`` statically.

    Parameters
    ----------
    program : Program
    max_uops : int, optional
        The micro-op budget (default :data:`UOP_BUDGET`).

    Raises
    ------
    CheckError
        For the first instruction (in program order, up to the first FINISH) that

        * is illegal: opcode 5-7, ALU opcode 5-7, a LOAD of a memory type other than UOP, WGT, INP, ACC;
        * reaches past an SRAM: a LOAD's padded footprint or a STORE's rows past the buffer depth, a
          LOAD UOP past the uop depth, ``uop_end`` past the uop depth, or a GEMM / ALU index (dst, src,
          wgt) past its buffer anywhere in its loop nest, with the micro-ops earlier LOAD UOPs placed;
        * reaches past a DRAM region: a LOAD reading or a STORE writing an element beyond its region;

        or, for the whole program (``index`` None), that has no instructions, no FINISH, or more GEMM /
        ALU micro-op iterations before its FINISH than ``max_uops``.
    """
    budget = UOP_BUDGET if max_uops is None else max_uops
    if program.n_insns == 0:
        raise CheckError(None, "program", "instructions", 0, "an empty program (it needs a FINISH)")
    uops = 0
    cfg = program.config
    uop_fmt = layouts(cfg)["uop"]
    depth = {m: cfg.depth(m) for m in ("uop", "inp", "wgt", "acc", "out")}
    region_elems = {m: len(program.region(m)) // cfg.elem_bytes(m) for m in ("uop", "inp", "wgt", "acc")}
    region_elems["out"] = program.out_elems
    words = np.frombuffer(program.uop, "<u4").astype(np.int64)
    region_uops = {f: (words >> uop_fmt[f].offset) & uop_fmt[f].mask
                   for f in ("dst_idx", "src_idx", "wgt_idx")}
    sram_uops = {f: np.zeros(cfg.uop_depth, np.int64) for f in region_uops}

    for i in range(program.n_insns):
        insn = decode_insn(int.from_bytes(program.insns[16 * i:16 * i + 16], "little"), cfg)
        op = insn.opcode
        kind = _kind(insn)

        def fail(field, value, why):
            raise CheckError(i, kind, field, value, why)

        if op not in tuple(Opcode):
            fail("opcode", op, "not a VTA opcode (LOAD 0, STORE 1, GEMM 2, FINISH 3, ALU 4)")
        if op == Opcode.FINISH:
            return
        if op in (Opcode.GEMM, Opcode.ALU):
            uops += insn.n_uop_iters
            if uops > budget:
                fail("micro-ops", uops, f"the program runs more than the micro-op budget of {budget:,} "
                                        f"(--max-uops) by this instruction "
                                        f"(iter_out {insn.iter_out} x iter_in {insn.iter_in} x "
                                        f"{max(insn.uop_end - insn.uop_bgn, 0)} micro-ops)")
        if op == Opcode.ALU and insn.alu_opcode not in tuple(AluOp):
            fail("alu_opcode", insn.alu_opcode, "not an ALU opcode (MIN 0, MAX 1, ADD 2, SHR 3, MUL 4)")
        if op == Opcode.LOAD and insn.memory_type not in LOAD_REGIONS:
            fail("memory_type", insn.memory_type, "a LOAD reads UOP 0, WGT 1, INP 2 or ACC 3")

        if op in (Opcode.LOAD, Opcode.STORE):
            if insn.x_size == 0:          # a sync: moves nothing
                continue
            mem = LOAD_REGIONS[insn.memory_type] if op == Opcode.LOAD else "out"
            x, y, s, d, stride = insn.x_size, insn.y_size, insn.sram_base, insn.dram_base, insn.x_stride
            # SRAM side
            if mem == "uop":
                foot, what = x, f"{x} micro-ops"
            elif op == Opcode.LOAD:
                h = insn.y_pad_0 + y + insn.y_pad_1
                w = insn.x_pad_0 + x + insn.x_pad_1
                foot, what = h * w, f"a padded footprint of {h} x {w} elements"
            else:
                foot, what = y * x, f"{y} x {x} elements"
            if s + foot > depth[mem]:
                fail("sram_base", s, f"{what} from there end at {s + foot - 1}, past the {mem} "
                                     f"buffer depth {depth[mem]}")
            # DRAM side
            n = region_elems[mem]
            if mem == "uop":
                hi = d + x - 1
            elif y == 0:
                hi = -1
            else:
                hi = d + (y - 1) * stride + x - 1
            if hi >= n:
                verb = "reads" if op == Opcode.LOAD else "writes"
                fail("dram_base", d, f"{verb} {mem} elements {d}..{hi} (y_size {y}, x_size {x}, "
                                     f"x_stride {stride}), past the {mem} region of {n} elements")
            if mem == "uop":
                slots = np.arange(s, s + x)
                for f, arr in sram_uops.items():
                    arr[slots] = region_uops[f][d:d + x]
            continue

        # GEMM / ALU
        if insn.uop_end > cfg.uop_depth:
            fail("uop_end", insn.uop_end, f"past the uop buffer depth {cfg.uop_depth}")
        if insn.n_uop_iters == 0:
            continue
        ks = slice(insn.uop_bgn, insn.uop_end)
        gemm = op == Opcode.GEMM
        checks = [("dst", "acc")]
        if gemm and not insn.reset_reg:
            checks += [("src", "inp"), ("wgt", "wgt")]
        elif not gemm and not insn.use_imm:
            checks += [("src", "acc")]
        for name, mem in checks:
            f_out, f_in = getattr(insn, f"{name}_factor_out"), getattr(insn, f"{name}_factor_in")
            umax = int(sram_uops[f"{name}_idx"][ks].max())
            top = umax + (insn.iter_out - 1) * f_out + (insn.iter_in - 1) * f_in
            if top >= depth[mem]:
                field, value = ((f"{name}_factor_out", f_out) if f_out else
                                (f"{name}_factor_in", f_in) if f_in else (f"{name}_idx", umax))
                fail(field, value,
                     f"the {mem} index reaches {top} (largest micro-op {name}_idx {umax} in uop "
                     f"[{insn.uop_bgn},{insn.uop_end}) + {insn.iter_out - 1} x {name}_factor_out {f_out} "
                     f"+ {insn.iter_in - 1} x {name}_factor_in {f_in}), past the {mem} buffer depth "
                     f"{depth[mem]}")
    raise CheckError(None, "program", "instructions", program.n_insns,
                     "no FINISH: the core would stop with NO_FINISH after the last instruction")
