"""Padded LOADs of every side combination."""

from __future__ import annotations

import numpy as np

from hw.config import VTAConfig
from hw.isa import AluOp, MemType
from .build import Builder, low8


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
    return prog, low8(expected)
