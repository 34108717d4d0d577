"""The one-line messages of a run that stopped on an error, shared by every backend, so the functional
model and the hardware backends word the same error the same way."""

from __future__ import annotations

from hw.isa import decode_insn, illegal_reason
from hw.regs import ErrorCode, STALL_BITS

__all__ = ["illegal_message", "no_finish_message", "deadlock_message", "describe_error"]


def illegal_message(index: int, reason: str) -> str:
    return f"illegal instruction {index}: {reason}"


def no_finish_message(n_insns: int) -> str:
    return f"no FINISH: all {n_insns} instructions ran without a FINISH"


def deadlock_message(waits: list[tuple[str, int]]) -> str:
    """``waits``: (a ``hw.regs.STALL_BITS`` name, the instruction index of that unit), in the order of
    ``STALL_BITS``."""
    return "deadlock: " + ("; ".join(f"{w} at instruction {i}" for w, i in waits) or "no module can move")


def describe_error(code: int, index: int, stall: int, unit_index: dict[str, int] | None = None,
                   program=None) -> str:
    """One line naming what stopped a run, from the core's error registers.

    Parameters
    ----------
    code, index, stall : the ``error_code``, ``error_index`` and ``stall`` registers
    unit_index : the ``load_index``, ``compute_index``, ``store_index``, ``fetch_index`` registers
    program : the program that ran (to name an illegal instruction's field)
    """
    try:
        code = ErrorCode(code)
    except ValueError:
        return f"the core stopped with unknown error code {code} at instruction {index}"
    if code == ErrorCode.ILLEGAL_INSN:
        reason = None
        if program is not None and 0 <= index < program.n_insns:
            reason = illegal_reason(decode_insn(
                int.from_bytes(program.insns[16 * index:16 * index + 16], "little"), program.config))
        return illegal_message(index, reason or "illegal opcode or memory type")
    if code == ErrorCode.DEADLOCK:
        unit_index = unit_index or {}
        waits = [(name, unit_index.get(name.split()[0] + "_index", index))
                 for name, bit in STALL_BITS.items() if stall >> bit & 1]
        return deadlock_message(waits)
    if code == ErrorCode.NO_FINISH:
        return no_finish_message(index)
    if code == ErrorCode.AXI_READ:
        return f"memory read error (SLVERR/DECERR) in instruction {index}"
    if code == ErrorCode.AXI_WRITE:
        return f"memory write error (SLVERR/DECERR) in instruction {index}"
    return f"error {code.name} at instruction {index}"
