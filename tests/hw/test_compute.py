"""The compute control (hw/compute/compute.py): LOAD UOP and LOAD ACC on their own DMA engines and
bases, GEMM and ALU handed to the tensor core (with their counters), FINISH, the four token queues of its
flags, and a bus error.  The tensor core's arithmetic is tests/hw/test_tensor.py's."""

import random

import numpy as np

from hw.config import VTAConfig
from hw.compute import Compute
from hw.isa import AluInsn, AluOp, FinishInsn, GemmInsn, MemInsn, MemType, Opcode
from tests.support.dma_models import elems_of, model_load
from tests.support.unit_bench import UnitBench

CFG = VTAConfig(log_uop_buff_size=8, log_inp_buff_size=9, log_wgt_buff_size=12, log_acc_buff_size=11)
UOP_BASE, ACC_BASE = 0x0000, 0x1000


def bench(seed=0, dram_bytes=0x3000):
    rng = random.Random(seed)
    dram = rng.randbytes(dram_bytes)
    unit = Compute(CFG)
    b = UnitBench(unit, "compute", CFG, dram, read_clients=("mem_uop", "mem_acc"),
                  srams={"inp_rd": (CFG.inp_elem_bits, CFG.inp_depth, []),
                         "wgt_rd": (CFG.wgt_elem_bits, CFG.wgt_depth, []),
                         "out_wr": (CFG.out_elem_bits, CFG.out_depth, [])})
    return b, unit, np.frombuffer(dram, dtype=np.uint8)


def run(b, insns, **kw):
    return b.run([(i.encode(CFG), k) for k, i in enumerate(insns)],
                 constants={"uop_base": UOP_BASE, "acc_base": ACC_BASE}, **kw)


def load(mem, sram_base=0, dram_base=0, y=1, x=1, pads=(0, 0, 0, 0), **flags):
    return MemInsn(opcode=Opcode.LOAD, memory_type=mem, sram_base=sram_base, dram_base=dram_base, y_size=y,
                   x_size=x, x_stride=x, y_pad_0=pads[0], y_pad_1=pads[1], x_pad_0=pads[2], x_pad_1=pads[3],
                   **flags)


def test_load_uop_and_load_acc_fill_the_tensor_cores_srams():
    b, unit, dram = bench()
    insns = [load(MemType.UOP, sram_base=4, dram_base=3, x=5),
             load(MemType.ACC, sram_base=2, dram_base=1, y=2, x=2, pads=(1, 0, 1, 1))]
    lanes = CFG.uop_lanes                    # the uop SRAM's words hold a bus beat of micro-ops
    trace, got = run(b, insns, sram_reads={"uop": (unit.tensor.uop_mem, range(CFG.uop_depth // lanes)),
                                           "acc": (unit.tensor.acc_mem, range(CFG.acc_depth))})
    got["uop"] = [(w >> (32 * j)) & 0xFFFFFFFF for w in got["uop"] for j in range(lanes)]
    uops = elems_of(dram[UOP_BASE + 3 * 4:UOP_BASE + 8 * 4], 4)
    assert got["uop"][4:9] == uops and got["uop"][:4] == [0] * 4 and got["uop"][9:] == [0] * (CFG.uop_depth - 9)
    eb = CFG.acc_elem_bytes
    acc = model_load(dram, [0] * CFG.acc_depth, eb,
                     {"sram_base": 2, "dram_addr": ACC_BASE + 1 * eb, "y_size": 2, "x_size": 2, "x_stride": 2,
                      "y_pad_0": 1, "y_pad_1": 0, "x_pad_0": 1, "x_pad_1": 1})
    assert got["acc"] == acc
    assert trace.inc["uop_load_nbytes"] == 5 * 4 and trace.inc["acc_load_nbytes"] == 4 * eb
    assert trace.inc["acc_wr_count"] == 3 * 4                   # padding written too
    assert not trace.err and len(trace.taken) == 2


def test_gemm_and_alu_run_on_the_tensor_core_and_are_counted():
    b, unit, _ = bench()
    insns = [load(MemType.UOP, x=4),
             GemmInsn(reset_reg=True, uop_bgn=0, uop_end=2, iter_out=1, iter_in=3),      # not counted
             GemmInsn(uop_bgn=1, uop_end=4, iter_out=2, iter_in=2),
             AluInsn(alu_opcode=AluOp.ADD, use_imm=True, imm=3, uop_bgn=0, uop_end=2, iter_out=1, iter_in=5),
             GemmInsn(uop_bgn=3, uop_end=3, iter_out=4, iter_in=4)]                      # empty range
    trace, _ = run(b, insns)
    assert trace.inc["gemm_counter"] == 2 * 2 * 3
    assert trace.inc["alu_counter"] == 5 * 2
    assert trace.inc["gemm_active"] == 1 * 3 * 2 + 2 * 2 * 3     # one micro-op a cycle, reset included
    assert trace.inc["alu_active"] == 5 * 2
    assert trace.inc["acc_wr_count"] == 4 * 0 + 6 + 12 + 10     # LOAD UOP writes no acc
    assert len(trace.taken) == 5 and trace.index == 4 and not trace.err


def test_finish_retires_into_the_finish_flag_and_stays():
    b, unit, _ = bench()
    trace, _ = run(b, [GemmInsn(), FinishInsn(), GemmInsn()], watch=("finish",))
    # Set from the cycle after FINISH starts until the end of the run (no clear).
    assert trace.taken[1] < trace.cycles - trace.watch["finish"] + 1 < trace.taken[2] + 3
    trace, _ = run(b, [GemmInsn(), GemmInsn()], watch=("finish",))
    assert trace.watch["finish"] == 0


def test_tokens_of_the_four_flags():
    b, unit, _ = bench()
    insns = [GemmInsn(pop_prev_dep=True), GemmInsn(pop_next_dep=True, push_prev_dep=True),
             GemmInsn(push_next_dep=True), FinishInsn(pop_prev_dep=True, pop_next_dep=True,
                                                      push_prev_dep=True, push_next_dep=True)]
    trace, _ = run(b, insns, tokens={"l2g": 2, "s2g": 2})
    t = trace.taken
    assert len(trace.pops["l2g"]) == 2 and len(trace.pops["s2g"]) == 2
    assert len(trace.pushes["g2l"]) == 2 and len(trace.pushes["g2s"]) == 2
    assert t[0] < trace.pops["l2g"][0] < t[1] < trace.pops["s2g"][0] <= trace.pushes["g2l"][0] < t[2]
    assert t[2] < trace.pushes["g2s"][0] < t[3] < trace.pops["l2g"][1]


def test_waits_on_a_full_g2s_queue_and_says_so():
    b, unit, _ = bench()
    trace, _ = run(b, [GemmInsn(push_next_dep=True)], space={"g2s": 0}, stop_after=50)
    assert trace.pushes["g2s"] == [] and trace.waits["g2s"] > 40
    assert trace.waits["l2g"] == trace.waits["s2g"] == trace.waits["g2l"] == 0


def test_read_error_on_load_acc_is_reported_with_the_instruction():
    b, unit, _ = bench(dram_bytes=0x1800)
    trace, _ = run(b, [load(MemType.UOP, x=1), load(MemType.ACC, dram_base=100, x=1)])   # outside
    assert trace.err and trace.index == 1
