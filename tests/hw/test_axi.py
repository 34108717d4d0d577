"""MemArbiter (hw/axi.py): several read clients and write clients against a randomised Python AXI4 slave,
random valid/ready stalls on both sides; every beat arrives exactly once, in order, with the right data
and error flag; the AXI attributes; the outstanding limit; throughput against AxiMemory.

The testbench is one cycle-driven coroutine: each cycle it sets every input (random stalls, held
payloads), reads the outputs, works out the handshakes, and ticks.  ``Setter`` only writes a signal when
its value changes, which keeps Amaranth's simulator fast.
"""

import random

import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from hw.axi import MemArbiter
from sim.axi_mem import AxiMemory
from tests.support.axi_models import AxiSlaveModel, Setter

MAX_CYCLES = 30000


def expected_beats(mem, B, err_base, addr, ln):
    out = []
    for i in range(ln + 1):
        a = addr + i * B
        err = a >= err_base
        out.append((0 if err else int.from_bytes(mem[a:a + B], "little"), int(i == ln), int(err)))
    return out


@pytest.mark.parametrize("bus_bits,n_read,n_write,max_out,p,seed", [
    (64, 3, 1, 4, 0.5, 1),
    (128, 2, 2, 2, 0.3, 2),
    (512, 4, 1, 1, 0.7, 3),
    (64, 1, 1, 3, 0.9, 4),
])
def test_arbiter_random_stalls(bus_bits, n_read, n_write, max_out, p, seed):
    B = bus_bits // 8
    rng = random.Random(seed)
    size = 256 * B
    err_base = 224 * B                  # the last 32 words answer SLVERR
    mem = bytearray(rng.randrange(256) for _ in range(size + 64 * B))
    initial = bytes(mem)
    dut = MemArbiter(bus_bits, n_read, n_write, max_outstanding=max_out)
    slave = AxiSlaveModel(dut.bus, bus_bits, mem, err_base, p=p, seed=seed, max_outstanding=max_out)

    # Write clients each own a slice of the first 128 words, so the final memory does not depend on the
    # order between clients; read clients read words 128.. (including the error region), which no
    # write changes, so their expected data are the initial memory's.
    reads = [[(rng.randrange(128, 250) * B, rng.randrange(6)) for _ in range(8)] for _ in range(n_read)]
    reads[0].append((220 * B, 7))       # straddles the error boundary
    slice_words = 128 // n_write
    writes = []
    for w in range(n_write):
        lst = []
        for _ in range(5):
            ln = rng.randrange(4)
            addr = (w * slice_words + rng.randrange(slice_words - ln)) * B
            lst.append((addr, ln, [rng.getrandbits(bus_bits) for _ in range(ln + 1)],
                        [rng.getrandbits(B) for _ in range(ln + 1)]))
        writes.append(lst)
    writes[-1].append((230 * B, 1, [1, 2], [(1 << B) - 1] * 2))   # into the error region
    exp_reads = [[b for a, ln in lst for b in expected_beats(initial, B, err_base, a, ln)] for lst in reads]

    got_reads = [[] for _ in range(n_read)]
    got_resps = [[] for _ in range(n_write)]
    counts = {"rd_beat": 0, "wr_beat": 0}

    async def tb(ctx):
        s = Setter(ctx)
        r_next = [0] * n_read
        r_v = [False] * n_read
        w_next = [0] * n_write
        w_v = [False] * n_write
        d_burst = [0] * n_write
        d_beat = [0] * n_write
        d_v = [False] * n_write
        g = ctx.get

        def offer_req(c, bursts, i, nxt, v):
            """Drive client ``c``'s request channel: at random, offer burst ``nxt[i]`` of ``bursts``;
            hold it until it is taken."""
            if not v[i] and nxt[i] < len(bursts) and rng.random() < p:
                v[i] = True
                s(c.req.payload.addr, bursts[nxt[i]][0])
                s(c.req.payload.len, bursts[nxt[i]][1])
            s(c.req.valid, v[i])

        def took_req(c, i, nxt, v):
            """Sample client ``c``'s request handshake: the offered burst is taken, the next one is due."""
            if v[i] and g(c.req.ready):
                v[i] = False
                nxt[i] += 1

        for cycle in range(MAX_CYCLES):
            slave.drive(s)
            for i, c in enumerate(dut.rd):
                offer_req(c, reads[i], i, r_next, r_v)
                s(c.resp.ready, rng.random() < p)
            for i, c in enumerate(dut.wr):
                offer_req(c, writes[i], i, w_next, w_v)
                if not d_v[i] and d_burst[i] < len(writes[i]) and rng.random() < p:
                    d_v[i] = True
                    _, ln, ds, ss = writes[i][d_burst[i]]
                    j = d_beat[i]
                    s(c.data.payload.data, ds[j])
                    s(c.data.payload.strb, ss[j])
                    s(c.data.payload.last, j == ln)
                s(c.data.valid, d_v[i])
                s(c.resp.ready, rng.random() < p)
            # sample
            slave.sample(ctx, cycle)
            counts["rd_beat"] += g(dut.rd_beat)
            counts["wr_beat"] += g(dut.wr_beat)
            for i, c in enumerate(dut.rd):
                took_req(c, i, r_next, r_v)
                if g(c.resp.valid) and g(c.resp.ready):
                    got_reads[i].append((g(c.resp.payload.data), g(c.resp.payload.last),
                                         g(c.resp.payload.err)))
            for i, c in enumerate(dut.wr):
                took_req(c, i, w_next, w_v)
                if d_v[i] and g(c.data.ready):
                    d_v[i] = False
                    d_beat[i] += 1
                    if d_beat[i] > writes[i][d_burst[i]][1]:
                        d_beat[i], d_burst[i] = 0, d_burst[i] + 1
                if g(c.resp.valid) and g(c.resp.ready):
                    got_resps[i].append(g(c.resp.payload.err))
            await ctx.tick()
            if (all(len(g_) == len(e) for g_, e in zip(got_reads, exp_reads))
                    and all(len(r) == len(w) for r, w in zip(got_resps, writes))):
                for _ in range(20):           # nothing more may arrive
                    slave.drive(s)
                    for c in dut.rd:
                        assert not g(c.resp.valid)
                    for c in dut.wr:
                        assert not g(c.resp.valid)
                    await ctx.tick()
                return
        raise AssertionError(f"not done after {MAX_CYCLES} cycles: reads "
                             f"{[len(x) for x in got_reads]} of {[len(x) for x in exp_reads]}, "
                             f"write responses {[len(x) for x in got_resps]}")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()

    for i in range(n_read):
        assert got_reads[i] == exp_reads[i], f"read client {i}"
    model = bytearray(initial)
    for i in range(n_write):
        exp_errs = []
        for addr, ln, ds, ss in writes[i]:
            err = False
            for j in range(ln + 1):
                a = addr + j * B
                if a >= err_base:
                    err = True
                    continue
                db = ds[j].to_bytes(B, "little")
                for k in range(B):
                    if ss[j] >> k & 1:
                        model[a + k] = db[k]
            exp_errs.append(int(err))
        assert got_resps[i] == exp_errs, f"write client {i}"
    assert mem == model
    assert counts["rd_beat"] == sum(len(x) for x in exp_reads) == slave.r_beats
    assert counts["wr_beat"] == sum(ln + 1 for lst in writes for _, ln, _, _ in lst) == slave.w_count


def test_arbiter_throughput_back_to_back_bursts():
    """One client, four 256-beat bursts, zero-stall AxiMemory: the next AR goes out while the previous
    burst streams, so the R channel carries a beat every cycle."""
    bus_bits, B, lat = 64, 8, 8
    size = 4 * 256 * B
    init = bytes(random.Random(5).randrange(256) for _ in range(size))
    m = Module()
    m.submodules.arb = arb = MemArbiter(bus_bits, n_read=2)
    m.submodules.mem = mem = AxiMemory(bus_bits, size, read_latency=lat, init=init)
    from amaranth.lib import wiring
    wiring.connect(m, arb.bus, mem.bus)
    c = arb.rd[1]
    result = {}

    async def tb(ctx):
        ctx.set(c.resp.ready, 1)
        ctx.set(arb.rd[0].req.valid, 0)
        got, issued, first = [], 0, None
        ctx.set(c.req.valid, 1)
        ctx.set(c.req.payload.addr, 0)
        ctx.set(c.req.payload.len, 255)
        for cycle in range(3000):
            hs = ctx.get(c.req.valid) and ctx.get(c.req.ready)
            if ctx.get(c.resp.valid):
                if first is None:
                    first = cycle
                got.append(ctx.get(c.resp.payload.data))
            await ctx.tick()
            if hs:                            # inputs change only after the clock edge
                issued += 1
                if issued == 4:
                    ctx.set(c.req.valid, 0)
                else:
                    ctx.set(c.req.payload.addr, issued * 256 * B)
            if len(got) == 1024:
                result["cycles"] = cycle + 1
                break
        result["got"] = got
        result["first"] = first

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    assert result["got"] == [int.from_bytes(init[i * B:(i + 1) * B], "little") for i in range(1024)]
    # request at cycle 0 -> AR register at 1 -> first beat at 1 + lat; then 1024 beats with no gap
    assert result["first"] == 1 + lat
    assert result["cycles"] == 1 + lat + 1024


@pytest.mark.parametrize("args,kwargs,match", [
    ((64, 0), {}, "n_read"),
    ((64, 1), {"max_outstanding": 0}, "max_outstanding"),
    ((48, 1), {}, "bus_bits"),
])
def test_arbiter_parameters(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        MemArbiter(*args, **kwargs)
