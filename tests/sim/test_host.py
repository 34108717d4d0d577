"""The host driver (sim/host.py) over a fake link: the launch sequence, the bound, counters and registers
by name, and the conversion of an error status into VTARunError."""

import asyncio

import pytest

from hw import regs
from hw.config import VTAConfig
from hw.regs import ErrorCode
from sim.host import LinkTimeout, RunState, STATE_REGS, VTAHost, cycle_bound
from sim.memimage import MemImage
from sim.result import VTARunError
from tests.support import programs as P


class FakeLink:
    """A core that finishes ``run_cycles`` cycles after launch with the given register values.

    Registers live in a dict by offset; every access is logged as (op, offset, value).
    """

    port = "a fake"

    def __init__(self, run_cycles: int, values: dict[str, int] | None = None,
                 counters: dict[str, int] | None = None, mem: bytes = bytes(1 << 16)):
        self.run_cycles = run_cycles
        self.regs = {r.offset: 0 for r in regs.REGS}
        for name, v in (values or {}).items():
            self.regs[regs.REG_BY_NAME[name].offset] = v
        for name, v in (counters or {}).items():
            self.regs[regs.counter_offset(name)] = v & 0xFFFF_FFFF
            self.regs[regs.counter_offset(name) + 4] = v >> 32
        self.mem = bytearray(mem)
        self.log = []
        self.launched = False
        self.waited = 0
        self.waits = []

    async def read32(self, addr):
        self.log.append(("r", addr, None))
        return self.regs.get(addr, 0)

    async def write32(self, addr, value):
        self.log.append(("w", addr, value))
        if addr == regs.REG_BY_NAME["control"].offset and value & regs.CONTROL_LAUNCH:
            self.launched = True
        else:
            self.regs[addr] = value

    async def read_mem(self, addr, n):
        return bytes(self.mem[addr:addr + n])

    async def write_mem(self, addr, data):
        self.mem[addr:addr + len(data)] = data

    async def wait(self, cycles):
        assert self.launched, "waited before launching"
        self.waits.append(cycles)
        if self.waited + cycles >= self.run_cycles:
            self.waited = self.run_cycles
            return True
        self.waited += cycles
        return False


def run(coro):
    return asyncio.run(coro)


CFG = VTAConfig()


def small_program():
    prog, _ = P.tutorial_fc_program(CFG, in_blocks=1, out_blocks=1, tile_in=1, tile_out=1)
    return prog


def test_launch_writes_bases_then_insn_count_then_launch():
    prog = small_program()
    img = MemImage.place(prog)
    link = FakeLink(100)
    run(VTAHost(link).run(img, prog.n_insns, 1000))
    writes = [(a, v) for op, a, v in link.log if op == "w"]
    offs = {name: regs.REG_BY_NAME[name].offset for name in regs.REG_BY_NAME}
    assert writes[:len(img.bases)] == [(offs[n], v) for n, v in img.bases.items()]
    assert writes[len(img.bases):] == [(offs["insn_count"], prog.n_insns), (offs["control"], regs.CONTROL_LAUNCH)]
    assert set(img.bases) == {"insn_base", "uop_base", "inp_base", "wgt_base", "acc_base", "out_base"}


def test_counters_and_registers_are_read_by_name():
    prog = small_program()
    img = MemImage.place(prog)
    counters = {name: (i + 1) * 0x1_0000_0003 for i, name in enumerate(regs.COUNTERS)}
    out = bytes(range(256)) * 4
    mem = bytearray(1 << 16)
    mem[img.out_addr:img.out_addr + img.out_bytes] = out[:img.out_bytes]
    link = FakeLink(10, values={"status": regs.STATUS_DONE, "stall": 5}, counters=counters, mem=bytes(mem))
    state = run(VTAHost(link).run(img, prog.n_insns, 1000))
    assert state.finished and state.counters == counters          # 64 bits: the high word counts
    assert set(state.registers) == set(STATE_REGS)
    assert state.registers["status"] == regs.STATUS_DONE and state.registers["stall"] == 5
    assert state.out == out[:img.out_bytes] and img.out_bytes > 0
    state.raise_for_error(prog)                                    # done: no error


def test_the_bound_is_kept_and_cut_into_chunks():
    prog = small_program()
    img = MemImage.place(prog)
    link = FakeLink(10**9)
    seen = []
    state = run(VTAHost(link).run(img, prog.n_insns, 12_345, chunk=5000, on_progress=seen.append))
    assert not state.finished and state.bound == 12_345
    assert link.waits == [5000, 5000, 2345] and sum(link.waits) == 12_345
    assert seen == [5000, 10_000]
    with pytest.raises(VTARunError) as info:
        state.raise_for_error(prog)
    assert info.value.code == ErrorCode.TIMEOUT and "no finish within 12345 cycles" in info.value.message


def test_a_run_that_ends_inside_a_chunk_stops_waiting():
    link = FakeLink(7000)
    link.launched = True
    assert run(VTAHost(link).wait(100_000, chunk=5000)) is True
    assert link.waits == [5000, 5000]
    with pytest.raises(ValueError, match="positive integer"):
        run(VTAHost(link).wait(0))


def test_an_error_status_becomes_one_vta_run_error():
    prog = small_program()
    img = MemImage.place(prog)
    stall = 1 << regs.STALL_BITS["load pops g2l"] | 1 << regs.STALL_BITS["store pops g2s"]
    link = FakeLink(10, values={"status": regs.STATUS_ERROR, "error_code": ErrorCode.DEADLOCK,
                                "error_index": 3, "stall": stall, "load_index": 3, "store_index": 5})
    state = run(VTAHost(link).run(img, prog.n_insns, 1000))
    with pytest.raises(VTARunError) as info:
        state.raise_for_error(prog, result="R")
    e = info.value
    assert e.code == ErrorCode.DEADLOCK and e.index == 3 and e.result == "R"
    assert e.message == "deadlock: load pops g2l at instruction 3; store pops g2s at instruction 5"


def test_state_survives_json():
    state = RunState(True, 99, {r: i for i, r in enumerate(STATE_REGS)},
                     {c: 1 << 40 for c in regs.COUNTERS}, b"xy", {"run": 0.5})
    assert RunState.from_json(state.to_json(), out=b"xy") == state


def test_a_link_timeout_names_the_register():
    class Silent(FakeLink):
        async def write32(self, addr, value):
            raise LinkTimeout("within 7 cycles")

    with pytest.raises(RuntimeError, match=r"did not answer a fake write of insn_base \(0x0c\) within 7 cycles"):
        run(VTAHost(Silent(1)).launch({"insn_base": 0}, 1))


def test_load_writes_the_image_first():
    prog = small_program()
    img = MemImage.place(prog)
    link = FakeLink(1, mem=bytes(img.size))
    run(VTAHost(link).run(img, prog.n_insns, 10, load=True))
    assert bytes(link.mem) == img.image


def test_cycle_bound_grows_with_the_work():
    small = small_program()
    big, _ = P.tutorial_fc_program(CFG, in_blocks=2, out_blocks=2, tile_in=1, tile_out=1)
    assert 20000 < cycle_bound(small) < cycle_bound(big)


def test_the_amaranth_link_writes_and_reads_memory_through_the_backdoor():
    from amaranth.sim import Simulator
    from sim.amaranth_backend import PERIOD, SimLink
    from sim.simtop import SimTop
    dut = SimTop(CFG, 1 << 13, init=bytes(range(256)) * 32)
    seen = {}

    async def bench(ctx):
        link = SimLink(ctx, dut)
        await link.write_mem(13, b"hello, world")            # unaligned on both ends
        seen["back"] = await link.read_mem(8, 24)
        seen["reg"] = await link.read32(regs.REG_BY_NAME["config_id"].offset)

    sim = Simulator(dut)
    sim.add_clock(PERIOD)
    sim.add_testbench(bench)
    sim.run()
    assert seen["back"] == bytes(range(8, 13)) + b"hello, world" + bytes(range(25, 32))
    assert seen["reg"] != 0
