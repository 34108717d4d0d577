"""The load unit (hw/load/): LOAD INP / LOAD WGT into their SRAMs with padding, the g2l pop and l2g push
of its dependency flags (the prev flags ignored), its counters, and a bus error."""

import random

import numpy as np

from hw.config import VTAConfig
from hw.isa import MemInsn, MemType, Opcode
from hw.load import Load
from tests.support.dma_models import model_load
from tests.support.unit_bench import UnitBench

CFG = VTAConfig(log_inp_buff_size=10, log_wgt_buff_size=14)     # inp 64 x 16 B, wgt 64 x 256 B
INP_BASE, WGT_BASE, DRAM_BYTES = 0x0000, 0x1000, 0x9000


def bench(cfg=CFG, seed=0, dram_bytes=DRAM_BYTES):
    rng = random.Random(seed)
    dram = rng.randbytes(dram_bytes)
    inp0 = [rng.getrandbits(cfg.inp_elem_bits) for _ in range(cfg.inp_depth)]
    wgt0 = [rng.getrandbits(cfg.wgt_elem_bits) for _ in range(cfg.wgt_depth)]
    unit = Load(cfg)
    b = UnitBench(unit, "load", cfg, dram, read_clients=("mem_inp", "mem_wgt"),
                  srams={"inp_wr": (cfg.inp_elem_bits, cfg.inp_depth, inp0),
                         "wgt_wr": (cfg.wgt_elem_bits, cfg.wgt_depth, wgt0)})
    return b, unit, np.frombuffer(dram, dtype=np.uint8), inp0, wgt0


def load(mem, sram_base=0, dram_base=0, y=1, x=1, stride=None, pads=(0, 0, 0, 0), **flags):
    return MemInsn(opcode=Opcode.LOAD, memory_type=mem, sram_base=sram_base, dram_base=dram_base, y_size=y,
                   x_size=x, x_stride=x if stride is None else stride, y_pad_0=pads[0], y_pad_1=pads[1],
                   x_pad_0=pads[2], x_pad_1=pads[3], **flags)


def as_cmd(insn, cfg, base, eb):
    return {"sram_base": insn.sram_base, "dram_addr": base + insn.dram_base * eb, "y_size": insn.y_size,
            "x_size": insn.x_size, "x_stride": insn.x_stride, "y_pad_0": insn.y_pad_0,
            "y_pad_1": insn.y_pad_1, "x_pad_0": insn.x_pad_0, "x_pad_1": insn.x_pad_1}


def test_loads_into_both_srams_with_padding_and_counts_bytes():
    b, unit, dram, inp, wgt = bench()
    insns = [load(MemType.INP, sram_base=3, dram_base=5, y=2, x=3, stride=7, pads=(1, 0, 2, 1)),
             load(MemType.WGT, sram_base=60, dram_base=2, y=2, x=2, stride=3, pads=(0, 1, 0, 1)),
             load(MemType.INP, sram_base=40, x=0),                               # x_size 0: nothing
             load(MemType.WGT, sram_base=10, dram_base=30, y=1, x=4)]
    trace, got = b.run([(i.encode(CFG), k) for k, i in enumerate(insns)], constants={"inp_base": INP_BASE, "wgt_base": WGT_BASE},
        sram_reads={"inp_wr": range(CFG.inp_depth), "wgt_wr": range(CFG.wgt_depth)})
    for insn in insns:
        if insn.memory_type == MemType.INP:
            inp = model_load(dram, inp, CFG.inp_elem_bytes, as_cmd(insn, CFG, INP_BASE, CFG.inp_elem_bytes))
        else:
            wgt = model_load(dram, wgt, CFG.wgt_elem_bytes, as_cmd(insn, CFG, WGT_BASE, CFG.wgt_elem_bytes))
    assert got["inp_wr"] == inp
    assert got["wgt_wr"] == wgt
    assert len(trace.taken) == 4 and not trace.err and trace.index == 3
    assert trace.inc["inp_load_nbytes"] == (2 * 3) * CFG.inp_elem_bytes
    assert trace.inc["wgt_load_nbytes"] == (2 * 2 + 4) * CFG.wgt_elem_bytes
    assert 0 < trace.active < trace.busy <= trace.cycles


def test_pops_g2l_before_and_pushes_l2g_after_and_ignores_the_prev_flags():
    b, unit, *_ = bench()
    insns = [load(MemType.INP, x=2, pop_next_dep=True),
             load(MemType.WGT, x=1, push_next_dep=True),
             load(MemType.INP, x=1, pop_prev_dep=True, push_prev_dep=True),     # ignored by load
             load(MemType.INP, x=1, pop_next_dep=True, push_next_dep=True)]
    trace, _ = b.run([(i.encode(CFG), k) for k, i in enumerate(insns)], tokens={"g2l": 2},
                     constants={"inp_base": INP_BASE, "wgt_base": WGT_BASE})
    assert len(trace.pops["g2l"]) == 2 and len(trace.pushes["l2g"]) == 2
    # Each pop comes after its instruction was taken and before the next one; each push after the
    # instruction's last SRAM write (loads overlap: the next one is taken before that).
    t, push = trace.taken, trace.pushes["l2g"]
    assert t[0] < trace.pops["g2l"][0] < t[1] and t[3] < trace.pops["g2l"][1]
    assert trace.writes["wgt_wr"][-1] < push[0] and trace.writes["inp_wr"][-1] < push[1]
    assert t[1] < t[2] < push[0] < push[1]
    assert trace.waits == {"g2l": 0, "l2g": 0}


def test_waits_for_a_token_and_for_room_and_says_so():
    b, unit, *_ = bench()
    insns = [load(MemType.INP, x=1, pop_next_dep=True)]
    trace, _ = b.run([(insns[0].encode(CFG), 0)], tokens={"g2l": 0}, max_cycles=200,
                     constants={"inp_base": INP_BASE, "wgt_base": WGT_BASE}, stop_after=60)
    assert trace.pops["g2l"] == [] and trace.waits["g2l"] > 50 and trace.active == 0
    insns = [load(MemType.INP, x=1, push_next_dep=True)]
    trace, _ = b.run([(insns[0].encode(CFG), 0)], space={"l2g": 0}, max_cycles=200,
                     constants={"inp_base": INP_BASE, "wgt_base": WGT_BASE}, stop_after=60)
    assert trace.pushes["l2g"] == [] and trace.waits["l2g"] > 40 and trace.active > 0


def test_halt_stops_taking_instructions():
    b, unit, *_ = bench()
    insns = [load(MemType.INP, x=1) for _ in range(3)]
    trace, _ = b.run([(i.encode(CFG), k) for k, i in enumerate(insns)], halt_at=0,
                     constants={"inp_base": INP_BASE, "wgt_base": WGT_BASE}, stop_after=40)
    assert trace.taken == []


def test_read_error_is_reported_with_the_instruction():
    b, unit, *_ = bench(dram_bytes=0x2000)
    insns = [load(MemType.INP, x=1), load(MemType.WGT, dram_base=100, x=1)]   # 0x1000 + 100 x 256 B: outside
    trace, _ = b.run([(i.encode(CFG), k) for k, i in enumerate(insns)],
                     constants={"inp_base": INP_BASE, "wgt_base": WGT_BASE})
    assert trace.err and trace.index == 1
