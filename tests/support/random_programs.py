"""Random VTA programs for differential fuzzing: race-free by construction, over every instruction
field, in the shapes VTA's runtime and its hand-written tests emit.

A program is one to three *rounds* of the runtime's pipeline (vta-reference §3): a load phase (LOAD INP /
WGT), a compute phase (LOAD UOP / ACC, GEMM, ALU) and a store phase (STORE), chained by every token flag
the way the runtime's double buffering chains them:

* load pops g2l (``pop_next``) in every round but the first and pushes l2g (``push_next``) at its end;
* compute pops l2g (``pop_prev``) first, and s2g (``pop_next``) in every round but the first; at its end
  it pushes g2s (``push_next``) and, but in the last round, g2l (``push_prev``);
* store pops g2s (``pop_prev``) first and pushes s2g (``push_prev``), but in the last round.

So a module never touches an SRAM another module is still using, and the result does not depend on
timing.  Flags ride either on a real instruction (as the runtime puts them) or on a no-op (x_size 0, as
the hand-written tests do).  Fields take their corner values with some probability: zero sizes, empty
and reversed micro-op ranges, zero iterations, pads up to 15, strides past the row, dram_base at a
region's end, SRAM footprints ending at the depth, GEMM/ALU indices that wrap modulo the depth, every
ALU opcode with an immediate (including -32768, 32767 and negative shift amounts) or an acc operand,
GEMM resets, LOAD UOPs of any y_size.

:func:`mutate` then breaks such a program (bit flips, truncation, wild sizes) for the mutation fuzz.
"""

import random

import numpy as np

from hw.isa import AluOp, MemType, Opcode, decode_insn, layouts
from tests.support.programs import Builder

__all__ = ["random_program", "mutate", "REGION_ELEMS"]

#: Elements of each DRAM region of a random program.
REGION_ELEMS = {"inp": 48, "wgt": 48, "acc": 48, "uop": 32, "out": 64}


def random_program(cfg, seed: int):
    """The random program of ``seed`` for configuration ``cfg`` (deterministic)."""
    rng = random.Random(seed)
    E = REGION_ELEMS
    b = Builder(cfg)
    for _ in range(E["uop"]):
        b.uop(rng.randrange(cfg.acc_depth), rng.randrange(min(cfg.inp_depth, cfg.acc_depth)),
              rng.randrange(cfg.wgt_depth))
    depth = {"inp": cfg.inp_depth, "wgt": cfg.wgt_depth, "acc": cfg.acc_depth, "out": cfg.out_depth}

    def pick(choices, weights=None):
        return rng.choices(choices, weights)[0]

    def flags(module, first, last, r, rounds):
        """The token flags of the first / last instruction of ``module``'s phase in round ``r``."""
        f = {}
        more = r < rounds - 1
        if module == "load":
            if first and r > 0:
                f["pop_next"] = True
            if last:
                f["push_next"] = True
        elif module == "compute":
            if first:
                f["pop_prev"] = True
                if r > 0:
                    f["pop_next"] = True
            if last:
                f["push_next"] = True
                if more:
                    f["push_prev"] = True
        else:
            if first:
                f["pop_prev"] = True
            if last and more:
                f["push_prev"] = True
        return f

    def load2d(mem, **fl):
        y = pick([0, 1, 2, 3, 4], [1, 4, 3, 2, 1])
        x = pick([0, 1, 2, 3, 5, 8], [1, 4, 3, 2, 2, 1])
        stride = x + pick([0, 1, 3, 17], [6, 2, 2, 1])
        pads = [pick([0, 1, 2, 15], [10, 3, 2, 1]) for _ in range(4)]
        foot = lambda: (pads[0] + y + pads[1]) * (pads[2] + x + pads[3])
        while foot() > depth[mem]:
            pads[rng.randrange(4)] = 0
        while max(y - 1, 0) * stride + x > E[mem]:     # the rows must fit the region
            stride, y = (x, y) if stride > x else (stride, y - 1)
        rows = max(y - 1, 0) * stride + x
        top = max(E[mem] - rows, 0)
        dram = top if rng.random() < 0.2 else rng.randrange(top + 1)      # 0.2: ends at the region's end
        top = max(depth[mem] - foot(), 0)
        sram = top if rng.random() < 0.15 else rng.randrange(top + 1)     # ends at the depth
        m = {"inp": MemType.INP, "wgt": MemType.WGT, "acc": MemType.ACC}[mem]
        return b.load(m, sram, dram, y, x, stride, tuple(pads), **fl)

    def load_uop(**fl):
        n = rng.randrange(1, 9)
        sram = rng.randrange(cfg.uop_depth - n + 1)
        dram = rng.randrange(E["uop"] - n + 1)
        return b.load(MemType.UOP, sram, dram, pick([1, 2, 0], [6, 2, 1]), n, n, **fl)

    def loop_fields():
        bgn = rng.randrange(E["uop"])
        end = pick([bgn, bgn + 1, min(bgn + 3, E["uop"]), max(bgn - 1, 0), min(bgn + 8, E["uop"])],
                   [1, 4, 3, 1, 1])
        it = lambda: pick([0, 1, 2, 3, 7], [1, 4, 3, 2, 1])
        return bgn, end, it(), it()

    fmt = layouts(cfg)["gemm"]

    def fac(name):
        """(factor_out, factor_in) of ``name`` (dst, src, wgt); now and then the field's largest value."""
        one = lambda f: pick([0, 1, 2, 3, (1 << fmt[f].width) - 1], [3, 3, 2, 2, 1])
        return one(f"{name}_factor_out"), one(f"{name}_factor_in")

    def gemm(**fl):
        bgn, end, io, ii = loop_fields()
        return b.gemm(bgn, end, io, ii, fac("dst"), fac("src"), fac("wgt"), reset=rng.random() < 0.25, **fl)

    def alu(**fl):
        bgn, end, io, ii = loop_fields()
        op = rng.choice(list(AluOp))
        imm = pick([None, "small", "wide", -32768, 32767, -1], [4, 3, 2, 1, 1, 1])
        if imm == "small":
            imm = rng.randrange(-20, 20)
        elif imm == "wide":
            imm = rng.randrange(-32768, 32768)
        return b.alu(op, bgn, end, io, ii, fac("dst"), fac("src"), imm=imm, **fl)

    def store(**fl):
        y, x = pick([0, 1, 2, 3], [1, 4, 3, 1]), pick([0, 1, 3, 4], [1, 4, 3, 1])
        stride = x + pick([0, 2, 9, 40], [5, 2, 1, 1])
        while max(y - 1, 0) * stride + x > E["out"]:
            stride, y = (x, y) if stride > x else (stride, y - 1)
        top = max(E["out"] - (max(y - 1, 0) * stride + x), 0)
        dram = top if rng.random() < 0.2 else rng.randrange(top + 1)
        sram = rng.randrange(max(depth["out"] - y * x, 0) + 1)
        return b.store(sram, dram, y, x, stride, **fl)

    def phase(module, makers, n, r, rounds, prelude=None):
        """``n`` instructions of ``module`` from ``makers`` (after ``prelude``), the phase's token flags
        on the first and last (a real instruction or a no-op, at random)."""
        fl_first = flags(module, True, False, r, rounds)
        fl_last = flags(module, False, True, r, rounds)
        body = ([prelude] if prelude else []) + [rng.choice(makers) for _ in range(n)]
        if not body or rng.random() < 0.3:
            if fl_first:
                b.nop(module, **fl_first)
            fl_first = {}
        for k, make in enumerate(body):
            fl = dict(fl_first if k == 0 else {})
            if k == len(body) - 1 and rng.random() < 0.7:
                fl.update(fl_last)
                fl_last = {}
            make(**fl)
        if fl_last:
            b.nop(module, **fl_last)

    rounds = pick([1, 2, 3], [2, 2, 1])
    for r in range(rounds):
        phase("load", [lambda **f: load2d("inp", **f), lambda **f: load2d("wgt", **f)],
              rng.randrange(0, 5), r, rounds)
        # compute: the micro-op kernel first (the runtime loads it before the loops that use it)
        phase("compute", [lambda **f: load2d("acc", **f), load_uop, gemm, gemm, alu, alu, alu],
              rng.randrange(2, 9), r, rounds,
              prelude=lambda **f: b.load(MemType.UOP, 0, 0, 1, E["uop"], E["uop"], **f))
        phase("store", [store], rng.randrange(0, 4), r, rounds)
    b.finish()

    r = np.random.default_rng(seed)
    B, BI, BO = cfg.batch, cfg.block_in, cfg.block_out
    return b.program(inp=r.integers(-128, 128, (E["inp"], B, BI)), wgt=r.integers(-128, 128, (E["wgt"], BO, BI)),
                     acc=r.integers(-2**31, 2**31, (E["acc"], B, BO)),
                     out_init=r.integers(-128, 128, (E["out"], B, BO)), out_elems=E["out"],
                     name=f"random_{seed}", seed=seed)


#: Wild values of the size and index fields (mutation fuzz).
_WILD = {"x_size": [0, 1, 0xFFFF], "y_size": [0, 0xFFFF], "x_stride": [0, 0xFFFF],
         "sram_base": [0xFFFF], "dram_base": [0xFFFF_FFFF, 1 << 20],
         "y_pad_0": [15], "x_pad_1": [15], "iter_out": [0x3FFF], "iter_in": [0x3FFF],
         "uop_end": [0x3FFF, 0], "uop_bgn": [0x1FFF], "dst_factor_out": [0x7FF]}


def mutate(program, seed: int):
    """``program`` broken at random (deterministic in ``seed``): instruction bits flipped, the
    instruction stream truncated (perhaps before its FINISH), a size or index field set to a wild
    value, a region truncated.  Returns ``(program, what)``, ``what`` naming the mutations."""
    from sw.program import Program
    rng = random.Random(seed)
    cfg = program.config
    insns = bytearray(program.insns)
    regions = {k: getattr(program, k) for k in ("uop", "inp", "wgt", "acc")}
    n = len(insns) // 16
    what = []
    for _ in range(rng.randrange(1, 4)):
        kind = rng.choice(["flip", "flip", "truncate", "wild", "wild", "region"])
        if kind == "flip" and n:
            bit = rng.randrange(n * 128)
            insns[bit // 8] ^= 1 << bit % 8
            what.append(f"flip insn {bit // 128} bit {bit % 128}")
        elif kind == "truncate" and n:
            n = rng.randrange(n + 1)
            del insns[16 * n:]
            what.append(f"truncate to {n} insns")
        elif kind == "wild" and n:
            i = rng.randrange(n)
            word = int.from_bytes(insns[16 * i:16 * i + 16], "little")
            insn = decode_insn(word, cfg)
            fmt = {Opcode.LOAD: "mem", Opcode.STORE: "mem", Opcode.GEMM: "gemm", Opcode.ALU: "alu"}.get(
                insn.opcode)
            if fmt is None:
                continue
            fields = [f for f in _WILD if f in layouts(cfg)[fmt].fields]
            name = rng.choice(fields)
            f = layouts(cfg)[fmt][name]
            value = rng.choice(_WILD[name]) & ((1 << f.width) - 1)
            word = word & ~(((1 << f.width) - 1) << f.offset) | value << f.offset
            insns[16 * i:16 * i + 16] = word.to_bytes(16, "little")
            what.append(f"insn {i} {name} = {value}")
        elif kind == "region":
            name = rng.choice(list(regions))
            eb = cfg.elem_bytes(name)
            keep = rng.randrange(len(regions[name]) // eb + 1) if regions[name] else 0
            regions[name] = regions[name][:keep * eb]
            what.append(f"{name} region cut to {keep} elements")
    return (Program(config=cfg, insns=bytes(insns), out_init=program.out_init, out_elems=program.out_elems,
                    meta=dict(program.meta), **regions), "; ".join(what) or "unchanged")
