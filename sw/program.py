"""A VTA program: instructions, micro-ops and the DRAM regions they read and write.

This is what ``sw`` produces and what every ``sim`` backend runs.  Each region is placed in memory at its
own base address and the matching base register is set, so every ``dram_base`` of an instruction is an
element index inside its region (architecture.md, ``vta exec``).  On disk a program is the set of files
of ``vta exec``: ``insn.bin``, ``uop.bin``, ``inp.bin``, ``wgt.bin``, ``acc.bin``, ``out0.bin`` (any but
``insn.bin`` may be absent), plus ``program.json`` with ``out_elems`` and the configuration.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from hw.config import VTAConfig
from hw import isa
from .jsonfile import read_json

__all__ = ["Program", "ProgramError", "REGIONS", "LOAD_REGIONS"]

#: The data regions, in the order of their base registers.
REGIONS = ("uop", "inp", "wgt", "acc", "out")

#: The region (and SRAM) a LOAD of each legal memory type reads (``hw.isa.LOAD_MEM_TYPES``).
LOAD_REGIONS = {isa.MemType.UOP: "uop", isa.MemType.WGT: "wgt", isa.MemType.INP: "inp",
                isa.MemType.ACC: "acc"}


class ProgramError(ValueError):
    """A malformed program or program file; the message names the file, field or value."""


@dataclass
class Program:
    """Instructions and data of one run.

    Members
    -------
    config : VTAConfig
    insns : bytes       16 bytes per instruction, little-endian (VTA's binary format)
    uop, inp, wgt, acc : bytes   initial contents of those regions (may be empty)
    out_init : bytes    initial contents of the out region (zero-extended to ``out_elems`` elements)
    out_elems : int     size of the out region in out elements (what a run returns)
    """

    config: VTAConfig
    insns: bytes
    uop: bytes = b""
    inp: bytes = b""
    wgt: bytes = b""
    acc: bytes = b""
    out_init: bytes = b""
    out_elems: int = 0
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if len(self.insns) % 16:
            raise ProgramError(f"instructions are {len(self.insns)} bytes, not a multiple of 16")
        for name in REGIONS[:-1]:
            size = len(getattr(self, name))
            eb = self.config.elem_bytes(name)
            if size % eb:
                raise ProgramError(f"{name} region is {size} bytes, not a multiple of its "
                                   f"{eb}-byte element")
        ob = self.config.out_elem_bytes
        if len(self.out_init) % ob:
            raise ProgramError(f"out region initial contents are {len(self.out_init)} bytes, not a "
                               f"multiple of its {ob}-byte element")
        if len(self.out_init) > self.out_elems * ob:
            raise ProgramError(f"out region initial contents ({len(self.out_init) // ob} elements) "
                               f"exceed out_elems = {self.out_elems}")

    # -- views -------------------------------------------------------------------------------------

    @property
    def n_insns(self) -> int:
        return len(self.insns) // 16

    @property
    def n_uops(self) -> int:
        return len(self.uop) // 4

    def region(self, name: str) -> bytes:
        """Initial bytes of region ``name``; ``out`` is zero-extended to ``out_elems`` elements."""
        if name == "out":
            return self.out_init + bytes(self.out_elems * self.config.out_elem_bytes - len(self.out_init))
        return getattr(self, name)

    def decoded(self) -> list[isa.Insn]:
        return isa.decode_insns(self.insns, self.config)

    # -- files -------------------------------------------------------------------------------------

    FILES = {"insn": "insn.bin", "uop": "uop.bin", "inp": "inp.bin", "wgt": "wgt.bin",
             "acc": "acc.bin", "out_init": "out0.bin"}

    def save(self, directory: str | os.PathLike) -> None:
        """Write the program as ``vta exec`` files in ``directory``."""
        os.makedirs(directory, exist_ok=True)
        for key, fname in self.FILES.items():
            blob = self.insns if key == "insn" else getattr(self, key)
            if key == "insn" or blob:
                with open(os.path.join(directory, fname), "wb") as f:
                    f.write(blob)
        with open(os.path.join(directory, "program.json"), "w") as f:
            json.dump({"out_elems": self.out_elems, "config": self.config.to_json(), **self.meta},
                      f, indent=1)

    @classmethod
    def load(cls, directory: str | os.PathLike, config: VTAConfig | None = None) -> "Program":
        """Read a program saved by :meth:`save`."""
        meta_path = os.path.join(directory, "program.json")
        meta = read_json(meta_path, ProgramError, "the saved program's description")
        if config is None:
            config = VTAConfig.from_json(meta.pop("config"), source=meta_path)
        else:
            meta.pop("config", None)
        blobs = {}
        for key, fname in cls.FILES.items():
            path = os.path.join(directory, fname)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    blobs[key] = f.read()
            elif key == "insn":
                raise ProgramError(f"{path}: missing instruction file")
        out_elems = meta.pop("out_elems")
        return cls(config=config, insns=blobs.pop("insn"), out_elems=out_elems, meta=meta, **blobs)
