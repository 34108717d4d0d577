"""Functional coverage of the differential fuzz: which instruction kinds, token flags and corner values
the programs it ran hold, counted from the programs themselves (decoded instruction by instruction, up
to the first FINISH), printed as a table at the end of a pytest run (``tests/conftest.py``)."""

from __future__ import annotations

from collections import Counter

from hw.isa import AluOp, MemType, Opcode, layouts, module_of
from sw.check import CheckError, check_program
from tests.support.random_programs import REGION_ELEMS

__all__ = ["BINS", "coverage", "coverage_table"]

_FLAGS = {"load": ("pop_next", "push_next"), "compute": ("pop_prev", "pop_next", "push_prev", "push_next"),
          "store": ("pop_prev", "push_prev")}

#: Every bin, grouped: (group, bin name).  A bin counts the programs holding at least one instance.
BINS: list[tuple[str, str]] = (
    [("kind", k) for k in ("LOAD UOP", "LOAD INP", "LOAD WGT", "LOAD ACC", "STORE", "GEMM", "GEMM reset",
                           "no-op (x_size 0)", "FINISH")]
    + [("alu op", f"{op.name} {how}") for op in AluOp for how in ("imm", "acc")]
    + [("token flag", f"{m} {f}") for m, fl in _FLAGS.items() for f in fl]
    + [("corner", c) for c in (
        "y_size 0 with x_size > 0", "y_pad_0 > 0", "y_pad_1 > 0", "x_pad_0 > 0", "x_pad_1 > 0", "pad 15",
        "x_stride > x_size", "dram range ends at the region's end", "sram footprint ends at the depth",
        "LOAD UOP y_size != 1", "iter_out 0", "iter_in 0", "empty uop range", "reversed uop range",
        "factor at its field's largest value", "GEMM/ALU index wraps past the depth",
        "imm -32768", "imm 32767", "SHR by a negative immediate", "2 rounds", "3 rounds")])


def _program_bins(program) -> set[str]:
    cfg = program.config
    gemm_fmt = layouts(cfg)["gemm"]
    depth = {"inp": cfg.inp_depth, "wgt": cfg.wgt_depth, "acc": cfg.acc_depth, "out": cfg.out_depth}
    seen = set()
    rounds = 0
    for insn in program.decoded():
        op = insn.opcode
        if op == Opcode.FINISH:
            seen.add("FINISH")
            break
        mod = module_of(insn)
        for f in _FLAGS[mod]:
            if getattr(insn, f + "_dep"):
                seen.add(f"{mod} {f}")
        if mod == "store" and insn.pop_prev_dep:
            rounds += 1
        if op in (Opcode.LOAD, Opcode.STORE):
            if insn.x_size == 0:
                seen.add("no-op (x_size 0)")
                continue
            mem = "out" if op == Opcode.STORE else MemType(insn.memory_type).name.lower()
            seen.add("STORE" if op == Opcode.STORE else f"LOAD {mem.upper()}")
            if mem == "uop":
                if insn.y_size != 1:
                    seen.add("LOAD UOP y_size != 1")
                continue
            pads = (insn.y_pad_0, insn.y_pad_1, insn.x_pad_0, insn.x_pad_1)
            for name, p in zip(("y_pad_0", "y_pad_1", "x_pad_0", "x_pad_1"), pads):
                if p:
                    seen.add(f"{name} > 0")
            if 15 in pads:
                seen.add("pad 15")
            if insn.y_size == 0:
                seen.add("y_size 0 with x_size > 0")
                continue
            if insn.x_stride > insn.x_size:
                seen.add("x_stride > x_size")
            if insn.dram_base + (insn.y_size - 1) * insn.x_stride + insn.x_size == REGION_ELEMS[mem]:
                seen.add("dram range ends at the region's end")
            foot = ((insn.y_pad_0 + insn.y_size + insn.y_pad_1) * (insn.x_pad_0 + insn.x_size + insn.x_pad_1)
                    if op == Opcode.LOAD else insn.y_size * insn.x_size)
            if insn.sram_base + foot == depth[mem]:
                seen.add("sram footprint ends at the depth")
            continue
        # GEMM / ALU
        if op == Opcode.GEMM:
            seen.add("GEMM reset" if insn.reset_reg else "GEMM")
        else:
            seen.add(f"{AluOp(insn.alu_opcode).name} {'imm' if insn.use_imm else 'acc'}")
            if insn.use_imm and insn.imm in (-32768, 32767):
                seen.add(f"imm {insn.imm}")
            if insn.use_imm and insn.alu_opcode == AluOp.SHR and insn.imm < 0:
                seen.add("SHR by a negative immediate")
        if insn.iter_out == 0:
            seen.add("iter_out 0")
        if insn.iter_in == 0:
            seen.add("iter_in 0")
        if insn.uop_end == insn.uop_bgn:
            seen.add("empty uop range")
        if insn.uop_end < insn.uop_bgn:
            seen.add("reversed uop range")
        for name in ("dst", "src", "wgt"):
            for io in ("out", "in"):
                field = f"{name}_factor_{io}"
                if hasattr(insn, field) and getattr(insn, field) == (1 << gemm_fmt[field].width) - 1:
                    seen.add("factor at its field's largest value")
    if rounds >= 2:
        seen.add(f"{min(rounds, 3)} rounds")
    try:
        check_program(program)
    except CheckError as e:
        if "index reaches" in str(e):
            seen.add("GEMM/ALU index wraps past the depth")
    return seen


def coverage(programs) -> Counter:
    """For each bin of :data:`BINS` (by name), how many of ``programs`` hold it."""
    counts = Counter({name: 0 for _, name in BINS})
    for p in programs:
        counts.update(_program_bins(p))
    return counts


def coverage_table(counts: Counter, n_programs: int) -> str:
    """The coverage as a text table: group, bin, programs holding it; uncovered bins marked."""
    lines = [f"fuzz coverage over {n_programs} programs (programs holding each bin)",
             f"  {'group':<11} {'bin':<40} {'programs':>8}"]
    for group, name in BINS:
        lines.append(f"  {group:<11} {name:<40} {counts[name]:>8}{'  NOT COVERED' if not counts[name] else ''}")
    missed = sum(1 for _, n in BINS if not counts[n])
    lines.append(f"  {len(BINS) - missed} of {len(BINS)} bins covered")
    return "\n".join(lines)
