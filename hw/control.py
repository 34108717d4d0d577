"""The control port: an AXI4-Lite slave holding the register map of ``hw/regs.py`` and the counters.

The register offsets, counter names and error codes come from ``hw/regs.py``; this module only
implements them.
"""

from amaranth.hdl import Module, Signal, Cat, Const, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .regs import (REGS, REG_BY_NAME, UNIT_INDEX_REGS, COUNTERS, COUNTER_INC_WIDTH, counter_offset,
                   ERROR_WIDTH, STALL_WIDTH, CONTROL_LAUNCH, CONTROL_FINISHED, STATUS_RUNNING, STATUS_DONE,
                   STATUS_ERROR)
from .interfaces import AXIL_MEMBERS, AXIL_ADDR_WIDTH, CounterIncSignature, RunSignature, INDEX_WIDTH

__all__ = ["ControlBlock", "BASE_REGS"]

#: The host-written address and size registers, in register order.
#: Registers per first-level group of the register read (see ``ControlBlock.elaborate``).
READ_GROUP = 8

BASE_REGS = ("insn_count", "insn_base", "uop_base", "inp_base", "wgt_base", "acc_base", "out_base")


class ControlBlock(wiring.Component):
    """AXI4-Lite register block: launch, base registers, status, error and the 64-bit counters.

    Parameters
    ----------
    config_id : int
        Value of the read-only ``config_id`` register.
    inc_groups : dict of name -> counter names, optional
        How the counter increments are grouped into ports (each group one ``inc.<name>`` port, e.g. one
        per unit); together they name every counter but ``cycle_count`` once.  Default: one group
        ``all``.

    Members
    -------
    s_axil_* : AXI4-Lite slave ports (``hw.interfaces.AXIL_MEMBERS``, flipped)
    run : In(RunSignature)   ``run.launch``: one-cycle pulse when the host writes 1 to bit 0 of
                             ``control`` while idle; ``run.running`` from launch until finished; ``done``
                             and a non-zero ``error`` (with ``error_index``, ``stall``, the unit indices)
                             end the run (sampled while running)
    <base regs> : Out(32)    ``insn_count``, ``insn_base``, ``uop_base`` ... ``out_base``
    inc : In(...)            ``inc.<group>.<counter>``: per-cycle increments (counted only while running)
    irq : Out(1)             the finished bit
    """

    def __init__(self, config_id: int = 0, inc_groups: dict | None = None):
        inc_groups = {"all": tuple(COUNTER_INC_WIDTH)} if inc_groups is None else inc_groups
        named = [n for names in inc_groups.values() for n in names]
        if sorted(named) != sorted(COUNTER_INC_WIDTH):
            raise ValueError(f"inc_groups must name every counter but cycle_count once; differs in "
                             f"{sorted(set(named) ^ set(COUNTER_INC_WIDTH)) or 'repeats'}")
        members = {"s_axil_" + n: d(w).flip() for n, w, d in AXIL_MEMBERS}
        members.update({"run": In(RunSignature), "irq": Out(1)})
        members.update({r: Out(32) for r in BASE_REGS})
        members["inc"] = In(wiring.Signature({g: Out(CounterIncSignature(names))
                                              for g, names in inc_groups.items()}))
        super().__init__(members)
        self._config_id = config_id
        self._inc = {n: getattr(getattr(self.inc, g), n) for g, names in inc_groups.items() for n in names}

    def elaborate(self, platform):
        m = Module()
        p = lambda n: getattr(self, "s_axil_" + n)
        run = self.run

        finished = Signal()
        error_code = Signal(ERROR_WIDTH)
        error_index = Signal(INDEX_WIDTH)
        stall = Signal(STALL_WIDTH)
        done_flag = Signal()
        counters = {n: Signal(64, name=f"cnt_{n}") for n in COUNTERS}
        unit_index = {r: Signal(INDEX_WIDTH, name=f"at_error_{r}") for r in UNIT_INDEX_REGS}

        m.d.comb += self.irq.eq(finished)
        m.d.sync += run.launch.eq(0)

        # -- counters: cleared by a launch, counting while running --------------------------------
        # Each increment is registered before its adder, so no unit's logic (e.g. compute's micro-op
        # product) and the 64-bit adder share a clock period; the increment of a cycle of the run is
        # added one cycle later (if that cycle was counted), so every counter's final value is unchanged
        # (the host reads counters after ``finished``).
        inc_r = {n: Signal(w, name=f"inc_{n}") for n, w in COUNTER_INC_WIDTH.items()}
        counted = Signal()                   # the cycle whose increments are in ``inc_r`` was counted
        m.d.sync += [counted.eq(run.running & ~run.launch),
                     *(inc_r[n].eq(self._inc[n]) for n in COUNTER_INC_WIDTH)]
        with m.If(run.launch):
            m.d.sync += [c.eq(0) for c in counters.values()]
        with m.Else():
            with m.If(run.running):
                m.d.sync += counters["cycle_count"].eq(counters["cycle_count"] + 1)
            with m.If(counted):
                m.d.sync += [counters[n].eq(counters[n] + inc_r[n]) for n in COUNTER_INC_WIDTH]

        # -- run state ------------------------------------------------------------------------------
        with m.If(run.running):
            with m.If(run.error != 0):
                m.d.sync += [run.running.eq(0), finished.eq(1), error_code.eq(run.error),
                             error_index.eq(run.error_index), stall.eq(run.stall)]
                m.d.sync += [unit_index[r].eq(getattr(run, r)) for r in UNIT_INDEX_REGS]
            with m.Elif(run.done):
                m.d.sync += [run.running.eq(0), finished.eq(1), done_flag.eq(1)]

        # -- register read mux ------------------------------------------------------------------------
        reg = {
            "control": Cat(run.running, finished),
            "cycle_count": counters["cycle_count"][:32],
            "acc_wr_count": counters["acc_wr_count"][:32],
            **{r: getattr(self, r) for r in BASE_REGS},
            "status": Cat(run.running, done_flag, error_code != 0),
            "error_code": error_code,
            "error_index": error_index,
            "stall": Mux(run.running, run.stall, stall),     # live while running
            "config_id": Const(self._config_id, 32),
        }
        rd = {REG_BY_NAME[name].offset: value for name, value in reg.items()}
        for r in UNIT_INDEX_REGS:
            rd[REG_BY_NAME[r].offset] = Mux(run.running, getattr(run, r), unit_index[r])
        for n in COUNTERS:
            rd[counter_offset(n)] = counters[n][:32]
            rd[counter_offset(n) + 4] = counters[n][32:]
        assert {r.offset for r in REGS} <= set(rd), "a register of hw/regs.py has no implementation"

        # -- AXI4-Lite read channel: one read at a time, data the cycle after AR -----------------------
        rvalid = Signal()
        # The word read is an AND-OR over the registers (each gated by its address decoded), not a
        # Switch: the same value (0 at an address with no register), about 800 LUT4 fewer on ECP5.  It
        # is taken in two levels: each group of READ_GROUP registers neighbouring in the address map
        # (a counter's two halves, the counters next to each other) is selected into a register of its
        # own at the AR handshake, and ``rdata`` is the OR of those registers (all but the addressed
        # group's are 0).  Same data on the same cycle; the 2,000-odd register bits no longer converge
        # on one 32-bit multiplexer, which crowded the routing of the ECP5 SoC around it.
        word = p("araddr")[2:AXIL_ADDR_WIDTH]
        items = sorted(rd.items())
        groups = [items[i:i + READ_GROUP] for i in range(0, len(items), READ_GROUP)]
        picked = [Signal(32, name=f"rd_group_{g}") for g in range(len(groups))]
        with m.If(p("arvalid") & p("arready")):
            m.d.sync += rvalid.eq(1)
            for reg_g, members in zip(picked, groups):
                sel = Const(0, 32)
                for off, val in members:
                    sel = sel | Mux(word == off >> 2, val, 0)
                m.d.sync += reg_g.eq(sel)
        rdata = Const(0, 32)
        for reg_g in picked:
            rdata = rdata | reg_g
        m.d.comb += [p("arready").eq(~rvalid), p("rvalid").eq(rvalid), p("rdata").eq(rdata),
                     p("rresp").eq(0)]
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
                with m.Case(REG_BY_NAME["control"].offset >> 2):
                    with m.If(wdata[0] & ~run.running):
                        m.d.sync += [run.launch.eq(1), run.running.eq(1), finished.eq(0),
                                     done_flag.eq(0), error_code.eq(0), error_index.eq(0), stall.eq(0)]
                for r in BASE_REGS:
                    with m.Case(REG_BY_NAME[r].offset >> 2):
                        with m.If(~run.running):
                            m.d.sync += getattr(self, r).eq(wdata)
        with m.If(bvalid & p("bready")):
            m.d.sync += bvalid.eq(0)
        return m
