"""Internal interfaces between the core's units: the contract every unit is built against.

* ``MemReadSignature``  a memory read client (fetch, the uop/inp/wgt/acc DMA engines) talking to the
  memory arbiter (``hw/axi.py``): burst requests out, data beats back, in request order.
* ``MemWriteSignature`` a memory write client (the store DMA) talking to the arbiter.
* ``DmaReadCmd``        one 2-D load for a ``DmaRead`` engine (``hw/dma.py``).
* ``DmaWriteCmd``       one 2-D store for a ``DmaWrite`` engine.
* ``SramWriteSignature`` / ``SramReadSignature``: a unit's view of an SRAM port (it drives the address).
* ``TokenPopSignature`` / ``TokenPushSignature``: a unit's side of a dependency-token queue
  (``hw/queues.py: TokenQueue``); ``token_members(unit)`` names a unit's token ports after the queues of
  ``hw.isa.FLAG_QUEUES``.
* ``UnitStatusSignature(unit)``: what a load/compute/store unit reports to the run supervisor
  (``hw/supervisor.py``); ``FetchStatusSignature``: likewise for fetch.
* ``CounterIncSignature(names)``: per-cycle increments of the named counters of ``hw/regs.py``.
* ``RunSignature``: the run supervisor's side of the control block (launch in; done and errors out).
* ``AXI4_MEMBERS`` / ``AXIL_MEMBERS``: the flat AXI4 and AXI4-Lite port names of the top level.

Rules of the memory clients
---------------------------
* ``req.payload.addr`` is a byte address aligned to the bus width; ``req.payload.len`` is the number of
  beats minus one (0..255, AXI4 ``AxLEN``).  A burst never crosses a 4 KiB boundary: the client splits.
* Read beats come back on ``resp`` in the order of the client's requests; ``resp.payload.last`` marks
  each burst's last beat; ``resp.payload.err`` is set on a beat whose RRESP was SLVERR or DECERR.  A
  client may have several bursts outstanding; the arbiter never reorders one client's beats.
* A write client sends each burst's request on ``req`` and its beats on ``data`` (``last`` on the last
  beat), and receives one ``resp`` per burst (``err`` from BRESP).
"""

from __future__ import annotations

from amaranth.hdl import unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .isa import FLAG_QUEUES
from .regs import COUNTER_INC_WIDTH, ERROR_WIDTH, STALL_WIDTH, UNIT_INDEX_REGS

__all__ = [
    "ADDR_WIDTH", "MemReq", "MemReadBeat", "MemWriteBeat", "MemWriteResp",
    "MemReadSignature", "MemWriteSignature", "DmaReadCmd", "DmaWriteCmd",
    "SramWriteSignature", "SramReadSignature", "AXI4_MEMBERS", "AXIL_MEMBERS",
    "TokenPopSignature", "TokenPushSignature", "token_members", "UnitStatusSignature",
    "FetchStatusSignature", "CounterIncSignature", "RunSignature", "INDEX_WIDTH",
    "axi4_signature", "axil_signature",
]

from .axicodes import ADDR_WIDTH  # noqa: E402  (defined there: importable without Amaranth)

MemReq = data.StructLayout({"addr": ADDR_WIDTH, "len": 8})


def MemReadBeat(bus_bits: int):
    return data.StructLayout({"data": bus_bits, "last": 1, "err": 1})


def MemWriteBeat(bus_bits: int):
    return data.StructLayout({"data": bus_bits, "strb": bus_bits // 8, "last": 1})


MemWriteResp = data.StructLayout({"err": 1})


def MemReadSignature(bus_bits: int) -> wiring.Signature:
    """A read client, from the client's side."""
    return wiring.Signature({
        "req": Out(stream.Signature(MemReq)),
        "resp": In(stream.Signature(MemReadBeat(bus_bits))),
    })


def MemWriteSignature(bus_bits: int) -> wiring.Signature:
    """A write client, from the client's side."""
    return wiring.Signature({
        "req": Out(stream.Signature(MemReq)),
        "data": Out(stream.Signature(MemWriteBeat(bus_bits))),
        "resp": In(stream.Signature(MemWriteResp)),
    })


#: One 2-D load (vta-reference §5.1): ``dram_addr`` is the byte address of row 0's first element
#: (base register + dram_base x elem bytes, 32-bit wrap); the engine writes
#: (y_pad_0 + y_size + y_pad_1) x (x_pad_0 + x_size + x_pad_1) elements to the SRAM from ``sram_base``,
#: zeros in the padding, SRAM addresses wrapping modulo the depth.  x_size = 0 writes nothing at all.
DmaReadCmd = data.StructLayout({
    "sram_base": 16, "dram_addr": ADDR_WIDTH, "y_size": 16, "x_size": 16, "x_stride": 16,
    "y_pad_0": 4, "y_pad_1": 4, "x_pad_0": 4, "x_pad_1": 4,
})

#: One 2-D store (vta-reference §5.5): for each row y, x_size elements from SRAM
#: ``sram_base + y*x_size`` to DRAM ``dram_addr + y*x_stride*elem_bytes``.
DmaWriteCmd = data.StructLayout({
    "sram_base": 16, "dram_addr": ADDR_WIDTH, "y_size": 16, "x_size": 16, "x_stride": 16,
})


def SramWriteSignature(addr_width: int, width: int, lanes: int = 1) -> wiring.Signature:
    """A unit's side of an SRAM write port (connect to ``Memory.write_port()`` flipped); with ``lanes``
    > 1, ``en`` has a bit per ``width // lanes``-bit lane (``Memory.write_port(granularity=...)``)."""
    return wiring.Signature({"addr": Out(addr_width), "data": Out(width), "en": Out(lanes)})


def SramReadSignature(addr_width: int, width: int) -> wiring.Signature:
    """A unit's side of a synchronous SRAM read port: data is valid the cycle after addr (with en)."""
    return wiring.Signature({"addr": Out(addr_width), "data": In(width), "en": Out(1, init=1)})


#: Width of an instruction's index in the program (command-queue entries, error reports).
INDEX_WIDTH = 32

#: A unit's side of a token queue it pops: ``avail`` says a token is there, ``pop`` takes it (a pulse).
TokenPopSignature = wiring.Signature({"pop": Out(1), "avail": In(1)})

#: A unit's side of a token queue it pushes: ``full`` says a push must wait, ``push`` adds a token.
TokenPushSignature = wiring.Signature({"push": Out(1), "full": In(1)})


def token_members(unit: str) -> dict:
    """The token ports of ``unit`` (``"load"``, ``"compute"``, ``"store"``), one per queue it pops or
    pushes, named after the queue (``hw.isa.FLAG_QUEUES``)."""
    fq = FLAG_QUEUES[unit]
    return {**{q: Out(TokenPopSignature) for q in fq["pop"].values()},
            **{q: Out(TokenPushSignature) for q in fq["push"].values()}}


def UnitStatusSignature(unit: str) -> wiring.Signature:
    """What ``unit`` reports to the run supervisor, from the unit's side: ``busy`` (an instruction in
    progress, token waits included), ``active`` (it executes, token waits excluded), ``stuck`` (it waits
    on something only another unit can give), ``err`` (a bus error, sticky), ``index`` (its current
    instruction), and one ``wait_<queue>`` bit per token queue (waiting to pop it / to push it)."""
    fq = FLAG_QUEUES[unit]
    queues = [*fq["pop"].values(), *fq["push"].values()]
    return wiring.Signature({"busy": Out(1), "active": Out(1), "stuck": Out(1), "err": Out(1),
                             "index": Out(INDEX_WIDTH), **{f"wait_{q}": Out(1) for q in queues}})


#: What fetch reports to the run supervisor, from fetch's side: ``busy`` (instructions left to fetch or
#: dispatch, or reads outstanding), ``wait_full`` (blocked on a full load / compute / store queue),
#: ``illegal`` (stopped on an illegal instruction), ``rd_err`` (stopped on a read error response),
#: ``index`` (the next instruction to dispatch; at an error, the instruction that caused it).
FetchStatusSignature = wiring.Signature({
    "busy": Out(1), "wait_full": Out(3), "illegal": Out(1), "rd_err": Out(1), "index": Out(INDEX_WIDTH)})


def CounterIncSignature(names) -> wiring.Signature:
    """Per-cycle increments of the counters ``names`` (``hw.regs.COUNTER_INC_WIDTH`` wide each), from the
    side that counts the events."""
    return wiring.Signature({n: Out(COUNTER_INC_WIDTH[n]) for n in names})


#: The run supervisor's side of the control block: ``launch`` (a pulse) and ``running`` in; ``done``,
#: ``error`` (an ``ErrorCode``, non-zero stops the run), ``error_index``, ``stall`` (``STALL_BITS``) and
#: each unit's current instruction (``UNIT_INDEX_REGS``) out.
RunSignature = wiring.Signature({
    "launch": In(1), "running": In(1), "done": Out(1), "error": Out(ERROR_WIDTH),
    "error_index": Out(INDEX_WIDTH), "stall": Out(STALL_WIDTH),
    **{r: Out(INDEX_WIDTH) for r in UNIT_INDEX_REGS}})


#: AXI4 master ports of the top level, without the ``m_axi_`` prefix: (name, width, direction from the
#: master's side).  No ID, LOCK, QOS, REGION or USER signals (single-ID master: all responses in order).
def AXI4_MEMBERS(data_bits: int):
    return [
        ("awaddr", ADDR_WIDTH, Out), ("awlen", 8, Out), ("awsize", 3, Out), ("awburst", 2, Out),
        ("awcache", 4, Out), ("awprot", 3, Out), ("awvalid", 1, Out), ("awready", 1, In),
        ("wdata", data_bits, Out), ("wstrb", data_bits // 8, Out), ("wlast", 1, Out),
        ("wvalid", 1, Out), ("wready", 1, In),
        ("bresp", 2, In), ("bvalid", 1, In), ("bready", 1, Out),
        ("araddr", ADDR_WIDTH, Out), ("arlen", 8, Out), ("arsize", 3, Out), ("arburst", 2, Out),
        ("arcache", 4, Out), ("arprot", 3, Out), ("arvalid", 1, Out), ("arready", 1, In),
        ("rdata", data_bits, In), ("rresp", 2, In), ("rlast", 1, In), ("rvalid", 1, In),
        ("rready", 1, Out),
    ]


#: AXI4-Lite slave ports of the top level, without the ``s_axil_`` prefix, direction from the master's
#: side (the top level flips them).
AXIL_ADDR_WIDTH = 16
AXIL_MEMBERS = [
    ("awaddr", AXIL_ADDR_WIDTH, Out), ("awprot", 3, Out), ("awvalid", 1, Out), ("awready", 1, In),
    ("wdata", 32, Out), ("wstrb", 4, Out), ("wvalid", 1, Out), ("wready", 1, In),
    ("bresp", 2, In), ("bvalid", 1, In), ("bready", 1, Out),
    ("araddr", AXIL_ADDR_WIDTH, Out), ("arprot", 3, Out), ("arvalid", 1, Out), ("arready", 1, In),
    ("rdata", 32, In), ("rresp", 2, In), ("rvalid", 1, In), ("rready", 1, Out),
]


def axi4_signature(data_bits: int, prefix: str = "") -> wiring.Signature:
    """AXI4 master signature (master's side); with ``prefix="m_axi_"`` the members are the flat port
    names of the top level."""
    return wiring.Signature({prefix + n: d(w) for n, w, d in AXI4_MEMBERS(data_bits)})


def axil_signature(prefix: str = "") -> wiring.Signature:
    """AXI4-Lite master signature (master's side); a slave uses it flipped."""
    return wiring.Signature({prefix + n: d(w) for n, w, d in AXIL_MEMBERS})
