"""The static checker (sw/check.py): accepts the good programs, refuses each kind of bad one with a
one-line message naming the instruction, the field and the value."""

import time

import numpy as np
import pytest

from hw.config import VTAConfig
from hw.isa import AluOp, MemType
from sw.check import CheckError, check_program
from sw.program import ProgramError
from tests.support import programs as P

CFG = VTAConfig(log_batch=1, log_block=2, log_inp_buff_size=9, log_wgt_buff_size=10,
                log_acc_buff_size=13, log_uop_buff_size=9)


def refused(prog, index, field, value=None):
    with pytest.raises(CheckError) as ei:
        check_program(prog)
    e = ei.value
    assert isinstance(e, ProgramError)
    assert (e.index, e.field) == (index, field), str(e)
    if value is not None:
        assert e.value == value, str(e)
    msg = str(e)
    assert "\n" not in msg
    assert msg.startswith(f"instruction {index} ") and f"{field} = {e.value}" in msg
    return msg


@pytest.mark.parametrize("cfg", [VTAConfig(), CFG], ids=["default", "small"])
def test_good_programs_pass(cfg):
    for name, prog, _ in P.suite(cfg):
        check_program(prog)
    for mem in ("inp", "wgt", "acc"):
        for pads in P.PAD_COMBINATIONS:
            check_program(P.padded_load_program(cfg, mem, pads)[0])


def test_tutorial_passes_and_is_cheap():
    prog, _ = P.tutorial_fc_program()
    t = time.perf_counter()
    check_program(prog)
    assert time.perf_counter() - t < 0.5


@pytest.mark.parametrize("kind", P.ILLEGAL_KINDS)
def test_illegal(kind):
    prog, exp = P.illegal_program(CFG, kind)
    field = "opcode" if kind.startswith("opcode") else \
        "alu_opcode" if kind.startswith("alu") else "memory_type"
    refused(prog, exp.index, field)


def test_only_instructions_up_to_finish_are_checked():
    b = P.Builder(CFG)
    b.finish()
    b.add_raw(7)
    b.load(MemType.INP, CFG.inp_depth, 0, 1, 1)
    check_program(b.program())


@pytest.mark.parametrize("kind", P.DRAM_KINDS)
def test_dram_out_of_range(kind):
    prog, exp = P.dram_out_of_range_program(CFG, kind)
    msg = refused(prog, exp.index, "dram_base")
    assert "elements" in msg and kind in msg


def test_dram_in_range_edge_passes():
    # rows of 2 with stride 3 over a 5-element region: elements 0,1,3,4
    b = P.Builder(CFG)
    b.load(MemType.INP, 0, 0, 2, 2, 3, push_next=True)
    b.nop("compute", pop_prev=True)
    b.finish()
    check_program(b.program(inp=np.zeros((5, CFG.batch, CFG.block_in))))
    b.insns[0].y_size = 3            # 6, 7 do not exist
    refused(b.program(inp=np.zeros((5, CFG.batch, CFG.block_in))), 0, "dram_base", 0)


@pytest.mark.parametrize("mem,depth_attr", [(MemType.INP, "inp_depth"), (MemType.WGT, "wgt_depth"),
                                            (MemType.ACC, "acc_depth")])
def test_load_padded_footprint_past_sram(mem, depth_attr):
    depth = getattr(CFG, depth_attr)
    shape = {MemType.INP: (CFG.batch, CFG.block_in), MemType.WGT: (CFG.block_out, CFG.block_in),
             MemType.ACC: (CFG.batch, CFG.block_out)}[mem]
    region = {MemType.INP: "inp", MemType.WGT: "wgt", MemType.ACC: "acc"}[mem]
    data = {region: np.zeros((2,) + shape)}

    def prog(pads):
        b = P.Builder(CFG)
        b.load(mem, depth - 12, 0, 1, 2, 2, pads)
        b.finish()
        return b.program(**data)

    check_program(prog((1, 1, 1, 1)))                 # 3 x 4 = 12 elements: fits exactly
    msg = refused(prog((1, 1, 1, 2)), 0, "sram_base", depth - 12)   # 3 x 5 = 15
    assert f"depth {depth}" in msg


def test_store_and_uop_load_past_sram():
    b = P.Builder(CFG)
    b.store(CFG.out_depth - 3, 0, 2, 2)
    b.finish()
    refused(b.program(out_elems=4), 0, "sram_base")
    b = P.Builder(CFG)
    b.uop(0, 0)
    b.uop(0, 0)
    b.load_uop(CFG.uop_depth - 1, 0, 2)
    b.finish()
    refused(b.program(), 0, "sram_base", CFG.uop_depth - 1)


def test_zero_x_size_is_not_checked():
    b = P.Builder(CFG)
    b.load(MemType.ACC, 0xFFFF, 0xFFFFFFF, 1, 0)
    b.finish()
    check_program(b.program())


def test_uop_end_past_depth():
    b = P.Builder(CFG)
    b.gemm(CFG.uop_depth - 1, CFG.uop_depth + 1)
    b.finish()
    refused(b.program(), 0, "uop_end", CFG.uop_depth + 1)


def _loop_prog(insn_kw, uops_region, load=(3, 1, 2), alu=False):
    """LOAD UOP (sram, dram, n) then one GEMM/ALU using micro-op slots [3, 5)."""
    b = P.Builder(CFG)
    for u in uops_region:
        b.uop(*u)
    b.load_uop(*load)
    if alu:
        b.alu(AluOp.ADD, 3, 5, **insn_kw)
    else:
        b.gemm(3, 5, **insn_kw)
    b.finish()
    return b.program()


def test_gemm_indices_over_the_loop_nest_use_loaded_micro_ops():
    A = CFG.acc_depth
    # uop region: element 0 is a decoy with huge indices; elements 1, 2 are loaded into slots 3, 4.
    region = [(A - 1, CFG.inp_depth - 1, CFG.wgt_depth - 1), (5, 1, 2), (7, 0, 0)]
    # dst: max 7 + 3*f_out + 1*f_in must stay < A
    f = (A - 1 - 7 - 1) // 3
    ok = dict(iter_out=4, iter_in=2, dst=(f, 1), src=(1, 0), wgt=(1, 0))
    check_program(_loop_prog(ok, region))
    bad = dict(ok, dst=(f + 1, 1))
    msg = refused(_loop_prog(bad, region), 1, "dst_factor_out", f + 1)
    assert f"reaches {7 + 3 * (f + 1) + 1}" in msg and "acc" in msg
    # src (inp) and wgt
    refused(_loop_prog(dict(ok, src=(0, CFG.inp_depth - 1)), region), 1, "src_factor_in")
    refused(_loop_prog(dict(ok, wgt=((CFG.wgt_depth - 2) // 3 + 1, 0)), region), 1, "wgt_factor_out")
    # the decoy would fail if the checker read the uop region instead of the loaded slots
    check_program(_loop_prog(dict(iter_out=1, iter_in=1), region))
    # but loading it does
    refused(_loop_prog(dict(iter_out=1, iter_in=2, dst=(0, 1)), region, load=(3, 0, 2)),
            1, "dst_factor_in", 1)


def test_reset_gemm_and_imm_alu_skip_unread_operands():
    region = [(0, 0, 0)] * 3
    huge = dict(iter_out=2, iter_in=1, dst=(1, 0), src=(CFG.inp_depth - 1, 0),
                wgt=(CFG.wgt_depth - 1, 0))
    region = [(0, 1, 1)] * 3
    refused(_loop_prog(huge, region), 1, "src_factor_out")
    check_program(_loop_prog(dict(huge, reset=True), region))
    alu = dict(iter_out=2, iter_in=1, dst=(1, 0), src=(CFG.acc_depth - 1, 0))
    refused(_loop_prog(alu, region, alu=True), 1, "src_factor_out", CFG.acc_depth - 1)
    check_program(_loop_prog(dict(alu, imm=3), region, alu=True))


def test_unloaded_slots_count_as_zero_micro_ops():
    b = P.Builder(CFG)
    b.gemm(0, 4, iter_out=2, dst=(CFG.acc_depth - 1, 0))
    b.finish()
    check_program(b.program())
    b.insns[0].iter_out = 3
    refused(b.program(), 0, "dst_factor_out")


@pytest.mark.parametrize("schedule", ["default", "tutorial"])
@pytest.mark.parametrize("cfg", [VTAConfig(), CFG], ids=["default", "small"])
@pytest.mark.parametrize("shape", [(1, 16, 16), (3, 100, 70), (20, 300, 260)])
def test_fc_compiler_output_passes(schedule, cfg, shape):
    """The FC compiler's programs are never refused (no false alarms on real streams)."""
    from sw import fc
    rng = np.random.default_rng(1)
    B, K, N = shape
    fcp = fc.build_fc(rng.integers(-128, 128, (B, K), dtype=np.int8),
                      rng.integers(-128, 128, (N, K), dtype=np.int8),
                      shift=3, clip=(0, 127), schedule=schedule, config=cfg)
    check_program(fcp.program)
