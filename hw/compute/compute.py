"""The compute module: LOAD UOP, LOAD ACC (with padding), GEMM and ALU (through the ``TensorCore``),
and FINISH.  Pops l2g (pop_prev) and s2g (pop_next), pushes g2l (push_prev) and g2s (push_next)."""

from amaranth.hdl import Module, Signal, Mux
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import VTAConfig
from ..isa import Opcode, MemType, layouts
from ..interfaces import (MemReadSignature, SramReadSignature, SramWriteSignature, UnitStatusSignature,
                          CounterIncSignature, ADDR_WIDTH, token_members)
from ..queues import QueueEntry, Stage
from ..glue import glue
from ..dma import DmaRead, DmaReadLanes, insn_cmd
from ..util import log2
from .tensor import TensorCore

__all__ = ["Compute", "COMPUTE_COUNTERS"]

#: The counters the compute unit increments.
COMPUTE_COUNTERS = ("uop_load_nbytes", "acc_load_nbytes", "gemm_counter", "alu_counter", "acc_wr_count",
                    "gemm_active", "alu_active")


class Compute(wiring.Component):
    """The compute module.

    Members
    -------
    q : In(stream.Signature(QueueEntry))    the compute command queue
    l2g, s2g : Out(TokenPopSignature), g2l, g2s : Out(TokenPushSignature)   the token queues
    uop_base, acc_base : In(32)
    halt : In(1)                                 take no new instruction
    clear : In(1)                                launch: forget the previous FINISH
    mem_uop, mem_acc : Out(MemReadSignature)
    inp_rd, wgt_rd : Out(SramReadSignature)      the inp and wgt SRAMs' read ports
    out_wr : Out(SramWriteSignature)             the out buffer's write port
    finish : Out(1)                              a FINISH has retired (sticky until ``clear``)
    status : Out(UnitStatusSignature("compute"))  ``err``: a read error (sticky until reset)
    inc : Out(CounterIncSignature(COMPUTE_COUNTERS))

    Attributes
    ----------
    tensor : TensorCore    the GEMM core and tensor ALU, with the uop and acc SRAMs
    """

    def __init__(self, cfg: VTAConfig, *, pack_products: bool = True):
        self.cfg = cfg
        super().__init__({
            "q": In(stream.Signature(QueueEntry)), **token_members("compute"),
            "uop_base": In(ADDR_WIDTH), "acc_base": In(ADDR_WIDTH), "halt": In(1), "clear": In(1),
            "mem_uop": Out(MemReadSignature(cfg.bus_bits)),
            "mem_acc": Out(MemReadSignature(cfg.bus_bits)),
            "inp_rd": Out(SramReadSignature(cfg.log_inp_depth, cfg.inp_elem_bits)),
            "wgt_rd": Out(SramReadSignature(cfg.log_wgt_depth, cfg.wgt_elem_bits)),
            "out_wr": Out(SramWriteSignature(cfg.log_out_depth, cfg.out_elem_bits)),
            "finish": Out(1),
            "status": Out(UnitStatusSignature("compute")),
            "inc": Out(CounterIncSignature(COMPUTE_COUNTERS)),
        })
        self.tensor = TensorCore(cfg, pack_products=pack_products)

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        lay = layouts(cfg)
        m.submodules.tensor = tensor = self.tensor
        m.submodules.dma_uop = dma_uop = DmaReadLanes(cfg.uop_elem_bits, cfg.bus_bits, cfg.log_uop_depth)
        m.submodules.dma_acc = dma_acc = DmaRead(cfg.acc_elem_bits, cfg.bus_bits, cfg.log_acc_depth)
        wiring.connect(glue(m, "uop_mem_glue"), wiring.flipped(self.mem_uop), dma_uop.mem)
        wiring.connect(glue(m, "acc_mem_glue"), wiring.flipped(self.mem_acc), dma_acc.mem)
        wiring.connect(glue(m, "uop_wr_glue"), dma_uop.sram, tensor.uop_wr)
        wiring.connect(glue(m, "acc_wr_glue"), dma_acc.sram, tensor.acc_wr)
        wiring.connect(glue(m, "inp_rd_glue"), wiring.flipped(self.inp_rd), tensor.inp_rd)
        wiring.connect(glue(m, "wgt_rd_glue"), wiring.flipped(self.wgt_rd), tensor.wgt_rd)
        wiring.connect(glue(m, "out_wr_glue"), wiring.flipped(self.out_wr), tensor.out_wr)

        exec_done = Signal()
        can_start = Signal()
        fault = Signal()
        st = Stage(m, "compute", self.q, {q: getattr(self, q) for q in ("l2g", "s2g", "g2l", "g2s")},
                   self.status, exec_done=exec_done, halt=self.halt, can_start=can_start,
                   fault=fault)
        mem = data.View(lay["mem"].amaranth_layout(), st.insn)
        gemm = data.View(lay["gemm"].amaranth_layout(), st.insn)

        opcode = st.insn.opcode
        is_load = opcode == Opcode.LOAD
        is_uop = is_load & (mem.memory_type == MemType.UOP)
        is_acc = is_load & (mem.memory_type == MemType.ACC)
        is_loop = (opcode == Opcode.GEMM) | (opcode == Opcode.ALU)

        insn_cmd(m, dma_uop.cmd.payload, mem, self.uop_base, 2, one_d=True)
        insn_cmd(m, dma_acc.cmd.payload, mem, self.acc_base, log2(cfg.acc_elem_bytes))
        m.d.comb += tensor.insn.eq(st.insn.as_value())

        pending = Signal()      # DMA command not yet accepted
        immediate = Signal()    # nothing to wait for: x_size 0, FINISH
        tensor_run = Signal()   # the tensor core was started and has not finished
        with m.If(st.start):
            m.d.sync += [pending.eq(is_load & (mem.x_size != 0)),
                         immediate.eq(~is_loop & ~(is_load & (mem.x_size != 0))),
                         tensor_run.eq(is_loop)]
        with m.Elif((dma_uop.cmd.valid & dma_uop.cmd.ready) | (dma_acc.cmd.valid & dma_acc.cmd.ready)):
            m.d.sync += pending.eq(0)
        m.d.comb += [dma_uop.cmd.valid.eq(pending & is_uop), dma_acc.cmd.valid.eq(pending & is_acc)]
        m.d.comb += tensor.start.eq(st.start & is_loop)
        # GEMM and ALU overlap: one may start while the micro-ops of the one before drain (the tensor
        # core's bypasses cover them).  It is done when its last micro-op has issued, unless it pushes
        # a token, which promises that its accesses are over: g2l (load may overwrite inp and wgt) once
        # its last inp/wgt read is issued, g2s (store may read out) once its last write is done.
        # Every other instruction waits for the tensor core to be idle: LOAD UOP and LOAD ACC write its
        # SRAMs, and FINISH ends the run.
        m.d.comb += can_start.eq(Mux(is_loop, tensor.ready, ~tensor.busy))
        tensor_done = Signal()
        m.d.comb += tensor_done.eq(tensor_run & ~tensor.start & Mux(
            gemm.push_next_dep, ~tensor.busy, Mux(gemm.push_prev_dep, ~tensor.reading, tensor.ready)))
        with m.If(tensor_done):
            m.d.sync += tensor_run.eq(0)
        m.d.comb += exec_done.eq(immediate | dma_uop.done | dma_acc.done | tensor_done)
        m.d.comb += fault.eq((dma_uop.done & dma_uop.err) | (dma_acc.done & dma_acc.err))

        with m.If(self.clear):
            m.d.sync += self.finish.eq(0)
        with m.Elif(st.start & (opcode == Opcode.FINISH)):
            m.d.sync += self.finish.eq(1)

        # -- counters (fsim definitions, vta-reference §8.1) ----------------------------------------
        nbytes = mem.x_size * mem.y_size
        iters = Signal(40)
        m.d.comb += iters.eq(Mux(gemm.uop_end > gemm.uop_bgn,
                                 gemm.iter_out * gemm.iter_in * (gemm.uop_end - gemm.uop_bgn), 0))
        with m.If(st.start):
            with m.If(is_uop):
                m.d.comb += self.inc.uop_load_nbytes.eq(nbytes << 2)
            with m.If(is_acc):
                m.d.comb += self.inc.acc_load_nbytes.eq(nbytes << log2(cfg.acc_elem_bytes))
            with m.If((opcode == Opcode.GEMM) & ~gemm.reset_reg):
                m.d.comb += self.inc.gemm_counter.eq(iters)
            with m.If(opcode == Opcode.ALU):
                m.d.comb += self.inc.alu_counter.eq(iters)
        m.d.comb += [self.inc.acc_wr_count.eq(tensor.acc_wr_strobe + dma_acc.sram.en),
                     self.inc.gemm_active.eq(tensor.gemm_active), self.inc.alu_active.eq(tensor.alu_active)]
        return m
