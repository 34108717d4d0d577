"""Tests of the GEMM core and tensor ALU (``hw/compute/tensor.py``) in Amaranth's simulator.

Every expected value comes from :func:`reference`, an independent numpy model of vta-reference §6/§7 as
decided by semantics.md §3.  The testbench models the inp, wgt and out SRAMs (synchronous reads), loads
micro-ops and accumulators through the core's ``uop_wr``/``acc_wr`` ports, runs instructions and reads
the acc SRAM and the out SRAM back.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from amaranth.hdl import Elaboratable, MemoryData, Module, unsigned
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator

from hw.compute import TensorCore
from hw.compute.tensor import DRAIN_CYCLES
from hw.isa import MUL_CYCLES
from hw.config import VTAConfig
from hw.isa import AluInsn, AluOp, GemmInsn, Uop

DEFAULT = VTAConfig()
SMALL = VTAConfig(log_batch=1, log_block=3, log_inp_buff_size=13, log_wgt_buff_size=15,
                  log_acc_buff_size=15)
# inp shallower than acc: the GEMM src index wraps at 256 while the ALU's wraps at 1024
NARROW = VTAConfig(log_block=3, log_inp_buff_size=11, log_wgt_buff_size=15, log_acc_buff_size=15)
CONFIGS = [pytest.param(DEFAULT, id="default"), pytest.param(SMALL, id="b2x8")]

MAX_CYCLES = 20_000      # bound of every wait on the core


# -- packing numpy arrays into SRAM words (lane j of an element at bits [j*w, (j+1)*w)) ------------------

def pack(arr: np.ndarray, dtype: str) -> list[int]:
    """Rows of ``arr`` (first axis = SRAM index, the rest row-major lanes) as little-endian integers."""
    flat = np.ascontiguousarray(arr.reshape(arr.shape[0], -1).astype(dtype))
    return [int.from_bytes(row.tobytes(), "little") for row in flat]


def unpack(words: list[int], shape: tuple, dtype: str) -> np.ndarray:
    """The inverse of :func:`pack`: integers to an array of ``shape`` (first axis = index)."""
    nbytes = int(np.prod(shape[1:])) * np.dtype(dtype).itemsize
    buf = b"".join(int(w).to_bytes(nbytes, "little") for w in words)
    return np.frombuffer(buf, dtype=dtype).reshape(shape).copy()


def wrap32(v: np.ndarray) -> np.ndarray:
    return ((v.astype(np.int64) + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int64)


# -- the independent numpy model ------------------------------------------------------------------------

def reference(cfg, insn, uops, inp, wgt, acc, out):
    """Apply one GEMM or ALU instruction to numpy state in place.

    ``inp`` (inp_depth, batch, block_in), ``wgt`` (wgt_depth, block_out, block_in), ``acc`` (acc_depth,
    batch, block_out) int64, ``out`` (acc_depth, batch, block_out) int64 holding int8 values.
    """
    n = max(insn.uop_end - insn.uop_bgn, 0)
    for i_out in range(insn.iter_out):
        for i_in in range(insn.iter_in):
            for k in range(insn.uop_bgn, insn.uop_bgn + n):
                u = uops[k % cfg.uop_depth]
                dst = (u.dst_idx + i_out * insn.dst_factor_out + i_in * insn.dst_factor_in) % cfg.acc_depth
                src = u.src_idx + i_out * insn.src_factor_out + i_in * insn.src_factor_in
                if isinstance(insn, GemmInsn):
                    if insn.reset_reg:
                        acc[dst] = 0
                        continue
                    w = (u.wgt_idx + i_out * insn.wgt_factor_out + i_in * insn.wgt_factor_in) % cfg.wgt_depth
                    dot = inp[src % cfg.inp_depth].astype(np.int64) @ wgt[w].astype(np.int64).T
                    acc[dst] = wrap32(acc[dst] + dot)
                else:
                    x = acc[dst].copy()
                    y = np.full_like(x, insn.imm) if insn.use_imm else acc[src % cfg.acc_depth].copy()
                    acc[dst] = alu_ref(insn.alu_opcode, x, y)
                out[dst] = ((acc[dst] + 128) % 256) - 128


def alu_ref(op, x, y):
    """One ALU operation on int64 arrays holding int32 values (semantics.md §3)."""
    if op == AluOp.MIN:
        return np.minimum(x, y)
    if op == AluOp.MAX:
        return np.maximum(x, y)
    if op == AluOp.ADD:
        return wrap32(x + y)
    if op == AluOp.SHR:
        s = y & 31
        s = np.where(s >= 16, s - 32, s)
        right = x >> np.maximum(s, 0)
        left = wrap32(x << np.maximum(-s, 0))     # x < 2^31, shift <= 16: fits in int64
        return np.where(s >= 0, right, left)
    if op == AluOp.MUL:
        return wrap32(x * y)                      # |x*y| <= 2^62: exact in int64
    raise ValueError(f"alu op {op} has no reference")


# -- the testbench --------------------------------------------------------------------------------------

class Bench(Elaboratable):
    """A :class:`TensorCore` with modelled inp, wgt (synchronous read) and out SRAMs."""

    def __init__(self, cfg, inp, wgt, out, pack_products=True):
        self.cfg = cfg
        self.core = TensorCore(cfg, pack_products=pack_products)
        self.inp = MemoryData(shape=unsigned(cfg.inp_elem_bits), depth=cfg.inp_depth, init=pack(inp, "<i1"))
        self.wgt = MemoryData(shape=unsigned(cfg.wgt_elem_bits), depth=cfg.wgt_depth, init=pack(wgt, "<i1"))
        self.out = MemoryData(shape=unsigned(cfg.out_elem_bits), depth=cfg.out_depth, init=pack(out, "<i1"))

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.core
        for name in ("inp", "wgt"):
            m.submodules[name] = mem = Memory(getattr(self, name))
            rd, port = mem.read_port(), getattr(core, f"{name}_rd")
            m.d.comb += [rd.addr.eq(port.addr), rd.en.eq(port.en), port.data.eq(rd.data)]
        m.submodules.out = mem = Memory(self.out)
        wr = mem.write_port()
        m.d.comb += [wr.addr.eq(core.out_wr.addr), wr.data.eq(core.out_wr.data), wr.en.eq(core.out_wr.en)]
        return m


class Harness:
    """Random SRAM contents, the numpy model, and a simulation that runs a list of instructions.

    ``acc_init`` rows are written through ``acc_wr`` (the rest of acc starts at zero); ``uops`` through
    ``uop_wr``.  After :meth:`run`, ``self.stats`` holds per-instruction cycle and strobe counts.
    """

    def __init__(self, cfg, seed, acc_rows=None, acc_range=(-2**31, 2**31), pack_products=True):
        self.cfg = cfg
        self.pack_products = pack_products
        rng = self.rng = np.random.default_rng(seed)
        c = cfg
        self.inp = rng.integers(-128, 128, (c.inp_depth, c.batch, c.block_in), dtype=np.int64)
        self.wgt = rng.integers(-128, 128, (c.wgt_depth, c.block_out, c.block_in), dtype=np.int64)
        self.out = rng.integers(-128, 128, (c.out_depth, c.batch, c.block_out), dtype=np.int64)
        self.acc = np.zeros((c.acc_depth, c.batch, c.block_out), dtype=np.int64)
        self.acc_rows = list(range(min(c.acc_depth, 64))) if acc_rows is None else list(acc_rows)
        self.acc[self.acc_rows] = rng.integers(*acc_range, (len(self.acc_rows), c.batch, c.block_out))
        self.stats = []

    def run(self, uops, insns, *, poll=True, uop_base=0, overlap=False):
        """Simulate ``insns`` back to back; check acc and out against the model; return the bench.

        With ``overlap``, each instruction starts as soon as ``ready`` allows, while the one before
        drains, and ``self.stats`` holds one entry for the whole sequence: ``cycles`` from the first
        start to the first cycle ``busy`` is 0."""
        cfg = self.cfg
        bench = Bench(cfg, self.inp, self.wgt, self.out, self.pack_products)
        core = bench.core
        acc_words = pack(self.acc[self.acc_rows], "<i4")
        uop_words = [u.encode(cfg) for u in uops]
        insn_words = [i.encode(cfg) for i in insns]

        async def testbench(ctx):
            lanes = cfg.uop_lanes                 # micro-op k: lane k % lanes of word k // lanes
            for i, w in enumerate(uop_words):
                k = (uop_base + i) % cfg.uop_depth
                ctx.set(core.uop_wr.addr, k // lanes)
                ctx.set(core.uop_wr.data, w << (32 * (k % lanes)))
                ctx.set(core.uop_wr.en, 1 << (k % lanes))
                await ctx.tick()
            ctx.set(core.uop_wr.en, 0)
            for row, w in zip(self.acc_rows, acc_words):
                ctx.set(core.acc_wr.addr, row)
                ctx.set(core.acc_wr.data, w)
                ctx.set(core.acc_wr.en, 1)
                await ctx.tick()
            ctx.set(core.acc_wr.en, 0)
            if overlap:
                cycles = 0
                for word in insn_words:
                    while not ctx.get(core.ready):
                        await ctx.tick()
                        cycles += 1
                        assert cycles < MAX_CYCLES * len(insn_words), "core never ready"
                    ctx.set(core.insn, word)
                    ctx.set(core.start, 1)
                    await ctx.tick()
                    cycles += 1
                    ctx.set(core.start, 0)
                while ctx.get(core.busy):
                    await ctx.tick()
                    cycles += 1
                    assert cycles < MAX_CYCLES * len(insn_words), "core still busy"
                self.stats.append({"cycles": cycles})
            for word in ([] if overlap else insn_words):
                ctx.set(core.insn, word)
                ctx.set(core.start, 1)
                await ctx.tick()
                ctx.set(core.start, 0)
                st = dict(cycles=1, gemm_active=0, alu_active=0, acc_wr_strobe=0, out_wr=0, busy=0)
                if poll:
                    while True:
                        busy, g, a, s, o = (ctx.get(core.busy), ctx.get(core.gemm_active),
                                            ctx.get(core.alu_active), ctx.get(core.acc_wr_strobe),
                                            ctx.get(core.out_wr.en))
                        st["gemm_active"] += g
                        st["alu_active"] += a
                        st["acc_wr_strobe"] += s
                        st["out_wr"] += o
                        st["busy"] += busy
                        if not busy:
                            break
                        assert st["cycles"] < MAX_CYCLES, f"core still busy after {MAX_CYCLES} cycles"
                        await ctx.tick()
                        st["cycles"] += 1
                else:
                    # The core runs by itself; the testbench only waits for busy to fall.
                    t0 = time.perf_counter()
                    await ctx.tick().until(~core.busy)
                    st["wall"] = time.perf_counter() - t0
                self.stats.append(st)
            self.acc_hw = [ctx.get(core.acc_mem[i]) for i in range(cfg.acc_depth)]
            self.out_hw = [ctx.get(bench.out[i]) for i in range(cfg.out_depth)]

        sim = Simulator(bench)
        sim.add_clock(1e-8)
        sim.add_testbench(testbench)
        t0 = time.perf_counter()
        bound = MAX_CYCLES * (len(insns) + 1) + len(uops) + len(self.acc_rows)
        for _ in range(4 * bound):                   # a few time steps per cycle; stops when done
            if not sim.advance():
                break
        self.wall = time.perf_counter() - t0
        assert hasattr(self, "out_hw"), "testbench did not finish within its time bound"

        for insn in insns:
            reference(cfg, insn, uops_at(uops, uop_base, cfg), self.inp, self.wgt, self.acc, self.out)
        c = cfg
        acc_hw = unpack(self.acc_hw, (c.acc_depth, c.batch, c.block_out), "<i4").astype(np.int64)
        out_hw = unpack(self.out_hw, (c.out_depth, c.batch, c.block_out), "<i1").astype(np.int64)
        bad = np.argwhere((acc_hw != self.acc).any(axis=(1, 2)))
        assert not len(bad), (f"acc differs at indices {bad.ravel()[:8].tolist()}: first "
                              f"hw {acc_hw[bad[0, 0]].tolist()} ref {self.acc[bad[0, 0]].tolist()}")
        bad = np.argwhere((out_hw != self.out).any(axis=(1, 2)))
        assert not len(bad), (f"out differs at indices {bad.ravel()[:8].tolist()}: first "
                              f"hw {out_hw[bad[0, 0]].tolist()} ref {self.out[bad[0, 0]].tolist()}")
        return bench


def uops_at(uops, base, cfg):
    """The uop SRAM as a dict index -> Uop after writing ``uops`` from ``base`` (wrapping)."""
    table = {(base + i) % cfg.uop_depth: u for i, u in enumerate(uops)}
    return _Table(table)


class _Table(dict):
    def __getitem__(self, k):
        return dict.get(self, k, Uop(0, 0, 0))


def rand_uops(rng, cfg, n, dst_max=None, src_max=None, wgt_max=None, alu=False):
    dst_max = dst_max or cfg.acc_depth
    src_max = src_max or (cfg.acc_depth if alu else cfg.inp_depth)
    wgt_max = wgt_max or cfg.wgt_depth
    return [Uop(int(rng.integers(dst_max)), int(rng.integers(src_max)), int(rng.integers(wgt_max)))
            for _ in range(n)]


# -- tests ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pack_products", [True, False], ids=["packed", "unpacked"])
@pytest.mark.parametrize("cfg", CONFIGS + [pytest.param(NARROW, id="b1x8-inp256")])
def test_gemm_loops_factors_wrap_and_reset(cfg, pack_products):
    """GEMM with two loops, factors on every index, indices that wrap, then a reset GEMM, then an ALU
    whose indices wrap; with two products per multiplier and with one."""
    h = Harness(cfg, seed=1, acc_rows=range(cfg.acc_depth - 8, cfg.acc_depth), pack_products=pack_products)
    rng = h.rng
    # uop indices near the top of each SRAM and factors that push them past the end: they wrap
    uops = [Uop(cfg.acc_depth - 1 - int(rng.integers(4)), cfg.inp_depth - 1 - int(rng.integers(4)),
                cfg.wgt_depth - 1 - int(rng.integers(4))) for _ in range(3)]
    gemm = GemmInsn(uop_bgn=0, uop_end=3, iter_out=3, iter_in=2,
                    dst_factor_out=5, dst_factor_in=1, src_factor_out=7, src_factor_in=3,
                    wgt_factor_out=2, wgt_factor_in=9)
    reset = GemmInsn(reset_reg=True, uop_bgn=1, uop_end=2, iter_out=2, iter_in=2,
                     dst_factor_out=3, dst_factor_in=1)
    # accumulate again on top of the reset entries: the reset must have left zeros in acc
    again = GemmInsn(uop_bgn=1, uop_end=3, iter_out=1, iter_in=1)
    # an ALU whose dst and src (acc indices) wrap past the end of acc
    uops.append(Uop(cfg.acc_depth - 2, cfg.acc_depth - 1))
    alu = AluInsn(alu_opcode=AluOp.ADD, uop_bgn=3, uop_end=4, iter_out=2, iter_in=3,
                  dst_factor_out=1, dst_factor_in=2, src_factor_out=3, src_factor_in=1)
    h.run(uops, [gemm, reset, again, alu])
    assert [s["out_wr"] for s in h.stats] == [18, 0, 2, 6]      # a reset GEMM does not write out
    assert [s["acc_wr_strobe"] for s in h.stats] == [18, 4, 2, 6]


@pytest.mark.parametrize("pack_products", [True, False], ids=["packed", "unpacked"])
@pytest.mark.parametrize("cfg", CONFIGS)
def test_gemm_back_to_back_same_entry(cfg, pack_products):
    """Consecutive micro-ops accumulating into one acc entry (the tutorial's 16-step GEMM), and random
    micro-ops over four entries so that every hazard distance (1, 2, 3, 4) occurs; with two products
    per multiplier and with one."""
    h = Harness(cfg, seed=2, acc_range=(-2**20, 2**20), pack_products=pack_products)
    rng = h.rng
    tutorial = GemmInsn(uop_bgn=0, uop_end=1, iter_out=2, iter_in=16, dst_factor_out=1, dst_factor_in=0,
                        src_factor_out=0, src_factor_in=1, wgt_factor_out=16, wgt_factor_in=1)
    uops = [Uop(3, 0, 0)] + rand_uops(rng, cfg, 24, dst_max=4)
    mixed = GemmInsn(uop_bgn=1, uop_end=25, iter_out=1, iter_in=2, src_factor_in=1, wgt_factor_in=1)
    h.run(uops, [tutorial, mixed])


@pytest.mark.parametrize("cfg", CONFIGS + [pytest.param(NARROW, id="b1x8-inp256")])
def test_alu_back_to_back_src_written_before(cfg):
    """ALU micro-ops whose src (and dst) is a dst written one, two or three micro-ops earlier."""
    h = Harness(cfg, seed=3, acc_rows=range(8), acc_range=(-2**12, 2**12))
    rng = h.rng
    uops = [Uop(1, 0), Uop(2, 1), Uop(3, 2), Uop(3, 3), Uop(0, 3), Uop(2, 2)]
    uops += rand_uops(rng, cfg, 20, dst_max=4, src_max=4, alu=True)
    n = len(uops)
    insns = [AluInsn(alu_opcode=AluOp.ADD, uop_bgn=0, uop_end=n, iter_out=1, iter_in=1),
             AluInsn(alu_opcode=AluOp.MAX, uop_bgn=6, uop_end=n, iter_out=1, iter_in=1),
             AluInsn(alu_opcode=AluOp.SHR, use_imm=True, imm=1, uop_bgn=0, uop_end=n, iter_out=1,
                     iter_in=2, dst_factor_in=1),
             # a chain along acc: acc[i+1] = acc[i+1] + acc[i] for i = 0..5
             AluInsn(alu_opcode=AluOp.ADD, uop_bgn=0, uop_end=1, iter_out=2, iter_in=3,
                     dst_factor_out=3, dst_factor_in=1, src_factor_out=3, src_factor_in=1)]
    h.run(uops, insns)


ALU_OPS = [AluOp.MIN, AluOp.MAX, AluOp.ADD, AluOp.SHR, AluOp.MUL]


@pytest.mark.parametrize("use_imm", [True, False], ids=["imm", "acc"])
@pytest.mark.parametrize("op", ALU_OPS, ids=[o.name for o in ALU_OPS])
def test_alu_op(op, use_imm):
    """Every ALU op, with an immediate and with an acc operand, on the small configuration (the lane
    logic is the same for every configuration); SHR amounts include -16, -1, 0 and 15."""
    cfg = SMALL
    h = Harness(cfg, seed=10 + 2 * op + use_imm, acc_rows=range(16))
    rng = h.rng
    if op == AluOp.SHR and not use_imm:
        # acc[8..15] are the amounts: random 32-bit values whose low 5 bits cover -16..15 ...
        amounts = h.acc[8:16]
        amounts[:4] = (amounts[:4] & ~31) | np.array([16, 15, 31, 0]).reshape(4, 1, 1)   # -16, 15, -1, 0
    uops = [Uop(i, 8 + i) for i in range(8)]
    if use_imm:
        imms = {AluOp.SHR: [-16, 15, -1, 0, 5, -7, 20, -20, 0x7FF0, -0x7FE1]}.get(
            op, [int(v) for v in rng.integers(-2**15, 2**15, 4)] + [-2**15, 2**15 - 1])
        insns = [AluInsn(alu_opcode=op, use_imm=True, imm=imm, uop_bgn=0, uop_end=8, iter_out=1,
                         iter_in=1) for imm in imms]
    else:
        insns = [AluInsn(alu_opcode=op, uop_bgn=0, uop_end=8, iter_out=1, iter_in=1)]
        if op != AluOp.SHR:
            # then small operands too, so that MIN/MAX/ADD see ties and MUL non-overflowing values
            insns.append(AluInsn(alu_opcode=op, uop_bgn=0, uop_end=4, iter_out=1, iter_in=1,
                                 src_factor_in=0))
    h.run(uops, insns)
    assert all(s["alu_active"] == s["acc_wr_strobe"] == s["out_wr"] for s in h.stats)


def test_alu_mul_overflow_and_shr_extremes():
    """MUL of values whose product overflows 32 bits, and SHR of extreme values by -16 and 15."""
    cfg = SMALL
    h = Harness(cfg, seed=20, acc_rows=range(8))
    lanes = cfg.batch * cfg.block_out
    big = np.array([2**31 - 1, -2**31, 65537, -65537, 123456789, -987654321, 2**16, -2**15]
                   + [3] * (lanes - 8))[:lanes].reshape(cfg.batch, cfg.block_out)
    h.acc[0], h.acc[1] = big, big[:, ::-1]
    h.acc[2], h.acc[3] = big, big
    uops = [Uop(4, 0), Uop(4, 1), Uop(5, 2)]
    h.acc[4], h.acc[5] = big, big
    insns = [AluInsn(alu_opcode=AluOp.MUL, uop_bgn=0, uop_end=2, iter_out=1, iter_in=1),
             AluInsn(alu_opcode=AluOp.SHR, use_imm=True, imm=-16, uop_bgn=2, uop_end=3, iter_out=1,
                     iter_in=1, dst_factor_in=0),
             AluInsn(alu_opcode=AluOp.SHR, use_imm=True, imm=15, uop_bgn=0, uop_end=1, iter_out=1,
                     iter_in=1, dst_factor_out=0, dst_factor_in=0)]
    h.run(uops, insns)
    assert (np.abs(big.astype(np.int64) * big[:, ::-1]) >= 2**31).any()   # the test data overflows


MUL_CORNERS = [0, 1, -1, 2, 2**31 - 1, -2**31, 2**15 - 1, -2**15, 2**16 - 1, 2**16, -2**16 - 1,
               0x5A5A5A5A]
MUL_IMMS = [0, 1, -1, 2, 2**15 - 1, -2**15, 0x5A5A]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_alu_mul_corners_back_to_back_and_cycles(cfg):
    """MUL over every pair of corner values (0, 1, -1, the int32 and int16 extremes, 2^16 +- 1) with an
    acc operand, and of each corner by each corner immediate; MUL micro-ops that read what the one, two
    or three before wrote (on odd values); ADD and MAX right after a MUL.  A MUL micro-op takes MUL_CYCLES cycles, every
    other one cycle: busy lasts MUL_CYCLES * n + DRAIN_CYCLES (n + DRAIN_CYCLES) cycles for n micro-op
    iterations."""
    lanes = cfg.batch * cfg.block_out
    n, ni = len(MUL_CORNERS), len(MUL_IMMS)
    assert lanes >= n
    base = 2 * n + ni                          # rows base..base+3: the back-to-back chain (random)
    h = Harness(cfg, seed=30, acc_rows=range(base + 4))
    c = np.array(MUL_CORNERS, dtype=np.int64)
    shape = (cfg.batch, cfg.block_out)
    # rows 0..n-1: x, lane l = corner l mod n; rows n..2n-1: y, lane l = corner (l + i) mod n, so the
    # products of rows i and n + i over all i cover every pair; rows 2n..2n+ni-1: x, one per immediate
    for i in range(n):
        h.acc[i] = c[np.arange(lanes) % n].reshape(shape)
        h.acc[n + i] = c[(np.arange(lanes) + i) % n].reshape(shape)
    h.acc[2 * n:2 * n + ni] = h.acc[0]
    h.acc[base:base + 4] |= 1       # odd: products of odd numbers never vanish mod 2^32, nor hide an error
    uops = [Uop(i, n + i) for i in range(n)] + [Uop(2 * n + j, 0) for j in range(ni)]
    b0 = len(uops)
    uops += [Uop(base + 1, base), Uop(base + 2, base + 1), Uop(base + 3, base + 2), Uop(base + 3, base + 3),
             Uop(base, base + 3), Uop(base + 2, base + 2), Uop(base + 1, base), Uop(base, base + 1)]
    uops += [Uop(base + int(d), base + int(s)) for d, s in h.rng.integers(4, size=(12, 2))]
    mul = AluInsn(alu_opcode=AluOp.MUL, uop_bgn=0, uop_end=n, iter_out=1, iter_in=1)
    imms = [AluInsn(alu_opcode=AluOp.MUL, use_imm=True, imm=imm, uop_bgn=n + j, uop_end=n + j + 1,
                    iter_out=1, iter_in=1) for j, imm in enumerate(MUL_IMMS)]
    chain = AluInsn(alu_opcode=AluOp.MUL, uop_bgn=b0, uop_end=len(uops), iter_out=2, iter_in=1)
    add = AluInsn(alu_opcode=AluOp.ADD, use_imm=True, imm=2, uop_bgn=b0, uop_end=len(uops), iter_out=1,
                  iter_in=1)
    mx = AluInsn(alu_opcode=AluOp.MAX, use_imm=True, imm=-7, uop_bgn=b0, uop_end=len(uops), iter_out=1,
                 iter_in=1)
    # the same entry multiplied by an immediate twice in a row (the bypass of S4 into S3)
    twice = AluInsn(alu_opcode=AluOp.MUL, use_imm=True, imm=-3, uop_bgn=b0, uop_end=b0 + 1, iter_out=1,
                    iter_in=2)
    noop = AluInsn(alu_opcode=AluOp.MUL, uop_bgn=3, uop_end=3, iter_out=1, iter_in=1)
    insns = [mul, *imms, chain, add, chain, mx, twice, noop, chain]
    h.run(uops, insns)
    for insn, st in zip(insns, h.stats):
        k = insn.n_uop_iters
        per_uop = MUL_CYCLES if insn.alu_opcode == AluOp.MUL else 1
        assert st["busy"] == (per_uop * k + DRAIN_CYCLES if k else 1), (insn, st)
        assert st["alu_active"] == st["acc_wr_strobe"] == st["out_wr"] == k, (insn, st)


def test_uop_index_wraps():
    """Micro-ops at the top of the uop SRAM: uop_end beyond the depth wraps to the bottom."""
    cfg = SMALL
    h = Harness(cfg, seed=7)
    uops = rand_uops(h.rng, cfg, 4, dst_max=16) + rand_uops(h.rng, cfg, 2, dst_max=16, alu=True)
    top = cfg.uop_depth - 2
    insns = [GemmInsn(uop_bgn=top, uop_end=top + 4, iter_out=2, iter_in=1, dst_factor_out=1,
                      src_factor_out=1, wgt_factor_out=1),
             AluInsn(alu_opcode=AluOp.ADD, uop_bgn=2, uop_end=4, iter_out=1, iter_in=2, dst_factor_in=1)]
    h.run(uops, insns, uop_base=top)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_zero_iterations_are_noops(cfg):
    """iter_out = 0, iter_in = 0 and uop_end <= uop_bgn do nothing; busy lasts one cycle."""
    h = Harness(cfg, seed=4)
    uops = rand_uops(h.rng, cfg, 4, dst_max=8)
    insns = [GemmInsn(uop_bgn=0, uop_end=4, iter_out=0, iter_in=3),
             GemmInsn(uop_bgn=0, uop_end=4, iter_out=2, iter_in=0),
             GemmInsn(uop_bgn=3, uop_end=3, iter_out=2, iter_in=2),
             AluInsn(alu_opcode=AluOp.ADD, uop_bgn=3, uop_end=1, iter_out=1, iter_in=1),
             GemmInsn(reset_reg=True, uop_bgn=2, uop_end=0, iter_out=1, iter_in=1)]
    h.run(uops, insns)
    for s in h.stats:
        assert s["busy"] == 1 and s["acc_wr_strobe"] == s["out_wr"] == 0, s
        assert s["gemm_active"] == s["alu_active"] == 0, s


@pytest.mark.parametrize("cfg", CONFIGS)
def test_throughput_and_strobes(cfg):
    """One micro-op per cycle: start to busy falling = micro-op iterations + DRAIN_CYCLES + 1; the
    strobes count micro-ops and acc writes exactly.  Instructions start the cycle after busy falls."""
    h = Harness(cfg, seed=5, acc_range=(-2**20, 2**20))
    uops = rand_uops(h.rng, cfg, 16, dst_max=64) + rand_uops(h.rng, cfg, 4, dst_max=64, alu=True)
    gemm = GemmInsn(uop_bgn=0, uop_end=16, iter_out=2, iter_in=4, src_factor_in=1, wgt_factor_out=1)
    reset = GemmInsn(reset_reg=True, uop_bgn=0, uop_end=16, iter_out=1, iter_in=1)
    alu = AluInsn(alu_opcode=AluOp.ADD, uop_bgn=16, uop_end=20, iter_out=3, iter_in=5,
                  use_imm=True, imm=-3)
    alu2 = AluInsn(alu_opcode=AluOp.MAX, uop_bgn=16, uop_end=20, iter_out=2, iter_in=2)
    insns = [gemm, reset, alu, alu2, gemm]
    h.run(uops, insns)
    for insn, s in zip(insns, h.stats):
        n = insn.n_uop_iters
        # cycles counts from the start cycle to the first cycle busy is 0
        assert s["busy"] == s["cycles"] - 1 == n + DRAIN_CYCLES, (insn, s)
        is_gemm = isinstance(insn, GemmInsn)
        assert s["gemm_active"] == (n if is_gemm else 0), s
        assert s["alu_active"] == (0 if is_gemm else n), s
        assert s["acc_wr_strobe"] == n, s
        assert s["out_wr"] == (0 if is_gemm and insn.reset_reg else n), s


def test_gemm_256_uops_speed(capsys):
    """A 256-micro-op GEMM on the default configuration, the testbench only waiting for busy to fall;
    reports simulated cycles per second."""
    cfg = DEFAULT
    h = Harness(cfg, seed=6, acc_range=(-2**20, 2**20))
    uops = rand_uops(h.rng, cfg, 16, dst_max=64)
    gemm = GemmInsn(uop_bgn=0, uop_end=16, iter_out=4, iter_in=4, dst_factor_out=1, src_factor_in=1,
                    wgt_factor_in=1)
    h.run(uops, [gemm], poll=False)
    cycles, wall = gemm.n_uop_iters + DRAIN_CYCLES, h.stats[0]["wall"]
    with capsys.disabled():
        print(f"\n[tensor] 256-uop GEMM: {cycles} cycles in {wall:.3f} s = {cycles / wall:.0f} cycles/s")


@pytest.mark.parametrize("cfg", CONFIGS)
def test_instructions_overlap_and_see_each_other(cfg):
    """Each instruction starts as soon as ``ready`` (the last micro-op of the one before has issued),
    so micro-ops of consecutive instructions meet in the pipeline at every distance: GEMM, reset GEMM,
    ALU with and without immediate, MUL before and after other ops, on four acc entries.  The result is
    that of the instructions one after the other, and the sequence takes each instruction's issue
    cycles plus one drain."""
    h = Harness(cfg, seed=40, acc_rows=range(8), acc_range=(-2**12, 2**12))
    rng = h.rng
    uops = rand_uops(rng, cfg, 6, dst_max=4) + rand_uops(rng, cfg, 6, dst_max=4, src_max=4, alu=True)
    def gemm(b, e, **kw):
        return GemmInsn(uop_bgn=b, uop_end=e, iter_out=1, iter_in=2, src_factor_in=1, **kw)
    def alu(op, b, e, **kw):
        return AluInsn(alu_opcode=op, uop_bgn=b, uop_end=e, iter_out=1, iter_in=1, **kw)
    insns = [gemm(0, 6), alu(AluOp.ADD, 6, 9), gemm(2, 5), alu(AluOp.MUL, 6, 10), alu(AluOp.ADD, 9, 12),
             alu(AluOp.MUL, 8, 11, use_imm=True, imm=-3), gemm(1, 2), gemm(0, 3, reset_reg=True),
             alu(AluOp.SHR, 6, 12, use_imm=True, imm=3), alu(AluOp.MAX, 7, 12),
             alu(AluOp.MUL, 6, 8), alu(AluOp.MIN, 6, 12, use_imm=True, imm=5), gemm(3, 6)]
    h.run(uops, insns, overlap=True)
    issue = sum(i.n_uop_iters * (MUL_CYCLES if isinstance(i, AluInsn) and i.alu_opcode == AluOp.MUL else 1)
                for i in insns)
    # a micro-op right behind a MUL waits for it as within a MUL instruction: at most 2 cycles a change
    assert issue + DRAIN_CYCLES <= h.stats[0]["cycles"] <= issue + DRAIN_CYCLES + 2 * len(insns), h.stats
