"""A serial line in Amaranth's simulator: the host's end of the SoC's UART, bit by bit, as a transport of
``sim.links.uart.UartLink``."""

from __future__ import annotations

from sim.host import LinkTimeout

__all__ = ["PysimUart", "run_soc"]


class PysimUart:
    """Drives ``rx`` and decodes ``tx`` (8N1, ``divisor`` cycles per bit) in testbench context ``ctx``.

    :meth:`receiver` must run as a background testbench; it decodes the SoC's bytes into a queue that
    :meth:`recv` takes from, within ``timeout`` cycles per byte.
    """

    def __init__(self, ctx, rx, tx, divisor: int, timeout: int = 20_000):
        self.ctx, self.rx, self.tx, self.d, self.timeout = ctx, rx, tx, divisor, timeout
        self.queue = bytearray()

    async def receiver(self, ctx):
        d = self.d
        while True:
            while ctx.get(self.tx):
                await ctx.tick()
            await ctx.tick().repeat(d // 2)          # middle of the start bit
            byte = 0
            for i in range(8):
                await ctx.tick().repeat(d)
                byte |= ctx.get(self.tx) << i
            await ctx.tick().repeat(d)               # middle of the stop bit
            assert ctx.get(self.tx) == 1, "framing error on the SoC's tx line"
            self.queue.append(byte)

    async def send(self, data: bytes) -> None:
        for byte in data:
            for bit in [0, *((byte >> i) & 1 for i in range(8)), 1]:
                self.ctx.set(self.rx, bit)
                await self.ctx.tick().repeat(self.d)

    async def recv(self, n: int) -> bytes:
        waited = 0
        while len(self.queue) < n:
            if waited > self.timeout * n:
                raise LinkTimeout(f"within {waited} cycles ({len(self.queue)} of {n} bytes came)")
            await self.ctx.tick()
            waited += 1
        out = bytes(self.queue[:n])
        del self.queue[:n]
        return out

    async def idle(self, cycles: int) -> None:
        await self.ctx.tick().repeat(cycles)


def run_soc(dut, divisor: int, body) -> dict:
    """Simulate the SoC ``dut`` (a ``hw.soc.top.SocTop`` with UART ``divisor``) in Amaranth's simulator,
    running ``await body(ctx, link, out)`` with ``link`` a ``sim.links.uart.UartLink`` over its UART;
    returns ``out``, the dict ``body`` filled."""
    from amaranth.sim import Simulator
    from sim.links.uart import UartLink
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    out = {}

    async def host(ctx):
        uart = PysimUart(ctx, dut.uart_rx, dut.uart_tx, divisor)
        ctx.set(dut.uart_rx, 1)
        out["uart"] = uart
        await body(ctx, UartLink(uart), out)

    async def receiver(ctx):
        while "uart" not in out:
            await ctx.tick()
        await out["uart"].receiver(ctx)

    sim.add_testbench(host)
    sim.add_testbench(receiver, background=True)
    sim.run()
    return out
