"""Building test programs: :class:`Builder` (instructions and micro-ops written one by one),
:class:`ExpectedError` (what a bad program must report) and the numpy references the expected
results are computed with."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hw.config import VTAConfig
from hw.isa import AluInsn, AluOp, FinishInsn, GemmInsn, MemInsn, MemType, Opcode, Uop, encode_uops
from hw.regs import ErrorCode
from sw.program import Program


@dataclass
class ExpectedError:
    """What a backend must report for a bad program.

    Members
    -------
    code : ErrorCode
    index : int | None        the instruction index the error names (the ``error_index`` register).  For
                              a deadlock it is the instruction of the first stalled module that waits
                              on a token, in the order compute, load, store; for NO_FINISH the number
                              of instructions.
    stalls : tuple[str]       for a deadlock, the names (``hw.regs.STALL_BITS``) of every wait
    fsim_fragments : tuple[str]   text the functional model's one-line message contains (the
                              cycle-level backends word their messages differently)
    fsim_only : bool          only the functional model detects it (a DRAM access outside its region
                              but inside the memory image raises no bus error on the hardware)
    """
    code: ErrorCode
    index: int | None
    stalls: tuple[str, ...] = ()
    fsim_fragments: tuple[str, ...] = ()
    fsim_only: bool = False


# -- building ----------------------------------------------------------------------------------------

class Builder:
    """Collects instructions and micro-ops; :meth:`program` packs them with the data regions.

    Every ``add`` returns the instruction's index.  Flags are keyword arguments named like the
    instruction fields (``pop_prev_dep=True``) or by the short names ``pop_prev``, ``pop_next``,
    ``push_prev``, ``push_next``.
    """

    _SHORT = {"pop_prev": "pop_prev_dep", "pop_next": "pop_next_dep",
              "push_prev": "push_prev_dep", "push_next": "push_next_dep"}

    def __init__(self, cfg: VTAConfig):
        self.cfg = cfg
        self.insns: list = []
        self.uops: list[Uop] = []
        self.raw: dict[int, int] = {}   # index -> raw word (for instructions no class can encode)

    def _flags(self, kw):
        return {self._SHORT.get(k, k): v for k, v in kw.items()}

    def add(self, insn) -> int:
        self.insns.append(insn)
        return len(self.insns) - 1

    def add_raw(self, word: int) -> int:
        """Add a raw 128-bit instruction word (an illegal opcode, say)."""
        self.raw[len(self.insns)] = word
        self.insns.append(None)
        return len(self.insns) - 1

    def uop(self, dst: int, src: int, wgt: int = 0) -> int:
        self.uops.append(Uop(dst, src, wgt))
        return len(self.uops) - 1

    def load(self, mem: int, sram: int, dram: int, y: int, x: int, stride: int | None = None,
             pads=(0, 0, 0, 0), **flags) -> int:
        """LOAD: ``pads`` is (y_pad_0, y_pad_1, x_pad_0, x_pad_1)."""
        yp0, yp1, xp0, xp1 = pads
        return self.add(MemInsn(opcode=Opcode.LOAD, memory_type=mem, sram_base=sram, dram_base=dram,
                                y_size=y, x_size=x, x_stride=x if stride is None else stride,
                                y_pad_0=yp0, y_pad_1=yp1, x_pad_0=xp0, x_pad_1=xp1,
                                **self._flags(flags)))

    def load_uop(self, sram: int, dram: int, n: int, **flags) -> int:
        return self.load(MemType.UOP, sram, dram, 1, n, n, **flags)

    def store(self, sram: int, dram: int, y: int, x: int, stride: int | None = None, **flags) -> int:
        return self.add(MemInsn(opcode=Opcode.STORE, memory_type=MemType.OUT, sram_base=sram,
                                dram_base=dram, y_size=y, x_size=x,
                                x_stride=x if stride is None else stride, **self._flags(flags)))

    def nop(self, module: str, **flags) -> int:
        """A no-op (x_size 0) of the runtime's format in ``module``'s queue, carrying ``flags``."""
        if module == "store":
            return self.add(MemInsn(opcode=Opcode.STORE, memory_type=MemType.UOP, **self._flags(flags)))
        mem = MemType.INP if module == "load" else MemType.UOP
        return self.add(MemInsn(opcode=Opcode.LOAD, memory_type=mem, **self._flags(flags)))

    def gemm(self, bgn: int, end: int, iter_out=1, iter_in=1, dst=(0, 0), src=(0, 0), wgt=(0, 0),
             reset=False, **flags) -> int:
        """GEMM: ``dst``, ``src``, ``wgt`` are (factor_out, factor_in)."""
        return self.add(GemmInsn(reset_reg=reset, uop_bgn=bgn, uop_end=end, iter_out=iter_out,
                                 iter_in=iter_in, dst_factor_out=dst[0], dst_factor_in=dst[1],
                                 src_factor_out=src[0], src_factor_in=src[1],
                                 wgt_factor_out=wgt[0], wgt_factor_in=wgt[1], **self._flags(flags)))

    def alu(self, op: int, bgn: int, end: int, iter_out=1, iter_in=1, dst=(0, 0), src=(0, 0),
            imm: int | None = None, **flags) -> int:
        return self.add(AluInsn(alu_opcode=op, uop_bgn=bgn, uop_end=end, iter_out=iter_out,
                                iter_in=iter_in, dst_factor_out=dst[0], dst_factor_in=dst[1],
                                src_factor_out=src[0], src_factor_in=src[1],
                                use_imm=imm is not None, imm=0 if imm is None else imm,
                                **self._flags(flags)))

    def finish(self, **flags) -> int:
        return self.add(FinishInsn(**self._flags(flags)))

    def program(self, *, inp=None, wgt=None, acc=None, out_elems=0, out_init=None,
                **meta) -> Program:
        """Pack into a Program; ``inp``/``wgt``/``acc``/``out_init`` are element arrays
        (n, batch, block_in) int8, (n, block_out, block_in) int8, (n, batch, block_out) int32 and
        (n, batch, block_out) int8."""
        cfg = self.cfg
        words = []
        for i, insn in enumerate(self.insns):
            word = self.raw[i] if insn is None else insn.encode(cfg)
            words.append(word.to_bytes(16, "little"))
        blob = lambda a, dt: b"" if a is None else np.ascontiguousarray(a, dtype=dt).tobytes()
        return Program(config=cfg, insns=b"".join(words), uop=encode_uops(self.uops, cfg),
                       inp=blob(inp, np.int8), wgt=blob(wgt, np.int8), acc=blob(acc, "<i4"),
                       out_init=blob(out_init, np.int8), out_elems=out_elems, meta=meta)


def low8(v) -> bytes:
    """The low 8 bits of integer array ``v`` as int8 bytes."""
    return (np.asarray(v, dtype=np.int64) & 0xFF).astype(np.uint8).tobytes()


def wrap32(v):
    v = np.asarray(v, dtype=np.int64)
    return (v & 0xFFFFFFFF) - ((v & 0x80000000) << 1)


def alu_ref(op: int, x, y):
    """Reference ALU on int64 arrays (semantics.md §3), result wrapped to signed 32 bits.

    SHR takes the low five bits of ``y`` as a signed amount (-16..15); a negative amount shifts left.
    """
    x, y = np.asarray(x, np.int64), np.asarray(y, np.int64)
    if op == AluOp.MIN:
        r = np.where(x < y, x, y)
    elif op == AluOp.MAX:
        r = np.where(x > y, x, y)
    elif op == AluOp.ADD:
        r = x + y
    elif op == AluOp.SHR:
        amt = y & 0x1F
        amt = np.where(amt >= 16, amt - 32, amt)
        r = np.where(amt >= 0, x // (np.int64(1) << np.maximum(amt, 0)),
                     x * (np.int64(1) << np.maximum(-amt, 0)))
    elif op == AluOp.MUL:
        r = (x * y)
    else:
        raise ValueError(f"ALU opcode {op} has no reference")
    return wrap32(r)
