"""Random VTA programs with edge-case fields (zero sizes, empty loops, pads, wrap-around indices, every
ALU op, negative shifts), race-free by construction."""

import random

import numpy as np

from hw.isa import AluOp, MemType
from tests.support.programs import Builder

__all__ = ["random_program"]


def random_program(cfg, seed: int):
    """Load phase (INP/WGT loads, then l2g) → compute phase (uop/acc loads, GEMM, ALU; then g2s) →
    store phase (STOREs), FINISH.  Within a phase everything runs in program order, so the result does
    not depend on timing."""
    rng = random.Random(seed)
    B, BI, BO = cfg.batch, cfg.block_in, cfg.block_out
    n_inp, n_wgt, n_acc, n_uop, n_out = 48, 24, 48, 32, 64
    b = Builder(cfg)
    for _ in range(n_uop):
        b.uop(rng.randrange(cfg.acc_depth), rng.randrange(min(cfg.inp_depth, cfg.acc_depth)),
              rng.randrange(cfg.wgt_depth))

    def load2d(mem, n_elems, depth, **flags):
        y, x = rng.choice([0, 1, 2, 3]), rng.choice([0, 1, 2, 5])
        stride = x + rng.choice([0, 0, 1, 3])
        pads = tuple(rng.choice([0, 0, 1, 2]) for _ in range(4))
        rows = max(y - 1, 0) * stride + x
        dram = rng.randrange(max(n_elems - rows, 0) + 1)
        foot = (pads[0] + y + pads[1]) * (pads[2] + x + pads[3])
        sram = rng.randrange(max(depth - foot, 0) + 1)
        return b.load(mem, sram, dram, y, x, stride, pads, **flags)

    for _ in range(rng.randrange(1, 5)):
        load2d(rng.choice([MemType.INP, MemType.WGT]), n_inp, min(cfg.inp_depth, cfg.wgt_depth))
    b.nop("load", push_next=True)

    b.load_uop(0, 0, n_uop, pop_prev=True)
    for _ in range(rng.randrange(3, 9)):
        kind = rng.random()
        if kind < 0.2:
            load2d(MemType.ACC, n_acc, cfg.acc_depth)
        elif kind < 0.3:
            n = rng.randrange(1, 8)
            b.load_uop(rng.randrange(cfg.uop_depth - n), rng.randrange(n_uop - n + 1), n)
        else:
            bgn = rng.randrange(n_uop)
            end = rng.choice([bgn, bgn + 1, min(bgn + 3, n_uop), max(bgn - 1, 0)])
            f = lambda: (rng.randrange(4), rng.randrange(4))
            it = lambda: rng.choice([0, 1, 2, 3])
            if kind < 0.65:
                b.gemm(bgn, end, it(), it(), f(), f(), f(), reset=rng.random() < 0.3)
            else:
                op = rng.choice(list(AluOp))
                imm = rng.choice([None, rng.randrange(-20, 20), rng.randrange(-32768, 32768)])
                b.alu(op, bgn, end, it(), it(), f(), f(), imm=imm)
    b.nop("compute", push_next=True)

    b.nop("store", pop_prev=True)
    for _ in range(rng.randrange(1, 4)):
        y, x = rng.choice([0, 1, 2]), rng.choice([0, 1, 3])
        stride = x + rng.choice([0, 2])
        dram = rng.randrange(max(n_out - (max(y - 1, 0) * stride + x), 0) + 1)
        b.store(rng.randrange(cfg.out_depth - y * x), dram, y, x, stride)
    b.finish()

    r = np.random.default_rng(seed)
    return b.program(inp=r.integers(-128, 128, (n_inp, B, BI)), wgt=r.integers(-128, 128, (n_wgt * 2, BO, BI)),
                     acc=r.integers(-2**31, 2**31, (n_acc, B, BO)),
                     out_init=r.integers(-128, 128, (n_out, B, BO)), out_elems=n_out,
                     name=f"random_{seed}")
