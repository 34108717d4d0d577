"""The core's AXI4 master: one memory port shared by every memory client (semantics.md §4).

:class:`MemArbiter` turns the core's read clients (fetch, the uop/inp/wgt/acc DMA engines) and write
clients (the store DMA), each speaking ``hw.interfaces.MemReadSignature`` / ``MemWriteSignature``, into
one single-ID AXI4 master.

Read path
    The AR requests of the clients are arbitrated round-robin into a one-entry AR register (so ARVALID
    and the AR payload stay stable until ARREADY, as AXI requires), issuing at most one burst per cycle.
    The client of every issued burst is remembered in a FIFO of ``max_outstanding`` entries; R beats are
    routed, unregistered, to the client at the head of that FIFO, whose ``resp.ready`` is RREADY: a beat is
    never lost or duplicated whatever the stalls on either side, and one client's beats keep their order.
    The FIFO entry is dropped on the beat with RLAST.  At most ``max_outstanding`` bursts are in flight
    (counted from the AR register until their last beat); several may belong to one client.
Write path
    Likewise for AW (round-robin among the write clients, one-entry AW register); the client of each
    burst enters two FIFOs: one routes the W beats (dropped on the WLAST handshake), one routes the B
    response (dropped on the B handshake).  W beats of a burst may go out before its AW handshake,
    which AXI4 allows.

Every burst is INCR (``AxBURST`` = 1) of full bus-width beats (``AxSIZE`` = log2 of the bus bytes),
``AxCACHE`` = 0b0011 (normal non-cacheable bufferable), ``AxPROT`` = 0.  RRESP / BRESP of SLVERR or DECERR
(bit 1 set) sets ``err`` on the beat / response given to the client.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from .interfaces import MemReadSignature, MemWriteSignature, axi4_signature
from .util import IdQueue, check_bus_bits, check_int

__all__ = ["MemArbiter", "AXI_BURST_INCR", "AXI_CACHE", "AXI_RESP_OKAY", "AXI_RESP_SLVERR",
           "AXI_RESP_DECERR", "round_robin"]

# The codes live in hw.axicodes (plain numbers, importable without Amaranth); exported here too.
from .axicodes import AXI_BURST_INCR, AXI_CACHE, AXI_RESP_DECERR, AXI_RESP_OKAY, AXI_RESP_SLVERR  # noqa: E402

def round_robin(m: Module, name: str, requests: list) -> tuple:
    """Round-robin grant among ``requests`` (a list of 1-bit values), built into ``m``.

    Returns ``(grant, any, last)``: the index granted this cycle (combinational, the first requester
    after ``last`` in circular order), whether any request is up, and the ``last`` register that the
    caller must update (``m.d.sync += last.eq(grant)``) when the grant is taken.
    """
    n = len(requests)
    grant = Signal(range(max(n, 2)), name=f"{name}_grant")
    last = Signal(range(max(n, 2)), name=f"{name}_last", init=n - 1)
    any_ = Signal(name=f"{name}_any")
    m.d.comb += any_.eq(Cat(*requests).any())
    if n > 1:
        with m.Switch(last):
            for l in range(n):
                with m.Case(l):
                    order = [(l + 1 + j) % n for j in range(n)]
                    with m.If(requests[order[0]]):
                        m.d.comb += grant.eq(order[0])
                    for c in order[1:]:
                        with m.Elif(requests[c]):
                            m.d.comb += grant.eq(c)
    return grant, any_, last


class MemArbiter(wiring.Component):
    """AXI4 master shared by ``n_read`` read clients and ``n_write`` write clients.

    Parameters
    ----------
    bus_bits : int
        AXI data width (64, 128, 256, 512 or 1024).
    n_read : int
        Number of read clients (at least 1).
    n_write : int
        Number of write clients (at least 1).
    max_outstanding : int
        Bursts that may be in flight at once on each of the read and the write path (at least 1).

    Members
    -------
    bus : Out(axi4_signature(bus_bits))
        The AXI4 master port (``bus.araddr``, ... without prefix).
    rd : In(MemReadSignature(bus_bits)).array(n_read)
        Read clients; ``rd[i].req`` is accepted in round-robin order, ``rd[i].resp`` carries its beats.
    wr : In(MemWriteSignature(bus_bits)).array(n_write)
        Write clients.
    rd_beat, wr_beat : Out(1)
        One-cycle strobes, one per R / W handshake on the bus (for the bus-beat counters).
    """

    def __new__(cls, bus_bits: int, n_read: int, n_write: int = 1, max_outstanding: int = 4):
        # Refuse bad parameters before the object exists: nothing is left to warn "never used" about.
        check_bus_bits(bus_bits)
        for name, value in (("n_read", n_read), ("n_write", n_write), ("max_outstanding", max_outstanding)):
            check_int(name, value, 1)
        return super().__new__(cls)

    def __init__(self, bus_bits: int, n_read: int, n_write: int = 1, max_outstanding: int = 4):
        self.bus_bits = bus_bits
        self.n_read = n_read
        self.n_write = n_write
        self.max_outstanding = max_outstanding
        super().__init__({
            "bus": Out(axi4_signature(bus_bits)),
            "rd": In(MemReadSignature(bus_bits)).array(n_read),
            "wr": In(MemWriteSignature(bus_bits)).array(n_write),
            "rd_beat": Out(1),
            "wr_beat": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        size = ceil_log2(self.bus_bits // 8)
        m.d.comb += [bus.arburst.eq(AXI_BURST_INCR), bus.arsize.eq(size), bus.arcache.eq(AXI_CACHE),
                     bus.arprot.eq(0), bus.awburst.eq(AXI_BURST_INCR), bus.awsize.eq(size),
                     bus.awcache.eq(AXI_CACHE), bus.awprot.eq(0)]
        self._read_path(m)
        self._write_path(m)
        return m

    # -- address channels ------------------------------------------------------------------------------

    def _address_channel(self, m: Module, ch: str, clients, full):
        """The AXI address channel ``ch`` (``"ar"`` or ``"aw"``) shared round-robin by ``clients``:
        a request is taken into a one-entry register (address stable until the handshake) while the
        response-routing queue is not ``full``.  Returns ``(take, grant)``: a request is taken this
        cycle, and from which client."""
        bus = self.bus
        a_valid, a_ready = getattr(bus, ch + "valid"), getattr(bus, ch + "ready")
        a_addr, a_len = getattr(bus, ch + "addr"), getattr(bus, ch + "len")
        grant, any_req, last = round_robin(m, ch, [c.req.valid for c in clients])
        valid = Signal(name=f"{ch}_valid")
        addr = Signal.like(a_addr, name=f"{ch}_addr")
        length = Signal.like(a_len, name=f"{ch}_len")
        take = Signal(name=f"{ch}_take")
        m.d.comb += take.eq(any_req & ~full & (~valid | a_ready))
        for i, c in enumerate(clients):
            m.d.comb += c.req.ready.eq(take & (grant == i))
        addrs = Array(c.req.payload.addr for c in clients)
        lens = Array(c.req.payload.len for c in clients)
        with m.If(take):
            m.d.sync += [valid.eq(1), addr.eq(addrs[grant]), length.eq(lens[grant]), last.eq(grant)]
        with m.Elif(a_ready):
            m.d.sync += valid.eq(0)
        m.d.comb += [a_valid.eq(valid), a_addr.eq(addr), a_len.eq(length)]
        return take, grant

    # -- read ------------------------------------------------------------------------------------------

    def _read_path(self, m: Module):
        bus, rd, n = self.bus, self.rd, self.n_read
        rq = IdQueue(m, "rid", self.max_outstanding, ceil_log2(n))
        take, grant = self._address_channel(m, "ar", rd, rq.full)
        m.d.comb += [rq.push.eq(take), rq.din.eq(grant)]

        # R beats go to the client at the head of the queue, unregistered.
        head = rq.head
        readies = Array(c.resp.ready for c in rd)
        m.d.comb += bus.rready.eq(rq.nonempty & readies[head])
        for i, c in enumerate(rd):
            m.d.comb += [c.resp.valid.eq(bus.rvalid & rq.nonempty & (head == i)),
                         c.resp.payload.data.eq(bus.rdata),
                         c.resp.payload.last.eq(bus.rlast),
                         c.resp.payload.err.eq(bus.rresp[1])]
        beat = Signal()
        m.d.comb += [beat.eq(bus.rvalid & bus.rready), self.rd_beat.eq(beat),
                     rq.pop.eq(beat & bus.rlast)]

    # -- write -----------------------------------------------------------------------------------------

    def _write_path(self, m: Module):
        bus, wr, n = self.bus, self.wr, self.n_write
        wq = IdQueue(m, "wid", self.max_outstanding, ceil_log2(n))
        bq = IdQueue(m, "bid", self.max_outstanding, ceil_log2(n))
        take, grant = self._address_channel(m, "aw", wr, bq.full)
        m.d.comb += [wq.push.eq(take), wq.din.eq(grant), bq.push.eq(take), bq.din.eq(grant)]

        # W beats from the client at the head of the W queue.
        wh = wq.head
        if n == 1:
            c = wr[0]
            m.d.comb += [bus.wvalid.eq(wq.nonempty & c.data.valid), bus.wdata.eq(c.data.payload.data),
                         bus.wstrb.eq(c.data.payload.strb), bus.wlast.eq(c.data.payload.last),
                         c.data.ready.eq(wq.nonempty & bus.wready)]
        else:
            valids = Array(c.data.valid for c in wr)
            datas = Array(c.data.payload.data for c in wr)
            strbs = Array(c.data.payload.strb for c in wr)
            lasts = Array(c.data.payload.last for c in wr)
            m.d.comb += [bus.wvalid.eq(wq.nonempty & valids[wh]), bus.wdata.eq(datas[wh]),
                         bus.wstrb.eq(strbs[wh]), bus.wlast.eq(lasts[wh])]
            for i, c in enumerate(wr):
                m.d.comb += c.data.ready.eq(wq.nonempty & bus.wready & (wh == i))
        wbeat = Signal()
        m.d.comb += [wbeat.eq(bus.wvalid & bus.wready), self.wr_beat.eq(wbeat),
                     wq.pop.eq(wbeat & bus.wlast)]

        # B responses to the client at the head of the B queue.
        bh = bq.head
        readies = Array(c.resp.ready for c in wr)
        m.d.comb += bus.bready.eq(bq.nonempty & readies[bh])
        for i, c in enumerate(wr):
            m.d.comb += [c.resp.valid.eq(bus.bvalid & bq.nonempty & (bh == i)),
                         c.resp.payload.err.eq(bus.bresp[1])]
        m.d.comb += bq.pop.eq(bus.bvalid & bus.bready)
