"""The store module: STORE, the 8-bit out buffer to memory, 2-D with stride, in bursts (semantics.md §3:
STORE reads the out buffer; memory_type and pads are ignored, as in the HLS model).  Pops g2s
(pop_prev), pushes s2g (push_prev); the next flags are ignored."""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import VTAConfig
from ..isa import layouts
from ..interfaces import MemWriteSignature, SramReadSignature
from ..queues import QueueEntry, Stage, FLAG_BITS
from ..glue import glue
from ..dma import DmaWrite
from ..load.load import mem_cmd, log2

__all__ = ["Store"]


class Store(wiring.Component):
    """STORE.

    Members
    -------
    q : In(stream.Signature(QueueEntry))    the store command queue
    g2s_avail, g2s_pop, s2g_full, s2g_push : token queue handshakes
    out_base : In(32)
    halt : In(1)
    mem : Out(MemWriteSignature)            the memory write client
    out_rd : Out(SramReadSignature)         the out buffer's read port
    busy : Out(1)    an instruction is in progress (token waits included)
    active : Out(1)  an instruction executes (token waits excluded)
    stuck, wait_g2s, wait_s2g, err : Out(1)
    index : Out(32)
    inc_out_store_nbytes : Out(40)
    """

    def __init__(self, cfg: VTAConfig):
        self.cfg = cfg
        super().__init__({
            "q": In(stream.Signature(QueueEntry)),
            "g2s_avail": In(1), "g2s_pop": Out(1), "s2g_full": In(1), "s2g_push": Out(1),
            "out_base": In(32), "halt": In(1),
            "mem": Out(MemWriteSignature(cfg.bus_bits)),
            "out_rd": Out(SramReadSignature(cfg.log_out_depth, cfg.out_elem_bits)),
            "busy": Out(1), "active": Out(1), "stuck": Out(1), "wait_g2s": Out(1), "wait_s2g": Out(1),
            "err": Out(1), "index": Out(32), "inc_out_store_nbytes": Out(40),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        m.submodules.dma = dma = DmaWrite(cfg.out_elem_bits, cfg.bus_bits, cfg.log_out_depth)
        wiring.connect(glue(m, "mem_glue"), wiring.flipped(self.mem), dma.mem)
        wiring.connect(glue(m, "out_rd_glue"), wiring.flipped(self.out_rd), dma.sram)

        exec_done = Signal()
        st = Stage(m, self.q,
                   pops=[(FLAG_BITS["pop_prev_dep"], self.g2s_avail, self.g2s_pop)],
                   pushes=[(FLAG_BITS["push_prev_dep"], self.s2g_full, self.s2g_push)],
                   exec_done=exec_done, halt=self.halt, name="store")
        insn = data.View(layouts(cfg)["mem"].amaranth_layout(), st.insn)
        m.d.comb += [self.busy.eq(st.busy), self.active.eq(st.executing), self.stuck.eq(st.stuck),
                     self.index.eq(st.index),
                     self.wait_g2s.eq(st.in_pop & st.wait_pop[0]),
                     self.wait_s2g.eq(st.in_push & st.wait_push[0])]

        mem_cmd(m, dma.cmd.payload, insn, self.out_base, log2(cfg.out_elem_bytes))
        pending = Signal()
        zero = Signal()
        with m.If(st.start):
            m.d.sync += [pending.eq(insn.x_size != 0), zero.eq(insn.x_size == 0)]
        with m.Elif(dma.cmd.valid & dma.cmd.ready):
            m.d.sync += pending.eq(0)
        m.d.comb += dma.cmd.valid.eq(pending)
        m.d.comb += exec_done.eq(zero | dma.done)
        with m.If(dma.done & dma.err):
            m.d.sync += self.err.eq(1)
        with m.If(st.start):
            m.d.comb += self.inc_out_store_nbytes.eq(
                (insn.x_size * insn.y_size) << log2(cfg.out_elem_bytes))
        return m
