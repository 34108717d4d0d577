"""The progress line of a cycle-level run on stderr: cycles so far, against an estimate of the total
(``sim.report.estimate_cycles``), the simulation speed and the time left.

On a terminal the line is rewritten in place at most twice a second; on a pipe or a file (a CI log) one
full line is written every few seconds, so a log gets a line per interval and not one per update.
"""

from __future__ import annotations

import sys
import time

__all__ = ["Progress", "TTY_INTERVAL", "PIPE_INTERVAL"]

TTY_INTERVAL = 0.5      # seconds between redraws on a terminal
PIPE_INTERVAL = 5.0     # seconds between lines on a pipe or file


class Progress:
    """Report ``update(cycles)`` calls of a run named ``name`` whose cycles are estimated at ``total``.

    Parameters
    ----------
    name : str
        What runs (the backend's name), the start of each line.
    total : int, optional
        The estimated cycles; without it the line shows no share and no time left.
    stream : file, optional
        Default ``sys.stderr``.
    interval : float, optional
        Seconds between outputs (default ``TTY_INTERVAL`` on a terminal, else ``PIPE_INTERVAL``).
    clock : callable, optional
        Seconds (default ``time.perf_counter``).
    start : float, optional
        When the run started, on ``clock`` (default: now).
    """

    def __init__(self, name: str, total: int | None = None, *, stream=None, interval: float | None = None,
                 clock=time.perf_counter, start: float | None = None):
        self.name, self.total = name, total
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty and isatty())
        self.interval = (TTY_INTERVAL if self.tty else PIPE_INTERVAL) if interval is None else interval
        self.clock = clock
        self.t0 = clock() if start is None else start
        self.last = None          # time of the last output
        self.shown = False

    def line(self, cycles: int, now: float | None = None) -> str:
        """The text of the progress line at ``cycles``."""
        elapsed = max((self.clock() if now is None else now) - self.t0, 1e-9)
        rate = cycles / elapsed
        text = f"{self.name}: {cycles} cycles"
        if self.total:
            if cycles <= self.total:
                left = (self.total - cycles) / rate if rate > 0 else None
                eta = "" if left is None else f", about {left:.0f} s left"
                text += f" of about {self.total} ({100 * cycles / self.total:.0f}%){eta}"
            else:
                text += f" (past the estimate of {self.total})"
        return text + f", {rate:.0f} cycles/s"

    def update(self, cycles: int) -> None:
        """Note ``cycles`` so far; writes a line if the interval has passed since the last one."""
        now = self.clock()
        if self.last is not None and now - self.last < self.interval:
            return
        if self.last is None and now - self.t0 < self.interval and not self.tty:
            return                # a short run writes nothing into a log
        self.last = now
        text = self.line(cycles, now)
        if self.tty:
            self.stream.write(f"\r\x1b[K{text}")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        """End the line on a terminal (after the run)."""
        if self.shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()
