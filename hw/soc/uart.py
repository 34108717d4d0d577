"""An 8N1 UART: a receiver and a transmitter at ``divisor`` clock cycles per bit, as byte streams."""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["UartRx", "UartTx", "check_divisor"]


def check_divisor(divisor: int) -> int:
    """``divisor`` (clock cycles per bit) if it is an integer of at least 4, else ValueError."""
    if isinstance(divisor, bool) or not isinstance(divisor, int) or divisor < 4:
        raise ValueError(f"the UART divisor (clock cycles per bit) must be an integer >= 4, got {divisor!r}")
    return divisor


class UartRx(wiring.Component):
    """Receiver: ``rx`` is the serial line (idle high); each byte received appears on ``data``.

    The line goes through a two-flop synchroniser; a start bit is confirmed at its middle, and each data
    bit and the stop bit are sampled at theirs.  A byte whose stop bit is low is dropped (framing error:
    ``frame_error`` pulses).  ``data`` has no back-pressure worth the name: a byte not taken before the
    next one is complete is overwritten (``overrun`` pulses).

    Members
    -------
    rx : In(1)
    data : Out(stream.Signature(8))
    frame_error, overrun : Out(1)
    """

    def __init__(self, divisor: int):
        self.divisor = check_divisor(divisor)
        super().__init__({"rx": In(1, init=1), "data": Out(stream.Signature(8)),
                          "frame_error": Out(1), "overrun": Out(1)})

    def elaborate(self, platform):
        m = Module()
        d = self.divisor
        line = Signal(init=1)
        m.submodules.sync_rx = FFSynchronizer(self.rx, line, init=1)
        timer = Signal(range(d * 3 // 2 + 1))
        bits = Signal(range(10))
        shreg = Signal(8)
        with m.If(self.data.ready):
            m.d.sync += self.data.valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    m.d.sync += timer.eq(d // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(line):                     # a glitch, not a start bit
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += [timer.eq(d - 1), bits.eq(0)]
                    m.next = "DATA"
            with m.State("DATA"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    m.d.sync += [shreg.eq((line << 7) | (shreg >> 1)), timer.eq(d - 1), bits.eq(bits + 1)]
                    with m.If(bits == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    with m.If(line):
                        m.d.sync += [self.data.payload.eq(shreg), self.data.valid.eq(1)]
                        m.d.comb += self.overrun.eq(self.data.valid & ~self.data.ready)
                    with m.Else():
                        m.d.comb += self.frame_error.eq(1)
                    m.next = "IDLE"
        return m


class UartTx(wiring.Component):
    """Transmitter: each byte taken from ``data`` goes out on ``tx``: a start bit, eight data bits (LSB
    first), a stop bit, ``divisor`` cycles each.

    Members
    -------
    data : In(stream.Signature(8))
    tx : Out(1)
    """

    def __init__(self, divisor: int):
        self.divisor = check_divisor(divisor)
        super().__init__({"data": In(stream.Signature(8)), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        d = self.divisor
        timer = Signal(range(d))
        bits = Signal(range(11))
        shreg = Signal(10, init=0x3FF)
        m.d.comb += self.tx.eq(shreg[0])
        with m.If(bits == 0):
            m.d.comb += self.data.ready.eq(1)
            with m.If(self.data.valid):
                # stop bit, data (LSB first), start bit: shifted out from the low end
                m.d.sync += [shreg.eq((1 << 9) | (self.data.payload << 1)), bits.eq(10), timer.eq(d - 1)]
        with m.Elif(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        with m.Else():
            m.d.sync += [shreg.eq((1 << 9) | (shreg >> 1)), bits.eq(bits - 1), timer.eq(d - 1)]
        return m
