"""Instruction fetch: bursts over the memory client, in-order dispatch to the three queues, FINISH and
illegal-instruction stops, on every bus width."""

import random

import pytest
from amaranth.sim import Simulator

from hw.config import VTAConfig
from hw.fetch import Fetch
from hw import isa
from hw.isa import MemInsn, GemmInsn, AluInsn, FinishInsn, Opcode, MemType, AluOp


def program(cfg, n, rng):
    insns = []
    for i in range(n):
        kind = rng.randrange(5)
        if kind == 0:
            insns.append(MemInsn(opcode=Opcode.LOAD, memory_type=rng.choice([MemType.INP, MemType.WGT]),
                                 x_size=i + 1, y_size=1))
        elif kind == 1:
            insns.append(MemInsn(opcode=Opcode.LOAD, memory_type=rng.choice([MemType.UOP, MemType.ACC]),
                                 x_size=i + 1))
        elif kind == 2:
            insns.append(MemInsn(opcode=Opcode.STORE, memory_type=MemType.OUT, x_size=i + 1))
        elif kind == 3:
            insns.append(GemmInsn(uop_end=i % 100 + 1, iter_out=1, iter_in=1))
        else:
            insns.append(AluInsn(alu_opcode=rng.randrange(5), uop_end=i % 100 + 1, iter_out=1))
    return insns


def run_fetch(cfg, words, insn_count, base=0x2000, stall_prob=0.3, seed=1, max_cycles=20000, err_from=None):
    """Serve the fetch's memory client from ``words`` (list of 128-bit ints at ``base``), pull the three
    queues with random stalls, return what each queue received and the fetch's final state.  Beats that
    hold byte offset ``err_from`` (from ``base``) or later come back with ``err`` set."""
    dut = Fetch(cfg)
    rng = random.Random(seed)
    mem = b"".join(w.to_bytes(16, "little") for w in words) + bytes(4096)
    bb = cfg.bus_bytes
    got = {"load": [], "compute": [], "store": []}
    state = {}

    async def bench(ctx):
        ctx.set(dut.insn_base, base)
        ctx.set(dut.insn_count, insn_count)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        pending = []          # beats to return: (data)
        for cycle in range(max_cycles):
            # memory side: accept requests randomly, return beats randomly
            req_ready = rng.random() > stall_prob
            ctx.set(dut.mem.req.ready, req_ready)
            if pending and rng.random() > stall_prob:
                data, last, err = pending[0]
                ctx.set(dut.mem.resp.valid, 1)
                ctx.set(dut.mem.resp.payload.data, data)
                ctx.set(dut.mem.resp.payload.last, last)
                ctx.set(dut.mem.resp.payload.err, err)
            else:
                ctx.set(dut.mem.resp.valid, 0)
            for name in got:
                ctx.set(getattr(dut, f"{name}_q").ready, rng.random() > stall_prob)
            # sample handshakes before the edge
            req = ctx.get(dut.mem.req.valid) and req_ready
            if req:
                addr = ctx.get(dut.mem.req.payload.addr)
                length = ctx.get(dut.mem.req.payload.len) + 1
                assert addr % bb == 0 and addr // 4096 == (addr + length * bb - 1) // 4096
                for k in range(length):
                    off = addr - base + k * bb
                    pending.append((int.from_bytes(mem[off:off + bb], "little"), k == length - 1,
                                    err_from is not None and off + bb > err_from))
            resp = ctx.get(dut.mem.resp.valid) and ctx.get(dut.mem.resp.ready)
            for name in got:
                q = getattr(dut, f"{name}_q")
                if ctx.get(q.valid) and ctx.get(q.ready):
                    got[name].append((ctx.get(q.payload.index), ctx.get(q.payload.insn)))
            await ctx.tick()
            if resp:
                pending.pop(0)
            if not ctx.get(dut.status.busy) and not pending and cycle > 10:
                break
        state["illegal"] = ctx.get(dut.status.illegal)
        state["rd_err"] = ctx.get(dut.status.rd_err)
        state["index"] = ctx.get(dut.status.index)
        state["busy"] = ctx.get(dut.status.busy)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return got, state


@pytest.mark.parametrize("log_bus", [6, 7, 8, 9])
def test_dispatch_in_order_to_the_right_queue(log_bus):
    cfg = VTAConfig(log_bus_width=log_bus)
    rng = random.Random(log_bus)
    insns = program(cfg, 37, rng)
    words = [i.encode(cfg) for i in insns]
    got, state = run_fetch(cfg, words, len(insns), seed=log_bus)
    assert not state["illegal"] and not state["busy"] and state["index"] == len(insns)
    for name, entries in got.items():
        expect = [(k, words[k]) for k, insn in enumerate(insns) if isa.module_of(insn) == name]
        assert entries == expect, name


def test_stops_after_finish():
    cfg = VTAConfig()
    insns = [GemmInsn(), FinishInsn(), MemInsn(opcode=Opcode.STORE, x_size=1), GemmInsn()]
    got, state = run_fetch(cfg, [i.encode(cfg) for i in insns], len(insns))
    assert [k for k, _ in got["compute"]] == [0, 1]
    assert got["store"] == []
    assert state["index"] == 2 and not state["busy"]


@pytest.mark.parametrize("bad", [
    5 | 0, 6, 7,                                                  # opcodes 5..7
    "alu5", "alu7", "load_out", "load_acc8",
])
def test_illegal_instruction_stops_with_its_index(bad):
    cfg = VTAConfig()
    lay = isa.layouts(cfg)
    if bad == "alu5":
        word = AluInsn(alu_opcode=5).encode(cfg, check=False)
    elif bad == "alu7":
        word = AluInsn(alu_opcode=7).encode(cfg, check=False)
    elif bad == "load_out":
        word = MemInsn(opcode=Opcode.LOAD, memory_type=MemType.OUT, x_size=1).encode(cfg)
    elif bad == "load_acc8":
        word = MemInsn(opcode=Opcode.LOAD, memory_type=MemType.ACC_8BIT, x_size=1).encode(cfg)
    else:
        word = lay["generic"].encode(opcode=bad)
    words = [GemmInsn().encode(cfg), MemInsn(opcode=Opcode.STORE, x_size=1).encode(cfg), word,
             GemmInsn().encode(cfg)]
    got, state = run_fetch(cfg, words, len(words))
    assert state["illegal"] and state["index"] == 2
    assert [k for k, _ in got["compute"]] == [0] and [k for k, _ in got["store"]] == [1]


@pytest.mark.parametrize("log_bus", [6, 7, 8, 9])
@pytest.mark.parametrize("stall_prob", [0.0, 0.3])
@pytest.mark.parametrize("faulty", [0, 5, 13])
def test_read_error_names_the_instruction_of_the_faulty_beat(log_bus, stall_prob, faulty):
    """A beat with an error response stops fetch: the index names the instruction the beat carries (the
    first one of a beat wider than an instruction), however far fetch had dispatched, and nothing from
    that instruction on is dispatched."""
    cfg = VTAConfig(log_bus_width=log_bus)
    per_beat = max(cfg.bus_bits // 128, 1)
    first = faulty - faulty % per_beat
    words = [GemmInsn(uop_end=k + 1).encode(cfg) for k in range(24)]
    got, state = run_fetch(cfg, words, len(words), stall_prob=stall_prob, seed=faulty + log_bus,
                           err_from=faulty * 16)
    assert state["rd_err"] and not state["illegal"] and not state["busy"]
    assert state["index"] == first
    dispatched = [k for k, _ in got["compute"]]
    assert dispatched == list(range(len(dispatched))) and len(dispatched) <= first
