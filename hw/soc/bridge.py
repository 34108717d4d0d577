"""The UART bridge: commands from the host (``hw/soc/protocol.py``) become AXI4-Lite accesses to the core's
control port and byte accesses to the SoC's memory."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..interfaces import AXIL_MEMBERS
from .bram import BytePortSignature
from .protocol import BAD_COMMAND, HEADER_BYTES, INFO_BYTES, OK, Command

__all__ = ["UartBridge"]


class UartBridge(wiring.Component):
    """Members
    -------
    rx : In(stream.Signature(8))    bytes from the host
    tx : Out(stream.Signature(8))   bytes to the host
    axil_* : AXI4-Lite master (the members of ``hw.interfaces.AXIL_MEMBERS``), to the core
    mem : Out(BytePortSignature())   to the memory's byte port
    irq : In(1)                      the core's interrupt, reported by STATUS

    Parameters
    ----------
    mem_bytes, config : int
        What INFO reports: the memory's size in bytes, ``hw.soc.protocol.config_id`` of the core's
        configuration.
    """

    def __init__(self, mem_bytes: int = 0, config: int = 0):
        self.mem_bytes, self.config = mem_bytes, config
        members = {"rx": In(stream.Signature(8)), "tx": Out(stream.Signature(8)),
                   "mem": Out(BytePortSignature()), "irq": In(1)}
        members.update({"axil_" + n: d(w) for n, w, d in AXIL_MEMBERS})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        a = lambda n: getattr(self, "axil_" + n)
        hdr = Signal(8 * HEADER_BYTES)
        got = Signal(range(HEADER_BYTES + 1))
        op, addr, arg = hdr[0:8], Signal(32), Signal(32)
        count = Signal(32)
        txbuf = Signal(8 * (1 + INFO_BYTES))
        txleft = Signal(range(INFO_BYTES + 2))
        then_mem = Signal()                 # after the bytes in txbuf: READ_MEM's data bytes
        aw_done, w_done = Signal(), Signal()
        byte = Signal(8)

        m.d.comb += [a("awaddr").eq(addr), a("araddr").eq(addr), a("wdata").eq(arg), a("wstrb").eq(0xF),
                     a("awprot").eq(0), a("arprot").eq(0),
                     self.mem.addr.eq(addr), self.mem.wdata.eq(byte),
                     self.tx.payload.eq(txbuf[:8])]

        def send(m, value, n, mem_after=False):
            m.d.sync += [txbuf.eq(value), txleft.eq(n), then_mem.eq(mem_after)]
            m.next = "SEND"

        with m.FSM(name="bridge"):
            with m.State("HEADER"):
                m.d.comb += self.rx.ready.eq(1)
                with m.If(self.rx.valid):
                    m.d.sync += [hdr.eq(Cat(hdr[8:], self.rx.payload)), got.eq(got + 1)]
                    with m.If(got == HEADER_BYTES - 1):
                        m.d.sync += got.eq(0)
                        m.next = "DECODE"
            with m.State("DECODE"):
                m.d.sync += [addr.eq(hdr[8:40]), arg.eq(hdr[40:72]), count.eq(hdr[40:72]),
                             aw_done.eq(0), w_done.eq(0)]
                with m.Switch(op):
                    with m.Case(Command.NOP):
                        m.next = "HEADER"
                    with m.Case(Command.WRITE32):
                        m.next = "REG_WRITE"
                    with m.Case(Command.READ32):
                        m.next = "REG_READ"
                    with m.Case(Command.WRITE_MEM):
                        m.next = "MEM_WRITE"
                    with m.Case(Command.FILL):
                        m.d.sync += byte.eq(0)
                        m.next = "MEM_FILL"
                    with m.Case(Command.READ_MEM):
                        send(m, OK, 1, mem_after=True)
                    with m.Case(Command.STATUS):
                        send(m, Cat(Const(OK, 8), self.irq), 2)
                    with m.Case(Command.INFO):
                        send(m, Cat(Const(OK, 8), Const(self.mem_bytes, 32), Const(self.config, 32)),
                             1 + INFO_BYTES)
                    with m.Default():
                        send(m, BAD_COMMAND, 1)

            # -- registers --------------------------------------------------------------------------
            with m.State("REG_WRITE"):
                m.d.comb += [a("awvalid").eq(~aw_done), a("wvalid").eq(~w_done)]
                with m.If(a("awready")):
                    m.d.sync += aw_done.eq(1)
                with m.If(a("wready")):
                    m.d.sync += w_done.eq(1)
                with m.If((aw_done | a("awready")) & (w_done | a("wready"))):
                    m.next = "REG_WRITE_RESP"
            with m.State("REG_WRITE_RESP"):
                m.d.comb += a("bready").eq(1)
                with m.If(a("bvalid")):
                    send(m, a("bresp"), 1)
            with m.State("REG_READ"):
                m.d.comb += a("arvalid").eq(1)
                with m.If(a("arready")):
                    m.next = "REG_READ_DATA"
            with m.State("REG_READ_DATA"):
                m.d.comb += a("rready").eq(1)
                with m.If(a("rvalid")):
                    send(m, Cat(a("rresp"), Const(0, 6), a("rdata")), 5)

            # -- memory -----------------------------------------------------------------------------
            with m.State("MEM_WRITE"):
                with m.If(count == 0):
                    send(m, OK, 1)
                with m.Else():
                    m.d.comb += self.rx.ready.eq(1)
                    with m.If(self.rx.valid):
                        m.d.sync += byte.eq(self.rx.payload)
                        m.next = "MEM_WRITE_BYTE"
            with m.State("MEM_WRITE_BYTE"):
                m.d.comb += [self.mem.req.eq(1), self.mem.we.eq(1)]
                with m.If(self.mem.ack):
                    m.d.sync += [addr.eq(addr + 1), count.eq(count - 1)]
                    m.next = "MEM_WRITE"
            with m.State("MEM_FILL"):
                with m.If(count == 0):
                    send(m, OK, 1)
                with m.Else():
                    m.d.comb += [self.mem.req.eq(1), self.mem.we.eq(1)]
                    with m.If(self.mem.ack):
                        m.d.sync += [addr.eq(addr + 1), count.eq(count - 1)]
            with m.State("MEM_READ"):
                with m.If(count == 0):
                    m.next = "HEADER"
                with m.Else():
                    m.d.comb += self.mem.req.eq(1)
                    with m.If(self.mem.ack):
                        m.d.sync += [addr.eq(addr + 1), count.eq(count - 1)]
                        send(m, self.mem.rdata, 1, mem_after=True)

            # -- replies ----------------------------------------------------------------------------
            with m.State("SEND"):
                m.d.comb += self.tx.valid.eq(1)
                with m.If(self.tx.ready):
                    m.d.sync += [txbuf.eq(txbuf >> 8), txleft.eq(txleft - 1)]
                    with m.If(txleft == 1):
                        with m.If(then_mem):
                            m.next = "MEM_READ"
                        with m.Else():
                            m.next = "HEADER"
        return m
