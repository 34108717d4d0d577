"""The store module: STORE, the 8-bit out buffer to memory, 2-D with stride, in bursts (semantics.md §3:
STORE reads the out buffer; memory_type and pads are ignored, as in the HLS model).  Pops g2s
(pop_prev), pushes s2g (push_prev); the next flags are ignored."""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import VTAConfig
from ..isa import layouts
from ..interfaces import (MemWriteSignature, SramReadSignature, UnitStatusSignature, CounterIncSignature,
                          ADDR_WIDTH, token_members)
from ..queues import QueueEntry, Stage
from ..glue import glue
from ..dma import DmaWrite, insn_cmd
from ..util import log2

__all__ = ["Store", "STORE_COUNTERS"]

#: The counters the store unit increments.
STORE_COUNTERS = ("out_store_nbytes",)


class Store(wiring.Component):
    """STORE.

    Members
    -------
    q : In(stream.Signature(QueueEntry))    the store command queue
    g2s : Out(TokenPopSignature), s2g : Out(TokenPushSignature)   the token queues
    out_base : In(32)
    halt : In(1)                            take no new instruction
    mem : Out(MemWriteSignature)            the memory write client
    out_rd : Out(SramReadSignature)         the out buffer's read port
    status : Out(UnitStatusSignature("store"))   ``err``: a write error (sticky until reset)
    inc : Out(CounterIncSignature(STORE_COUNTERS))
    """

    def __init__(self, cfg: VTAConfig):
        self.cfg = cfg
        super().__init__({
            "q": In(stream.Signature(QueueEntry)), **token_members("store"),
            "out_base": In(ADDR_WIDTH), "halt": In(1),
            "mem": Out(MemWriteSignature(cfg.bus_bits)),
            "out_rd": Out(SramReadSignature(cfg.log_out_depth, cfg.out_elem_bits)),
            "status": Out(UnitStatusSignature("store")),
            "inc": Out(CounterIncSignature(STORE_COUNTERS)),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        m.submodules.dma = dma = DmaWrite(cfg.out_elem_bits, cfg.bus_bits, cfg.log_out_depth)
        wiring.connect(glue(m, "mem_glue"), wiring.flipped(self.mem), dma.mem)
        wiring.connect(glue(m, "out_rd_glue"), wiring.flipped(self.out_rd), dma.sram)

        exec_done, fault = Signal(), Signal()
        st = Stage(m, "store", self.q, {"g2s": self.g2s, "s2g": self.s2g}, self.status,
                   exec_done=exec_done, halt=self.halt, fault=fault)
        insn = data.View(layouts(cfg)["mem"].amaranth_layout(), st.insn)

        insn_cmd(m, dma.cmd.payload, insn, self.out_base, log2(cfg.out_elem_bytes))
        pending = Signal()
        zero = Signal()
        with m.If(st.start):
            m.d.sync += [pending.eq(insn.x_size != 0), zero.eq(insn.x_size == 0)]
        with m.Elif(dma.cmd.valid & dma.cmd.ready):
            m.d.sync += pending.eq(0)
        m.d.comb += dma.cmd.valid.eq(pending)
        m.d.comb += exec_done.eq(zero | dma.done)
        m.d.comb += fault.eq(dma.done & dma.err)
        with m.If(st.start):
            m.d.comb += self.inc.out_store_nbytes.eq(
                (insn.x_size * insn.y_size) << log2(cfg.out_elem_bytes))
        return m
