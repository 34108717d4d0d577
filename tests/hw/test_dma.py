"""DmaRead / DmaWrite (hw/dma.py) against numpy models of VTA's load_pad_2d and store.

Each test builds DMA engine + MemArbiter + memory (AxiMemory, or the randomly stalling Python slave of
test_axi.py) + an SRAM, runs a list of commands one after the other, and after each compares the whole
SRAM (load) or DRAM (store) with the model, which starts from the same random contents.
"""

import random

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator

from hw.axi import MemArbiter
from hw.dma import DmaRead, DmaReadLanes, DmaWrite
from sim.axi_mem import AxiMemory
from tests.support.axi_models import AxiSlaveModel, Setter, check_burst
from tests.support.dma_models import model_load, model_store

CMD_CYCLE_LIMIT = 20000


def row_beats(c, eb, bb):
    """Bus beats a command must move: each row's bus-aligned span, nothing more."""
    if c["x_size"] == 0:
        return 0
    total = 0
    for y in range(c["y_size"]):
        a = c["dram_addr"] + y * c["x_stride"] * eb
        total += (a % bb + c["x_size"] * eb + bb - 1) // bb
    return total


def cmd(sram_base=0, dram_addr=0, y_size=1, x_size=1, x_stride=None, y_pad_0=0, y_pad_1=0, x_pad_0=0,
        x_pad_1=0, read=True):
    c = {"sram_base": sram_base, "dram_addr": dram_addr, "y_size": y_size, "x_size": x_size,
         "x_stride": x_size if x_stride is None else x_stride}
    if read:
        c.update(y_pad_0=y_pad_0, y_pad_1=y_pad_1, x_pad_0=x_pad_0, x_pad_1=x_pad_1)
    return c


# -- harness -------------------------------------------------------------------------------------------

def build(kind, E, B, A, dram: bytes, sram_init: list, lat=8, python_slave=None):
    """DMA + arbiter + memory + SRAM.  With ``python_slave`` (a probability) the AXI slave is the
    randomly stalling Python model instead of AxiMemory; it is returned as ``slave``."""
    m = Module()
    dma = {"read": DmaRead, "lanes": DmaReadLanes, "write": DmaWrite}[kind](E, B, A)
    m.submodules.dma = dma
    m.submodules.arb = arb = MemArbiter(B, 1, 1)
    wiring.connect(m, dma.mem, arb.wr[0] if kind == "write" else arb.rd[0])
    mem = slave = None
    if python_slave is None:
        m.submodules.mem = mem = AxiMemory(B, len(dram), read_latency=lat, init=dram)
        wiring.connect(m, arb.bus, mem.bus)
    else:
        slave = AxiSlaveModel(arb.bus, B, bytearray(dram), err_base=len(dram), p=python_slave, seed=E + B)
    if kind == "lanes":                      # words of B // E elements, a write enable each
        L = B // E
        words = [sum(sram_init[w * L + j] << (j * E) for j in range(L)) for w in range((1 << A) // L)]
        m.submodules.sram = sram = Memory(shape=B, depth=(1 << A) // L, init=words)
        wp = sram.write_port(granularity=E)
        m.d.comb += [wp.addr.eq(dma.sram.addr), wp.data.eq(dma.sram.data), wp.en.eq(dma.sram.en)]
        return m, dma, arb, mem, slave, sram
    m.submodules.sram = sram = Memory(shape=E, depth=1 << A, init=sram_init)
    if kind == "read":
        wp = sram.write_port()
        m.d.comb += [wp.addr.eq(dma.sram.addr), wp.data.eq(dma.sram.data), wp.en.eq(dma.sram.en)]
    else:
        rp = sram.read_port()
        m.d.comb += [rp.addr.eq(dma.sram.addr), rp.en.eq(dma.sram.en), dma.sram.data.eq(rp.data)]
    return m, dma, arb, mem, slave, sram


def monitor(ctx, bus, B, stats):
    """Check every AR / AW handshake against the burst rules; count bursts and beats."""
    g = ctx.get
    if g(bus.arvalid) and g(bus.arready):
        check_burst(g(bus.araddr), g(bus.arlen), B, "read burst")
        stats["bursts"] += 1
        stats["beats"] += g(bus.arlen) + 1
    if g(bus.awvalid) and g(bus.awready):
        check_burst(g(bus.awaddr), g(bus.awlen), B, "write burst")
        stats["bursts"] += 1
        stats["beats"] += g(bus.awlen) + 1


async def run_cmd(ctx, dma, c, slave=None, setter=None, bus=None):
    """Offer command ``c``; return (cycles from the command handshake to the done pulse, err).  Counts
    cycles in Python, with a bound.  With ``bus`` (the arbiter's AXI port) checks every burst and
    returns the burst and beat counts as a third value."""
    stats = {"bursts": 0, "beats": 0}
    ctx.set(dma.cmd.payload, c)
    ctx.set(dma.cmd.valid, 1)
    for _ in range(100):
        if slave:
            slave.drive(setter)
        ready = ctx.get(dma.cmd.ready)
        if slave:
            slave.sample(ctx, 0)
        await ctx.tick()
        if ready:
            break
    else:
        raise AssertionError("command not taken")
    ctx.set(dma.cmd.valid, 0)
    for n in range(1, CMD_CYCLE_LIMIT):
        if slave:
            slave.drive(setter)
        done, err, busy = ctx.get(dma.done), ctx.get(dma.err), ctx.get(dma.busy)
        if slave:
            slave.sample(ctx, n)
        elif bus is not None:
            monitor(ctx, bus, dma.bus_bits // 8, stats)
        assert busy, "busy low before done"
        await ctx.tick()
        if done:
            return (n, err, stats) if bus is not None else (n, err)
        assert not err, "err without done"
    raise AssertionError(f"no done within {CMD_CYCLE_LIMIT} cycles for {c}")


def rand_elems(rng, n, E):
    return [rng.getrandbits(E) for _ in range(n)]


def check_cmds(kind, E, B, A, cmds, dram_bytes=32768, lat=8, seed=0, python_slave=None, expect_err=None):
    """Run ``cmds`` one after the other on a ``kind`` ("read": load, "write": store) engine over random
    DRAM and SRAM contents; after each, check the beats on the bus (with the memory model) and the whole
    destination (SRAM for a load, DRAM for a store) against the model.  Returns (cycles, err) a command;
    the errs must be ``expect_err`` (default none)."""
    rng = random.Random(seed)
    eb = E // 8
    dram = np.frombuffer(rng.randbytes(dram_bytes), dtype=np.uint8)
    sram0 = rand_elems(rng, 1 << A, E)
    m, dma, arb, mem, slave, sram = build(kind, E, B, A, dram.tobytes(), sram0, lat, python_slave)
    results = []

    async def tb(ctx):
        s = Setter(ctx)
        model = dram if kind == "write" else list(sram0)
        for c in cmds:
            n, err, st = await run_cmd(ctx, dma, c, slave, s, bus=arb.bus)
            if not slave:
                assert st["beats"] == row_beats(c, eb, B // 8), f"{c}: {st['beats']} beats"
            if kind in ("read", "lanes"):
                model = model_load(dram, model, eb, c)
                got = sram_elems(ctx, sram, E, B, A, kind)
                bad = [i for i in range(1 << A) if got[i] != model[i]]
                assert not bad, f"{c}: SRAM differs at {len(bad)} addresses, first {bad[0]}"
            else:
                model = model_store(model, sram0, eb, c)
                got = np.frombuffer(mem.peek(ctx, 0, dram_bytes) if mem else bytes(slave.mem), dtype=np.uint8)
                bad = np.flatnonzero(got != model)
                assert bad.size == 0, f"{c}: DRAM differs at {bad.size} bytes, first {bad[0]:#x}"
            results.append((n, err))

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    assert [e for _, e in results] == (expect_err or [0] * len(cmds))
    return results


def sram_elems(ctx, sram, E, B, A, kind):
    """The SRAM's elements in order (a ``lanes`` SRAM's words unpacked)."""
    if kind != "lanes":
        return [ctx.get(sram.data[i]) for i in range(1 << A)]
    L = B // E
    return [(ctx.get(sram.data[i // L]) >> (i % L * E)) & ((1 << E) - 1) for i in range(1 << A)]


def check_loads(E, B, A, cmds, **kwargs):
    return check_cmds("read", E, B, A, cmds, **kwargs)


def check_stores(E, B, A, cmds, **kwargs):
    return check_cmds("write", E, B, A, cmds, **kwargs)


# -- load ----------------------------------------------------------------------------------------------

# (elem_bits, bus_bits, sram_addr_width): uop, inp/out at various blocks, acc, wgt
SHAPES = [(32, 64, 8), (64, 64, 8), (128, 64, 7), (128, 256, 8), (64, 512, 8), (512, 128, 6),
          (512, 512, 6), (2048, 512, 5), (256, 64, 6)]


def load_cmds(E, B, A, rng):
    eb, bb = E // 8, B // 8
    depth = 1 << A
    cs = [
        cmd(sram_base=3, dram_addr=2 * eb, y_size=2, x_size=3),                       # no padding
        cmd(sram_base=0, dram_addr=5 * eb, y_size=1, x_size=2, y_pad_0=15, y_pad_1=15,
            x_pad_0=15, x_pad_1=15),                                                   # all 15, wraps
        cmd(sram_base=depth - 5, dram_addr=7 * eb, y_size=3, x_size=4, x_stride=9,
            y_pad_0=1, y_pad_1=2, x_pad_0=3, x_pad_1=0),                               # stride > x_size
        cmd(sram_base=10, dram_addr=1 * eb, y_size=4, x_size=5, x_stride=2,
            y_pad_0=0, y_pad_1=1, x_pad_0=0, x_pad_1=15),                              # stride < x_size
        cmd(sram_base=20, dram_addr=3 * eb, y_size=3, x_size=0, x_stride=4,
            y_pad_0=2, y_pad_1=2, x_pad_0=1, x_pad_1=1),                               # x_size 0
        cmd(sram_base=30, dram_addr=0, y_size=0, x_size=2, y_pad_0=1, y_pad_1=2,
            x_pad_0=1, x_pad_1=1),                                                     # y_size 0
        cmd(sram_base=40, dram_addr=4 * eb, y_size=2, x_size=3, x_stride=0,
            x_pad_0=15, y_pad_1=15),                                                   # stride 0
    ]
    # a row crossing a 4 KiB boundary, from an unaligned element start (when elements < bus)
    n = max(3, 2 * bb // eb + 1)
    cs.append(cmd(sram_base=50, dram_addr=4096 - bb - (eb if eb < bb else 0), y_size=2,
                  x_size=min(n, depth // 2 - 2), x_stride=min(n, depth // 2 - 2) + 1, x_pad_0=1))
    # more than 256 beats in one row (B = 64 only: with wider buses 4 KiB pages split first)
    if B == 64 and eb <= 32:                  # 300 beats (the SRAM wraps: the model knows)
        cs.append(cmd(sram_base=1, dram_addr=8192 - 40 * bb, y_size=1, x_size=300 * bb // eb,
                      x_pad_1=1))
    # random ones
    for _ in range(3):
        x = rng.randrange(1, 6)
        cs.append(cmd(sram_base=rng.randrange(depth), dram_addr=rng.randrange(32768 // eb - 60) * eb,
                      y_size=rng.randrange(0, 4), x_size=x, x_stride=rng.randrange(0, 12),
                      y_pad_0=rng.randrange(16), y_pad_1=rng.randrange(16) // 4,
                      x_pad_0=rng.randrange(16) // 4, x_pad_1=rng.randrange(16)))
    return cs


@pytest.mark.parametrize("E,B,A", SHAPES)
def test_load_padding_strides_alignment(E, B, A):
    rng = random.Random(E * 1000 + B)
    check_loads(E, B, A, load_cmds(E, B, A, rng), seed=E + B)


@pytest.mark.parametrize("E,B,A", [(64, 128, 7), (512, 64, 5)])
def test_load_random_stalls(E, B, A):
    rng = random.Random(E + B)
    eb = E // 8
    cs = [cmd(sram_base=5, dram_addr=3 * eb, y_size=3, x_size=5, x_stride=7, y_pad_0=1, x_pad_0=2,
              x_pad_1=1, y_pad_1=1),
          cmd(sram_base=0, dram_addr=4096 - 2 * eb, y_size=2, x_size=6, x_stride=6)]
    cs += [cmd(sram_base=rng.randrange(1 << A), dram_addr=rng.randrange(100) * eb, y_size=2,
               x_size=rng.randrange(1, 5), x_stride=rng.randrange(8), x_pad_0=rng.randrange(3),
               y_pad_1=rng.randrange(2)) for _ in range(3)]
    check_loads(E, B, A, cs, dram_bytes=16384, python_slave=0.4, seed=7)


def error_run(kind, E, B, A, size, cs, lo, hi):
    """Run load commands ``cs`` over ``size`` bytes of random DRAM (beats beyond it get DECERR); the
    DRAM, the SRAM's first contents, each command's err and the SRAM elements ``lo`` to ``hi``."""
    rng = random.Random(3)
    dram = np.frombuffer(rng.randbytes(size), dtype=np.uint8)
    sram0 = rand_elems(rng, 1 << A, E)
    m, dma, arb, mem, slave, sram = build(kind, E, B, A, dram.tobytes(), sram0)
    res = []

    async def tb(ctx):
        for c in cs:
            res.append((await run_cmd(ctx, dma, c))[1])
        res.append(sram_elems(ctx, sram, E, B, A, kind)[lo:hi])

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    return dram, sram0, res[:-1], res[-1]


def test_load_error_response():
    size = 8192
    cs = [cmd(sram_base=0, dram_addr=size - 16, y_size=1, x_size=2, x_pad_0=1),   # in range
          cmd(sram_base=8, dram_addr=size - 8, y_size=1, x_size=3)]                # 2 beats beyond
    dram, _, errs, got = error_run("read", 64, 64, 6, size, cs, 8, 11)
    assert errs == [0, 1]
    last = int.from_bytes(dram[size - 8:].tobytes(), "little")
    assert got == [last, 0, 0]       # DECERR beats read as zero


@pytest.mark.parametrize("E,B,x,y", [(64, 64, 1024, 2), (2048, 512, 128, 4), (512, 128, 128, 4)])
def test_load_throughput(E, B, x, y):
    A = max(8, (x * y - 1).bit_length())
    beats = x * y * E // B
    res = check_loads(E, B, A, [cmd(dram_addr=0, y_size=y, x_size=x)], dram_bytes=max(32768, x * y * E // 8),
                      seed=1)
    cycles = res[0][0]
    rate = beats / cycles
    print(f"load E={E} B={B}: {beats} beats in {cycles} cycles = {rate:.4f} beats/cycle")
    assert rate >= 0.95


def test_load_padding_one_element_per_cycle():
    """A command of padding only (y_size = 0): 30 rows of 31 zeros at one element per cycle."""
    c = cmd(sram_base=7, y_size=0, x_size=1, y_pad_0=15, y_pad_1=15, x_pad_0=15, x_pad_1=15)
    res = check_loads(64, 64, 10, [c], seed=4)
    assert res[0][0] <= 30 * 31 + 5


def test_load_narrow_elements_one_per_cycle():
    """Elements narrower than the bus: one element per cycle into the SRAM."""
    E, B, x = 64, 256, 512
    res = check_loads(E, B, 9, [cmd(dram_addr=0, y_size=1, x_size=x)], seed=2)
    assert x / res[0][0] >= 0.95


def test_load_overlaps_the_next_command():
    """A command is taken once the one before has issued its requests, while its data still comes in;
    the elements land as if the commands ran one after the other, with a done pulse each, in order."""
    E, B, A = 256, 64, 7
    eb = E // 8
    rng = random.Random(5)
    dram = np.frombuffer(rng.randbytes(32768), dtype=np.uint8)
    sram0 = rand_elems(rng, 1 << A, E)
    cs = [cmd(sram_base=3, dram_addr=10 * eb, y_size=2, x_size=6, x_stride=9, x_pad_0=1),
          cmd(sram_base=1, dram_addr=2 * eb, y_size=0, x_size=3, y_pad_0=2),          # padding only
          cmd(sram_base=30, dram_addr=40 * eb, y_size=3, x_size=4, y_pad_1=1),
          cmd(sram_base=5, dram_addr=70 * eb, y_size=1, x_size=5)]                     # overwrites
    m, dma, arb, mem, slave, sram = build("read", E, B, A, dram.tobytes(), sram0, lat=12)
    seen = {"taken": [], "done": []}

    async def tb(ctx):
        left = list(cs)
        for cycle in range(2000):
            if left:
                ctx.set(dma.cmd.payload, left[0])
            ctx.set(dma.cmd.valid, bool(left))
            taken = bool(left) and ctx.get(dma.cmd.ready)
            if ctx.get(dma.done):
                seen["done"].append(cycle)
                assert not ctx.get(dma.err)
            await ctx.tick()
            if taken:
                seen["taken"].append(cycle)
                left.pop(0)
            if len(seen["done"]) == len(cs):
                break
        seen["sram"] = sram_elems(ctx, sram, E, B, A, "read")

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    model = list(sram0)
    for c in cs:
        model = model_load(dram, model, eb, c)
    assert seen["sram"] == model
    assert len(seen["done"]) == len(cs)
    assert seen["taken"][1] < seen["done"][0] and seen["taken"][3] < seen["done"][2]   # they overlap


LANE_SHAPES = [(32, 64, 6), (32, 128, 7), (32, 512, 8), (64, 256, 6)]


@pytest.mark.parametrize("E,B,A", LANE_SHAPES)
def test_load_lanes_every_alignment(E, B, A):
    """DmaReadLanes (1-D, a word of elements a cycle): every DRAM and SRAM lane offset, lengths of one
    element to several beats, and wrapping around the SRAM."""
    eb, L = E // 8, B // E
    depth = 1 << A
    rng = random.Random(E + B)
    cs = []
    for j0 in range(L):
        for s0 in range(L):
            x = rng.choice([1, L - 1 or 1, L, L + 1, 3 * L + 2])
            cs.append(cmd(sram_base=rng.randrange(depth // L) * L + s0, dram_addr=(rng.randrange(200) * L + j0) * eb,
                          x_size=x))
    cs += [cmd(sram_base=depth - 3, dram_addr=5 * eb, x_size=7),            # wraps
           cmd(sram_base=9, dram_addr=4096 - 3 * eb, x_size=2 * L + 5),     # crosses a 4 KiB page
           cmd(sram_base=4, dram_addr=0, x_size=0),                         # nothing
           cmd(sram_base=depth // 2 + 1, dram_addr=3 * eb, x_size=depth + 5)]   # longer than the SRAM
    check_cmds("lanes", E, B, A, cs, seed=E * B)


def test_load_lanes_random_stalls_and_a_beat_a_cycle():
    E, B, A = 32, 256, 9
    L = B // E
    cs = [cmd(sram_base=3, dram_addr=5 * 4, x_size=41), cmd(sram_base=L * 7, dram_addr=L * 4 * 9, x_size=5 * L)]
    check_cmds("lanes", E, B, A, cs, dram_bytes=16384, python_slave=0.4, seed=3)
    res = check_cmds("lanes", E, B, A, [cmd(sram_base=0, dram_addr=0, x_size=64 * L)], seed=1)
    assert 64 / res[0][0] >= 0.8                 # 64 beats: a beat a cycle, plus the round trip


def test_load_lanes_error_response():
    """An error beat sets ``err`` with ``done``; its elements read as zero (DECERR), the others land."""
    size = 4096
    cs = [cmd(sram_base=1, dram_addr=size - 8, x_size=2),      # in range
          cmd(sram_base=9, dram_addr=size - 4, x_size=3)]      # 1 beat beyond
    dram, sram0, errs, got = error_run("lanes", 32, 64, 6, size, cs, 8, 13)
    assert errs == [0, 1]
    last = int.from_bytes(dram[size - 4:].tobytes(), "little")
    assert got == [sram0[8], last, 0, 0, sram0[12]]


# -- store ---------------------------------------------------------------------------------------------

def store_cmds(E, B, A, rng):
    eb, bb = E // 8, B // 8
    depth = 1 << A
    cs = [
        cmd(sram_base=2, dram_addr=3 * eb, y_size=2, x_size=3, read=False),
        cmd(sram_base=depth - 3, dram_addr=100 * eb, y_size=3, x_size=4, x_stride=9, read=False),
        cmd(sram_base=9, dram_addr=1 * eb, y_size=3, x_size=5, x_stride=2, read=False),  # overlapping rows
        cmd(sram_base=5, dram_addr=7 * eb, y_size=3, x_size=0, read=False),
        cmd(sram_base=5, dram_addr=7 * eb, y_size=0, x_size=3, read=False),
    ]
    n = max(3, 2 * bb // eb + 1)
    cs.append(cmd(sram_base=11, dram_addr=4096 - bb - (eb if eb < bb else 0), y_size=2,
                  x_size=min(n, depth // 2 - 2), x_stride=min(n, depth // 2 - 2) + 3, read=False))
    if B == 64 and eb <= 32:                  # 300 beats, the SRAM wraps
        cs.append(cmd(sram_base=0, dram_addr=8192 - 40 * bb + (eb if eb < bb else 0), y_size=1,
                      x_size=300 * bb // eb, read=False))
    for _ in range(3):
        cs.append(cmd(sram_base=rng.randrange(depth), dram_addr=rng.randrange(32768 // eb - 60) * eb,
                      y_size=rng.randrange(0, 4), x_size=rng.randrange(1, 6),
                      x_stride=rng.randrange(0, 12), read=False))
    return cs


@pytest.mark.parametrize("E,B,A", [(64, 64, 8), (128, 64, 7), (128, 256, 8), (64, 512, 8),
                                   (512, 128, 6), (32, 64, 8), (2048, 512, 5)])
def test_store_strides_alignment(E, B, A):
    rng = random.Random(E * 7 + B)
    check_stores(E, B, A, store_cmds(E, B, A, rng), seed=E + B)


@pytest.mark.parametrize("E,B,A", [(64, 256, 7), (256, 64, 6)])
def test_store_random_stalls(E, B, A):
    rng = random.Random(E + B + 1)
    eb = E // 8
    cs = [cmd(sram_base=3, dram_addr=5 * eb, y_size=3, x_size=5, x_stride=7, read=False),
          cmd(sram_base=1, dram_addr=4096 - 3 * eb, y_size=2, x_size=6, x_stride=6, read=False)]
    cs += [cmd(sram_base=rng.randrange(1 << A), dram_addr=rng.randrange(100) * eb, y_size=2,
               x_size=rng.randrange(1, 5), x_stride=rng.randrange(8), read=False) for _ in range(3)]
    check_stores(E, B, A, cs, dram_bytes=16384, python_slave=0.4, seed=9)


def test_store_error_response():
    E, B, A = 128, 128, 5
    size = 4096
    rng = random.Random(4)
    dram = rng.randbytes(size)
    sram0 = rand_elems(rng, 1 << A, E)
    m, dma, arb, mem, slave, sram = build("write", E, B, A, dram, sram0)
    res = []

    async def tb(ctx):
        res.append(await run_cmd(ctx, dma, cmd(dram_addr=size - 32, y_size=1, x_size=2, read=False)))
        res.append(await run_cmd(ctx, dma, cmd(dram_addr=size - 16, y_size=1, x_size=2, read=False)))

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    assert [e for _, e in res] == [0, 1]


@pytest.mark.parametrize("E,B,x,y", [(128, 128, 1024, 1), (2048, 512, 64, 4), (256, 64, 128, 2)])
def test_store_throughput(E, B, x, y):
    A = max(8, (x * y - 1).bit_length())
    beats = x * y * E // B
    res = check_stores(E, B, A, [cmd(dram_addr=0, y_size=y, x_size=x, read=False)],
                       dram_bytes=max(32768, x * y * E // 8), seed=3)
    cycles = res[0][0]
    rate = beats / cycles
    print(f"store E={E} B={B}: {beats} beats in {cycles} cycles = {rate:.4f} beats/cycle")
    assert rate >= 0.95


def test_bad_parameters():
    with pytest.raises(ValueError, match="elem_bits"):
        DmaRead(48, 64, 8)
    with pytest.raises(ValueError, match="sram_addr_width"):
        DmaWrite(64, 64, 17)
    with pytest.raises(ValueError, match="bus_bits"):
        DmaRead(64, 32, 8)


@pytest.mark.parametrize("make", [lambda: DmaRead(64, 256, 9), lambda: DmaWrite(128, 64, 9),
                                  lambda: MemArbiter(128, 5, 1)])
def test_verilog(make):
    from amaranth.back import verilog
    text = verilog.convert(make(), name="unit")
    assert "module unit" in text
