"""VTA's instruction set: the one definition of the 128-bit instruction and 32-bit micro-op layouts.

The bit positions are those GCC gives the ``uint64_t`` bit-fields of VTA's ``hw_spec.h`` (a field that would
cross a 64-bit boundary starts at the next 64-bit word), with widths that follow the configuration the way
the HLS model derives them.  For the default configuration they are exactly the tables of
``docs/vta-reference.md`` §3.

The same :class:`Format` objects give

* the hardware decoder its Amaranth layouts (:meth:`Format.amaranth_layout`), and
* the software encoder and decoder (:meth:`Format.encode`, :meth:`Format.decode`, and the instruction
  classes :class:`MemInsn`, :class:`GemmInsn`, :class:`AluInsn`, :class:`FinishInsn`, :class:`Uop`).
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, fields as dc_fields
from typing import TYPE_CHECKING, ClassVar, Iterable

if TYPE_CHECKING:       # for annotations only: hw.config imports this module, not the reverse
    from .config import VTAConfig

__all__ = [
    "LayoutError", "OPCODE_WIDTH", "MEMOP_ID_WIDTH", "MEMOP_SRAM_ADDR_WIDTH", "MEMOP_DRAM_ADDR_WIDTH",
    "MEMOP_SIZE_WIDTH", "MEMOP_STRIDE_WIDTH", "MEMOP_PAD_WIDTH", "LOOP_ITER_WIDTH", "ALU_OPCODE_WIDTH",
    "ALU_IMM_WIDTH", "UOP_WIDTH", "INSN_WIDTH", "COMMON_FIELDS", "GENERIC",
    "Opcode", "MemType", "AluOp", "MUL_CYCLES", "Field", "Format", "layouts",
    "Insn", "MemInsn", "GemmInsn", "AluInsn", "FinishInsn", "Uop",
    "decode_insn", "encode_insns", "decode_insns", "encode_uops", "decode_uops", "DEP_FLAGS",
    "TOKEN_QUEUES", "FLAG_QUEUES", "LOAD_MEM_TYPES", "module_of", "illegal_reason", "token_effects",
]


# Fixed widths of VTA's instruction set (hw_spec_const.h); they do not follow the configuration.
OPCODE_WIDTH = 3
MEMOP_ID_WIDTH = 3
MEMOP_SRAM_ADDR_WIDTH = 16
MEMOP_DRAM_ADDR_WIDTH = 32
MEMOP_SIZE_WIDTH = 16
MEMOP_STRIDE_WIDTH = 16
MEMOP_PAD_WIDTH = 4
LOOP_ITER_WIDTH = 14
ALU_OPCODE_WIDTH = 3
ALU_IMM_WIDTH = 16
UOP_WIDTH = 32
INSN_WIDTH = 128


class LayoutError(ValueError):
    """A layout whose fields do not fit its word (``hw.config`` reports it as a ``ConfigError``)."""


class Opcode(enum.IntEnum):
    LOAD = 0
    STORE = 1
    GEMM = 2
    FINISH = 3
    ALU = 4


class MemType(enum.IntEnum):
    UOP = 0
    WGT = 1
    INP = 2
    ACC = 3
    OUT = 4
    ACC_8BIT = 5


class AluOp(enum.IntEnum):
    MIN = 0
    MAX = 1
    ADD = 2
    SHR = 3
    MUL = 4


#: Cycles this core's tensor ALU spends on each ALU MUL micro-op (every other micro-op issues in one):
#: each lane has one 16 x 16 multiplier and forms the low 32 bits of the product from three partial
#: products (``hw/compute/tensor.py``).  Here, not there, so that cycle estimates need no Amaranth.
MUL_CYCLES = 3


#: The four dependency flags, in bit order, common to every instruction.
DEP_FLAGS = ("pop_prev_dep", "pop_next_dep", "push_prev_dep", "push_next_dep")

#: The dependency-token queues: load→compute, compute→load, compute→store, store→compute.
TOKEN_QUEUES = ("l2g", "g2l", "g2s", "s2g")

#: Which token queue each dependency flag pops or pushes, per module (vta-reference §3, "Dependency flags
#: by module").  Flags a module ignores are absent.
FLAG_QUEUES = {
    "load":    {"pop": {"pop_next_dep": "g2l"}, "push": {"push_next_dep": "l2g"}},
    "compute": {"pop": {"pop_prev_dep": "l2g", "pop_next_dep": "s2g"},
                "push": {"push_prev_dep": "g2l", "push_next_dep": "g2s"}},
    "store":   {"pop": {"pop_prev_dep": "g2s"}, "push": {"push_prev_dep": "s2g"}},
}

#: The memory types a LOAD may name (semantics.md §3: any other is an illegal instruction).
LOAD_MEM_TYPES = (MemType.UOP, MemType.WGT, MemType.INP, MemType.ACC)


def module_of(insn) -> str:
    """The module (command queue) fetch dispatches ``insn`` to (vta-reference §4.2): ``"load"`` for
    LOAD INP/WGT, ``"store"`` for STORE, ``"compute"`` for everything else."""
    if insn.opcode == Opcode.STORE:
        return "store"
    if insn.opcode == Opcode.LOAD and insn.memory_type in (MemType.INP, MemType.WGT):
        return "load"
    return "compute"


def illegal_reason(insn) -> str | None:
    """Why ``insn`` is illegal (semantics.md §3), as a phrase naming the field and value (``"opcode 6"``,
    ``"LOAD memory_type 4"``), or None if it is legal."""
    op = insn.opcode
    if op not in tuple(Opcode):
        return f"opcode {op}"
    if op == Opcode.ALU and insn.alu_opcode not in tuple(AluOp):
        return f"ALU alu_opcode {insn.alu_opcode}"
    if op == Opcode.LOAD and insn.memory_type not in LOAD_MEM_TYPES:
        return f"LOAD memory_type {insn.memory_type}"
    return None


def token_effects(insn) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(pops, pushes)``: the token queues ``insn`` pops before it runs and pushes after.  Flags its
    module ignores have no effect."""
    fq = FLAG_QUEUES[module_of(insn)]
    return (tuple(q for f, q in fq["pop"].items() if getattr(insn, f)),
            tuple(q for f, q in fq["push"].items() if getattr(insn, f)))


@dataclass(frozen=True)
class Field:
    name: str
    offset: int
    width: int
    signed: bool = False

    @property
    def mask(self) -> int:
        return (1 << self.width) - 1


class Format:
    """A bit layout: named fields at fixed offsets in a word of ``size`` bits."""

    def __init__(self, name: str, size: int, spec: Iterable[tuple], unit: int):
        self.name = name
        self.size = size
        self.fields: dict[str, Field] = {}
        offset = 0
        for item in spec:
            fname, width = item[0], item[1]
            signed = len(item) > 2 and item[2]
            if width <= 0:
                raise LayoutError(f"{name} field {fname} would have width {width}")
            if offset % unit + width > unit:       # GCC: a bit-field never crosses its storage unit
                offset = (offset // unit + 1) * unit
            if fname is not None:
                self.fields[fname] = Field(fname, offset, width, bool(signed))
            offset += width
        if offset > size:
            last = list(self.fields.values())[-1]
            raise LayoutError(
                f"{name} layout needs {offset} bits but has {size}: field {last.name} ends at bit "
                f"{offset - 1}; the configuration's buffer depths are too large for VTA's instruction set")

    def __getitem__(self, name: str) -> Field:
        return self.fields[name]

    def __repr__(self):
        return f"Format({self.name!r}, {self.size}, {list(self.fields.values())!r})"

    def encode(self, **values: int) -> int:
        """Pack field values into an integer word.  Values are truncated to their field width (as the
        hardware's registers would); callers that want range checks use :meth:`check`."""
        word = 0
        for fname, value in values.items():
            f = self.fields[fname]
            word |= (int(value) & f.mask) << f.offset
        return word

    def check(self, **values: int) -> None:
        """Raise ValueError naming the first field whose value does not fit."""
        for fname, value in values.items():
            f = self.fields[fname]
            lo, hi = (-(1 << (f.width - 1)), (1 << (f.width - 1)) - 1) if f.signed else (0, f.mask)
            if not lo <= int(value) <= hi:
                raise ValueError(f"{self.name}.{fname} = {value} does not fit in {f.width} bits "
                                 f"({lo}..{hi})")

    def decode(self, word: int) -> dict[str, int]:
        out = {}
        for f in self.fields.values():
            v = (word >> f.offset) & f.mask
            if f.signed and v >> (f.width - 1):
                v -= 1 << f.width
            out[f.name] = v
        return out

    def amaranth_layout(self):
        """An Amaranth ``data.FlexibleLayout`` of this format, for the hardware decoder."""
        from amaranth.lib import data
        from amaranth.hdl import signed, unsigned
        return data.FlexibleLayout(self.size, {
            f.name: data.Field(signed(f.width) if f.signed else unsigned(f.width), f.offset)
            for f in self.fields.values()})


#: The fields every instruction starts with: the opcode and the dependency flags (``DEP_FLAGS``).
COMMON_FIELDS = (("opcode", OPCODE_WIDTH), ("pop_prev_dep", 1), ("pop_next_dep", 1),
                 ("push_prev_dep", 1), ("push_next_dep", 1))

#: The common fields alone, the same in every configuration (FINISH and illegal instructions).
GENERIC = Format("generic", INSN_WIDTH, COMMON_FIELDS, unit=64)


@functools.lru_cache(maxsize=None)
def _layouts(log_uop: int, log_inp: int, log_wgt: int, log_acc: int) -> dict[str, Format]:
    mem = Format("mem", INSN_WIDTH, [*COMMON_FIELDS,
        ("memory_type", MEMOP_ID_WIDTH), ("sram_base", MEMOP_SRAM_ADDR_WIDTH),
        ("dram_base", MEMOP_DRAM_ADDR_WIDTH), ("y_size", MEMOP_SIZE_WIDTH),
        ("x_size", MEMOP_SIZE_WIDTH), ("x_stride", MEMOP_STRIDE_WIDTH),
        ("y_pad_0", MEMOP_PAD_WIDTH), ("y_pad_1", MEMOP_PAD_WIDTH),
        ("x_pad_0", MEMOP_PAD_WIDTH), ("x_pad_1", MEMOP_PAD_WIDTH)], unit=64)
    loop = [*COMMON_FIELDS, ("reset_reg", 1), ("uop_bgn", log_uop), ("uop_end", log_uop + 1),
            ("iter_out", LOOP_ITER_WIDTH), ("iter_in", LOOP_ITER_WIDTH),
            ("dst_factor_out", log_acc), ("dst_factor_in", log_acc)]
    gemm = Format("gemm", INSN_WIDTH, loop + [
        ("src_factor_out", log_inp), ("src_factor_in", log_inp),
        ("wgt_factor_out", log_wgt), ("wgt_factor_in", log_wgt)], unit=64)
    alu = Format("alu", INSN_WIDTH, loop + [
        ("src_factor_out", log_acc), ("src_factor_in", log_acc),
        ("alu_opcode", ALU_OPCODE_WIDTH), ("use_imm", 1), ("imm", ALU_IMM_WIDTH, True)], unit=64)
    # The micro-op's src_idx indexes inp (GEMM) or acc (ALU): wide enough for both.
    uop = Format("uop", UOP_WIDTH, [
        ("dst_idx", log_acc), ("src_idx", max(log_acc, log_inp)), ("wgt_idx", log_wgt)], unit=32)
    return {"generic": GENERIC, "mem": mem, "gemm": gemm, "alu": alu, "uop": uop}


def layouts(cfg: "VTAConfig") -> dict[str, Format]:
    """The instruction and micro-op formats of configuration ``cfg``: keys ``generic``, ``mem``,
    ``gemm``, ``alu`` (FINISH uses ``gemm``) and ``uop``."""
    return _layouts(cfg.log_uop_depth, cfg.log_inp_depth, cfg.log_wgt_depth, cfg.log_acc_depth)


# -- instruction objects ------------------------------------------------------------------------------

@dataclass
class Insn:
    """Base of the instruction classes.  Field names are those of the layouts."""
    pop_prev_dep: bool = False
    pop_next_dep: bool = False
    push_prev_dep: bool = False
    push_next_dep: bool = False

    FORMAT: ClassVar[str] = "generic"

    def values(self) -> dict[str, int]:
        return {f.name: int(getattr(self, f.name)) for f in dc_fields(self)}

    def encode(self, cfg: "VTAConfig", check: bool = True) -> int:
        fmt = layouts(cfg)[self.FORMAT]
        vals = self.values()
        if check:
            fmt.check(**vals)
        return fmt.encode(**vals)

    def flags_str(self) -> str:
        names = {"pop_prev_dep": "pop_prev", "pop_next_dep": "pop_next",
                 "push_prev_dep": "push_prev", "push_next_dep": "push_next"}
        on = [names[f] for f in DEP_FLAGS if getattr(self, f)]
        return " [" + " ".join(on) + "]" if on else ""


@dataclass
class MemInsn(Insn):
    """LOAD (``opcode`` 0) or STORE (``opcode`` 1)."""
    opcode: int = Opcode.LOAD
    memory_type: int = MemType.INP
    sram_base: int = 0
    dram_base: int = 0
    y_size: int = 0
    x_size: int = 0
    x_stride: int = 0
    y_pad_0: int = 0
    y_pad_1: int = 0
    x_pad_0: int = 0
    x_pad_1: int = 0

    FORMAT: ClassVar[str] = "mem"

    def __str__(self):
        op = Opcode(self.opcode).name if self.opcode in (0, 1) else f"op{self.opcode}"
        try:
            mt = MemType(self.memory_type).name
        except ValueError:
            mt = f"mem{self.memory_type}"
        if self.x_size == 0 and not any((self.y_pad_0, self.y_pad_1, self.x_pad_0, self.x_pad_1)):
            return f"{op:<6} {mt:<4} nop{self.flags_str()}"
        pads = ""
        if any((self.y_pad_0, self.y_pad_1, self.x_pad_0, self.x_pad_1)):
            pads = f" pad y({self.y_pad_0},{self.y_pad_1}) x({self.x_pad_0},{self.x_pad_1})"
        return (f"{op:<6} {mt:<4} sram {self.sram_base} dram {self.dram_base} "
                f"y {self.y_size} x {self.x_size} stride {self.x_stride}{pads}{self.flags_str()}")


@dataclass
class _LoopInsn(Insn):
    opcode: int = Opcode.GEMM
    reset_reg: bool = False
    uop_bgn: int = 0
    uop_end: int = 0
    iter_out: int = 0
    iter_in: int = 0
    dst_factor_out: int = 0
    dst_factor_in: int = 0
    src_factor_out: int = 0
    src_factor_in: int = 0

    def loop_str(self):
        return (f"uop [{self.uop_bgn},{self.uop_end}) out {self.iter_out}"
                f"(dst {self.dst_factor_out} src {self.src_factor_out}{self._wgt('out')}) "
                f"in {self.iter_in}(dst {self.dst_factor_in} src {self.src_factor_in}{self._wgt('in')})")

    def _wgt(self, which):
        return ""

    @property
    def n_uop_iters(self) -> int:
        """Micro-op executions: iter_out x iter_in x (uop_end - uop_bgn)."""
        return self.iter_out * self.iter_in * max(self.uop_end - self.uop_bgn, 0)


@dataclass
class GemmInsn(_LoopInsn):
    opcode: int = Opcode.GEMM
    wgt_factor_out: int = 0
    wgt_factor_in: int = 0

    FORMAT: ClassVar[str] = "gemm"

    def _wgt(self, which):
        return f" wgt {getattr(self, 'wgt_factor_' + which)}"

    def __str__(self):
        return f"GEMM{' reset' if self.reset_reg else ''} {self.loop_str()}{self.flags_str()}"


@dataclass
class AluInsn(_LoopInsn):
    opcode: int = Opcode.ALU
    alu_opcode: int = AluOp.ADD
    use_imm: bool = False
    imm: int = 0

    FORMAT: ClassVar[str] = "alu"

    def __str__(self):
        try:
            op = AluOp(self.alu_opcode).name
        except ValueError:
            op = f"aluop{self.alu_opcode}"
        operand = f"imm {self.imm}" if self.use_imm else "acc"
        return f"ALU    {op} {operand} {self.loop_str()}{self.flags_str()}"


@dataclass
class FinishInsn(Insn):
    opcode: int = Opcode.FINISH

    FORMAT: ClassVar[str] = "generic"

    def __str__(self):
        return f"FINISH{self.flags_str()}"


@dataclass
class IllegalInsn(Insn):
    """An instruction word whose opcode is not one of VTA's (5, 6, 7)."""
    opcode: int = 7

    FORMAT: ClassVar[str] = "generic"

    def __str__(self):
        return f"ILLEGAL opcode {self.opcode}{self.flags_str()}"


def decode_insn(word: int, cfg: "VTAConfig") -> Insn:
    """Decode one 128-bit instruction word into its instruction object."""
    lay = layouts(cfg)
    opcode = word & ((1 << OPCODE_WIDTH) - 1)
    if opcode in (Opcode.LOAD, Opcode.STORE):
        cls, fmt = MemInsn, lay["mem"]
    elif opcode == Opcode.GEMM:
        cls, fmt = GemmInsn, lay["gemm"]
    elif opcode == Opcode.ALU:
        cls, fmt = AluInsn, lay["alu"]
    elif opcode == Opcode.FINISH:
        cls, fmt = FinishInsn, lay["generic"]
    else:
        cls, fmt = IllegalInsn, lay["generic"]
    vals = fmt.decode(word)
    names = {f.name for f in dc_fields(cls)}
    return cls(**{k: (bool(v) if k in DEP_FLAGS or k in ("reset_reg", "use_imm") else v)
                  for k, v in vals.items() if k in names})


@dataclass
class Uop:
    """A micro-op: acc index ``dst_idx``, inp (GEMM) or acc (ALU) index ``src_idx``, wgt index."""
    dst_idx: int = 0
    src_idx: int = 0
    wgt_idx: int = 0

    def encode(self, cfg: "VTAConfig", check: bool = True) -> int:
        fmt = layouts(cfg)["uop"]
        vals = {"dst_idx": self.dst_idx, "src_idx": self.src_idx, "wgt_idx": self.wgt_idx}
        if check:
            fmt.check(**vals)
        return fmt.encode(**vals)

    @classmethod
    def decode(cls, word: int, cfg: "VTAConfig") -> "Uop":
        return cls(**layouts(cfg)["uop"].decode(word))

    def __str__(self):
        return f"uop dst {self.dst_idx} src {self.src_idx} wgt {self.wgt_idx}"


def encode_insns(insns: Iterable[Insn], cfg: "VTAConfig") -> bytes:
    """Instructions as VTA's binary: 16 bytes each, little-endian."""
    return b"".join(i.encode(cfg).to_bytes(16, "little") for i in insns)


def decode_insns(data: bytes, cfg: "VTAConfig") -> list[Insn]:
    if len(data) % 16:
        raise ValueError(f"instruction data is {len(data)} bytes, not a multiple of 16")
    return [decode_insn(int.from_bytes(data[i:i + 16], "little"), cfg) for i in range(0, len(data), 16)]


def encode_uops(uops: Iterable[Uop], cfg: "VTAConfig") -> bytes:
    return b"".join(u.encode(cfg).to_bytes(4, "little") for u in uops)


def decode_uops(data: bytes, cfg: "VTAConfig") -> list[Uop]:
    if len(data) % 4:
        raise ValueError(f"micro-op data is {len(data)} bytes, not a multiple of 4")
    return [Uop.decode(int.from_bytes(data[i:i + 4], "little"), cfg) for i in range(0, len(data), 4)]
