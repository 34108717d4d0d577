"""AxiMemory (sim/axi_mem.py): reads, writes with strobes, DECERR, the documented latencies, the backdoor.

A cycle-driven Python AXI4 master drives the slave: each cycle it sets its outputs (with random stalls),
reads the slave's outputs, works out the handshakes, and ticks.  Expected data come from a Python
bytearray model of the memory.
"""

import random

import pytest
from amaranth.back import verilog
from amaranth.hdl import Cat
from amaranth.sim import Simulator

from sim.axi_mem import AxiMemory

MAX_CYCLES = 20000


class AxiMasterModel:
    """Drives ``bus`` (a flipped AXI4 signature: the slave's port) through a list of bursts.

    ``reads``: list of (addr, len); ``writes``: list of (addr, len, [data...], [strb...]).
    Records, per read burst, the list of (cycle, data, resp, last) beats, per write burst (cycle, bresp),
    and the AR / AW handshake cycles.  ``p_valid`` / ``p_ready``: probability of raising a valid /
    ready in a cycle (1.0 = no stalls).
    """

    def __init__(self, bus, reads=(), writes=(), p_valid=1.0, p_ready=1.0, seed=0):
        self.bus = bus
        self.reads, self.writes = list(reads), list(writes)
        self.p_valid, self.p_ready = p_valid, p_ready
        self.rng = random.Random(seed)
        self.ar_cycles, self.aw_cycles = [], []
        self.rbeats = [[] for _ in self.reads]
        self.bresps = []

    async def run(self, ctx):
        bus, rng = self.bus, self.rng
        ar_i = aw_i = w_burst = w_beat = r_burst = 0
        arv = awv = wv = False
        outs = Cat(bus.arready, bus.awready, bus.wready, bus.rvalid, bus.rlast, bus.rresp,
                   bus.bvalid, bus.bresp)
        for cycle in range(MAX_CYCLES):
            # master outputs (valid held until the handshake)
            if not arv and ar_i < len(self.reads) and rng.random() < self.p_valid:
                arv = True
                ctx.set(bus.araddr, self.reads[ar_i][0])
                ctx.set(bus.arlen, self.reads[ar_i][1])
            if not awv and aw_i < len(self.writes) and rng.random() < self.p_valid:
                awv = True
                ctx.set(bus.awaddr, self.writes[aw_i][0])
                ctx.set(bus.awlen, self.writes[aw_i][1])
            if not wv and w_burst < len(self.writes) and rng.random() < self.p_valid:
                wv = True
                _, ln, datas, strbs = self.writes[w_burst]
                ctx.set(bus.wdata, datas[w_beat])
                ctx.set(bus.wstrb, strbs[w_beat])
                ctx.set(bus.wlast, int(w_beat == ln))
            rr = rng.random() < self.p_ready
            br = rng.random() < self.p_ready
            ctx.set(bus.arvalid, arv)
            ctx.set(bus.awvalid, awv)
            ctx.set(bus.wvalid, wv)
            ctx.set(bus.rready, rr)
            ctx.set(bus.bready, br)
            v = ctx.get(outs)
            arready, awready, wready, rvalid, rlast = v & 1, v >> 1 & 1, v >> 2 & 1, v >> 3 & 1, v >> 4 & 1
            rresp, bvalid, bresp = v >> 5 & 3, v >> 7 & 1, v >> 8 & 3
            if arv and arready:
                self.ar_cycles.append(cycle)
                arv = False
                ar_i += 1
            if awv and awready:
                self.aw_cycles.append(cycle)
                awv = False
                aw_i += 1
            if wv and wready:
                wv = False
                w_beat += 1
                if w_beat > self.writes[w_burst][1]:
                    w_beat, w_burst = 0, w_burst + 1
            if rvalid and rr:
                assert r_burst < len(self.reads), f"R beat with no read outstanding at cycle {cycle}"
                self.rbeats[r_burst].append((cycle, ctx.get(bus.rdata), rresp, rlast))
                if rlast:
                    assert len(self.rbeats[r_burst]) == self.reads[r_burst][1] + 1, \
                        f"burst {r_burst}: RLAST on beat {len(self.rbeats[r_burst])}"
                    r_burst += 1
            if bvalid and br:
                self.bresps.append((cycle, bresp))
            await ctx.tick()
            if (r_burst == len(self.reads) and len(self.bresps) == len(self.writes)):
                return
        raise AssertionError(f"AXI master did not finish in {MAX_CYCLES} cycles "
                             f"(reads {r_burst}/{len(self.reads)}, B {len(self.bresps)}/{len(self.writes)})")


def run_master(dut, master, pre=None, post=None):
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def tb(ctx):
        if pre:
            await pre(ctx)
        await master.run(ctx)
        if post:
            await post(ctx)

    sim.add_testbench(tb)
    sim.run()


def words_of(mem: bytes, addr: int, n: int, B: int):
    return [int.from_bytes(mem[addr + i * B:addr + (i + 1) * B], "little") for i in range(n)]


@pytest.mark.parametrize("bus_bits,lat", [(64, 2), (64, 7), (256, 5)])
def test_read_latency_and_back_to_back(bus_bits, lat):
    B = bus_bits // 8
    rng = random.Random(bus_bits + lat)
    size = 64 * B
    init = bytes(rng.randrange(256) for _ in range(size))
    dut = AxiMemory(bus_bits, size, read_latency=lat, init=init)
    reads = [(0, 7), (8 * B, 15), (40 * B + 3, 0), (5 * B, 3)]   # one unaligned start
    m = AxiMasterModel(dut.bus, reads=reads)
    run_master(dut, m)
    total = sum(ln + 1 for _, ln in reads)
    first_beat = m.rbeats[0][0][0]
    assert first_beat == m.ar_cycles[0] + lat
    # one beat per cycle from the first to the last: the later bursts follow without a gap
    cycles = [c for burst in m.rbeats for c, *_ in burst]
    assert cycles == list(range(first_beat, first_beat + total))
    for (addr, ln), got, t_ar in zip(reads, m.rbeats, m.ar_cycles):
        assert got[0][0] >= t_ar + lat
        assert [d for _, d, _, _ in got] == words_of(init, addr // B * B, ln + 1, B)
        assert all(r == 0 for _, _, r, _ in got)


@pytest.mark.parametrize("bus_bits", [64, 512])
def test_random_traffic_with_stalls(bus_bits):
    B = bus_bits // 8
    rng = random.Random(bus_bits)
    size = 128 * B
    init = bytearray(rng.randrange(256) for _ in range(size))
    model = bytearray(init)
    writes = []
    for _ in range(6):
        ln = rng.randrange(8)
        addr = rng.randrange(size // B - ln) * B
        datas = [rng.getrandbits(bus_bits) for _ in range(ln + 1)]
        strbs = [rng.choice([(1 << B) - 1, 0, rng.getrandbits(B)]) for _ in range(ln + 1)]
        writes.append((addr, ln, datas, strbs))
        for i, (d, s) in enumerate(zip(datas, strbs)):
            db = d.to_bytes(B, "little")
            for j in range(B):
                if s >> j & 1:
                    model[addr + i * B + j] = db[j]
    dut = AxiMemory(bus_bits, size, read_latency=3, write_latency=2, init=bytes(init))
    m = AxiMasterModel(dut.bus, writes=writes, p_valid=0.6, p_ready=0.5, seed=bus_bits)
    result = {}

    async def post(ctx):
        result["mem"] = dut.peek(ctx, 0, size)

    run_master(dut, m, post=post)
    assert [r for _, r in m.bresps] == [0] * len(writes)
    assert result["mem"] == bytes(model)
    # then read everything back over AXI with stalls
    reads = [(a, 15) for a in range(0, size, 16 * B)]
    dut2 = AxiMemory(bus_bits, size, read_latency=4, init=bytes(model))
    m2 = AxiMasterModel(dut2.bus, reads=reads, p_valid=0.5, p_ready=0.4, seed=bus_bits + 1)
    run_master(dut2, m2)
    got = b"".join(d.to_bytes(B, "little") for burst in m2.rbeats for _, d, _, _ in burst)
    assert got == bytes(model)


def test_write_latency_and_decerr():
    bus_bits, B, lat = 128, 16, 3
    size = 16 * B
    dut = AxiMemory(bus_bits, size, read_latency=2, write_latency=lat)
    full = (1 << B) - 1
    writes = [(2 * B, 1, [0x11, 0x22], [full, full]),
              (14 * B, 3, [1, 2, 3, 4], [full] * 4)]           # beats 16, 17 are beyond the end
    reads = [(13 * B, 3), (0x1000_0000, 0)]                    # beat 16 beyond; far beyond
    m = AxiMasterModel(dut.bus, writes=writes)
    result = {}

    async def post(ctx):
        result["mem"] = dut.peek(ctx, 0, size)

    run_master(dut, m, post=post)
    assert [r for _, r in m.bresps] == [0, 3]
    # B comes write_latency cycles after the last W beat; with no stalls the W beats of the first
    # burst are taken in the two cycles after its AW handshake
    assert m.bresps[0][0] == m.aw_cycles[0] + 2 + lat
    mem = result["mem"]
    assert words_of(mem, 2 * B, 2, B) == [0x11, 0x22]
    assert words_of(mem, 14 * B, 2, B) == [1, 2]                # in-range beats are written
    dut2 = AxiMemory(bus_bits, size, read_latency=2, init=mem)
    m2 = AxiMasterModel(dut2.bus, reads=reads)
    run_master(dut2, m2)
    (b0, b1, b2, b3), (f,) = m2.rbeats
    assert [b[2] for b in (b0, b1, b2, b3)] == [0, 0, 0, 3]
    assert [b[1] for b in (b0, b1, b2, b3)] == [0, 1, 2, 0]
    assert f[2] == 3 and f[1] == 0


def test_backdoor_port():
    bus_bits, B = 64, 8
    dut = AxiMemory(bus_bits, 32 * B, read_latency=2, init=bytes(range(16)))
    got = {}

    async def pre(ctx):
        assert dut.peek(ctx, 0, 16) == bytes(range(16))
        ctx.set(dut.bd_addr, 1)
        await ctx.tick()
        got["bd1"] = ctx.get(dut.bd_rdata)
        ctx.set(dut.bd_addr, 5)
        ctx.set(dut.bd_wdata, 0xDEADBEEF_01234567)
        ctx.set(dut.bd_we, 1)
        await ctx.tick()
        ctx.set(dut.bd_we, 0)
        await ctx.tick()
        got["bd5"] = ctx.get(dut.bd_rdata)
        dut.poke(ctx, 6 * B + 3, b"\xAA\xBB")

    m = AxiMasterModel(dut.bus, reads=[(4 * B, 2)])
    run_master(dut, m, pre=pre)
    assert got["bd1"] == int.from_bytes(bytes(range(8, 16)), "little")
    assert got["bd5"] == 0xDEADBEEF_01234567
    assert [d for _, d, _, _ in m.rbeats[0]] == [0, 0xDEADBEEF_01234567, 0xBBAA << 24]


def test_bad_parameters_and_verilog():
    with pytest.raises(ValueError, match="size_bytes"):
        AxiMemory(64, 100)
    with pytest.raises(ValueError, match="read_latency"):
        AxiMemory(64, 64, read_latency=1)
    with pytest.raises(ValueError, match="bus_bits"):
        AxiMemory(96, 96)
    with pytest.raises(ValueError, match="init"):
        AxiMemory(64, 64, init=bytes(65))
    text = verilog.convert(AxiMemory(64, 256, init=b"\x01"), name="axi_mem")
    assert "module axi_mem" in text and "rvalid" in text


# -- run-time settings: injected faults and back-pressure (sim/memsettings.py) ----------------------

def _settings_pre(dut, settings):
    async def pre(ctx):
        for name, value in settings.port_values().items():
            ctx.set(getattr(dut, name), value)
    return pre


@pytest.mark.parametrize("bp", [None, "rate=160:seed=9"])
def test_injected_faults_hit_the_chosen_beat_of_the_chosen_burst(bp):
    """The ``nth`` burst starting in the address range with more than ``beat`` beats gets the error on
    exactly that beat (zero data; a write beat not written, the burst's BRESP); every other beat is
    normal, with or without back-pressure."""
    from sim.memsettings import Fault, MemSettings, parse_back_pressure
    bus_bits, B = 64, 8
    size = 64 * B
    rng = random.Random(5)
    init = bytes(rng.randrange(1, 256) for _ in range(size))
    # Reads: bursts at 0 (too short for beat 2), 8B, 16B (in range), 40B (outside the range).
    reads = [(0, 1), (8 * B, 3), (16 * B, 3), (40 * B, 3), (48 * B, 5)]
    full = (1 << B) - 1
    writes = [(24 * B, 3, [1, 2, 3, 4], [full] * 4), (32 * B, 3, [5, 6, 7, 8], [full] * 4)]
    settings = MemSettings(read_latency=3, write_latency=2,
                           read_fault=Fault("DECERR", beat=2, nth=1, addr_lo=0, addr_hi=32 * B - 1),
                           write_fault=Fault("SLVERR", beat=1, nth=1, addr_lo=24 * B, addr_hi=40 * B),
                           back_pressure=parse_back_pressure(bp) if bp else None)
    dut = AxiMemory(bus_bits, size, init=init)
    m = AxiMasterModel(dut.bus, reads=reads, writes=writes, seed=3)
    result = {}

    async def post(ctx):
        result["mem"] = dut.peek(ctx, 0, size)

    run_master(dut, m, pre=_settings_pre(dut, settings), post=post)
    # matching reads: (8B, 4 beats) is number 0, (16B, 4 beats) number 1: its beat 2 faults
    for i, ((addr, ln), beats) in enumerate(zip(reads, m.rbeats)):
        for j, (_, data, resp, _) in enumerate(beats):
            if (i, j) == (2, 2):
                assert (resp, data) == (3, 0)
            else:
                assert resp == 0 and data == int.from_bytes(init[addr + j * B:addr + (j + 1) * B], "little")
    assert [r for _, r in m.bresps] == [0, 2]
    mem = result["mem"]
    assert words_of(mem, 24 * B, 4, B) == [1, 2, 3, 4]
    assert words_of(mem, 32 * B, 4, B) == [5, int.from_bytes(init[33 * B:34 * B], "little"), 7, 8]


def test_back_pressure_is_deterministic_and_slows_down():
    """The same settings give the same handshake cycles; a higher rate takes longer; the data never
    change."""
    from sim.memsettings import MemSettings, parse_back_pressure
    bus_bits, B = 64, 8
    size = 64 * B
    init = bytes(random.Random(1).randrange(256) for _ in range(size))
    reads = [(a * B, 7) for a in range(0, 64, 8)]
    runs = []
    for bp in (None, "rate=100:seed=4", "rate=100:seed=4", "rate=220:seed=4"):
        settings = MemSettings(read_latency=2, back_pressure=parse_back_pressure(bp) if bp else None)
        dut = AxiMemory(bus_bits, size, init=init)
        m = AxiMasterModel(dut.bus, reads=reads)
        run_master(dut, m, pre=_settings_pre(dut, settings))
        got = b"".join(d.to_bytes(B, "little") for burst in m.rbeats for _, d, _, _ in burst)
        assert got == init
        runs.append((m.ar_cycles, [c for burst in m.rbeats for c, *_ in burst]))
    assert runs[1] == runs[2]
    assert runs[0][1][-1] < runs[1][1][-1] < runs[3][1][-1]
