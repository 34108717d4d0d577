"""The compute module: LOAD UOP, LOAD ACC (with padding), GEMM and ALU (through the ``TensorCore``),
and FINISH.  Pops l2g (pop_prev) and s2g (pop_next), pushes g2l (push_prev) and g2s (push_next)."""

from amaranth.hdl import Module, Signal, Mux
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import VTAConfig
from ..isa import Opcode, MemType, layouts
from ..interfaces import MemReadSignature, SramReadSignature, SramWriteSignature
from ..queues import QueueEntry, Stage, FLAG_BITS
from ..glue import glue
from ..dma import DmaRead
from ..load.load import mem_cmd, log2
from .tensor import TensorCore

__all__ = ["Compute"]


class Compute(wiring.Component):
    """The compute module.

    Members
    -------
    q : In(stream.Signature(QueueEntry))    the compute command queue
    l2g_avail, l2g_pop, s2g_avail, s2g_pop, g2l_full, g2l_push, g2s_full, g2s_push : token handshakes
    uop_base, acc_base : In(32)
    halt : In(1)
    mem_uop, mem_acc : Out(MemReadSignature)
    inp_rd, wgt_rd : Out(SramReadSignature)      the inp and wgt SRAMs' read ports
    out_wr : Out(SramWriteSignature)             the out buffer's write port
    finish : Out(1)                              a FINISH has retired (sticky until ``clear``)
    clear : In(1)                                launch: forget the previous FINISH
    busy : Out(1)    an instruction is in progress (token waits included)
    active : Out(1)  an instruction executes (token waits excluded)
    stuck, err : Out(1)
    wait_l2g, wait_s2g, wait_g2l, wait_g2s : Out(1)
    index : Out(32)
    inc_uop_load_nbytes, inc_acc_load_nbytes, inc_gemm_counter, inc_alu_counter : Out(40)
    inc_acc_wr_count : Out(2)
    gemm_active, alu_active : Out(1)
    """

    def __init__(self, cfg: VTAConfig):
        self.cfg = cfg
        super().__init__({
            "q": In(stream.Signature(QueueEntry)),
            "l2g_avail": In(1), "l2g_pop": Out(1), "s2g_avail": In(1), "s2g_pop": Out(1),
            "g2l_full": In(1), "g2l_push": Out(1), "g2s_full": In(1), "g2s_push": Out(1),
            "uop_base": In(32), "acc_base": In(32), "halt": In(1), "clear": In(1),
            "mem_uop": Out(MemReadSignature(cfg.bus_bits)),
            "mem_acc": Out(MemReadSignature(cfg.bus_bits)),
            "inp_rd": Out(SramReadSignature(cfg.log_inp_depth, cfg.inp_elem_bits)),
            "wgt_rd": Out(SramReadSignature(cfg.log_wgt_depth, cfg.wgt_elem_bits)),
            "out_wr": Out(SramWriteSignature(cfg.log_out_depth, cfg.out_elem_bits)),
            "finish": Out(1), "busy": Out(1), "active": Out(1), "stuck": Out(1), "err": Out(1),
            "wait_l2g": Out(1), "wait_s2g": Out(1), "wait_g2l": Out(1), "wait_g2s": Out(1),
            "index": Out(32),
            "inc_uop_load_nbytes": Out(40), "inc_acc_load_nbytes": Out(40),
            "inc_gemm_counter": Out(40), "inc_alu_counter": Out(40), "inc_acc_wr_count": Out(2),
            "gemm_active": Out(1), "alu_active": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        lay = layouts(cfg)
        m.submodules.tensor = tensor = TensorCore(cfg)
        m.submodules.dma_uop = dma_uop = DmaRead(32, cfg.bus_bits, cfg.log_uop_depth)
        m.submodules.dma_acc = dma_acc = DmaRead(cfg.acc_elem_bits, cfg.bus_bits, cfg.log_acc_depth)
        wiring.connect(glue(m, "uop_mem_glue"), wiring.flipped(self.mem_uop), dma_uop.mem)
        wiring.connect(glue(m, "acc_mem_glue"), wiring.flipped(self.mem_acc), dma_acc.mem)
        wiring.connect(glue(m, "uop_wr_glue"), dma_uop.sram, tensor.uop_wr)
        wiring.connect(glue(m, "acc_wr_glue"), dma_acc.sram, tensor.acc_wr)
        wiring.connect(glue(m, "inp_rd_glue"), wiring.flipped(self.inp_rd), tensor.inp_rd)
        wiring.connect(glue(m, "wgt_rd_glue"), wiring.flipped(self.wgt_rd), tensor.wgt_rd)
        wiring.connect(glue(m, "out_wr_glue"), wiring.flipped(self.out_wr), tensor.out_wr)

        exec_done = Signal()
        st = Stage(m, self.q,
                   pops=[(FLAG_BITS["pop_prev_dep"], self.l2g_avail, self.l2g_pop),
                         (FLAG_BITS["pop_next_dep"], self.s2g_avail, self.s2g_pop)],
                   pushes=[(FLAG_BITS["push_prev_dep"], self.g2l_full, self.g2l_push),
                           (FLAG_BITS["push_next_dep"], self.g2s_full, self.g2s_push)],
                   exec_done=exec_done, halt=self.halt, name="compute")
        mem = data.View(lay["mem"].amaranth_layout(), st.insn)
        gemm = data.View(lay["gemm"].amaranth_layout(), st.insn)
        m.d.comb += [self.busy.eq(st.busy), self.active.eq(st.executing), self.stuck.eq(st.stuck),
                     self.index.eq(st.index),
                     self.wait_l2g.eq(st.in_pop & st.wait_pop[0]),
                     self.wait_s2g.eq(st.in_pop & st.wait_pop[1]),
                     self.wait_g2l.eq(st.in_push & st.wait_push[0]),
                     self.wait_g2s.eq(st.in_push & st.wait_push[1])]

        opcode = st.insn[0:3]
        is_load = opcode == Opcode.LOAD
        is_uop = is_load & (mem.memory_type == MemType.UOP)
        is_acc = is_load & (mem.memory_type == MemType.ACC)
        is_loop = (opcode == Opcode.GEMM) | (opcode == Opcode.ALU)

        mem_cmd(m, dma_uop.cmd.payload, mem, self.uop_base, 2, one_d=True)
        mem_cmd(m, dma_acc.cmd.payload, mem, self.acc_base, log2(cfg.acc_elem_bytes))
        m.d.comb += tensor.insn.eq(st.insn)

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
        tensor_done = Signal()
        m.d.comb += tensor_done.eq(tensor_run & ~tensor.busy & ~tensor.start)
        with m.If(tensor_done):
            m.d.sync += tensor_run.eq(0)
        m.d.comb += exec_done.eq(immediate | dma_uop.done | dma_acc.done | tensor_done)
        with m.If((dma_uop.done & dma_uop.err) | (dma_acc.done & dma_acc.err)):
            m.d.sync += self.err.eq(1)

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
                m.d.comb += self.inc_uop_load_nbytes.eq(nbytes << 2)
            with m.If(is_acc):
                m.d.comb += self.inc_acc_load_nbytes.eq(nbytes << log2(cfg.acc_elem_bytes))
            with m.If((opcode == Opcode.GEMM) & ~gemm.reset_reg):
                m.d.comb += self.inc_gemm_counter.eq(iters)
            with m.If(opcode == Opcode.ALU):
                m.d.comb += self.inc_alu_counter.eq(iters)
        m.d.comb += [self.inc_acc_wr_count.eq(tensor.acc_wr_strobe + dma_acc.sram.en),
                     self.gemm_active.eq(tensor.gemm_active), self.alu_active.eq(tensor.alu_active)]
        return m
