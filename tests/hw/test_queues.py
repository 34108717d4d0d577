"""hw/queues.py: the command queues, the dependency-token queues, and the instruction sequence every unit
follows (Stage)."""

import pathlib
import random

import pytest
from amaranth.hdl import Module
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from hw.interfaces import UnitStatusSignature, token_members
from hw.isa import GemmInsn
from hw.queues import CommandQueue, QueueEntry, Stage, TokenQueue
from hw.config import VTAConfig


def run_tb(dut, bench, cycles_bound=20000):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run_until(cycles_bound * 1e-8)


@pytest.mark.parametrize("depth", [2, 3, 8, 13])
def test_command_queue_matches_sync_fifo_buffered_cycle_for_cycle(depth):
    """Random writes and reads, both queues side by side: every output, every cycle, is the same."""
    m = Module()
    m.submodules.cq = cq = CommandQueue(depth)
    m.submodules.ref = ref = fifo.SyncFIFOBuffered(width=QueueEntry.size, depth=depth)
    rng = random.Random(depth)
    seen = {"pushed": 0, "popped": 0, "full": 0}

    async def bench(ctx):
        for cycle in range(1500):
            # phases: fill faster than it drains, then drain faster, so full and empty both happen
            p_w, p_r = (0.8, 0.3) if (cycle // 150) % 2 == 0 else (0.3, 0.8)
            valid, ready, word = rng.random() < p_w, rng.random() < p_r, rng.getrandbits(QueueEntry.size)
            ctx.set(cq.w.valid, valid)
            ctx.set(cq.w.payload.as_value(), word)
            ctx.set(cq.r.ready, ready)
            ctx.set(ref.w_stream.valid, valid)
            ctx.set(ref.w_stream.payload, word)
            ctx.set(ref.r_stream.ready, ready)
            got = (ctx.get(cq.w.ready), ctx.get(cq.r.valid), ctx.get(cq.level))
            want = (ctx.get(ref.w_stream.ready), ctx.get(ref.r_stream.valid), ctx.get(ref.level))
            assert got == want, f"depth {depth}, cycle {cycle}: (w.ready, r.valid, level) {got} != {want}"
            if want[1]:
                assert ctx.get(cq.r.payload.as_value()) == ctx.get(ref.r_stream.payload), f"cycle {cycle}"
                seen["popped"] += ready
            seen["pushed"] += valid and want[0]
            seen["full"] += not want[0]
            await ctx.tick()

    run_tb(m, bench)
    assert seen["pushed"] > 200 and seen["popped"] > 200 and seen["full"] > 10, seen


@pytest.mark.parametrize("depth", [0, 1, 2.5, True])
def test_command_queue_rejects_a_depth_below_two(depth):
    with pytest.raises(ValueError, match="command queue depth"):
        CommandQueue(depth)


def test_command_queue_rejects_an_unknown_ram_style():
    with pytest.raises(ValueError, match="ram_style must be one of 'distributed', None, not 'block'"):
        CommandQueue(4, "block")


@pytest.mark.parametrize("part_name, attribute", [("xc7z020", True), ("lfe5u-85f", False)])
def test_the_part_decides_where_the_command_queues_go(part_name, attribute):
    """LUT RAM on the Zynq-7020 (its block RAM is for the SRAMs), the tools' choice on the ECP5."""
    from bitstreams.parts import part
    from sim.verilog import core_verilog
    cfg = VTAConfig.load(str(pathlib.Path(__file__).parents[2] / "bitstreams" / "boards" / "tiny.json"))
    text = core_verilog(cfg, **part(part_name).core_options())
    marked = [line for line in text.splitlines() if '(* ram_style = "distributed" *)' in line]
    assert len(marked) == (3 if attribute else 0), marked


@pytest.mark.parametrize("depth", [1, 3])
def test_token_queue_counts_and_saturates_at_depth(depth):
    dut = TokenQueue(depth)

    async def bench(ctx):
        assert not ctx.get(dut.r.avail) and not ctx.get(dut.w.full)
        for i in range(depth):
            ctx.set(dut.w.push, 1)
            await ctx.tick()
        ctx.set(dut.w.push, 0)
        assert ctx.get(dut.w.full) and ctx.get(dut.count) == depth
        # push and pop together keep the count
        ctx.set(dut.w.push, 1)
        ctx.set(dut.r.pop, 1)
        await ctx.tick()
        assert ctx.get(dut.count) == depth
        ctx.set(dut.w.push, 0)
        for i in range(depth):
            await ctx.tick()
        ctx.set(dut.r.pop, 0)
        assert ctx.get(dut.count) == 0 and not ctx.get(dut.r.avail)

    run_tb(dut, bench, 1000)


def test_token_queue_rejects_zero_depth():
    with pytest.raises(ValueError, match="depth"):
        TokenQueue(0)



class StageHarness(wiring.Component):
    """A Stage of the compute unit (two pops, two pushes) with ``exec_done`` and ``start`` as ports."""

    def __init__(self):
        super().__init__({"q": In(stream.Signature(QueueEntry)), **token_members("compute"),
                          "status": Out(UnitStatusSignature("compute")), "halt": In(1),
                          "exec_done": In(1), "start": Out(1), "executing": Out(1)})

    def elaborate(self, platform):
        m = Module()
        st = Stage(m, "compute", self.q, {q: getattr(self, q) for q in ("l2g", "s2g", "g2l", "g2s")},
                   self.status, exec_done=self.exec_done, halt=self.halt)
        m.d.comb += [self.start.eq(st.start), self.executing.eq(st.executing)]
        return m


def test_stage_pops_all_then_executes_then_pushes_all():
    cfg = VTAConfig()
    dut = StageHarness()
    word = GemmInsn(pop_prev_dep=True, pop_next_dep=True, push_prev_dep=True, push_next_dep=True).encode(cfg)
    log = []

    async def bench(ctx):
        ctx.set(dut.q.payload.insn, word)
        ctx.set(dut.q.payload.index, 7)
        ctx.set(dut.q.valid, 1)
        for cycle in range(40):
            ctx.set(dut.l2g.avail, cycle >= 3)   # l2g comes at cycle 3, s2g at 6
            ctx.set(dut.s2g.avail, cycle >= 6)
            ctx.set(dut.exec_done, cycle == 12)
            ctx.set(dut.g2l.full, cycle < 16)
            row = {n: ctx.get(getattr(dut, n)) for n in ("start", "executing")}
            row.update({f"{q}.pop": ctx.get(getattr(dut, q).pop) for q in ("l2g", "s2g")})
            row.update({f"{q}.push": ctx.get(getattr(dut, q).push) for q in ("g2l", "g2s")})
            row.update({n: ctx.get(getattr(dut.status, n)) for n in ("busy", "stuck", "index", "wait_l2g",
                                                                     "wait_s2g", "wait_g2l", "wait_g2s")})
            row["taken"] = ctx.get(dut.q.valid) and ctx.get(dut.q.ready)
            log.append(row)
            await ctx.tick()
            if row["taken"]:
                ctx.set(dut.q.valid, 0)

    run_tb(dut, bench, 100)
    taken = [c for c, r in enumerate(log) if r["taken"]]
    starts = [c for c, r in enumerate(log) if r["start"]]
    assert taken == [0] and starts == [6]                      # both tokens there at cycle 6
    assert [c for c, r in enumerate(log) if r["l2g.pop"]] == [6] == [c for c, r in enumerate(log) if r["s2g.pop"]]
    assert all(log[c]["stuck"] and log[c]["busy"] for c in range(1, 6))
    assert [c for c in range(40) if log[c]["wait_l2g"]] == [1, 2]
    assert [c for c in range(40) if log[c]["wait_s2g"]] == [1, 2, 3, 4, 5]
    assert [c for c in range(40) if log[c]["executing"]] == list(range(7, 13))
    # In PUSH from cycle 13: g2l is full until 16, so both pushes wait and go together at 16.
    assert [c for c in range(40) if log[c]["wait_g2l"]] == [13, 14, 15]
    assert [c for c, r in enumerate(log) if r["g2l.push"]] == [16] == [c for c, r in enumerate(log) if r["g2s.push"]]
    assert not any(log[c]["busy"] for c in range(17, 40)) and log[20]["stuck"]     # idle, queue empty
    assert log[10]["index"] == 7 and not log[10]["stuck"]


def test_stage_takes_nothing_while_halted():
    cfg = VTAConfig()
    dut = StageHarness()
    seen = []

    async def bench(ctx):
        ctx.set(dut.q.payload.insn, GemmInsn().encode(cfg))
        ctx.set(dut.q.valid, 1)
        ctx.set(dut.halt, 1)
        for _ in range(10):
            seen.append(ctx.get(dut.q.ready) or ctx.get(dut.status.busy))
            await ctx.tick()
        ctx.set(dut.halt, 0)
        await ctx.tick()
        seen.append(ctx.get(dut.status.busy))

    run_tb(dut, bench, 100)
    assert not any(seen[:10]) and seen[10]
