"""A transport of ``sim.links.uart.UartLink`` over a real serial port (pyserial): the host side of a
board running the self-test SoC (``--backend board --port /dev/ttyUSB0``)."""

from __future__ import annotations

import time

from sim.host import LinkTimeout

__all__ = ["SerialTransport"]


class SerialTransport:
    """Bytes over ``port`` at ``baud``; ``clock_hz`` is the SoC's clock, for turning cycles into seconds.

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
        self.port, self.clock_hz, self.timeout = port, clock_hz, timeout

    async def send(self, data: bytes) -> None:
        self.ser.write(data)

    async def recv(self, n: int) -> bytes:
        data = self.ser.read(n)
        if len(data) < n:
            raise LinkTimeout(f"within {self.timeout:g} s on {self.port} ({len(data)} of {n} bytes came)")
        return data

    async def idle(self, cycles: int) -> None:
        time.sleep(cycles / self.clock_hz)

    def close(self) -> None:
        self.ser.close()
