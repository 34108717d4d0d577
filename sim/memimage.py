"""Placement of a program in a memory image: the one definition every cycle-level backend uses.

Regions are laid out in the order of the control registers (instructions, then uop, inp, wgt, acc, out),
each at a 4 KiB-aligned base address (so every base is aligned to any supported bus width, and a region
never shares a page with another).  The base registers are set to these addresses, so every ``dram_base``
of an instruction is an element index inside its region.
"""

from __future__ import annotations

from dataclasses import dataclass

from sw.program import Program, REGIONS

__all__ = ["MemImage", "PAGE"]

PAGE = 4096


def _align(n: int, a: int = PAGE) -> int:
    return (n + a - 1) // a * a


@dataclass
class MemImage:
    """The memory image of ``program``.

    Members
    -------
    image : bytes           the initial memory contents, a multiple of 4 KiB long
    bases : dict[str, int]  register name (``insn_base``, ``uop_base``, ...) -> byte address
    out_addr, out_bytes     where the out region is, and its size
    """

    image: bytes
    bases: dict[str, int]
    out_addr: int
    out_bytes: int

    def __init__(self, program: Program, base: int = 0):
        blobs = [("insn", program.insns)] + [(r, program.region(r)) for r in REGIONS]
        addr = base
        parts = []
        self.bases = {}
        for name, blob in blobs:
            self.bases[f"{name}_base"] = addr
            parts.append(blob + bytes(_align(len(blob)) - len(blob)))
            addr += _align(len(blob))
        # One spare page at the end, so that a size-0 out region still has a valid address.
        parts.append(bytes(PAGE))
        self.image = bytes(base) + b"".join(parts) if base else b"".join(parts)
        self.out_addr = self.bases["out_base"]
        self.out_bytes = program.out_elems * program.config.out_elem_bytes

    @property
    def size(self) -> int:
        return len(self.image)

    def out(self, memory: bytes) -> bytes:
        """The out region cut from a memory dump."""
        return bytes(memory[self.out_addr:self.out_addr + self.out_bytes])
