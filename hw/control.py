"""The control port: an AXI4-Lite slave holding the register map of ``hw/regs.py`` and the counters.

The register offsets, counter names and error codes come from ``hw/regs.py``; this module only
implements them.
"""

from amaranth.hdl import Module, Signal, Cat, Const, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .regs import (REGS, REG_BY_NAME, UNIT_INDEX_REGS, COUNTERS, counter_offset, ErrorCode,
                   CONTROL_LAUNCH, CONTROL_FINISHED, STATUS_RUNNING, STATUS_DONE, STATUS_ERROR)
from .interfaces import AXIL_MEMBERS, AXIL_ADDR_WIDTH

__all__ = ["ControlBlock", "COUNTER_INC_WIDTH", "BASE_REGS"]

#: Width of each counter's per-cycle increment input (1 = a strobe).
COUNTER_INC_WIDTH = {name: (40 if name.endswith("_nbytes") or name in ("gemm_counter", "alu_counter")
                            else 2 if name == "acc_wr_count" else 1)
                     for name in COUNTERS if name != "cycle_count"}

#: The host-written address and size registers, in register order.
BASE_REGS = ("insn_count", "insn_base", "uop_base", "inp_base", "wgt_base", "acc_base", "out_base")

_ERROR_WIDTH = 4


class ControlBlock(wiring.Component):
    """AXI4-Lite register block: launch, base registers, status, error and the 64-bit counters.

    Parameters
    ----------
    config_id : int
        Value of the read-only ``config_id`` register.

    Members
    -------
    s_axil_* : AXI4-Lite slave ports (``hw.interfaces.AXIL_MEMBERS``, flipped)
    launch : Out(1)          one-cycle pulse when the host writes 1 to bit 0 of ``control`` while idle
    running : Out(1)         from launch until finished
    <base regs> : Out(32)    ``insn_count``, ``insn_base``, ``uop_base`` ... ``out_base``
    done : In(1)             the core finished the program (sampled while running)
    error : In(4)            a non-zero ErrorCode stops the run (sampled while running)
    error_index : In(32)     the instruction the error names (sampled with ``error``)
    stall : In(16)           what each module waits on (sampled with ``error``)
    load_index, compute_index, store_index, fetch_index : In(32)
                             each unit's current instruction (sampled with ``error``)
    inc_<counter> : In(w)    per-cycle increment of each counter but ``cycle_count`` (counted only while running)
    irq : Out(1)             the finished bit
    """

    def __init__(self, config_id: int = 0):
        members = {"s_axil_" + n: d(w).flip() for n, w, d in AXIL_MEMBERS}
        members.update({
            "launch": Out(1), "running": Out(1), "irq": Out(1),
            "done": In(1), "error": In(_ERROR_WIDTH), "error_index": In(32), "stall": In(16),
        })
        members.update({r: Out(32) for r in BASE_REGS})
        members.update({r: In(32) for r in UNIT_INDEX_REGS})
        members.update({f"inc_{n}": In(w) for n, w in COUNTER_INC_WIDTH.items()})
        super().__init__(members)
        self._config_id = config_id

    def elaborate(self, platform):
        m = Module()
        p = lambda n: getattr(self, "s_axil_" + n)

        finished = Signal()
        error_code = Signal(_ERROR_WIDTH)
        error_index = Signal(32)
        stall = Signal(16)
        done_flag = Signal()
        counters = {n: Signal(64, name=f"cnt_{n}") for n in COUNTERS}
        unit_index = {r: Signal(32, name=f"at_error_{r}") for r in UNIT_INDEX_REGS}

        m.d.comb += self.irq.eq(finished)
        m.d.sync += self.launch.eq(0)

        # -- counters: cleared by a launch, counting while running --------------------------------
        with m.If(self.launch):
            m.d.sync += [c.eq(0) for c in counters.values()]
        with m.Elif(self.running):
            m.d.sync += counters["cycle_count"].eq(counters["cycle_count"] + 1)
            for n in COUNTER_INC_WIDTH:
                m.d.sync += counters[n].eq(counters[n] + getattr(self, f"inc_{n}"))

        # -- run state ------------------------------------------------------------------------------
        with m.If(self.running):
            with m.If(self.error != 0):
                m.d.sync += [self.running.eq(0), finished.eq(1), error_code.eq(self.error),
                             error_index.eq(self.error_index), stall.eq(self.stall)]
                m.d.sync += [unit_index[r].eq(getattr(self, r)) for r in UNIT_INDEX_REGS]
            with m.Elif(self.done):
                m.d.sync += [self.running.eq(0), finished.eq(1), done_flag.eq(1)]

        # -- register read mux ------------------------------------------------------------------------
        rd = {}
        rd[0x00] = Cat(self.running, finished)
        rd[0x04] = counters["cycle_count"][:32]
        rd[0x24] = counters["acc_wr_count"][:32]
        for r in BASE_REGS:
            rd[next(x.offset for x in REGS if x.name == r)] = getattr(self, r)
        rd[0x28] = Cat(self.running, done_flag, error_code != 0)
        rd[0x2C] = error_code
        rd[0x30] = error_index
        rd[0x34] = Mux(self.running, self.stall, stall)   # live while running
        rd[0x38] = Const(self._config_id, 32)
        for r in UNIT_INDEX_REGS:
            rd[REG_BY_NAME[r].offset] = Mux(self.running, getattr(self, r), unit_index[r])
        for n in COUNTERS:
            rd[counter_offset(n)] = counters[n][:32]
            rd[counter_offset(n) + 4] = counters[n][32:]
        assert {r.offset for r in REGS} <= set(rd), "a register of hw/regs.py has no implementation"

        # -- AXI4-Lite read channel: one read at a time, data the cycle after AR -----------------------
        rdata = Signal(32)
        rvalid = Signal()
        m.d.comb += [p("arready").eq(~rvalid), p("rvalid").eq(rvalid), p("rdata").eq(rdata),
                     p("rresp").eq(0)]
        with m.If(p("arvalid") & p("arready")):
            m.d.sync += rvalid.eq(1)
            with m.Switch(p("araddr")[2:AXIL_ADDR_WIDTH]):
                for off, val in rd.items():
                    with m.Case(off >> 2):
                        m.d.sync += rdata.eq(val)
                with m.Default():
                    m.d.sync += rdata.eq(0)
        with m.If(rvalid & p("rready")):
            m.d.sync += rvalid.eq(0)

        # -- AXI4-Lite write channel: AW and W together, B the cycle after ----------------------------
        bvalid = Signal()
        take = Signal()
        m.d.comb += [take.eq(p("awvalid") & p("wvalid") & ~bvalid),
                     p("awready").eq(take), p("wready").eq(take),
                     p("bvalid").eq(bvalid), p("bresp").eq(0)]
        with m.If(take):
            m.d.sync += bvalid.eq(1)
            wdata = p("wdata")
            with m.Switch(p("awaddr")[2:AXIL_ADDR_WIDTH]):
                with m.Case(0):
                    with m.If(wdata[0] & ~self.running):
                        m.d.sync += [self.launch.eq(1), self.running.eq(1), finished.eq(0),
                                     done_flag.eq(0), error_code.eq(0), error_index.eq(0), stall.eq(0)]
                for r in BASE_REGS:
                    off = next(x.offset for x in REGS if x.name == r)
                    with m.Case(off >> 2):
                        with m.If(~self.running):
                            m.d.sync += getattr(self, r).eq(wdata)
        with m.If(bvalid & p("bready")):
            m.d.sync += bvalid.eq(0)
        return m
