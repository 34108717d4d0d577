"""A transport of ``sim.links.uart.UartLink`` over a real serial port (pyserial): the host side of a
board running the self-test SoC (``--backend board --port /dev/ttyUSB0``)."""

from __future__ import annotations

import time

from sim.host import LinkTimeout

__all__ = ["SerialTransport"]


class SerialTransport:
    """Bytes over ``port`` at ``baud``; ``clock_hz`` is the SoC's clock, for turning cycles into seconds.
    Each read waits ``timeout`` seconds beyond the time its bytes, and those sent before it, need on
    the line.

    Raises
    ------
    RuntimeError
        If pyserial is missing or the port cannot be opened (the message names the port).
    """

    def __init__(self, port: str, baud: int, clock_hz: float, timeout: float = 2.0):
        try:
            import serial
        except ImportError:
            raise RuntimeError('the board backend needs pyserial: pip install -e ".[fpga]"') from None
        try:
            self.ser = serial.Serial(port, baud, timeout=timeout)
        except (serial.SerialException, OSError, ValueError) as e:
            raise RuntimeError(f"cannot open serial port {port!r} at {baud} baud: {e}") from None
        self.port, self.baud, self.clock_hz, self.timeout = port, baud, clock_hz, timeout
        self._unanswered = 0          # bytes sent since the last recv

    def line_seconds(self, n: int) -> float:
        """Seconds ``n`` bytes take on the line (10 bits each)."""
        return 10 * n / self.baud

    async def send(self, data: bytes) -> None:
        self.ser.write(data)
        self._unanswered += len(data)

    async def recv(self, n: int) -> bytes:
        # The reply comes after the bytes sent before it and its own have crossed the line: the bound
        # is that time (with a margin) plus ``timeout``, so a slow baud rate does not time out.
        bound = self.timeout + 1.5 * self.line_seconds(n + self._unanswered)
        self._unanswered = 0
        self.ser.timeout = bound
        data = self.ser.read(n)
        if len(data) < n:
            raise LinkTimeout(f"within {bound:.3g} s on {self.port} ({len(data)} of {n} bytes came)")
        return data

    async def idle(self, cycles: int) -> None:
        time.sleep(cycles / self.clock_hz)

    def close(self) -> None:
        self.ser.close()
