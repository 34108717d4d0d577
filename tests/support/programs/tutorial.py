"""The seed tutorial's blocked FC, written instruction by instruction (vta-reference §10)."""

from __future__ import annotations

import numpy as np

from hw.config import VTAConfig
from hw.isa import AluOp, MemType
from .build import Builder, low8
from .gemm import gemm_data, pack_out


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
    A, W, inp, wgt = gemm_data(cfg, rng, 1, in_blocks, out_blocks)
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
    return prog, low8(pack_out(cfg, res, 1, out_blocks))
