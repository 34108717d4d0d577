"""The host link over the self-test SoC's UART bridge (protocol: ``hw/soc/protocol.py``).

:class:`UartLink` is a link of the one host driver (``sim/host.py``): registers by READ32/WRITE32,
memory by READ_MEM/WRITE_MEM (and FILL for zero runs) in chunks, the end of a run by polling STATUS.  It speaks to a *transport*,
which moves bytes over a serial line and lets time pass:

``async send(data: bytes)``            put bytes on the line to the SoC
``async recv(n: int) -> bytes``        the next ``n`` bytes from the SoC; raises ``LinkTimeout`` if they
                                       do not come within the transport's bound
                                       (``sim.host.LinkTimeout``)
``async idle(cycles: int)``            let about ``cycles`` clock cycles of the SoC pass

The simulated SoC (``--backend soc-sim``) and a board on a serial port (``--backend board``) are two
transports of the same link.  ``UartLink.doing`` names the command in progress (or the last one), so a
run that stops on a link failure can say where.
"""

from __future__ import annotations

from hw.soc.protocol import INFO_BYTES, OK, Command, header

__all__ = ["UartLink", "BridgeError", "CHUNK_BYTES", "FILL_MIN"]

#: Bytes per READ_MEM / WRITE_MEM / FILL command.
CHUNK_BYTES = 4096

#: Zero runs at least this long are written by FILL (a header instead of the bytes).
FILL_MIN = 32


def _runs(data: bytes):
    """(start, end, is_zero) covering ``data``: zero runs of at least FILL_MIN bytes, and the rest."""
    out, i, n = [], 0, len(data)
    start = 0
    while i < n:
        if data[i] == 0:
            j = i
            while j < n and data[j] == 0:
                j += 1
            if j - i >= FILL_MIN:
                if i > start:
                    out.append((start, i, False))
                out.append((i, j, True))
                start = j
            i = j
        else:
            i += 1
    if start < n:
        out.append((start, n, False))
    return out


class BridgeError(RuntimeError):
    """The bridge answered a command with an error status (an AXI error, or a command it does not know)."""


class UartLink:
    """A :class:`sim.host.Link` over ``transport`` (module docstring)."""

    port = "the UART bridge's"

    def __init__(self, transport):
        self.t = transport
        self.doing = "nothing yet"

    async def _status(self, what: str) -> None:
        status = (await self.t.recv(1))[0]
        if status != OK:
            raise BridgeError(f"the UART bridge answered {what} with status 0x{status:02x}")

    async def read32(self, addr: int) -> int:
        self.doing = f"READ32 of register 0x{addr:02x}"
        await self.t.send(header(Command.READ32, addr))
        await self._status(f"a read of register 0x{addr:02x}")
        return int.from_bytes(await self.t.recv(4), "little")

    async def write32(self, addr: int, value: int) -> None:
        self.doing = f"WRITE32 of register 0x{addr:02x}"
        await self.t.send(header(Command.WRITE32, addr, value))
        await self._status(f"a write of register 0x{addr:02x}")

    async def read_mem(self, addr: int, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            k = min(CHUNK_BYTES, n - len(out))
            self.doing = f"READ_MEM of {k} bytes at 0x{addr + len(out):x}"
            await self.t.send(header(Command.READ_MEM, addr + len(out), k))
            await self._status(f"a memory read at 0x{addr + len(out):x}")
            out += await self.t.recv(k)
        return bytes(out)

    async def write_mem(self, addr: int, data: bytes) -> None:
        """Write ``data`` at ``addr``: runs of at least :data:`FILL_MIN` zero bytes by FILL (the bridge
        writes them itself, a byte a cycle), the rest by WRITE_MEM."""
        for off, end, zero in _runs(data):
            for a in range(off, end, CHUNK_BYTES):
                b = min(end, a + CHUNK_BYTES)
                self.doing = f"{'FILL' if zero else 'WRITE_MEM'} of {b - a} bytes at 0x{addr + a:x}"
                if zero:
                    await self.t.send(header(Command.FILL, addr + a, b - a))
                    await self._status(f"a memory fill at 0x{addr + a:x}")
                else:
                    await self.t.send(header(Command.WRITE_MEM, addr + a, b - a) + data[a:b])
                    await self._status(f"a memory write at 0x{addr + a:x}")

    async def irq(self) -> bool:
        """The core's interrupt line, by STATUS."""
        self.doing = "STATUS"
        await self.t.send(header(Command.STATUS))
        await self._status("STATUS")
        return bool((await self.t.recv(1))[0] & 1)

    async def info(self) -> tuple[int, int]:
        """(memory size in bytes, configuration id) of the SoC, by INFO (``hw.soc.protocol.config_id``)."""
        self.doing = "INFO"
        await self.t.send(header(Command.INFO))
        await self._status("INFO")
        data = await self.t.recv(INFO_BYTES)
        return int.from_bytes(data[:4], "little"), int.from_bytes(data[4:8], "little")

    async def wait(self, cycles: int) -> bool:
        if await self.irq():
            return True
        await self.t.idle(cycles)
        return await self.irq()
