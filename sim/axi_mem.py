"""An AXI4 slave memory in Amaranth, simulated together with the core (in Amaranth's simulator, and as
generated Verilog under Icarus or Verilator, with the same cycle counts everywhere).

Timing (cycle ``t`` is the cycle in which a handshake's VALID and READY are both high):

* **Read.**  An AR accepted in cycle ``t`` enters the AR queue (``queue_depth`` entries; ARREADY is
  high while it has room).  Its first R beat is presented (RVALID high) in cycle ``t + read_latency`` at
  the earliest; the following beats of the burst in the following cycles, one per cycle, each delayed
  only by RREADY being low (a beat stays on the bus until taken).  The next queued burst's first beat
  follows the previous burst's last beat in the very next cycle if its own ``t + read_latency`` has
  passed.  So with RREADY always high and the AR queue kept non-empty, the R channel carries one beat
  every cycle: a read of ``N`` beats in bursts issued back to back takes ``read_latency + N`` cycles from
  the first AR handshake to the cycle after the last beat.
* **Write.**  An AW accepted in cycle ``t`` enters the AW queue (``queue_depth`` entries).  W beats are
  accepted (WREADY high) only while an AW is queued (so a burst's first beat is taken in the cycle
  after its AW handshake at the earliest) and the B queue has room; then one per cycle.  The burst ends with its ``AWLEN + 1``-th beat (WLAST is not
  checked), written into the memory in that cycle; its B response is presented (BVALID high) in
  cycle ``t_last + write_latency``, held until BREADY.
* **Errors.**  A beat whose bus-word address (``AxADDR`` rounded down to the bus width, plus the beat
  index times the bus bytes) is at or beyond ``size_bytes`` reads as zero with RRESP = DECERR, or is not
  written; a write burst with such a beat gets BRESP = DECERR.  Only INCR bursts of full bus-width
  beats are modelled (AxBURST and AxSIZE are ignored); addresses wrap at 2^32.
* WSTRB is honoured byte by byte.

Run-time settings (``sim.memsettings``: one In port each, the same on ``SimTop``)
    ``mem_read_latency`` / ``mem_write_latency`` are the latencies above (reset values: the constructor's
    ``read_latency`` / ``write_latency``), so a new latency needs no new design.
* **Injected faults.**  With ``fault_rd_en``, the ``fault_rd_nth``-th (from 0, counted from reset) AR
  whose address lies in ``[fault_rd_lo, fault_rd_hi]`` and whose ``ARLEN >= fault_rd_beat`` gets
  RRESP = ``fault_rd_resp`` (and zero data) on its beat ``fault_rd_beat``; the other beats are normal.
  Likewise ``fault_wr_*`` for AW: beat ``fault_wr_beat`` of that burst is not written and its BRESP
  is ``fault_wr_resp`` (DECERR of an out-of-range beat takes precedence).
* **Back-pressure.**  Channel ``c`` (index ``i`` in ``BP_CHANNELS`` = ar, r, aw, w, b) counts its
  *decisions* ``k`` from reset, while bit ``i`` of ``bp_channels`` is set and ``bp_rate`` is not 0: a
  cycle in which it could move (AR/AW: VALID high and room in the
  queue; W: WVALID high, an AW queued and room for the response; R/B: a beat or response is ready and
  not yet shown).  With ``x = ((k ^ (bp_seed + BP_SALT*(i+1))) * BP_MUL1) mod 2^32`` and
  ``y = ((x ^ (x >> 15)) * BP_MUL2) mod 2^32``, the decision stalls if bit ``i`` of ``bp_channels`` is
  set and ``y >> 24 < bp_rate``: ARREADY / AWREADY / WREADY low, or RVALID / BVALID not raised yet.
  Once shown, RVALID and BVALID stay high until taken.  With ``bp_rate`` 0 (the default) nothing
  changes.

Storage
    ``storage="amaranth"`` (default) keeps the contents in an ``amaranth.lib.memory.Memory``, which
    Amaranth's simulator runs.  ``storage="verilog"`` (for the generated Verilog only) keeps them in the
    hand-written Verilog module :data:`STORAGE_VERILOG` (an ``Instance`` of :data:`STORAGE_MODULE`; its
    text must be added to the design's Verilog), with the same ports and timing: zeroed at time 0, then
    loaded by ``$readmemh`` from the file named by the plusarg ``+vta_mem=FILE`` (:data:`MEM_PLUSARG`).
    A zero-initialised ``Memory`` of megabytes would take minutes to convert; this takes no time.

Backdoor
    ``init`` (bytes) gives the initial contents (``storage="amaranth"`` only).  The synchronous backdoor port addresses bus words:
    with ``bd_we`` high, ``bd_wdata`` is written to word ``bd_addr`` at the clock edge (it takes
    precedence over a W beat in the same cycle: use it only while the core is idle); ``bd_rdata`` shows
    word ``bd_addr`` of the previous cycle.  In Amaranth's simulator :meth:`AxiMemory.peek` and
    :meth:`AxiMemory.poke` read and write the contents directly, in zero time.
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth.hdl import Array, ClockSignal, Instance, Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory, MemoryData
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from hw.axi import AXI_RESP_DECERR, AXI_RESP_OKAY
from hw.util import check_bus_bits
from hw.interfaces import ADDR_WIDTH, axi4_signature

from .memsettings import BP_CHANNELS, MAX_LATENCY, PORTS

__all__ = ["AxiMemory", "add_storage", "STORAGES", "STORAGE_MODULE", "STORAGE_VERILOG", "MEM_PLUSARG"]

#: Constants of the back-pressure pattern (module docstring).
BP_SALT, BP_MUL1, BP_MUL2 = 0x9E3779B9, 0x9E3779B1, 0x85EBCA6B

#: Where the contents are kept (module docstring).
STORAGES = ("amaranth", "verilog")
#: Verilog module name of the ``storage="verilog"`` contents.
STORAGE_MODULE = "vta_axi_mem_storage"
#: Plusarg naming the ``$readmemh`` file of the ``storage="verilog"`` contents (``+vta_mem=FILE``).
MEM_PLUSARG = "vta_mem"

#: The ``storage="verilog"`` contents: ``DEPTH`` words of ``WIDTH`` bits; a read port (``r_data``
#: takes word ``r_addr`` at a clock edge with ``r_en`` high, the value before that edge's write), the
#: backdoor read port (the same, always enabled) and a write port with one enable per byte.
STORAGE_VERILOG = f"""
module {STORAGE_MODULE} #(parameter WIDTH = 64, parameter DEPTH = 1, parameter ABITS = 1) (
  input clk,
  input [ABITS-1:0] r_addr, input r_en, output reg [WIDTH-1:0] r_data,
  input [ABITS-1:0] b_addr, output reg [WIDTH-1:0] b_data,
  input [ABITS-1:0] w_addr, input [WIDTH/8-1:0] w_en, input [WIDTH-1:0] w_data
);
  reg [WIDTH-1:0] mem [0:DEPTH-1];
  integer i;
  initial begin : load
    string file;
    for (i = 0; i < DEPTH; i = i + 1)
      mem[i] = 0;
    r_data = 0;
    b_data = 0;
    if ($value$plusargs("{MEM_PLUSARG}=%s", file))
      $readmemh(file, mem);
  end
  always @(posedge clk) begin
    if (r_en)
      r_data <= mem[r_addr];
    b_data <= mem[b_addr];
    for (i = 0; i < WIDTH / 8; i = i + 1)
      if (w_en[i])
        mem[w_addr][i * 8 +: 8] <= w_data[i * 8 +: 8];
  end
endmodule
"""


def add_storage(m: Module, storage: str, width: int, depth: int, data: MemoryData | None = None):
    """Add the contents of a memory of ``depth`` words of ``width`` bits to module ``m`` as submodule
    ``mem``: an ``amaranth.lib.memory.Memory`` of ``data`` (``storage="amaranth"``) or an ``Instance``
    of :data:`STORAGE_MODULE` (``"verilog"``).

    Returns
    -------
    (read port, write port, backdoor read port)
        Each with ``addr`` and ``data``; the read port has ``en``, the write port ``en`` with one bit per
        byte; both read ports are synchronous, reading the value before a same-edge write.
    """
    if storage == "amaranth":
        m.submodules.mem = mem = Memory(data=data)
        return mem.read_port(), mem.write_port(granularity=8), mem.read_port()
    abits = max(ceil_log2(depth), 1)
    rport = SimpleNamespace(addr=Signal(abits, name="mem_r_addr"), en=Signal(name="mem_r_en"),
                            data=Signal(width, name="mem_r_data"))
    wport = SimpleNamespace(addr=Signal(abits, name="mem_w_addr"), en=Signal(width // 8, name="mem_w_en"),
                            data=Signal(width, name="mem_w_data"))
    bdport = SimpleNamespace(addr=Signal(abits, name="mem_b_addr"), data=Signal(width, name="mem_b_data"))
    m.submodules.mem = Instance(
        STORAGE_MODULE, p_WIDTH=width, p_DEPTH=depth, p_ABITS=abits,
        i_clk=ClockSignal(), i_r_addr=rport.addr, i_r_en=rport.en, o_r_data=rport.data,
        i_b_addr=bdport.addr, o_b_data=bdport.data,
        i_w_addr=wport.addr, i_w_en=wport.en, i_w_data=wport.data)
    return rport, wport, bdport


class AxiMemory(wiring.Component):
    """AXI4 slave memory of ``size_bytes`` bytes with fixed read and write latencies.

    Parameters
    ----------
    bus_bits : int
        AXI data width (64, 128, 256, 512 or 1024).
    size_bytes : int
        Memory size: a positive multiple of the bus width in bytes, at most 2^32.
    read_latency : int
        Cycles from an AR handshake to its first R beat (at least 2).
    write_latency : int
        Cycles from a burst's last W handshake to its B response (at least 1).
    init : bytes
        Initial contents from address 0 (at most ``size_bytes`` long; the rest is zero).
    queue_depth : int
        Entries of the AR queue, the AW queue and the B queue (at least 1).
    storage : str
        ``"amaranth"`` or ``"verilog"`` (module docstring); ``"verilog"`` takes no ``init``.

    Members
    -------
    bus : In(axi4_signature(bus_bits))
        The slave port.
    bd_addr : In(range(words))
        Backdoor word address (bus words).
    bd_wdata : In(bus_bits)
    bd_we : In(1)
    bd_rdata : Out(bus_bits)
        Word ``bd_addr`` as of the previous cycle.
    """

    def __init__(self, bus_bits: int, size_bytes: int, read_latency: int = 8, write_latency: int = 4,
                 init: bytes = b"", queue_depth: int = 8, storage: str = "amaranth"):
        init = bytes(init)
        bus_bytes = bus_bits // 8
        self.bus_bits = bus_bits
        self.bus_bytes = bus_bytes
        self.size_bytes = size_bytes
        self.words = size_bytes // bus_bytes
        self.read_latency = read_latency
        self.write_latency = write_latency
        self.queue_depth = queue_depth
        self.storage = storage
        padded = init + bytes(-len(init) % bus_bytes)
        words = [int.from_bytes(padded[i:i + bus_bytes], "little") for i in range(0, len(padded), bus_bytes)]
        #: The contents (``amaranth.lib.memory.MemoryData``), one bus word per row; None with
        #: ``storage="verilog"``.
        self.data = (MemoryData(shape=unsigned(bus_bits), depth=self.words, init=words)
                     if storage == "amaranth" else None)
        latency = {"mem_read_latency": read_latency, "mem_write_latency": write_latency}
        super().__init__({
            "bus": In(axi4_signature(bus_bits)),
            "bd_addr": In(range(max(self.words, 2))),
            "bd_wdata": In(bus_bits),
            "bd_we": In(1),
            "bd_rdata": Out(bus_bits),
            **{name: In(width, init=latency.get(name, init)) for name, width, init in PORTS},
        })

    def __new__(cls, *args, **kwargs):
        # Check the parameters before the object exists, so that a refused one is never an unused
        # elaboratable that Amaranth would warn about.
        cls.check(*args, **kwargs)
        return super().__new__(cls, src_loc_at=1)

    @staticmethod
    def check(bus_bits, size_bytes, read_latency=8, write_latency=4, init=b"", queue_depth=8,
              storage="amaranth"):
        """Raise ValueError, naming the parameter, unless these are valid parameters of AxiMemory."""
        check_bus_bits(bus_bits)
        bus_bytes = bus_bits // 8
        if (isinstance(size_bytes, bool) or not isinstance(size_bytes, int) or size_bytes <= 0
                or size_bytes % bus_bytes or size_bytes > 1 << ADDR_WIDTH):
            raise ValueError(f"size_bytes must be a positive multiple of {bus_bytes} (the bus width in "
                             f"bytes) up to 2**32, not {size_bytes!r}")
        for name, value, lo in (("read_latency", read_latency, 2), ("write_latency", write_latency, 1),
                                ("queue_depth", queue_depth, 1)):
            hi = MAX_LATENCY - 1 if name != "queue_depth" else None
            if (isinstance(value, bool) or not isinstance(value, int) or value < lo
                    or (hi is not None and value > hi)):
                raise ValueError(f"{name} must be an integer >= {lo}" + (f" and <= {hi}" if hi else "")
                                 + f", not {value!r}")
        if storage not in STORAGES:
            raise ValueError(f"storage must be one of {', '.join(STORAGES)}, not {storage!r}")
        if len(bytes(init)) > (size_bytes if storage == "amaranth" else 0):
            raise ValueError(f"init is {len(bytes(init))} bytes, more than size_bytes = {size_bytes}"
                             if storage == "amaranth" else "storage='verilog' takes no init (it is "
                             f"loaded by $readmemh)")

    # -- zero-time access in Amaranth's simulator ------------------------------------------------------

    def peek(self, ctx, addr: int, n: int) -> bytes:
        """``n`` bytes from byte address ``addr``, read directly from the memory (testbench only)."""
        if addr < 0 or n < 0 or addr + n > self.size_bytes:
            raise ValueError(f"peek of {n} bytes at {addr:#x} is outside the {self.size_bytes}-byte memory")
        B = self.bus_bytes
        w0, w1 = addr // B, (addr + n + B - 1) // B
        raw = b"".join(ctx.get(self.data[w]).to_bytes(B, "little") for w in range(w0, w1))
        return raw[addr - w0 * B:][:n]

    def poke(self, ctx, addr: int, data: bytes):
        """Write ``data`` at byte address ``addr`` directly into the memory (testbench only)."""
        data = bytes(data)
        if addr < 0 or addr + len(data) > self.size_bytes:
            raise ValueError(f"poke of {len(data)} bytes at {addr:#x} is outside the "
                             f"{self.size_bytes}-byte memory")
        if not data:
            return
        B = self.bus_bytes
        w0, w1 = addr // B, (addr + len(data) + B - 1) // B
        buf = bytearray((w1 - w0) * B)
        buf[:B] = ctx.get(self.data[w0]).to_bytes(B, "little")          # partial first word
        buf[-B:] = ctx.get(self.data[w1 - 1]).to_bytes(B, "little")     # partial last word
        off = addr - w0 * B
        buf[off:off + len(data)] = data
        for i, w in enumerate(range(w0, w1)):
            ctx.set(self.data[w], int.from_bytes(buf[i * B:(i + 1) * B], "little"))

    # -- hardware --------------------------------------------------------------------------------------


    def elaborate(self, platform):
        m = Module()
        rport, wport, bdport = add_storage(m, self.storage, self.bus_bits, self.words, self.data)
        bus = self.bus
        B = self.bus_bytes
        lb = ceil_log2(B)
        word_bits = ADDR_WIDTH - lb
        in_range_limit = self.words          # word index < words
        D = self.queue_depth

        now = Signal(32)                     # free-running cycle counter for the latencies
        m.d.sync += now.eq(now + 1)

        def due(at):                         # "cycle `now` has reached `at`", wrap-safe
            return ~(now - at)[31]

        def fifo(name, fields):
            """A register FIFO: returns (push, pop, nonempty, full, head dict, din dict)."""
            regs = {f: Array(Signal(w, name=f"{name}_{f}{i}") for i in range(D)) for f, w in fields}
            wptr, rptr = Signal(range(max(D, 2)), name=f"{name}_wptr"), Signal(range(max(D, 2)), name=f"{name}_rptr")
            level = Signal(range(D + 1), name=f"{name}_level")
            push, pop = Signal(name=f"{name}_push"), Signal(name=f"{name}_pop")
            din = {f: Signal(w, name=f"{name}_din_{f}") for f, w in fields}
            head = {f: Signal(w, name=f"{name}_head_{f}") for f, w in fields}
            for f, _ in fields:
                m.d.comb += head[f].eq(regs[f][rptr])
            with m.If(push):
                for f, _ in fields:
                    m.d.sync += regs[f][wptr].eq(din[f])
                m.d.sync += wptr.eq(Mux(wptr == D - 1, 0, wptr + 1))
            with m.If(pop):
                m.d.sync += rptr.eq(Mux(rptr == D - 1, 0, rptr + 1))
            with m.If(push & ~pop):
                m.d.sync += level.eq(level + 1)
            with m.Elif(pop & ~push):
                m.d.sync += level.eq(level - 1)
            return push, pop, level != 0, level == D, head, din

        # -- back-pressure: one stall decision per channel and cycle in which it could move ------------
        stall, decide = {}, {}
        for i, ch in enumerate(BP_CHANNELS):
            k = Signal(32, name=f"bp_{ch}_k")                 # decisions taken since reset
            decide[ch] = Signal(name=f"bp_{ch}_decide")
            stall[ch] = Signal(name=f"bp_{ch}_stall")
            x1 = Signal(32, name=f"bp_{ch}_x1")
            x2 = Signal(32, name=f"bp_{ch}_x2")
            mixed = Signal(32, name=f"bp_{ch}_mixed")
            m.d.comb += [
                x1.eq((k ^ (self.bp_seed + BP_SALT * (i + 1))[:32]) * BP_MUL1),
                x2.eq((x1 ^ (x1 >> 15)) * BP_MUL2),
                mixed.eq(x2),
                stall[ch].eq(self.bp_channels[i] & (mixed[24:32] < self.bp_rate)),
            ]
            # Counted only while the channel stalls at all, so that without back-pressure nothing
            # here changes (Amaranth's simulator then never evaluates the hash).
            with m.If(decide[ch] & self.bp_channels[i] & (self.bp_rate != 0)):
                m.d.sync += k.eq(k + 1)

        # -- read ------------------------------------------------------------------------------------
        ar_push, ar_pop, ar_ne, ar_full, ar_h, ar_d = fifo(
            "ar", [("word", word_bits), ("len", 8), ("due", 32), ("flt", 1)])
        rd_count = Signal(32)                # bursts that matched the read fault so far
        rd_match = Signal()
        m.d.comb += [decide["ar"].eq(bus.arvalid & ~ar_full),
                     bus.arready.eq(~ar_full & ~stall["ar"]), ar_push.eq(bus.arvalid & bus.arready),
                     ar_d["word"].eq(bus.araddr[lb:]), ar_d["len"].eq(bus.arlen),
                     ar_d["due"].eq(now + (self.mem_read_latency - 1)),
                     rd_match.eq(self.fault_rd_en & (bus.araddr >= self.fault_rd_lo)
                                 & (bus.araddr <= self.fault_rd_hi) & (bus.arlen >= self.fault_rd_beat)),
                     ar_d["flt"].eq(rd_match & (rd_count == self.fault_rd_nth))]
        with m.If(ar_push & rd_match):
            m.d.sync += rd_count.eq(rd_count + 1)
        r_idx = Signal(8)                    # beat of the head burst to fetch next
        r_valid = Signal()                   # a beat is in the R register (data in the read port)
        r_shown = Signal()                   # ... and RVALID showed it (it stays up until taken)
        r_resp = Signal(2)
        r_last = Signal()
        advance = Signal()                   # the R register takes a new beat or empties
        fetch = Signal()
        r_word = Signal(word_bits)
        m.d.comb += [decide["r"].eq(r_valid & ~r_shown),
                     bus.rvalid.eq(r_valid & (r_shown | ~stall["r"])),
                     advance.eq(~r_valid | (bus.rvalid & bus.rready)),
                     fetch.eq(advance & ar_ne & due(ar_h["due"])),
                     r_word.eq(ar_h["word"] + r_idx),
                     rport.addr.eq(r_word), rport.en.eq(advance)]
        m.d.sync += r_shown.eq(bus.rvalid & ~bus.rready)
        with m.If(fetch):
            m.d.sync += [r_valid.eq(1), r_last.eq(r_idx == ar_h["len"])]
            with m.If(r_word >= in_range_limit):
                m.d.sync += r_resp.eq(AXI_RESP_DECERR)
            with m.Elif(ar_h["flt"] & (r_idx == self.fault_rd_beat)):
                m.d.sync += r_resp.eq(self.fault_rd_resp)
            with m.Else():
                m.d.sync += r_resp.eq(AXI_RESP_OKAY)
            with m.If(r_idx == ar_h["len"]):
                m.d.sync += r_idx.eq(0)
                m.d.comb += ar_pop.eq(1)
            with m.Else():
                m.d.sync += r_idx.eq(r_idx + 1)
        with m.Elif(advance):
            m.d.sync += r_valid.eq(0)
        m.d.comb += [bus.rlast.eq(r_last), bus.rresp.eq(r_resp),
                     bus.rdata.eq(Mux(r_resp != AXI_RESP_OKAY, 0, rport.data))]

        # -- write -----------------------------------------------------------------------------------
        aw_push, aw_pop, aw_ne, aw_full, aw_h, aw_d = fifo(
            "aw", [("word", word_bits), ("len", 8), ("flt", 1)])
        b_push, b_pop, b_ne, b_full, b_h, b_d = fifo("b", [("resp", 2), ("due", 32)])
        wr_count = Signal(32)                # bursts that matched the write fault so far
        wr_match = Signal()
        m.d.comb += [decide["aw"].eq(bus.awvalid & ~aw_full),
                     bus.awready.eq(~aw_full & ~stall["aw"]), aw_push.eq(bus.awvalid & bus.awready),
                     aw_d["word"].eq(bus.awaddr[lb:]), aw_d["len"].eq(bus.awlen),
                     wr_match.eq(self.fault_wr_en & (bus.awaddr >= self.fault_wr_lo)
                                 & (bus.awaddr <= self.fault_wr_hi) & (bus.awlen >= self.fault_wr_beat)),
                     aw_d["flt"].eq(wr_match & (wr_count == self.fault_wr_nth))]
        with m.If(aw_push & wr_match):
            m.d.sync += wr_count.eq(wr_count + 1)
        w_idx = Signal(8)
        w_dec = Signal()                     # an earlier beat of this burst was out of range
        w_flt = Signal()                     # an earlier beat of this burst was the faulty one
        w_word = Signal(word_bits)
        w_ok = Signal()                      # the beat is in range
        w_hit = Signal()                     # the beat is the faulty one
        w_hs = Signal()
        w_room = Signal()
        m.d.comb += [w_room.eq(aw_ne & ~b_full), decide["w"].eq(bus.wvalid & w_room),
                     bus.wready.eq(w_room & ~stall["w"]), w_hs.eq(bus.wvalid & bus.wready),
                     w_word.eq(aw_h["word"] + w_idx), w_ok.eq(w_word < in_range_limit),
                     w_hit.eq(aw_h["flt"] & (w_idx == self.fault_wr_beat))]
        with m.If(self.bd_we):
            m.d.comb += [wport.addr.eq(self.bd_addr), wport.data.eq(self.bd_wdata),
                         wport.en.eq((1 << B) - 1)]
        with m.Else():
            m.d.comb += [wport.addr.eq(w_word), wport.data.eq(bus.wdata),
                         wport.en.eq(Mux(w_hs & w_ok & ~w_hit, bus.wstrb, 0))]
        with m.If(w_hs):
            with m.If(w_idx == aw_h["len"]):
                m.d.sync += [w_idx.eq(0), w_dec.eq(0), w_flt.eq(0)]
                m.d.comb += [aw_pop.eq(1), b_push.eq(1),
                             b_d["resp"].eq(Mux(w_dec | ~w_ok, AXI_RESP_DECERR,
                                                Mux(w_flt | w_hit, self.fault_wr_resp, AXI_RESP_OKAY))),
                             b_d["due"].eq(now + self.mem_write_latency)]
            with m.Else():
                m.d.sync += [w_idx.eq(w_idx + 1), w_dec.eq(w_dec | ~w_ok), w_flt.eq(w_flt | w_hit)]
        b_avail = Signal()
        b_shown = Signal()
        m.d.comb += [b_avail.eq(b_ne & due(b_h["due"])), decide["b"].eq(b_avail & ~b_shown),
                     bus.bvalid.eq(b_avail & (b_shown | ~stall["b"])),
                     bus.bresp.eq(b_h["resp"]),
                     b_pop.eq(bus.bvalid & bus.bready)]
        m.d.sync += b_shown.eq(bus.bvalid & ~bus.bready)

        # -- backdoor read ---------------------------------------------------------------------------
        m.d.comb += [bdport.addr.eq(self.bd_addr), self.bd_rdata.eq(bdport.data)]
        return m
