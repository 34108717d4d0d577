"""AXI4 test-bench pieces shared by the hardware tests: a randomised Python AXI4 slave, the burst rules
of this project's master, and a ``ctx.set`` that skips unchanged values."""

import random

__all__ = ["Setter", "check_burst", "AxiSlaveModel"]


class Setter:
    """ctx.set that skips unchanged values."""

    def __init__(self, ctx):
        self.ctx, self.last = ctx, {}

    def __call__(self, sig, value):
        value = int(value)
        key = id(sig)
        if self.last.get(key) != value:
            self.last[key] = value
            self.ctx.set(sig, value)


def check_burst(addr, ln, B, what="burst"):
    """AXI4 rules of this project's master: bus-aligned, at most 256 beats, never across 4 KiB."""
    assert addr % B == 0, f"{what} address {addr:#x} not aligned to {B} bytes"
    assert 0 <= ln <= 255
    assert addr // 4096 == (addr + (ln + 1) * B - 1) // 4096, \
        f"{what} of {ln + 1} beats at {addr:#x} crosses a 4 KiB boundary"


class AxiSlaveModel:
    """A randomised AXI4 slave over a bytearray.  Bytes at or beyond ``err_base`` answer SLVERR (reads
    return zeros there; writes there are dropped).  ``p``: probability of each ready/valid per cycle."""

    def __init__(self, bus, bus_bits, mem: bytearray, err_base: int, p=0.5, seed=0, max_outstanding=None):
        self.bus, self.B, self.mem, self.err_base = bus, bus_bits // 8, mem, err_base
        self.bus_bits = bus_bits
        self.rng, self.p = random.Random(seed), p
        self.ar_q, self.aw_q, self.w_beats, self.b_q = [], [], [], []
        self.r_cur = None        # (addr, len, index) of the burst being returned
        self.rv = self.bv = False
        self.max_outstanding, self.peak_reads = max_outstanding, 0
        self.r_beats = self.w_count = 0

    def drive(self, s):
        """Set the slave's outputs for this cycle."""
        bus, rng = self.bus, self.rng
        s(bus.arready, rng.random() < self.p)
        s(bus.awready, rng.random() < self.p)
        s(bus.wready, rng.random() < self.p)
        if not self.rv and self.ar_q and rng.random() < self.p:
            self.rv = True
            addr, ln, i = self.ar_q[0]
            a = addr + i * self.B
            err = a >= self.err_base
            data = 0 if err else int.from_bytes(self.mem[a:a + self.B], "little")
            s(bus.rdata, data)
            s(bus.rresp, 2 if err else 0)
            s(bus.rlast, i == ln)
        s(bus.rvalid, self.rv)
        if not self.bv and self.b_q and rng.random() < self.p:
            self.bv = True
            s(bus.bresp, 2 if self.b_q[0] else 0)
        s(bus.bvalid, self.bv)

    def sample(self, ctx, cycle):
        """Look at the master's outputs (after this cycle's inputs settled): handshakes."""
        bus, B = self.bus, self.B
        g = ctx.get
        if g(bus.arvalid) and g(bus.arready):
            assert (g(bus.arburst), g(bus.arsize), g(bus.arcache), g(bus.arprot)) == \
                (1, B.bit_length() - 1, 3, 0)
            self.ar_q.append([g(bus.araddr), g(bus.arlen), 0])
            check_burst(g(bus.araddr), g(bus.arlen), B, "read burst")
            n = len(self.ar_q)
            self.peak_reads = max(self.peak_reads, n)
            if self.max_outstanding:
                assert n <= self.max_outstanding, f"{n} read bursts outstanding at cycle {cycle}"
        if self.rv and g(bus.rready):
            self.rv = False
            self.r_beats += 1
            burst = self.ar_q[0]
            burst[2] += 1
            if burst[2] > burst[1]:
                self.ar_q.pop(0)
        if g(bus.awvalid) and g(bus.awready):
            assert (g(bus.awburst), g(bus.awsize), g(bus.awcache), g(bus.awprot)) == \
                (1, B.bit_length() - 1, 3, 0)
            self.aw_q.append((g(bus.awaddr), g(bus.awlen)))
            check_burst(g(bus.awaddr), g(bus.awlen), B, "write burst")
        if g(bus.wvalid) and g(bus.wready):
            self.w_count += 1
            self.w_beats.append((g(bus.wdata), g(bus.wstrb), g(bus.wlast)))
        # a burst is complete when its AW and all its W beats are in
        while self.aw_q and len(self.w_beats) > self.aw_q[0][1]:
            addr, ln = self.aw_q.pop(0)
            beats, self.w_beats = self.w_beats[:ln + 1], self.w_beats[ln + 1:]
            assert [l for _, _, l in beats] == [0] * ln + [1], f"WLAST pattern of burst at {addr:#x}"
            err = False
            for i, (d, strb, _) in enumerate(beats):
                a = addr + i * B
                if a >= self.err_base:
                    err = True
                    continue
                db = d.to_bytes(B, "little")
                for j in range(B):
                    if strb >> j & 1:
                        self.mem[a + j] = db[j]
            self.b_q.append(err)
        if self.bv and g(bus.bready):
            self.bv = False
            self.b_q.pop(0)
