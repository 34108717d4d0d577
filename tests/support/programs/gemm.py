"""Blocked GEMM programs in the style of VTA's ``blocked_gemm_test`` and the GEMM data helpers."""

from __future__ import annotations

import numpy as np

from hw.config import VTAConfig
from hw.isa import MemType
from .build import Builder, low8


# -- GEMM ---------------------------------------------------------------------------------------------

def gemm_data(cfg, rng, mb, kb, nb):
    """Random matrices A (mb*batch, kb*block_in), W (nb*block_out, kb*block_in) int8 and their packed
    element arrays (inp [m][k], wgt [n][k])."""
    B, BI, BO = cfg.batch, cfg.block_in, cfg.block_out
    A = rng.integers(-128, 128, (mb * B, kb * BI), dtype=np.int64)
    W = rng.integers(-128, 128, (nb * BO, kb * BI), dtype=np.int64)
    inp = A.reshape(mb, B, kb, BI).transpose(0, 2, 1, 3).reshape(mb * kb, B, BI)
    wgt = W.reshape(nb, BO, kb, BI).transpose(0, 2, 1, 3).reshape(nb * kb, BO, BI)
    return A, W, inp, wgt


def pack_out(cfg, C, mb, nb):
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
    A, W, inp, wgt = gemm_data(cfg, rng, mb, kb, nb)
    bias = rng.integers(-(1 << 20), 1 << 20, (mb * B, nb * BO), dtype=np.int64)
    acc = pack_out(cfg, bias, mb, nb)

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
    return prog, low8(pack_out(cfg, C, mb, nb))


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
    return prog, low8(acc)
