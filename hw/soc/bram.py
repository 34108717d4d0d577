"""Block RAM behind an AXI4 slave: the SoC's memory, with a byte port for the UART bridge.

One simple dual-port memory (one read port, one write port, as FPGA block RAMs have), ``bus_bits`` wide.
The AXI4 side takes INCR bursts, one read burst and one write burst at a time, one beat per cycle; a burst
that starts outside the memory is answered DECERR (reads return zeros, writes are dropped).  The bridge
port reads and writes single bytes; it gets the memory only in cycles the AXI side leaves it free (the
host touches memory only while the core is idle, so in practice it always does at once).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2, exact_log2

from ..interfaces import AXI4_MEMBERS

__all__ = ["AxiBram", "BytePortSignature", "AXI_RESP_DECERR"]

AXI_RESP_DECERR = 0b11


def BytePortSignature(addr_bits: int = 32) -> wiring.Signature:
    """A byte access, from the initiator's side: hold ``req`` (with ``we``, ``addr``, ``wdata``) until
    ``ack``; a read's byte is on ``rdata`` in the ``ack`` cycle."""
    return wiring.Signature({"req": Out(1), "we": Out(1), "addr": Out(addr_bits), "wdata": Out(8),
                             "ack": In(1), "rdata": In(8)})


class AxiBram(wiring.Component):
    """``mem_bytes`` of block RAM (a power of two, at least one bus word) as an AXI4 slave.

    Members
    -------
    axi_* : the AXI4 slave (the flipped master members of ``hw.interfaces.AXI4_MEMBERS``)
    byte : In(BytePortSignature())   the bridge's port
    """

    def __init__(self, bus_bits: int, mem_bytes: int, init: bytes = b""):
        wb = bus_bits // 8
        if mem_bytes < wb or mem_bytes & (mem_bytes - 1):
            raise ValueError(f"the SoC memory size must be a power of two of at least {wb} bytes, "
                             f"got {mem_bytes}")
        if len(init) > mem_bytes:
            raise ValueError(f"the memory image ({len(init)} bytes) is larger than the memory ({mem_bytes})")
        self.bus_bits, self.mem_bytes = bus_bits, mem_bytes
        words = [int.from_bytes(init[i:i + wb].ljust(wb, b"\0"), "little") for i in range(0, len(init), wb)]
        self._mem = memory.Memory(shape=bus_bits, depth=mem_bytes // wb, init=words)
        members = {"axi_" + n: d(w).flip() for n, w, d in AXI4_MEMBERS(bus_bits)}
        members["byte"] = In(BytePortSignature())
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = self._mem
        rd = mem.read_port()
        wr = mem.write_port(granularity=8)
        wb = self.bus_bits // 8
        shift = exact_log2(wb)
        depth_bits = ceil_log2(mem.depth)
        a = lambda n: getattr(self, "axi_" + n)
        bp = self.byte

        def word(addr):
            return addr[shift:shift + depth_bits] if depth_bits else 0

        # -- reads -------------------------------------------------------------------------------------
        raddr = Signal(max(depth_bits, 1))
        rleft = Signal(8)
        rerr = Signal()
        rvalid = Signal()
        rlast = Signal()
        advance = Signal()                 # the read port moves to the next word this cycle
        m.d.comb += [a("rvalid").eq(rvalid), a("rlast").eq(rlast),
                     a("rdata").eq(rd.data), a("rresp").eq(Mux(rerr, AXI_RESP_DECERR, 0))]
        bridge_rd = Signal()
        with m.FSM(name="axi_read"):
            with m.State("IDLE"):
                m.d.comb += a("arready").eq(~(bp.req & ~bp.we))
                with m.If(a("arvalid") & a("arready")):
                    m.d.sync += [raddr.eq(word(a("araddr"))), rleft.eq(a("arlen")),
                                 rerr.eq(a("araddr") >= self.mem_bytes)]
                    m.next = "READ"
                with m.Elif(bp.req & ~bp.we):
                    m.d.comb += [bridge_rd.eq(1), rd.addr.eq(word(bp.addr))]
                    m.next = "BRIDGE"
            with m.State("READ"):
                m.d.comb += [advance.eq(~rvalid | a("rready")), rd.addr.eq(raddr), rd.en.eq(advance)]
                with m.If(advance):
                    m.d.sync += [rvalid.eq(1), rlast.eq(rleft == 0), raddr.eq(raddr + 1), rleft.eq(rleft - 1)]
                    with m.If(rleft == 0):
                        m.next = "LAST"
            with m.State("LAST"):
                m.d.comb += rd.en.eq(0)
                with m.If(a("rready")):
                    m.d.sync += [rvalid.eq(0), rlast.eq(0)]
                    m.next = "IDLE"
            with m.State("BRIDGE"):          # the bridge's word is on rd.data this cycle
                m.d.comb += rd.en.eq(0)
                m.next = "IDLE"
        with m.If(rerr):
            m.d.comb += a("rdata").eq(0)
        # (rd.en defaults to 1: the IDLE state's bridge read uses it)
        byte_sel = Signal(range(wb))
        with m.If(bridge_rd):
            m.d.sync += byte_sel.eq(bp.addr[:shift] if shift else 0)
        m.d.comb += bp.rdata.eq(rd.data.word_select(byte_sel, 8))

        # -- writes ------------------------------------------------------------------------------------
        waddr = Signal(max(depth_bits, 1))
        werr = Signal()
        bridge_ack_w = Signal()
        with m.FSM(name="axi_write"):
            with m.State("IDLE"):
                m.d.comb += a("awready").eq(~(bp.req & bp.we))
                with m.If(a("awvalid") & a("awready")):
                    m.d.sync += [waddr.eq(word(a("awaddr"))), werr.eq(a("awaddr") >= self.mem_bytes)]
                    m.next = "DATA"
                with m.Elif(bp.req & bp.we):
                    lane = bp.addr[:shift] if shift else 0
                    m.d.comb += [wr.addr.eq(word(bp.addr)), wr.data.eq(bp.wdata.replicate(wb)),
                                 wr.en.eq(1 << lane), bridge_ack_w.eq(1)]
            with m.State("DATA"):
                m.d.comb += a("wready").eq(1)
                with m.If(a("wvalid")):
                    m.d.comb += [wr.addr.eq(waddr), wr.data.eq(a("wdata")),
                                 wr.en.eq(Mux(werr, 0, a("wstrb")))]
                    m.d.sync += waddr.eq(waddr + 1)
                    with m.If(a("wlast")):
                        m.next = "RESP"
            with m.State("RESP"):
                m.d.comb += [a("bvalid").eq(1), a("bresp").eq(Mux(werr, AXI_RESP_DECERR, 0))]
                with m.If(a("bready")):
                    m.next = "IDLE"

        # The bridge's read is acknowledged the cycle after the read port took its address.
        bridge_rd_ack = Signal()
        m.d.sync += bridge_rd_ack.eq(bridge_rd)
        m.d.comb += bp.ack.eq(bridge_ack_w | bridge_rd_ack)
        return m
