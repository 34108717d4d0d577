"""The load module: LOAD INP and LOAD WGT, 2-D strided DMA with zero padding on all four sides into the
inp and wgt SRAMs (semantics.md §3: WGT is padded like INP).  Pops g2l (pop_next), pushes l2g
(push_next); the prev flags are ignored, as in VTA.  Consecutive loads overlap: the next one issues
its memory requests while the data of the one before still comes in (its l2g token is pushed when its
last element is written)."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import VTAConfig
from ..isa import MemType, layouts
from ..interfaces import (MemReadSignature, SramWriteSignature, UnitStatusSignature, CounterIncSignature,
                          ADDR_WIDTH, token_members)
from ..queues import QueueEntry, Stage
from ..glue import glue
from ..dma import DmaRead, insn_cmd
from ..util import log2

__all__ = ["Load", "LOAD_COUNTERS"]

#: The counters the load unit increments.
LOAD_COUNTERS = ("inp_load_nbytes", "wgt_load_nbytes")


class Load(wiring.Component):
    """LOAD INP / LOAD WGT.

    Members
    -------
    q : In(stream.Signature(QueueEntry))   the load command queue
    g2l : Out(TokenPopSignature), l2g : Out(TokenPushSignature)   the token queues
    inp_base, wgt_base : In(32)
    halt : In(1)                           take no new instruction
    mem_inp, mem_wgt : Out(MemReadSignature)   memory read clients
    inp_wr, wgt_wr : Out(SramWriteSignature)   the SRAM write ports
    status : Out(UnitStatusSignature("load"))  ``err``: a read error (sticky until reset)
    inc : Out(CounterIncSignature(LOAD_COUNTERS))
    """

    def __init__(self, cfg: VTAConfig):
        self.cfg = cfg
        super().__init__({
            "q": In(stream.Signature(QueueEntry)), **token_members("load"),
            "inp_base": In(ADDR_WIDTH), "wgt_base": In(ADDR_WIDTH), "halt": In(1),
            "mem_inp": Out(MemReadSignature(cfg.bus_bits)),
            "mem_wgt": Out(MemReadSignature(cfg.bus_bits)),
            "inp_wr": Out(SramWriteSignature(cfg.log_inp_depth, cfg.inp_elem_bits)),
            "wgt_wr": Out(SramWriteSignature(cfg.log_wgt_depth, cfg.wgt_elem_bits)),
            "status": Out(UnitStatusSignature("load")),
            "inc": Out(CounterIncSignature(LOAD_COUNTERS)),
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

        # Loads overlap: an instruction hands its command to its DMA engine (``exec_done``) and waits in
        # Stage's tail for its data (``retire``), while the next one pops its tokens and issues its
        # requests.  Each instruction gets one ``done`` pulse from its engine, in order per engine; a
        # pulse belongs to the tail instruction if it is on that engine and not finished, else to the
        # executing one (which can finish before its hand-off: a load of padding only).
        exec_done, retire, fault = Signal(), Signal(), Signal()
        st = Stage(m, "load", self.q, {"g2l": self.g2l, "l2g": self.l2g}, self.status,
                   exec_done=exec_done, halt=self.halt, fault=fault, retire=retire)
        insn = data.View(layouts(cfg)["mem"].amaranth_layout(), st.insn)

        is_wgt = Signal()
        m.d.comb += is_wgt.eq(insn.memory_type == MemType.WGT)
        insn_cmd(m, dma_inp.cmd.payload, insn, self.inp_base, log2(cfg.inp_elem_bytes))
        insn_cmd(m, dma_wgt.cmd.payload, insn, self.wgt_base, log2(cfg.wgt_elem_bytes))

        pending = Signal()       # command not yet taken by the DMA
        taken = Signal()
        m.d.comb += taken.eq((dma_inp.cmd.valid & dma_inp.cmd.ready) | (dma_wgt.cmd.valid & dma_wgt.cmd.ready))
        with m.If(st.start):
            m.d.sync += pending.eq(insn.x_size != 0)
        with m.Elif(taken):
            m.d.sync += pending.eq(0)
        m.d.comb += [dma_inp.cmd.valid.eq(pending & ~is_wgt), dma_wgt.cmd.valid.eq(pending & is_wgt)]
        m.d.comb += exec_done.eq(~pending | taken)

        zero = Signal()          # x_size = 0: nothing to do, finished at once
        f_fin, f_err = Signal(), Signal()              # the executing instruction finished (with an error)
        t_fin, t_err, t_wgt = Signal(), Signal(), Signal()   # the tail's
        tail_inp = Signal()
        tail_wgt = Signal()
        m.d.comb += [tail_inp.eq(st.tail_valid & ~t_fin & ~t_wgt & dma_inp.done),
                     tail_wgt.eq(st.tail_valid & ~t_fin & t_wgt & dma_wgt.done)]
        front_fin = (dma_inp.done & ~tail_inp) | (dma_wgt.done & ~tail_wgt)
        front_err = (dma_inp.done & ~tail_inp & dma_inp.err) | (dma_wgt.done & ~tail_wgt & dma_wgt.err)
        with m.If(st.start):
            m.d.sync += [zero.eq(insn.x_size == 0), f_fin.eq(0), f_err.eq(0)]
        with m.Elif(front_fin):
            m.d.sync += [f_fin.eq(1), f_err.eq(front_err)]
        with m.If(st.handoff):
            m.d.sync += [t_fin.eq(zero | f_fin | front_fin), t_err.eq(f_err | front_err), t_wgt.eq(is_wgt)]
        with m.Elif(tail_inp | tail_wgt):
            m.d.sync += [t_fin.eq(1), t_err.eq(Mux(t_wgt, dma_wgt.err, dma_inp.err))]
        m.d.comb += [retire.eq(t_fin), fault.eq(st.tail_valid & t_fin & t_err)]

        nbytes = insn.x_size * insn.y_size
        with m.If(st.start):
            with m.If(is_wgt):
                m.d.comb += self.inc.wgt_load_nbytes.eq(nbytes << log2(cfg.wgt_elem_bytes))
            with m.Else():
                m.d.comb += self.inc.inp_load_nbytes.eq(nbytes << log2(cfg.inp_elem_bytes))
        return m
