"""ALU programs in the style of VTA's ``alu_test`` (vta-reference §11)."""

from __future__ import annotations

import numpy as np

from hw.config import VTAConfig
from hw.isa import AluOp, MemType
from .build import Builder, alu_ref, low8


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
    return prog, low8(np.stack(expected))


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
    return b.program(acc=acc, out_elems=vector, name="alu_chain"), low8(v)
