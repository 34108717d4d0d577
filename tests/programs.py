"""VTA-style test programs written instruction by instruction, with expected results from numpy.

In the style of VTA's own hardware tests (vta-reference §11): each function builds a small
:class:`~sw.program.Program` for any :class:`~hw.config.VTAConfig` and returns it with what a correct
backend must produce:

* good programs return ``(program, expected_out_bytes)``, the expected bytes computed here with numpy
  directly from the test data (never by running a model);
* bad programs return ``(program, ExpectedError)``: the error code, the instruction index and fragments
  the one-line message must contain.

Sizes are small by default so that the cycle-level backends (a few thousand cycles per second) can run
them too.  :func:`suite` lists a representative set of good programs for cross-backend tests.

Token protocol used throughout (vta-reference §3): load pushes l2g / pops g2l (its ``*_next`` flags);
compute pops l2g (``pop_prev``) and s2g (``pop_next``), pushes g2l (``push_prev``) and g2s
(``push_next``); store pops g2s (``pop_prev``) and pushes s2g (``push_prev``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hw.config import VTAConfig
from hw.isa import (AluInsn, AluOp, FinishInsn, GemmInsn, MemInsn, MemType, Opcode, Uop,
                    encode_uops, layouts)
from hw.regs import ErrorCode
from sw.program import Program

__all__ = [
    "ExpectedError", "Builder", "alu_ref",
    "alu_program", "alu_chain_program", "blocked_gemm_program", "padded_load_program",
    "gemm_same_acc_program", "tutorial_fc_program", "TUTORIAL_COUNTERS",
    "illegal_program", "ILLEGAL_KINDS", "deadlock_program", "queue_full_program",
    "token_full_program", "no_finish_program", "dram_out_of_range_program", "DRAM_KINDS",
    "suite", "PAD_COMBINATIONS",
]


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


def _low8(v) -> bytes:
    """The low 8 bits of integer array ``v`` as int8 bytes."""
    return (np.asarray(v, dtype=np.int64) & 0xFF).astype(np.uint8).tobytes()


def _wrap32(v):
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
    return _wrap32(r)


# Data ranges of VTA's alu_test (vta-reference §11), MUL like MIN/MAX.
_ALU_DATA = {AluOp.MIN: (-64, 64), AluOp.MAX: (-64, 64), AluOp.ADD: (-32, 32), AluOp.SHR: (-8, 8),
             AluOp.MUL: (-64, 64)}
_ALU_IMM = {AluOp.MIN: (-(1 << 14), 1 << 14), AluOp.MAX: (-(1 << 14), 1 << 14),
            AluOp.ADD: (-(1 << 14), 1 << 14), AluOp.SHR: (-8, 8), AluOp.MUL: (-(1 << 14), 1 << 14)}


# -- ALU ---------------------------------------------------------------------------------------------

def alu_program(cfg: VTAConfig, op: int, use_imm: bool, compressed: bool, *, rows: int = 2,
                vector: int = 8, wide: bool = False, seed: int = 0):
    """VTA's ``alu_test``: per row, LOAD ACC, one ALU instruction over ``vector`` acc elements, STORE.

    Parameters
    ----------
    op : AluOp
    use_imm : bool       an immediate per row (else the second operand is a second acc vector)
    compressed : bool    one micro-op looped with ``iter_in`` = vector, or ``vector`` micro-ops
    rows : int           rows (LOAD ACC / ALU / STORE groups)
    vector : int         acc elements per row
    wide : bool          operands over the whole int32 range and immediates over the whole 16 bits
                         (32-bit wrap, the 5-bit SHR amount), instead of VTA's small ranges

    Returns
    -------
    (Program, bytes)
    """
    rng = np.random.default_rng(seed)
    b = Builder(cfg)
    lanes = (cfg.batch, cfg.block_out)
    per_row = vector if use_imm else 2 * vector
    if 2 * vector > cfg.acc_depth:
        raise ValueError(f"vector = {vector} needs {2 * vector} acc entries, acc depth is {cfg.acc_depth}")
    if wide:
        acc = rng.integers(-(1 << 31), 1 << 31, (rows, per_row) + lanes, dtype=np.int64)
        imms = rng.integers(-(1 << 15), 1 << 15, rows)
    else:
        lo, hi = _ALU_DATA[op]
        acc = rng.integers(lo, hi, (rows, per_row) + lanes)
        imms = rng.integers(*_ALU_IMM[op], rows)
    # micro-ops: dst i, src vector + i
    if compressed:
        b.uop(0, 0 if use_imm else vector)
        kernel = dict(bgn=0, end=1, iter_in=vector, dst=(0, 1), src=(0, 1))
    else:
        for i in range(vector):
            b.uop(i, 0 if use_imm else vector + i)
        kernel = dict(bgn=0, end=vector)
    b.load_uop(0, 0, len(b.uops))
    expected = []
    for r in range(rows):
        b.load(MemType.ACC, 0, r * per_row, 1, per_row)
        b.alu(op, **kernel, imm=int(imms[r]) if use_imm else None, push_next=True, pop_next=r > 0)
        b.store(0, r * vector, 1, vector, pop_prev=True, push_prev=True)
        x = acc[r, :vector]
        y = np.full_like(x, imms[r]) if use_imm else acc[r, vector:]
        expected.append(alu_ref(op, x, y))
    b.finish(pop_next=True)
    prog = b.program(acc=acc.reshape((-1,) + lanes), out_elems=rows * vector,
                     name=f"alu_{AluOp(op).name.lower()}_{'imm' if use_imm else 'acc'}"
                          f"_{'compressed' if compressed else 'uncompressed'}")
    return prog, _low8(np.stack(expected))


def alu_chain_program(cfg: VTAConfig, ops, *, vector: int = 8, seed: int = 0, data_range=None):
    """A chain of immediate ALU instructions on one loaded acc vector, then STORE: makes the 32-bit
    wrap visible (ADD near the int32 limits followed by shifts), and clip / ReLU sequences.

    Parameters
    ----------
    ops : list of (AluOp, int)   each an ALU instruction with that immediate, in order
    data_range : (lo, hi)        acc values (default the whole int32 range)
    """
    rng = np.random.default_rng(seed)
    lo, hi = data_range or (-(1 << 31), 1 << 31)
    lanes = (cfg.batch, cfg.block_out)
    acc = rng.integers(lo, hi, (vector,) + lanes, dtype=np.int64)
    b = Builder(cfg)
    b.uop(0, 0)
    b.load_uop(0, 0, 1)
    b.load(MemType.ACC, 0, 0, 1, vector)
    v = acc
    for j, (op, imm) in enumerate(ops):
        b.alu(op, 0, 1, iter_in=vector, dst=(0, 1), src=(0, 1), imm=imm, push_next=j == len(ops) - 1)
        v = alu_ref(op, v, imm)
    b.store(0, 0, 1, vector, pop_prev=True, push_prev=True)
    b.finish(pop_next=True)
    return b.program(acc=acc, out_elems=vector, name="alu_chain"), _low8(v)


# -- GEMM ---------------------------------------------------------------------------------------------

def _gemm_data(cfg, rng, mb, kb, nb):
    """Random matrices A (mb*batch, kb*block_in), W (nb*block_out, kb*block_in) int8 and their packed
    element arrays (inp [m][k], wgt [n][k])."""
    B, BI, BO = cfg.batch, cfg.block_in, cfg.block_out
    A = rng.integers(-128, 128, (mb * B, kb * BI), dtype=np.int64)
    W = rng.integers(-128, 128, (nb * BO, kb * BI), dtype=np.int64)
    inp = A.reshape(mb, B, kb, BI).transpose(0, 2, 1, 3).reshape(mb * kb, B, BI)
    wgt = W.reshape(nb, BO, kb, BI).transpose(0, 2, 1, 3).reshape(nb * kb, BO, BI)
    return A, W, inp, wgt


def _pack_out(cfg, C, mb, nb):
    """Matrix (mb*batch, nb*block_out) -> out elements [m][n] (batch, block_out)."""
    B, BO = cfg.batch, cfg.block_out
    return C.reshape(mb, B, nb, BO).transpose(0, 2, 1, 3).reshape(mb * nb, B, BO)


def blocked_gemm_program(cfg: VTAConfig, *, m_blocks: int = 2, k_blocks: int = 4, n_blocks: int = 4,
                         tile_n: int = 2, tile_k: int = 2, virtual_threads: int = 2,
                         compressed: bool = True, seed: int = 0):
    """VTA's ``blocked_gemm_test``: out = int8(bias + A·Wᵀ), with bias tiles loaded into acc.

    The output is computed in tiles of ``tile_n`` output blocks (all ``m_blocks`` rows), each reduced over
    ``k_blocks`` in chunks of ``tile_k``.  Step i (tile t, chunk c) loads its inp and wgt chunk into SRAM
    half ``i % virtual_threads``; tile t accumulates in acc/out half ``t % virtual_threads``, so with two
    virtual threads load, compute and store overlap, synchronised by tokens:

    * LOAD INP of step i pops g2l (i >= vt), LOAD WGT pushes l2g;
    * the tile's LOAD ACC (bias) pops s2g (t >= vt); the GEMM of step i pops l2g and pushes g2l, the last
      GEMM of a tile also pushes g2s;
    * the tile's STORE pops g2s and pushes s2g; the leftover g2l and s2g tokens are drained by no-ops.

    ``compressed``: ``tile_k`` micro-ops per kernel looped over (m, n) by iter_out / iter_in; otherwise
    every (m, n, k) micro-op listed, k innermost, so consecutive micro-ops hit the same acc entry.

    Returns
    -------
    (Program, bytes)
    """
    if n_blocks % tile_n or k_blocks % tile_k:
        raise ValueError(f"n_blocks = {n_blocks} / k_blocks = {k_blocks} must be multiples of "
                         f"tile_n = {tile_n} / tile_k = {tile_k}")
    vt = virtual_threads
    if vt not in (1, 2):
        raise ValueError(f"virtual_threads = {vt}: 1 or 2")
    rng = np.random.default_rng(seed)
    B, BO = cfg.batch, cfg.block_out
    mb, kb, nb = m_blocks, k_blocks, n_blocks
    A, W, inp, wgt = _gemm_data(cfg, rng, mb, kb, nb)
    bias = rng.integers(-(1 << 20), 1 << 20, (mb * B, nb * BO), dtype=np.int64)
    acc = _pack_out(cfg, bias, mb, nb)

    inp_half, wgt_half, acc_half = mb * tile_k, tile_n * tile_k, mb * tile_n
    for name, half, depth in (("inp", inp_half, cfg.inp_depth), ("wgt", wgt_half, cfg.wgt_depth),
                              ("acc", acc_half, cfg.acc_depth)):
        if vt * half > depth:
            raise ValueError(f"{vt} x {half} {name} entries exceed the {name} depth {depth}")

    b = Builder(cfg)
    n_tiles, n_chunks = nb // tile_n, kb // tile_k
    kernels = {}                      # (inp/wgt half, acc half) -> (uop_bgn, uop_end)
    for hl in range(vt):
        for ha in range(vt):
            bgn = len(b.uops)
            if compressed:
                for kk in range(tile_k):
                    b.uop(ha * acc_half, hl * inp_half + kk, hl * wgt_half + kk)
            else:
                for m in range(mb):
                    for n in range(tile_n):
                        for kk in range(tile_k):
                            b.uop(ha * acc_half + m * tile_n + n, hl * inp_half + m * tile_k + kk,
                                  hl * wgt_half + n * tile_k + kk)
            kernels[hl, ha] = (bgn, len(b.uops))
    b.load_uop(0, 0, len(b.uops))
    n_steps = n_tiles * n_chunks
    for t in range(n_tiles):
        ha = t % vt
        for c in range(n_chunks):
            i = t * n_chunks + c
            hl = i % vt
            b.load(MemType.INP, hl * inp_half, c * tile_k, mb, tile_k, kb, pop_next=i >= vt)
            b.load(MemType.WGT, hl * wgt_half, t * tile_n * kb + c * tile_k, tile_n, tile_k, kb,
                   push_next=True)
            if c == 0:
                b.load(MemType.ACC, ha * acc_half, t * tile_n, mb, tile_n, nb, pop_next=t >= vt)
            bgn, end = kernels[hl, ha]
            loops = (dict(iter_out=mb, iter_in=tile_n, dst=(tile_n, 1), src=(tile_k, 0),
                          wgt=(0, tile_k)) if compressed else {})
            b.gemm(bgn, end, **loops, pop_prev=True, push_prev=True, push_next=c == n_chunks - 1)
        b.store(ha * acc_half, t * tile_n, mb, tile_n, nb, pop_prev=True, push_prev=True)
    for _ in range(min(vt, n_steps)):
        b.nop("load", pop_next=True)
    for _ in range(min(vt, n_tiles)):
        b.nop("compute", pop_next=True)
    b.finish()
    C = bias + A @ W.T
    prog = b.program(inp=inp, wgt=wgt, acc=acc, out_elems=mb * nb,
                     name=f"blocked_gemm_vt{vt}_{'compressed' if compressed else 'uncompressed'}")
    return prog, _low8(_pack_out(cfg, C, mb, nb))


def gemm_same_acc_program(cfg: VTAConfig, *, seed: int = 0):
    """GEMMs whose consecutive micro-ops accumulate into the same acc entry (the read-after-write case
    the hardware must bypass), a second GEMM accumulating on top, and a reset in between rows.

    Kernel: uops (0, 0, 0), (0, 1, 1), (0, 2, 2), (1, 3, 0), (1, 3, 1); looped iter_out = 2 with
    dst factor 2, src factor 4, wgt factor 0.  Then the same kernel again (acc doubles its sum).

    Returns
    -------
    (Program, bytes)
    """
    rng = np.random.default_rng(seed)
    B, BI, BO = cfg.batch, cfg.block_in, cfg.block_out
    inp = rng.integers(-128, 128, (8, B, BI), dtype=np.int64)
    wgt = rng.integers(-128, 128, (3, BO, BI), dtype=np.int64)
    kernel = [(0, 0, 0), (0, 1, 1), (0, 2, 2), (1, 3, 0), (1, 3, 1)]
    b = Builder(cfg)
    b.uop(0, 0, 0)                      # reset kernel at slot 0
    for u in kernel:
        b.uop(*u)
    b.load(MemType.INP, 0, 0, 1, 8)
    b.load(MemType.WGT, 0, 0, 1, 3, push_next=True)
    b.load_uop(0, 0, len(b.uops))
    b.gemm(0, 1, iter_out=4, dst=(1, 0), reset=True)
    b.gemm(1, 1 + len(kernel), iter_out=2, dst=(2, 0), src=(4, 0), pop_prev=True)
    b.gemm(1, 1 + len(kernel), iter_out=2, dst=(2, 0), src=(4, 0), push_next=True)
    b.store(0, 0, 1, 4, pop_prev=True, push_prev=True)
    b.finish(pop_next=True)
    acc = np.zeros((4, B, BO), np.int64)
    for _ in range(2):
        for i_out in range(2):
            for d, s, w in kernel:
                acc[d + 2 * i_out] += inp[s + 4 * i_out] @ wgt[w].T
    prog = b.program(inp=inp, wgt=wgt, out_elems=4, name="gemm_same_acc")
    return prog, _low8(acc)


# -- padded loads ------------------------------------------------------------------------------------

#: Every combination of padded sides (y_pad_0, y_pad_1, x_pad_0, x_pad_1), each side 0 or a size.
PAD_COMBINATIONS = tuple(tuple(v if (mask >> j) & 1 else 0 for j, v in enumerate((1, 2, 2, 1)))
                         for mask in range(16))


def padded_load_program(cfg: VTAConfig, mem: str, pads, *, y_size: int = 2, x_size: int = 3,
                        seed: int = 0):
    """A padded 2-D LOAD of ``mem`` (``"inp"``, ``"wgt"`` or ``"acc"``) over SRAM that first holds
    non-zero garbage, made visible in the out buffer and stored:

    * inp: GEMM with an identity weight copies each inp element to out;
    * wgt: GEMM with the ``block_in`` unit inputs reads every column of every weight element;
    * acc: ALU SHR by 0 copies acc to out.

    Parameters
    ----------
    pads : (y_pad_0, y_pad_1, x_pad_0, x_pad_1)

    Returns
    -------
    (Program, bytes)
    """
    rng = np.random.default_rng(seed)
    B, BI, BO = cfg.batch, cfg.block_in, cfg.block_out
    yp0, yp1, xp0, xp1 = pads
    h, w = yp0 + y_size + yp1, xp0 + x_size + xp1
    n = h * w

    def nonzero(shape, lo=1, hi=128):
        return rng.integers(lo, hi, shape) * rng.choice([-1, 1], shape)

    b = Builder(cfg)
    if mem == "inp":
        data = nonzero((y_size * x_size, B, BI))
        garbage = nonzero((n, B, BI))
        eye = np.broadcast_to(np.eye(BO, BI, dtype=np.int64), (1, BO, BI))
        b.uop(0, 0, 0)
        b.load(MemType.WGT, 0, 0, 1, 1)
        b.load(MemType.INP, 0, y_size * x_size, 1, n)                       # garbage
        b.load(MemType.INP, 0, 0, y_size, x_size, x_size, pads, push_next=True)
        b.load_uop(0, 0, 1)
        b.gemm(0, 1, iter_in=n, dst=(0, 1), reset=True)
        b.gemm(0, 1, iter_in=n, dst=(0, 1), src=(0, 1), pop_prev=True, push_next=True)
        out_elems = n
        padded = np.zeros((h, w, B, BI), np.int64)
        padded[yp0:yp0 + y_size, xp0:xp0 + x_size] = data.reshape(y_size, x_size, B, BI)
        expected = padded.reshape(n, B, BI)                 # identity weights: out = inp
        prog_data = dict(inp=np.concatenate([data, garbage]), wgt=eye)
    elif mem == "wgt":
        if n * BI > cfg.acc_depth:
            raise ValueError(f"{n} weight elements x {BI} columns exceed the acc depth {cfg.acc_depth}")
        data = nonzero((y_size * x_size, BO, BI))
        garbage = nonzero((n, BO, BI))
        units = np.broadcast_to(np.eye(BI, dtype=np.int64)[:, None, :], (BI, B, BI))
        b.uop(0, 0, 0)
        b.load(MemType.INP, 0, 0, 1, BI)
        b.load(MemType.WGT, 0, y_size * x_size, 1, n)                       # garbage
        b.load(MemType.WGT, 0, 0, y_size, x_size, x_size, pads, push_next=True)
        b.load_uop(0, 0, 1)
        b.gemm(0, 1, iter_in=n * BI, dst=(0, 1), reset=True)
        b.gemm(0, 1, iter_out=n, iter_in=BI, dst=(BI, 1), src=(0, 1), wgt=(1, 0),
               pop_prev=True, push_next=True)
        out_elems = n * BI
        padded = np.zeros((h, w, BO, BI), np.int64)
        padded[yp0:yp0 + y_size, xp0:xp0 + x_size] = data.reshape(y_size, x_size, BO, BI)
        # out element (e, ic), lanes (b, oc) = wgt[e][oc][ic]
        cols = padded.reshape(n, BO, BI).transpose(0, 2, 1)            # (e, ic, oc)
        expected = np.broadcast_to(cols[:, :, None, :], (n, BI, B, BO)).reshape(n * BI, B, BO)
        prog_data = dict(inp=units, wgt=np.concatenate([data, garbage]))
    elif mem == "acc":
        data = rng.integers(-(1 << 31), 1 << 31, (y_size * x_size, B, BO), dtype=np.int64)
        garbage = nonzero((n, B, BO), 1, 1 << 20)
        b.uop(0, 0, 0)
        b.load_uop(0, 0, 1)
        b.load(MemType.ACC, 0, y_size * x_size, 1, n)                       # garbage
        b.load(MemType.ACC, 0, 0, y_size, x_size, x_size, pads)
        b.alu(AluOp.SHR, 0, 1, iter_in=n, dst=(0, 1), src=(0, 1), imm=0, push_next=True)
        out_elems = n
        padded = np.zeros((h, w, B, BO), np.int64)
        padded[yp0:yp0 + y_size, xp0:xp0 + x_size] = data.reshape(y_size, x_size, B, BO)
        expected = padded.reshape(n, B, BO)
        prog_data = dict(acc=np.concatenate([data, garbage]))
    else:
        raise ValueError(f"mem = {mem!r}: 'inp', 'wgt' or 'acc'")
    b.store(0, 0, 1, out_elems, pop_prev=True, push_prev=True)
    b.finish(pop_next=True)
    prog = b.program(out_elems=out_elems, name=f"padded_{mem}_{'_'.join(map(str, pads))}", **prog_data)
    return prog, _low8(expected)


# -- the seed tutorial -------------------------------------------------------------------------------

#: The statistics VTA's functional simulator printed for the seed tutorial (semantics.md §6).
TUTORIAL_COUNTERS = {"inp_load_nbytes": 4096, "wgt_load_nbytes": 1048576, "acc_load_nbytes": 0,
                     "uop_load_nbytes": 20, "out_store_nbytes": 1024, "gemm_counter": 4096,
                     "alu_counter": 192}


def tutorial_fc_program(cfg: VTAConfig | None = None, *, in_blocks: int = 64, out_blocks: int = 64,
                        tile_in: int = 16, tile_out: int = 16, shift: int = 8, seed: int = 0):
    """The blocked FC of VTA's tutorial, instruction for instruction as TVM's runtime emits it
    (vta-reference §10.2): result = clip((x · Wᵀ) >> shift, 0, 127).

    With the defaults (and the default configuration) this is the 142-instruction, 5-micro-op stream
    whose fsim statistics are :data:`TUTORIAL_COUNTERS`; smaller block counts give the same shape of
    program for slow backends.

    Returns
    -------
    (Program, bytes)
    """
    cfg = cfg or VTAConfig()
    if in_blocks % tile_in or out_blocks % tile_out:
        raise ValueError(f"in_blocks = {in_blocks} / out_blocks = {out_blocks} must be multiples of "
                         f"tile_in = {tile_in} / tile_out = {tile_out}")
    rng = np.random.default_rng(seed)
    A, W, inp, wgt = _gemm_data(cfg, rng, 1, in_blocks, out_blocks)
    n_oc, n_ic = out_blocks // tile_out, in_blocks // tile_in
    b = Builder(cfg)
    for _ in range(5):
        b.uop(0, 0, 0)                # reset, gemm, shr, max, min kernels: one zero micro-op each
    b.nop("store", push_prev=True)
    for oc in range(n_oc):
        if oc == 0:
            b.load_uop(0, 0, 1, pop_next=True)
            b.gemm(0, 1, iter_out=tile_out, dst=(1, 0), reset=True, push_prev=True)
        else:
            b.gemm(0, 1, iter_out=tile_out, dst=(1, 0), reset=True, pop_next=True, push_prev=True)
        for ic in range(n_ic):
            if oc > 0 and ic == 0:
                b.nop("load", pop_next=True)
            b.load(MemType.INP, 0, ic * tile_in, 1, tile_in, tile_in, pop_next=True)
            b.load(MemType.WGT, 0, oc * tile_out * in_blocks + ic * tile_in, tile_out, tile_in,
                   in_blocks, push_next=True)
            first = oc == 0 and ic == 0
            if first:
                b.load_uop(1, 1, 1, pop_prev=True)
            b.gemm(1, 2, iter_out=tile_out, iter_in=tile_in, dst=(1, 0), src=(0, 1),
                   wgt=(tile_in, 1), pop_prev=not first, push_prev=True)
        for j, (op, imm) in enumerate(((AluOp.SHR, shift), (AluOp.MAX, 0), (AluOp.MIN, 127))):
            if oc == 0:
                b.load_uop(2 + j, 2 + j, 1)
            b.alu(op, 2 + j, 3 + j, iter_in=tile_out, dst=(0, 1), src=(0, 1), imm=imm,
                  push_next=j == 2)
        for i in range(tile_out):
            b.store(i, oc * tile_out + i, 1, 1, 1, pop_prev=i == 0, push_prev=i == tile_out - 1)
    b.nop("store", push_prev=True)
    b.nop("load", pop_next=True)
    b.nop("load", push_next=True)
    b.nop("compute", pop_prev=True, pop_next=True)
    b.finish()
    res = np.clip((A @ W.T) >> shift, 0, 127)
    prog = b.program(inp=inp, wgt=wgt, out_elems=out_blocks, name="tutorial_fc")
    return prog, _low8(_pack_out(cfg, res, 1, out_blocks))


# -- bad programs ------------------------------------------------------------------------------------

def _tiny_prefix(b: Builder):
    """LOAD UOP + ALU over 1 acc entry: a harmless start for bad programs."""
    b.uop(0, 0, 0)
    b.load_uop(0, 0, 1)
    b.alu(AluOp.ADD, 0, 1, imm=1)


#: Kinds of illegal instruction :func:`illegal_program` builds.
ILLEGAL_KINDS = ("opcode5", "opcode6", "opcode7", "alu_opcode5", "alu_opcode6", "alu_opcode7",
                 "load_out", "load_acc8bit", "load_mem6", "load_mem7")


def illegal_program(cfg: VTAConfig, kind: str = "opcode7"):
    """A program whose instruction 2 is illegal (semantics.md §3), followed by a FINISH.

    Returns
    -------
    (Program, ExpectedError)
    """
    b = Builder(cfg)
    _tiny_prefix(b)
    if kind.startswith("opcode"):
        op = int(kind[-1])
        i = b.add_raw(layouts(cfg)["generic"].encode(opcode=op))
        frag = f"opcode {op}"
    elif kind.startswith("alu_opcode"):
        op = int(kind[-1])
        i = b.add(AluInsn(alu_opcode=op, uop_bgn=0, uop_end=1, iter_out=1, iter_in=1))
        frag = f"alu_opcode {op}"
    else:
        mt = {"load_out": 4, "load_acc8bit": 5, "load_mem6": 6, "load_mem7": 7}[kind]
        i = b.load(mt, 0, 0, 1, 1)
        frag = f"memory_type {mt}"
    b.finish()
    return (b.program(name=f"illegal_{kind}"),
            ExpectedError(ErrorCode.ILLEGAL_INSN, i, fsim_fragments=(f"illegal instruction {i}", frag)))


def deadlock_program(cfg: VTAConfig, kind: str = "compute"):
    """A program whose tokens can never be satisfied.

    ``kind``:
      * ``"compute"``: an ALU pops l2g that no load ever pushes;
      * ``"store"``: a STORE pops g2s that compute never pushes, and the FINISH waits for the store's s2g.

    Returns
    -------
    (Program, ExpectedError)
    """
    b = Builder(cfg)
    b.uop(0, 0, 0)
    b.load_uop(0, 0, 1)
    if kind == "compute":
        i = b.alu(AluOp.ADD, 0, 1, imm=1, pop_prev=True)
        b.finish()
        return b.program(name="deadlock_compute"), ExpectedError(
            ErrorCode.DEADLOCK, i, ("compute pops l2g",),
            (f"deadlock: compute pops l2g at instruction {i}",))
    if kind == "store":
        b.alu(AluOp.ADD, 0, 1, imm=1)
        s = b.store(0, 0, 1, 1, pop_prev=True, push_prev=True)
        f = b.finish(pop_next=True)
        return b.program(out_elems=1, name="deadlock_store"), ExpectedError(
            ErrorCode.DEADLOCK, f, ("compute pops s2g", "store pops g2s"),
            (f"deadlock: compute pops s2g at instruction {f}; store pops g2s at instruction {s}",))
    raise ValueError(f"kind = {kind!r}: 'compute' or 'store'")


def queue_full_program(cfg: VTAConfig, n_stores: int | None = None):
    """``n_stores`` STORE no-ops, the first popping g2s, followed (in program order) by the compute
    no-op that pushes it.  The store module holds the first, its queue takes ``cmd_queue_depth`` more;
    with ``n_stores >= cmd_queue_depth + 2`` fetch blocks on the full store queue before it reaches the
    push, a deadlock; with fewer the program finishes.

    Returns
    -------
    (Program, bytes | ExpectedError)
    """
    depth = cfg.cmd_queue_depth
    n = depth + 2 if n_stores is None else n_stores
    b = Builder(cfg)
    b.nop("store", pop_prev=True)
    for _ in range(n - 1):
        b.nop("store")
    b.nop("compute", push_next=True)
    b.finish()
    prog = b.program(name=f"queue_full_{n}")
    if n >= depth + 2:
        return prog, ExpectedError(
            ErrorCode.DEADLOCK, 0, ("store pops g2s", "fetch waits on full store queue"),
            ("deadlock: store pops g2s at instruction 0; "
             f"fetch waits on full store queue at instruction {depth + 1}",))
    return prog, b""


def token_full_program(cfg: VTAConfig):
    """Compute pushes g2s twice before it pops s2g; store pushes s2g twice before it pops g2s.  With a
    token queue depth of 1 both block on a full token queue (a deadlock); with 2 or more it finishes.

    Returns
    -------
    (Program, bytes | ExpectedError)
    """
    b = Builder(cfg)
    s0 = b.nop("store", push_prev=True)
    s1 = b.nop("store", push_prev=True)
    b.nop("store", pop_prev=True)
    b.nop("store", pop_prev=True)
    b.nop("compute", push_next=True)
    c1 = b.nop("compute", push_next=True)
    b.nop("compute", pop_next=True)
    b.nop("compute", pop_next=True)
    b.finish()
    prog = b.program(name="token_full")
    if cfg.token_queue_depth < 2:
        return prog, ExpectedError(
            ErrorCode.DEADLOCK, c1, ("compute pushes g2s", "store pushes s2g"),
            (f"deadlock: compute pushes g2s at instruction {c1}; store pushes s2g at instruction {s1}",))
    return prog, b""


def no_finish_program(cfg: VTAConfig):
    """Correctly synchronised instructions that run out before a FINISH.

    Returns
    -------
    (Program, ExpectedError)
    """
    b = Builder(cfg)
    _tiny_prefix(b)
    b.nop("compute", push_next=True)
    b.store(0, 0, 1, 1, pop_prev=True)
    prog = b.program(out_elems=1, name="no_finish")
    return prog, ExpectedError(ErrorCode.NO_FINISH, prog.n_insns, fsim_fragments=("no FINISH",))


#: Kinds of DRAM access :func:`dram_out_of_range_program` builds.
DRAM_KINDS = ("inp", "wgt", "acc", "uop", "out")


def dram_out_of_range_program(cfg: VTAConfig, kind: str = "inp"):
    """A LOAD (``kind`` inp / wgt / acc / uop) reading, or a STORE (``kind`` out) writing, one element
    past the end of its DRAM region (4 elements, rows of 2 with stride 3: elements 0..4, 1..5 hit).

    The functional model keeps each region in its own buffer and raises AXI_READ / AXI_WRITE; the
    cycle-level backends place the regions in one memory image (``sim/memimage.py``, 4 KiB-aligned),
    so there the access lands in padding and the run completes (``ExpectedError.fsim_only``).  The
    static checker refuses all of them.

    Returns
    -------
    (Program, ExpectedError)
    """
    B, BI, BO = cfg.batch, cfg.block_in, cfg.block_out
    b = Builder(cfg)
    data = {}
    b.uop(0, 0, 0)
    b.uop(0, 0, 0)
    b.uop(0, 0, 0)
    b.uop(0, 0, 0)
    b.load_uop(0, 0, 1)
    if kind == "uop":
        i = b.load_uop(0, 1, 4)
        code, frag = ErrorCode.AXI_READ, "uop elements 1..4"
    elif kind in ("inp", "wgt", "acc"):
        mt = {"inp": MemType.INP, "wgt": MemType.WGT, "acc": MemType.ACC}[kind]
        shape = {"inp": (B, BI), "wgt": (BO, BI), "acc": (B, BO)}[kind]
        data[kind] = np.ones((4,) + shape, np.int64)
        i = b.load(mt, 0, 0, 2, 2, 3, push_next=kind != "acc")
        code, frag = ErrorCode.AXI_READ, f"{kind} elements 0..4"
    elif kind == "out":
        b.alu(AluOp.ADD, 0, 1, imm=1, push_next=True)
        i = b.store(0, 1, 2, 2, 2, pop_prev=True)
        code, frag = ErrorCode.AXI_WRITE, "out elements 1..4"
    else:
        raise ValueError(f"kind = {kind!r}: one of {DRAM_KINDS}")
    b.finish()
    prog = b.program(out_elems=4, name=f"dram_{kind}", **data)
    return prog, ExpectedError(code, i, fsim_fragments=(f"instruction {i}", frag), fsim_only=True)


# -- a suite for cross-backend tests ----------------------------------------------------------------

def suite(cfg: VTAConfig):
    """A representative set of small good programs for ``cfg``: list of (name, Program, expected bytes).

    Sized for the cycle-level backends (each a few thousand cycles or less).
    """
    out = []
    for op in AluOp:
        p, e = alu_program(cfg, op, use_imm=True, compressed=True, rows=1, vector=4)
        out.append((p.meta["name"], p, e))
    p, e = alu_program(cfg, AluOp.ADD, use_imm=False, compressed=False, rows=2, vector=4, wide=True)
    out.append((p.meta["name"] + "_wide", p, e))
    p, e = alu_chain_program(cfg, [(AluOp.ADD, 30000), (AluOp.SHR, 15), (AluOp.SHR, 15)], vector=4)
    out.append(("alu_chain_wrap", p, e))
    for vt in (1, 2):
        p, e = blocked_gemm_program(cfg, m_blocks=1, k_blocks=2, n_blocks=2, tile_n=1, tile_k=1,
                                    virtual_threads=vt)
        out.append((p.meta["name"], p, e))
    p, e = blocked_gemm_program(cfg, m_blocks=2, k_blocks=2, n_blocks=2, tile_n=1, tile_k=2,
                                compressed=False)
    out.append((p.meta["name"], p, e))
    p, e = gemm_same_acc_program(cfg)
    out.append((p.meta["name"], p, e))
    for mem in ("inp", "wgt", "acc"):
        p, e = padded_load_program(cfg, mem, (1, 1, 1, 1), y_size=1, x_size=2)
        out.append((p.meta["name"], p, e))
    p, e = tutorial_fc_program(cfg, in_blocks=2, out_blocks=2, tile_in=1, tile_out=1)
    out.append(("tutorial_fc_small", p, e))
    return out
