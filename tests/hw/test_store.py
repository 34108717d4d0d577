"""The store unit (hw/store/): STORE from the out buffer to memory, 2-D with stride, the g2s pop and s2g
push of its prev flags (the next flags ignored), its counter, and a bus error."""

import random

import numpy as np

from hw.config import VTAConfig
from hw.isa import MemInsn, MemType, Opcode
from hw.store import Store
from tests.support.dma_models import model_store
from tests.support.unit_bench import UnitBench

CFG = VTAConfig(log_acc_buff_size=12)           # out buffer: 64 elements of 16 bytes
OUT_BASE = 0x400


def bench(cfg=CFG, seed=0, dram_bytes=0x2000):
    rng = random.Random(seed)
    dram = rng.randbytes(dram_bytes)
    out0 = [rng.getrandbits(cfg.out_elem_bits) for _ in range(cfg.out_depth)]
    unit = Store(cfg)
    b = UnitBench(unit, "store", cfg, dram, write_clients=("mem",),
                  srams={"out_rd": (cfg.out_elem_bits, cfg.out_depth, out0)})
    return b, np.frombuffer(dram, dtype=np.uint8), out0


def store(sram_base=0, dram_base=0, y=1, x=1, stride=None, **flags):
    return MemInsn(opcode=Opcode.STORE, memory_type=MemType.OUT, sram_base=sram_base, dram_base=dram_base,
                   y_size=y, x_size=x, x_stride=x if stride is None else stride, **flags)


def run(b, insns, **kw):
    return b.run([(i.encode(CFG), k) for k, i in enumerate(insns)], constants={"out_base": OUT_BASE}, **kw)


def test_stores_rows_with_stride_and_counts_bytes():
    b, dram, out = bench()
    insns = [store(sram_base=2, dram_base=3, y=3, x=2, stride=5), store(sram_base=60, dram_base=40, y=1, x=7),
             store(x=0, dram_base=1)]                                            # x_size 0: nothing
    trace, got = run(b, insns, dram_bytes=len(dram))
    eb = CFG.out_elem_bytes
    for insn in insns:
        dram = model_store(dram, out, eb, {"sram_base": insn.sram_base, "dram_addr": OUT_BASE + insn.dram_base * eb,
                                           "y_size": insn.y_size, "x_size": insn.x_size, "x_stride": insn.x_stride})
    assert got["dram"] == dram.tobytes()
    assert not trace.err and len(trace.taken) == 3 and trace.index == 2
    assert trace.inc["out_store_nbytes"] == (3 * 2 + 7) * eb


def test_pops_g2s_and_pushes_s2g_and_ignores_the_next_flags():
    b, *_ = bench()
    insns = [store(x=1, pop_prev_dep=True), store(x=1, push_prev_dep=True),
             store(x=1, pop_next_dep=True, push_next_dep=True)]                 # ignored by store
    trace, _ = run(b, insns, tokens={"g2s": 1})
    assert len(trace.pops["g2s"]) == 1 and len(trace.pushes["s2g"]) == 1
    t = trace.taken
    assert t[0] < trace.pops["g2s"][0] < t[1] < trace.pushes["s2g"][0] < t[2]


def test_waits_for_a_g2s_token():
    b, *_ = bench()
    trace, _ = run(b, [store(x=1, pop_prev_dep=True)], stop_after=50)
    assert trace.pops["g2s"] == [] and trace.waits["g2s"] > 40 and trace.active == 0


def test_write_error_is_reported_with_the_instruction():
    b, *_ = bench(dram_bytes=0x800)
    trace, _ = run(b, [store(x=1), store(dram_base=200, x=1)])                  # 0x400 + 200 x 16 B: outside
    assert trace.err and trace.index == 1
