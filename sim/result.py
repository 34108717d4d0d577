"""What every backend returns: one result format, so backends compare byte for byte and counter for
counter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hw.regs import ErrorCode, FSIM_COUNTERS

__all__ = ["RunResult", "VTARunError", "BACKENDS"]

#: Backend names, in the order the CLI lists them.
BACKENDS = ("fsim", "amaranth", "verilator", "icarus", "cocotb-verilator", "soc-sim", "board")


class VTARunError(RuntimeError):
    """A run that stopped on an error: an illegal instruction, a deadlock, no FINISH, a memory error or
    the cycle bound.  ``code`` is an :class:`hw.regs.ErrorCode`, ``index`` the instruction it names
    (or None), ``message`` one line that names the instruction, module or queue."""

    def __init__(self, code: ErrorCode, message: str, index: int | None = None,
                 result: "RunResult | None" = None):
        super().__init__(message)
        self.code = ErrorCode(code)
        self.index = index
        self.message = message
        self.result = result


@dataclass
class RunResult:
    """The outcome of running a program on one backend.

    Members
    -------
    backend : str
    out : bytes            the whole out region after the run
    counters : dict        at least the seven fsim counters (hw.regs.FSIM_COUNTERS) and acc_wr_count;
                           cycle-level backends add every counter of hw.regs.COUNTERS
    cycles : int | None    launch to finish; None for the functional model
    instructions, uops : int   sizes of the program
    wall_time : float      seconds spent simulating (build excluded)
    extra : dict           backend-specific facts (memory latency, build time, ...)
    """

    backend: str
    out: bytes
    counters: dict[str, int]
    cycles: int | None
    instructions: int
    uops: int
    wall_time: float
    extra: dict[str, Any] = field(default_factory=dict)

    def fsim_counters(self) -> dict[str, int]:
        return {k: self.counters[k] for k in FSIM_COUNTERS}
