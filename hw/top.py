"""The VTA core: fetch, load, compute and store, their queues and SRAMs, the AXI4 memory master and the
AXI4-Lite control block, parameterised by a ``VTAConfig``.

Ports (flat names, as FPGA tools and cocotbext-axi expect): ``m_axi_*`` (AXI4 master, data width
``cfg.bus_bits``), ``s_axil_*`` (AXI4-Lite slave, 32-bit registers of ``hw/regs.py``), ``irq`` (the
control register's finished bit), and the ``sync`` domain's ``clk`` and ``rst``.

A run: the host writes the base registers and ``insn_count``, then 1 to ``control``.  The core finishes
when FINISH has retired in compute and the load and store queues have drained (``status`` done), or
stops on an error (``status`` error, ``error_code``, ``error_index``, ``stall``).  After an error the
core must be reset before the next launch.
"""

from amaranth.hdl import Module, Signal, Cat, Const
from amaranth.lib import wiring, fifo, memory
from amaranth.lib.wiring import In, Out

from .config import VTAConfig
from .interfaces import AXI4_MEMBERS, AXIL_MEMBERS
from .regs import ErrorCode, STALL_BITS, COUNTERS
from .queues import QueueEntry, TokenQueue
from .glue import glue
from .isa import TOKEN_QUEUES
from .control import ControlBlock, COUNTER_INC_WIDTH
from .axi import MemArbiter
from .fetch import Fetch
from .load import Load
from .compute.compute import Compute
from .store import Store

__all__ = ["VTACore", "config_id", "DEADLOCK_CYCLES"]

#: A deadlock (or a program without FINISH) is reported once every unit has been waiting on another
#: for this many consecutive cycles (longer than any queue's internal latency).
DEADLOCK_CYCLES = 16


def config_id(cfg: VTAConfig) -> int:
    """The ``config_id`` register: LOG_BATCH | LOG_BLOCK<<4 | LOG_BUS_WIDTH<<8 | LOG_UOP_BUFF_SIZE<<12 |
    LOG_INP_BUFF_SIZE<<17 | LOG_WGT_BUFF_SIZE<<22 | LOG_ACC_BUFF_SIZE<<27 (5 bits each but the first three)."""
    return (cfg.log_batch | cfg.log_block << 4 | cfg.log_bus_width << 8 | cfg.log_uop_buff_size << 12
            | cfg.log_inp_buff_size << 17 | cfg.log_wgt_buff_size << 22 | (cfg.log_acc_buff_size & 31) << 27)


class VTACore(wiring.Component):
    """The VTA accelerator.

    Parameters
    ----------
    cfg : VTAConfig

    Members
    -------
    m_axi_* : AXI4 master (``hw.interfaces.AXI4_MEMBERS``)
    s_axil_* : AXI4-Lite slave (``hw.interfaces.AXIL_MEMBERS``, flipped)
    irq : Out(1)   the run finished (done or error)
    """

    def __init__(self, cfg: VTAConfig):
        self.cfg = cfg
        members = {"m_axi_" + n: d(w) for n, w, d in AXI4_MEMBERS(cfg.bus_bits)}
        members.update({"s_axil_" + n: d(w).flip() for n, w, d in AXIL_MEMBERS})
        members["irq"] = Out(1)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg

        m.submodules.control = ctl = ControlBlock(config_id(cfg))
        g = glue(m, "axil_glue")
        for n, _, d in AXIL_MEMBERS:
            port, inner = getattr(self, "s_axil_" + n), getattr(ctl, "s_axil_" + n)
            # Direction from the master's side: Out members are driven by the host.
            g.d.comb += (inner.eq(port) if d is Out else port.eq(inner))
        g.d.comb += self.irq.eq(ctl.irq)

        m.submodules.arbiter = arb = MemArbiter(cfg.bus_bits, n_read=5, n_write=1)
        g = glue(m, "axi_glue")
        for n, _, d in AXI4_MEMBERS(cfg.bus_bits):
            port, inner = getattr(self, "m_axi_" + n), getattr(arb.bus, n)
            g.d.comb += (port.eq(inner) if d is Out else inner.eq(port))

        m.submodules.fetch = fetch = Fetch(cfg)
        m.submodules.load = load = Load(cfg)
        m.submodules.compute = comp = Compute(cfg)
        m.submodules.store = store = Store(cfg)

        # -- memory clients -------------------------------------------------------------------------
        for i, client in enumerate((fetch.mem, comp.mem_uop, load.mem_inp, load.mem_wgt, comp.mem_acc)):
            wiring.connect(glue(m, f"rd{i}_glue"), client, arb.rd[i])
        wiring.connect(glue(m, "wr_glue"), store.mem, arb.wr[0])

        # -- SRAMs shared between modules ----------------------------------------------------------
        m.submodules.inp_mem = inp_mem = memory.Memory(shape=cfg.inp_elem_bits, depth=cfg.inp_depth, init=[])
        m.submodules.wgt_mem = wgt_mem = memory.Memory(shape=cfg.wgt_elem_bits, depth=cfg.wgt_depth, init=[])
        m.submodules.out_mem = out_mem = memory.Memory(shape=cfg.out_elem_bits, depth=cfg.out_depth, init=[])
        for mem_name, mem, wr_if, rd_if in (("inp", inp_mem, load.inp_wr, comp.inp_rd),
                                            ("wgt", wgt_mem, load.wgt_wr, comp.wgt_rd),
                                            ("out", out_mem, comp.out_wr, store.out_rd)):
            wp = mem.write_port()
            rp = mem.read_port()
            glue(m, f"{mem_name}_glue").d.comb += [wp.addr.eq(wr_if.addr), wp.data.eq(wr_if.data), wp.en.eq(wr_if.en),
                         rp.addr.eq(rd_if.addr), rp.en.eq(rd_if.en), rd_if.data.eq(rp.data)]

        # -- command queues ----------------------------------------------------------------------------
        for name, src, dst in (("load_q", fetch.load_q, load.q), ("compute_q", fetch.compute_q, comp.q),
                               ("store_q", fetch.store_q, store.q)):
            q = fifo.SyncFIFOBuffered(width=QueueEntry.size, depth=cfg.cmd_queue_depth)
            m.submodules[name] = q
            glue(m, f"{name}_glue").d.comb += [q.w_data.eq(src.payload), q.w_en.eq(src.valid), src.ready.eq(q.w_rdy),
                         dst.payload.eq(q.r_data), dst.valid.eq(q.r_rdy), q.r_en.eq(dst.ready)]
        queues_empty = {"load": m.submodules.load_q.level == 0, "store": m.submodules.store_q.level == 0,
                        "compute": m.submodules.compute_q.level == 0}

        # -- token queues ----------------------------------------------------------------------------
        tok = {}
        for name in TOKEN_QUEUES:
            tok[name] = m.submodules[f"tok_{name}"] = TokenQueue(cfg.token_queue_depth)
        glue(m, "token_glue").d.comb += [
            load.g2l_avail.eq(tok["g2l"].avail), tok["g2l"].pop.eq(load.g2l_pop),
            load.l2g_full.eq(tok["l2g"].full), tok["l2g"].push.eq(load.l2g_push),
            comp.l2g_avail.eq(tok["l2g"].avail), tok["l2g"].pop.eq(comp.l2g_pop),
            comp.s2g_avail.eq(tok["s2g"].avail), tok["s2g"].pop.eq(comp.s2g_pop),
            comp.g2l_full.eq(tok["g2l"].full), tok["g2l"].push.eq(comp.g2l_push),
            comp.g2s_full.eq(tok["g2s"].full), tok["g2s"].push.eq(comp.g2s_push),
            store.g2s_avail.eq(tok["g2s"].avail), tok["g2s"].pop.eq(store.g2s_pop),
            store.s2g_full.eq(tok["s2g"].full), tok["s2g"].push.eq(store.s2g_push),
        ]

        # -- launch, registers ---------------------------------------------------------------------------
        halt = Signal()
        glue(m, "reg_glue").d.comb += [
            fetch.start.eq(ctl.launch), fetch.insn_base.eq(ctl.insn_base), fetch.insn_count.eq(ctl.insn_count),
            load.inp_base.eq(ctl.inp_base), load.wgt_base.eq(ctl.wgt_base),
            comp.uop_base.eq(ctl.uop_base), comp.acc_base.eq(ctl.acc_base), comp.clear.eq(ctl.launch),
            store.out_base.eq(ctl.out_base),
            fetch.halt.eq(halt), load.halt.eq(halt), comp.halt.eq(halt), store.halt.eq(halt),
        ]

        # -- done, errors, deadlock ------------------------------------------------------------------------
        done = Signal()
        m.d.comb += done.eq(comp.finish & ~load.busy & queues_empty["load"] & ~store.busy & queues_empty["store"])

        stall = Signal(16)
        waits = {
            "load pops g2l": load.wait_g2l, "load pushes l2g": load.wait_l2g,
            "compute pops l2g": comp.wait_l2g, "compute pops s2g": comp.wait_s2g,
            "compute pushes g2l": comp.wait_g2l, "compute pushes g2s": comp.wait_g2s,
            "store pops g2s": store.wait_g2s, "store pushes s2g": store.wait_s2g,
            "fetch waits on full load queue": fetch.wait_full[0],
            "fetch waits on full compute queue": fetch.wait_full[1],
            "fetch waits on full store queue": fetch.wait_full[2],
        }
        assert set(waits) == set(STALL_BITS)
        for name, bit in STALL_BITS.items():
            m.d.comb += stall[bit].eq(waits[name])

        # Nothing can move: fetch is finished or blocked on a full queue, and every module is idle with
        # an empty queue or waiting on a token.
        fetch_stuck = ~fetch.busy | fetch.wait_full.any()
        all_stuck = Signal()
        m.d.comb += all_stuck.eq(ctl.running & ~done & fetch_stuck & load.stuck & comp.stuck & store.stuck)
        stuck_for = Signal(range(DEADLOCK_CYCLES + 1))
        with m.If(all_stuck & ~ctl.launch):
            with m.If(stuck_for != DEADLOCK_CYCLES):
                m.d.sync += stuck_for.eq(stuck_for + 1)
        with m.Else():
            m.d.sync += stuck_for.eq(0)
        stalled = stuck_for == DEADLOCK_CYCLES
        any_token_wait = stall.any()

        error = Signal(4)
        error_index = Signal(32)
        with m.If(fetch.illegal):
            m.d.comb += [error.eq(ErrorCode.ILLEGAL_INSN), error_index.eq(fetch.index)]
        with m.Elif(fetch.rd_err):
            m.d.comb += [error.eq(ErrorCode.AXI_READ), error_index.eq(fetch.index)]
        with m.Elif(load.err):
            m.d.comb += [error.eq(ErrorCode.AXI_READ), error_index.eq(load.index)]
        with m.Elif(comp.err):
            m.d.comb += [error.eq(ErrorCode.AXI_READ), error_index.eq(comp.index)]
        with m.Elif(store.err):
            m.d.comb += [error.eq(ErrorCode.AXI_WRITE), error_index.eq(store.index)]
        with m.Elif(stalled & any_token_wait):
            # Name the instruction of the first module (compute, load, store) that waits on a token.
            with m.If(comp.wait_l2g | comp.wait_s2g | comp.wait_g2l | comp.wait_g2s):
                m.d.comb += error_index.eq(comp.index)
            with m.Elif(load.wait_g2l | load.wait_l2g):
                m.d.comb += error_index.eq(load.index)
            with m.Else():
                m.d.comb += error_index.eq(store.index)
            m.d.comb += error.eq(ErrorCode.DEADLOCK)
        with m.Elif(stalled):
            m.d.comb += [error.eq(ErrorCode.NO_FINISH), error_index.eq(fetch.index)]
        m.d.comb += [ctl.done.eq(done), ctl.error.eq(error), ctl.error_index.eq(error_index),
                     ctl.stall.eq(stall), ctl.load_index.eq(load.index), ctl.compute_index.eq(comp.index),
                     ctl.store_index.eq(store.index), ctl.fetch_index.eq(fetch.index)]
        halted = Signal()
        with m.If(ctl.launch):
            m.d.sync += halted.eq(0)
        with m.Elif(ctl.running & (error != 0)):
            m.d.sync += halted.eq(1)
        m.d.comb += halt.eq(halted)

        # -- counters -------------------------------------------------------------------------------------
        lb, cb, sb = load.active, comp.active, store.active
        inc = {
            "inp_load_nbytes": load.inc_inp_nbytes, "wgt_load_nbytes": load.inc_wgt_nbytes,
            "acc_load_nbytes": comp.inc_acc_load_nbytes, "uop_load_nbytes": comp.inc_uop_load_nbytes,
            "out_store_nbytes": store.inc_out_store_nbytes, "gemm_counter": comp.inc_gemm_counter,
            "alu_counter": comp.inc_alu_counter, "acc_wr_count": comp.inc_acc_wr_count,
            "fetch_busy": fetch.busy, "load_busy": lb, "compute_busy": cb, "store_busy": sb,
            "overlap_load_compute": lb & cb, "overlap_compute_store": cb & sb, "overlap_all": lb & cb & sb,
            "load_wait_g2l": load.wait_g2l, "load_wait_l2g": load.wait_l2g,
            "compute_wait_l2g": comp.wait_l2g, "compute_wait_s2g": comp.wait_s2g,
            "compute_wait_g2l": comp.wait_g2l, "compute_wait_g2s": comp.wait_g2s,
            "store_wait_g2s": store.wait_g2s, "store_wait_s2g": store.wait_s2g,
            "axi_read_beats": arb.rd_beat, "axi_write_beats": arb.wr_beat,
            "gemm_active": comp.gemm_active, "alu_active": comp.alu_active,
        }
        assert set(inc) == set(COUNTER_INC_WIDTH), set(inc) ^ set(COUNTER_INC_WIDTH)
        g = glue(m, "counter_glue")
        for name, sig in inc.items():
            g.d.comb += getattr(ctl, f"inc_{name}").eq(sig)
        return m
