"""A fake board on a pseudo-terminal: the soc-sim harness (the Verilated self-test SoC) behind the slave
end of a pty pair, so the ``board`` backend runs over a real pyserial port on this machine.

A thread pumps bytes between the pty's master end and the simulated SoC's UART, running the SoC's clock
a slice at a time (``HarnessTransport.exchange``); the SoC thus runs at simulation speed, far slower than
a board, which is why a run over it gives the board backend a slow ``clock_hz``.
"""

from __future__ import annotations

import os
import pty
import select
import threading
import tty

__all__ = ["FakeBoard", "SilentPort"]


class SilentPort:
    """A pty whose master end nobody reads: a board that is plugged in but never answers."""

    def __init__(self):
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FakeBoard(SilentPort):
    """The SoC of the harness library at ``lib_path`` (``sim.soc_sim.library(...).path``) behind
    :attr:`path`; use as a context manager."""

    def __init__(self, lib_path, divisor: int, slice_cycles: int = 2000):
        from sim.soc_sim import HarnessTransport
        super().__init__()
        self.soc = HarnessTransport(lib_path, divisor)
        self.slice = slice_cycles
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        while not self.stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0)
            data = os.read(self.master, 4096) if ready else b""
            reply = self.soc.exchange(data, self.slice)
            if reply:
                os.write(self.master, reply)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.soc.close()
        super().close()
