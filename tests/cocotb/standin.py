"""A tiny stand-in for the VTA core with the same flat ports, to test the cocotb infrastructure cheaply.

``StandInCore`` has the top level's outside (``m_axi_*``, ``s_axil_*``, ``irq``) and the control
registers of :mod:`hw.regs` that a backend touches (control, insn_count, insn_base, out_base, status,
error_code, error_index, the counters).  On launch it copies ``insn_count`` bus words from ``insn_base``
to ``out_base``, adding 1 to each word, one single-beat read and write at a time, then sets ``finished``.
A read or write error stops it with :class:`hw.regs.ErrorCode` ``AXI_READ`` / ``AXI_WRITE``.

``StandInSimTop`` is the stand-in core plus a small fixed-latency AXI memory with the backdoor ports of
``sim.simtop.SimTop`` (``bd_addr``, ``bd_wdata``, ``bd_we``, ``bd_rdata``; word addressed; read data the
cycle after the address).

Builds in seconds on Icarus and Verilator; nothing here is part of the product.
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth import Module, Signal, Cat, Const
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out, flipped

from hw import regs
from sim.axi_mem import add_storage
from hw.interfaces import AXI4_MEMBERS, AXIL_MEMBERS

__all__ = ["StandInCore", "StandInSimTop", "SilentCore"]


def _core_members(bus_bits):
    m = {f"m_axi_{n}": d(w) for n, w, d in AXI4_MEMBERS(bus_bits)}
    m.update({f"s_axil_{n}": d(w).flip() for n, w, d in AXIL_MEMBERS})
    m["irq"] = Out(1)
    return m


class StandInCore(wiring.Component):
    """Copy-and-increment engine with the core's outside.

    Parameters
    ----------
    cfg : hw.config.VTAConfig
        Only ``bus_bits`` is used.
    """

    def __init__(self, cfg):
        self.cfg = cfg
        super().__init__(_core_members(cfg.bus_bits))

    def elaborate(self, platform):
        m = Module()
        bb = self.cfg.bus_bits
        nb = bb // 8
        shift = (nb - 1).bit_length()
        R = regs.REG_BY_NAME

        finished = Signal()
        running = Signal()
        error_code = Signal(8)
        error_index = Signal(32)
        insn_count = Signal(32)
        insn_base = Signal(32)
        out_base = Signal(32)
        cycles = Signal(64)
        rd_beats = Signal(64)
        wr_beats = Signal(64)
        idx = Signal(32)
        word = Signal(bb)
        m.d.comb += self.irq.eq(finished)

        # -- AXI4-Lite slave: one write or read at a time ------------------------------------------
        ax = {n: getattr(self, f"s_axil_{n}") for n, _, _ in AXIL_MEMBERS}
        launch = Signal()
        with m.If(ax["bvalid"] & ax["bready"]):
            m.d.sync += ax["bvalid"].eq(0)
        with m.If(ax["awvalid"] & ax["wvalid"] & ~ax["bvalid"]):
            m.d.comb += [ax["awready"].eq(1), ax["wready"].eq(1)]
            m.d.sync += ax["bvalid"].eq(1)
            with m.Switch(ax["awaddr"]):
                with m.Case(R["control"].offset):
                    m.d.comb += launch.eq(ax["wdata"][0])
                with m.Case(R["insn_count"].offset):
                    m.d.sync += insn_count.eq(ax["wdata"])
                with m.Case(R["insn_base"].offset):
                    m.d.sync += insn_base.eq(ax["wdata"])
                with m.Case(R["out_base"].offset):
                    m.d.sync += out_base.eq(ax["wdata"])
        with m.If(ax["rvalid"] & ax["rready"]):
            m.d.sync += ax["rvalid"].eq(0)
        with m.If(ax["arvalid"] & ~ax["rvalid"]):
            m.d.comb += ax["arready"].eq(1)
            m.d.sync += ax["rvalid"].eq(1)
            m.d.sync += ax["rdata"].eq(0)
            with m.Switch(ax["araddr"]):
                with m.Case(R["control"].offset):
                    m.d.sync += ax["rdata"].eq(Cat(running, finished))
                with m.Case(R["cycle_count"].offset):
                    m.d.sync += ax["rdata"].eq(cycles[:32])
                with m.Case(R["insn_count"].offset):
                    m.d.sync += ax["rdata"].eq(insn_count)
                with m.Case(R["status"].offset):
                    m.d.sync += ax["rdata"].eq(Cat(running, finished & (error_code == 0),
                                                  error_code != 0))
                with m.Case(R["error_code"].offset):
                    m.d.sync += ax["rdata"].eq(error_code)
                with m.Case(R["error_index"].offset):
                    m.d.sync += ax["rdata"].eq(error_index)
                for name, value in (("cycle_count", cycles), ("axi_read_beats", rd_beats),
                                    ("axi_write_beats", wr_beats)):
                    off = regs.counter_offset(name)
                    with m.Case(off):
                        m.d.sync += ax["rdata"].eq(value[:32])
                    with m.Case(off + 4):
                        m.d.sync += ax["rdata"].eq(value[32:])

        # -- the engine --------------------------------------------------------------------------
        mx = {n: getattr(self, f"m_axi_{n}") for n, _, _ in AXI4_MEMBERS(bb)}
        m.d.comb += [
            mx["arlen"].eq(0), mx["awlen"].eq(0), mx["arsize"].eq(shift), mx["awsize"].eq(shift),
            mx["arburst"].eq(1), mx["awburst"].eq(1), mx["wstrb"].eq(Const(-1, nb)), mx["wlast"].eq(1),
            mx["araddr"].eq(insn_base + (idx << shift)), mx["awaddr"].eq(out_base + (idx << shift)),
            mx["wdata"].eq(word),
        ]
        with m.If(running):
            m.d.sync += cycles.eq(cycles + 1)
        with m.If(mx["rvalid"] & mx["rready"]):
            m.d.sync += rd_beats.eq(rd_beats + 1)
        with m.If(mx["wvalid"] & mx["wready"]):
            m.d.sync += wr_beats.eq(wr_beats + 1)

        def stop(code=0):
            m.d.sync += [running.eq(0), finished.eq(1), error_code.eq(code), error_index.eq(idx)]

        def offer(state, ch, then):
            """A state that holds channel ``ch``'s VALID high until READY, then goes to ``then``."""
            with m.State(state):
                m.d.comb += mx[f"{ch}valid"].eq(1)
                with m.If(mx[f"{ch}ready"]):
                    m.next = then

        def take(state, ch, code, then, on_beat=(), on_ok=()):
            """A state that takes one beat of response channel ``ch`` (r or b), doing ``on_beat``: an
            error response stops with ``code``; else ``on_ok``, then ``then``."""
            with m.State(state):
                m.d.comb += mx[f"{ch}ready"].eq(1)
                with m.If(mx[f"{ch}valid"]):
                    m.d.sync += list(on_beat)
                    with m.If(mx[f"{ch}resp"][1]):
                        stop(code)
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += list(on_ok)
                        m.next = then

        with m.FSM():
            with m.State("IDLE"):
                with m.If(launch):
                    m.d.sync += [running.eq(1), finished.eq(0), idx.eq(0), error_code.eq(0),
                                 cycles.eq(0), rd_beats.eq(0), wr_beats.eq(0)]
                    m.next = "NEXT"
            with m.State("NEXT"):
                with m.If(idx == insn_count):
                    stop()
                    m.next = "IDLE"
                with m.Else():
                    m.next = "AR"
            offer("AR", "ar", then="R")
            take("R", "r", regs.ErrorCode.AXI_READ, then="AW", on_beat=[word.eq(mx["rdata"] + 1)])
            offer("AW", "aw", then="W")
            offer("W", "w", then="B")
            take("B", "b", regs.ErrorCode.AXI_WRITE, then="NEXT", on_ok=[idx.eq(idx + 1)])
        return m


class StandInSimTop(wiring.Component):
    """Stand-in core + a fixed-latency single-beat AXI memory with backdoor ports.

    Parameters
    ----------
    cfg : hw.config.VTAConfig
    mem_bytes : int
        Memory size in bytes (a multiple of the bus width).
    read_latency, write_latency : int
        Cycles from an accepted address to the read data / write response: the reset values of its
        ``mem_read_latency`` / ``mem_write_latency`` ports (those of ``sim.memsettings.PORTS``, which
        the testbench drives; the stand-in has no other run-time settings).
    """

    def __init__(self, cfg, mem_bytes=1 << 16, read_latency=4, write_latency=2, storage="amaranth"):
        self.cfg = cfg
        self.storage = storage
        self.mem_words = mem_bytes // cfg.bus_bytes
        self.read_latency = read_latency
        self.write_latency = write_latency
        aw = (self.mem_words - 1).bit_length()
        members = {f"s_axil_{n}": d(w).flip() for n, w, d in AXIL_MEMBERS}
        members.update({"irq": Out(1), "bd_addr": In(aw), "bd_wdata": In(cfg.bus_bits),
                        "bd_we": In(1), "bd_rdata": Out(cfg.bus_bits),
                        "mem_read_latency": In(32, init=read_latency),
                        "mem_write_latency": In(32, init=write_latency)})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        bb = self.cfg.bus_bits
        shift = (bb // 8 - 1).bit_length()
        m.submodules.core = core = StandInCore(self.cfg)
        for n, _, _ in AXIL_MEMBERS:
            a, b = getattr(self, f"s_axil_{n}"), getattr(core, f"s_axil_{n}")
            if core.signature.members[f"s_axil_{n}"].flow == In:
                m.d.comb += b.eq(a)
            else:
                m.d.comb += a.eq(b)
        m.d.comb += self.irq.eq(core.irq)
        mx = {n: getattr(core, f"m_axi_{n}") for n, _, _ in AXI4_MEMBERS(bb)}

        # The simulation memory's storage; the read port reads the word of the cycle before, which
        # holds still from AR to R.  The backdoor write takes the write port while bd_we is high.
        data = memory.MemoryData(shape=bb, depth=self.mem_words, init=[]) if self.storage == "amaranth" else None
        rd, port_w, bd_r = add_storage(m, self.storage, bb, self.mem_words, data)
        wr = SimpleNamespace(addr=Signal.like(port_w.addr), data=Signal(bb), en=Signal())
        with m.If(self.bd_we):
            m.d.comb += [port_w.addr.eq(self.bd_addr), port_w.data.eq(self.bd_wdata),
                         port_w.en.eq(-1)]
        with m.Else():
            m.d.comb += [port_w.addr.eq(wr.addr), port_w.data.eq(wr.data), port_w.en.eq(wr.en.replicate(bb // 8))]
        m.d.comb += [rd.en.eq(1), bd_r.addr.eq(self.bd_addr), self.bd_rdata.eq(bd_r.data)]

        # Reads: one outstanding single beat, ``read_latency`` cycles after AR.
        raddr = Signal(32)
        rcount = Signal(32)
        rbusy = Signal()
        m.d.comb += [mx["arready"].eq(~rbusy), rd.addr.eq(raddr >> shift),
                     mx["rdata"].eq(rd.data), mx["rlast"].eq(1)]
        with m.If(mx["arvalid"] & ~rbusy):
            m.d.sync += [raddr.eq(mx["araddr"]), rbusy.eq(1), rcount.eq(self.mem_read_latency)]
        with m.If(rbusy):
            with m.If(rcount != 0):
                m.d.sync += rcount.eq(rcount - 1)
            with m.Else():
                m.d.comb += mx["rvalid"].eq(1)
                m.d.comb += mx["rresp"].eq(Cat(Const(0, 1), raddr >= (self.mem_words << shift)))
                with m.If(mx["rready"]):
                    m.d.sync += rbusy.eq(0)

        # Writes: AW then W, response ``write_latency`` cycles later.
        waddr = Signal(32)
        wstate = Signal(2)   # 0 idle, 1 wait W, 2 respond
        wcount = Signal(32)
        m.d.comb += [wr.addr.eq(waddr >> shift), wr.data.eq(mx["wdata"]),
                     mx["bresp"].eq(Cat(Const(0, 1), waddr >= (self.mem_words << shift)))]
        with m.Switch(wstate):
            with m.Case(0):
                m.d.comb += mx["awready"].eq(1)
                with m.If(mx["awvalid"]):
                    m.d.sync += [waddr.eq(mx["awaddr"]), wstate.eq(1)]
            with m.Case(1):
                m.d.comb += mx["wready"].eq(1)
                with m.If(mx["wvalid"]):
                    m.d.comb += wr.en.eq(waddr < (self.mem_words << shift))
                    m.d.sync += [wstate.eq(2), wcount.eq(self.mem_write_latency)]
            with m.Case(2):
                with m.If(wcount != 0):
                    m.d.sync += wcount.eq(wcount - 1)
                with m.Else():
                    m.d.comb += mx["bvalid"].eq(1)
                    with m.If(mx["bready"]):
                        m.d.sync += wstate.eq(0)
        return m


class SilentCore(wiring.Component):
    """The core's ports and nothing behind them: never answers on AXI4-Lite (a testbench must not
    hang on it)."""

    def __init__(self, cfg):
        self.cfg = cfg
        super().__init__(_core_members(cfg.bus_bits))

    def elaborate(self, platform):
        m = Module()
        dummy = Signal()
        m.d.sync += dummy.eq(~dummy)
        return m
