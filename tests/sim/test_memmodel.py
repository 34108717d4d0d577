"""sim/memmodel.py: a memory simulated as a behavioural model gives, cycle by cycle, the read data Amaranth's
own memory gives, under the same random stimulus (lanes, transparency, two write ports on one address,
addresses beyond the depth, ``en`` low, the domain's reset and ``ResetInserter``'s, initial contents)."""

import random

import pytest
from amaranth.hdl import ClockDomain, Module, ResetInserter, Signal
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator

from sim.memmodel import Elaborated, MemoryModelPlatform

WIDTH, DEPTH, CYCLES = 16, 6, 600


class Design:
    """A memory with two write ports (4-bit lanes, and whole rows), a read port transparent for the
    first, one transparent for both, and a plain one; every port input a top-level signal."""

    def __init__(self):
        self.mem = Memory(shape=WIDTH, depth=DEPTH, init=[0x1234, 0xBEEF, 7])
        self.w = [self.mem.write_port(granularity=4), self.mem.write_port()]
        self.r = [self.mem.read_port(transparent_for=[self.w[0]]),
                  self.mem.read_port(transparent_for=self.w), self.mem.read_port()]
        self.rst = Signal()          # ResetInserter's
        self.inputs = [sig for p in self.w for sig in (p.addr, p.data, p.en)] + \
                      [sig for p in self.r for sig in (p.addr, p.en)] + [self.rst]

    def top(self):
        m = Module()
        m.domains.sync = self.cd = ClockDomain()
        m.submodules.mem = ResetInserter(self.rst)(self.mem)
        return m


def _run(platform, seed):
    d = Design()
    top = d.top()
    sim = Simulator(Elaborated(top, platform) if platform else top)
    if platform:
        platform.add_processes(sim)
    sim.add_clock(1e-8)
    seen = []

    async def bench(ctx):
        rng = random.Random(seed)
        for _ in range(CYCLES):
            for sig in d.inputs:
                ctx.set(sig, rng.getrandbits(len(sig)) if rng.random() < 0.7 else 0)
            ctx.set(d.cd.rst, rng.random() < 0.05)
            await ctx.tick()
            seen.append([ctx.get(p.data) for p in d.r])

    sim.add_testbench(bench)
    sim.run()
    return seen


@pytest.mark.parametrize("seed", range(3))
def test_model_reads_what_amaranth_memory_reads(seed):
    platform = MemoryModelPlatform(min_width=1)
    assert _run(platform, seed) == _run(None, seed)
    assert len(platform.models) == 1


def test_narrower_memories_are_left_to_amaranth():
    platform = MemoryModelPlatform(min_width=WIDTH + 1)
    assert _run(platform, 0) == _run(None, 0)
    assert platform.models == []
