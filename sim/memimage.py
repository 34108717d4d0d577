"""Placement of a program in a memory image: the one definition every cycle-level backend uses.

Regions are laid out in the order of the control registers (instructions, then uop, inp, wgt, acc, out),
each at a 4 KiB-aligned base address (so every base is aligned to any supported bus width, and a region
never shares a page with another).  The base registers are set to these addresses, so every ``dram_base``
of an instruction is an element index inside its region.
"""

from __future__ import annotations

from dataclasses import dataclass

from hw.isa import MemType, Opcode
from sw.program import Program, REGIONS

__all__ = ["MemImage", "PAGE", "LOAD_REGION", "insn_region", "model_bytes"]

PAGE = 4096


#: The region a LOAD of each memory type reads (a STORE writes ``out``).
LOAD_REGION = {MemType.UOP: "uop", MemType.WGT: "wgt", MemType.INP: "inp", MemType.ACC: "acc"}


def insn_region(insn) -> str | None:
    """The region (``uop``, ``inp``, ``wgt``, ``acc``, ``out``) a decoded memory instruction reads or
    writes; None for any other instruction, or a LOAD of a memory type that is not a region."""
    if getattr(insn, "opcode", None) == Opcode.STORE:
        return "out"
    if getattr(insn, "opcode", None) == Opcode.LOAD:
        return LOAD_REGION.get(insn.memory_type)
    return None


def model_bytes(image_size: int, mem_bytes: int | None, default: int) -> int:
    """The memory a simulation model is built with: ``mem_bytes`` if given, else the larger of
    ``default`` and the next power of two that holds an image of ``image_size`` bytes (so one build
    serves every smaller program).

    Raises
    ------
    ValueError
        If the image does not fit ``mem_bytes``.
    """
    if mem_bytes is None:
        return max(default, 1 << max(0, (image_size - 1).bit_length()))
    if image_size > mem_bytes:
        raise ValueError(f"the program's memory image ({image_size} bytes) does not fit "
                         f"mem_bytes = {mem_bytes}")
    return mem_bytes


def _align(n: int, a: int = PAGE) -> int:
    return (n + a - 1) // a * a


@dataclass
class MemImage:
    """The memory image of a program: :meth:`place` builds it.

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

    @classmethod
    def place(cls, program: Program, base: int = 0) -> "MemImage":
        """Lay ``program`` out from byte address ``base`` (module docstring)."""
        blobs = [("insn", program.insns)] + [(r, program.region(r)) for r in REGIONS]
        addr = base
        parts = []
        bases = {}
        for name, blob in blobs:
            bases[f"{name}_base"] = addr
            parts.append(blob + bytes(_align(len(blob)) - len(blob)))
            addr += _align(len(blob))
        # One spare page at the end, so that a size-0 out region still has a valid address.
        parts.append(bytes(PAGE))
        image = bytes(base) + b"".join(parts) if base else b"".join(parts)
        return cls(image, bases, bases["out_base"], program.out_elems * program.config.out_elem_bytes)

    def to_json(self) -> dict:
        """The layout (everything but ``image``) as a JSON object."""
        return {"bases": dict(self.bases), "out_addr": self.out_addr, "out_bytes": self.out_bytes}

    @classmethod
    def from_json(cls, obj: dict, image: bytes = b"") -> "MemImage":
        """The inverse of :meth:`to_json`, with ``image`` as the contents."""
        return cls(image, dict(obj["bases"]), obj["out_addr"], obj["out_bytes"])

    @property
    def size(self) -> int:
        return len(self.image)

    def out(self, memory: bytes) -> bytes:
        """The out region cut from a memory dump."""
        return bytes(memory[self.out_addr:self.out_addr + self.out_bytes])
