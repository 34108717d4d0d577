"""The load module: LOAD INP and LOAD WGT, 2-D strided DMA with zero padding on all four sides into the
inp and wgt SRAMs (semantics.md §3: WGT is padded like INP).  Pops g2l (pop_next), pushes l2g
(push_next); the prev flags are ignored, as in VTA."""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import VTAConfig
from ..isa import MemType, layouts
from ..interfaces import MemReadSignature, SramWriteSignature
from ..queues import QueueEntry, Stage, FLAG_BITS
from ..glue import glue
from ..dma import DmaRead

__all__ = ["Load", "mem_cmd"]


def mem_cmd(m, cmd, insn_view, base, log_elem_bytes, one_d=False):
    """Drive a ``DmaReadCmd``/``DmaWriteCmd`` payload from a LOAD/STORE instruction: the DRAM byte
    address is ``base + dram_base * elem_bytes`` (32-bit wrap).  ``one_d`` (LOAD UOP): a 1-D copy of
    x_size elements, the other size fields ignored."""
    m.d.comb += [cmd.sram_base.eq(insn_view.sram_base),
                 cmd.dram_addr.eq(base + (insn_view.dram_base << log_elem_bytes)),
                 cmd.x_size.eq(insn_view.x_size)]
    if one_d:
        m.d.comb += [cmd.y_size.eq(1), cmd.x_stride.eq(insn_view.x_size)]
    else:
        m.d.comb += [cmd.y_size.eq(insn_view.y_size), cmd.x_stride.eq(insn_view.x_stride)]
        if hasattr(cmd, "y_pad_0"):
            m.d.comb += [cmd.y_pad_0.eq(insn_view.y_pad_0), cmd.y_pad_1.eq(insn_view.y_pad_1),
                         cmd.x_pad_0.eq(insn_view.x_pad_0), cmd.x_pad_1.eq(insn_view.x_pad_1)]


def log2(n: int) -> int:
    return n.bit_length() - 1


class Load(wiring.Component):
    """LOAD INP / LOAD WGT.

    Members
    -------
    q : In(stream.Signature(QueueEntry))   the load command queue
    g2l_avail, g2l_pop, l2g_full, l2g_push : token queue handshakes
    inp_base, wgt_base : In(32)
    halt : In(1)
    mem_inp, mem_wgt : Out(MemReadSignature)   memory read clients
    inp_wr, wgt_wr : Out(SramWriteSignature)   the SRAM write ports
    busy : Out(1)    an instruction is in progress (token waits included)
    active : Out(1)  an instruction executes (token waits excluded)
    stuck : Out(1)
    wait_g2l, wait_l2g : Out(1)                waiting to pop g2l / to push l2g
    err : Out(1)                               a read error (sticky until the next start of a load)
    index : Out(32)                            the current instruction's index
    inc_inp_nbytes, inc_wgt_nbytes : Out(40)   counter increments
    """

    def __init__(self, cfg: VTAConfig):
        self.cfg = cfg
        super().__init__({
            "q": In(stream.Signature(QueueEntry)),
            "g2l_avail": In(1), "g2l_pop": Out(1), "l2g_full": In(1), "l2g_push": Out(1),
            "inp_base": In(32), "wgt_base": In(32), "halt": In(1),
            "mem_inp": Out(MemReadSignature(cfg.bus_bits)),
            "mem_wgt": Out(MemReadSignature(cfg.bus_bits)),
            "inp_wr": Out(SramWriteSignature(cfg.log_inp_depth, cfg.inp_elem_bits)),
            "wgt_wr": Out(SramWriteSignature(cfg.log_wgt_depth, cfg.wgt_elem_bits)),
            "busy": Out(1), "active": Out(1), "stuck": Out(1), "wait_g2l": Out(1), "wait_l2g": Out(1),
            "err": Out(1), "index": Out(32),
            "inc_inp_nbytes": Out(40), "inc_wgt_nbytes": Out(40),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        m.submodules.dma_inp = dma_inp = DmaRead(cfg.inp_elem_bits, cfg.bus_bits, cfg.log_inp_depth)
        m.submodules.dma_wgt = dma_wgt = DmaRead(cfg.wgt_elem_bits, cfg.bus_bits, cfg.log_wgt_depth)
        wiring.connect(glue(m, "inp_mem_glue"), wiring.flipped(self.mem_inp), dma_inp.mem)
        wiring.connect(glue(m, "wgt_mem_glue"), wiring.flipped(self.mem_wgt), dma_wgt.mem)
        wiring.connect(glue(m, "inp_wr_glue"), wiring.flipped(self.inp_wr), dma_inp.sram)
        wiring.connect(glue(m, "wgt_wr_glue"), wiring.flipped(self.wgt_wr), dma_wgt.sram)

        exec_done = Signal()
        st = Stage(m, self.q,
                   pops=[(FLAG_BITS["pop_next_dep"], self.g2l_avail, self.g2l_pop)],
                   pushes=[(FLAG_BITS["push_next_dep"], self.l2g_full, self.l2g_push)],
                   exec_done=exec_done, halt=self.halt, name="load")
        insn = data.View(layouts(cfg)["mem"].amaranth_layout(), st.insn)
        m.d.comb += [self.busy.eq(st.busy), self.active.eq(st.executing), self.stuck.eq(st.stuck),
                     self.index.eq(st.index),
                     self.wait_g2l.eq(st.in_pop & st.wait_pop[0]),
                     self.wait_l2g.eq(st.in_push & st.wait_push[0])]

        is_wgt = Signal()
        m.d.comb += is_wgt.eq(insn.memory_type == MemType.WGT)
        mem_cmd(m, dma_inp.cmd.payload, insn, self.inp_base, log2(cfg.inp_elem_bytes))
        mem_cmd(m, dma_wgt.cmd.payload, insn, self.wgt_base, log2(cfg.wgt_elem_bytes))

        pending = Signal()       # command not yet accepted by the DMA
        with m.If(st.start):
            m.d.sync += pending.eq(insn.x_size != 0)
        with m.Elif((dma_inp.cmd.valid & dma_inp.cmd.ready) | (dma_wgt.cmd.valid & dma_wgt.cmd.ready)):
            m.d.sync += pending.eq(0)
        m.d.comb += [dma_inp.cmd.valid.eq(pending & ~is_wgt), dma_wgt.cmd.valid.eq(pending & is_wgt)]

        zero = Signal()
        with m.If(st.start):
            m.d.sync += zero.eq(insn.x_size == 0)
        m.d.comb += exec_done.eq(zero | dma_inp.done | dma_wgt.done)
        with m.If((dma_inp.done & dma_inp.err) | (dma_wgt.done & dma_wgt.err)):
            m.d.sync += self.err.eq(1)

        nbytes = insn.x_size * insn.y_size
        with m.If(st.start):
            with m.If(is_wgt):
                m.d.comb += self.inc_wgt_nbytes.eq(nbytes << log2(cfg.wgt_elem_bytes))
            with m.Else():
                m.d.comb += self.inc_inp_nbytes.eq(nbytes << log2(cfg.inp_elem_bytes))
        return m
