"""2-D DMA engines between DRAM (through a ``hw.axi.MemArbiter`` client port) and an on-chip SRAM.

:class:`DmaRead` is VTA's ``load_pad_2d`` (vta-reference §5.1, semantics.md §3): a strided 2-D copy from
DRAM into a contiguous block of SRAM, with zero padding on all four sides.  :class:`DmaWrite` is VTA's
``store`` (§5.5): a contiguous block of SRAM to a strided 2-D region of DRAM.

Both split every row into INCR bursts of at most 256 beats that never cross a 4 KiB boundary, and issue
them ahead of the data (the arbiter bounds how many are in flight), so long transfers stream at one bus
beat per cycle when an element is at least as wide as the bus.  Elements and the bus are powers of two
wide.  When an element is narrower than the bus, an element may start at any multiple of its own size
within a beat: the engine reads the bus-aligned beats that cover the row and selects lanes (load), or
writes partial beats with WSTRB (store); the SRAM side then moves one element per cycle.

Addresses: ``dram_addr`` is taken modulo 2^32 and rounded down to a multiple of min(element bytes, bus
bytes) (VTA's base registers and element strides keep it aligned; this engine does not report a
misaligned address).  SRAM addresses wrap modulo 2^``sram_addr_width``.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from .interfaces import (ADDR_WIDTH, DmaReadCmd, DmaWriteCmd, MemReadSignature, MemWriteSignature,
                         SramReadSignature, SramWriteSignature)
from .util import IdQueue, check_bus_bits, check_int

__all__ = ["DmaRead", "DmaReadLanes", "DmaWrite", "MAX_BURST_BEATS", "PAGE_BYTES", "insn_cmd"]

MAX_BURST_BEATS = 256
PAGE_BYTES = 4096


class _Engine(wiring.Component):
    """What both engines share: the parameters are checked before the object exists, so a refused
    engine leaves nothing behind for Amaranth to warn "created but never used" about; the members, from
    a subclass's ``_PORTS`` (command layout, memory signature, SRAM signature); the IDLE and START
    states of :class:`DmaWrite`'s control FSM (:class:`DmaRead` takes commands while it writes) and the
    DONE state of both."""

    def __new__(cls, elem_bits: int, bus_bits: int, sram_addr_width: int):
        check_bus_bits(bus_bits)
        if (isinstance(elem_bits, bool) or not isinstance(elem_bits, int) or elem_bits < 8
                or elem_bits & (elem_bits - 1)):
            raise ValueError(f"elem_bits must be a power of two >= 8, not {elem_bits!r}")
        if elem_bits // 8 > PAGE_BYTES:
            raise ValueError(f"elem_bits = {elem_bits}: an element larger than a 4 KiB page is not supported")
        check_int("sram_addr_width", sram_addr_width, 1, 16)
        return super().__new__(cls)

    def __init__(self, elem_bits: int, bus_bits: int, sram_addr_width: int):
        self.elem_bits, self.bus_bits, self.sram_addr_width = elem_bits, bus_bits, sram_addr_width
        cmd_layout, mem_signature, sram_signature = self._PORTS
        super().__init__({
            "cmd": In(stream.Signature(cmd_layout)),
            "mem": Out(mem_signature(bus_bits)),
            "sram": Out(sram_signature(sram_addr_width, elem_bits)),
            "busy": Out(1), "done": Out(1), "err": Out(1),
        })

    def _idle_state(self, m: Module, fields: dict):
        """The IDLE state of the engine's FSM, built into ``m`` inside its ``with m.FSM()``: take a
        command and hold each payload field named in ``fields`` in its register (``dram_addr`` rounded
        down to min(element, bus) bytes); then START."""
        la = min(ceil_log2(self.elem_bits // 8), ceil_log2(self.bus_bits // 8))
        p = self.cmd.payload
        with m.State("IDLE"):
            m.d.comb += self.cmd.ready.eq(1)
            with m.If(self.cmd.valid):
                m.d.sync += [reg.eq(Cat(Const(0, la), p.dram_addr[la:]) if name == "dram_addr"
                                    else getattr(p, name)) for name, reg in fields.items()]
                m.next = "START"

    def _start_state(self, m: Module, start, empty, resets: list):
        """The START state: pulse ``start`` (the burst generator's), apply the ``resets`` (statements of
        the sync domain); then DONE if the command is ``empty``, else RUN."""
        with m.State("START"):
            m.d.comb += [start.eq(1), self.busy.eq(1)]
            m.d.sync += resets
            with m.If(empty):
                m.next = "DONE"
            with m.Else():
                m.next = "RUN"

    def _done_state(self, m: Module, err_acc):
        """The DONE state of the engine's FSM: one ``done`` pulse (``err`` from ``err_acc``), then IDLE."""
        with m.State("DONE"):
            m.d.comb += [self.busy.eq(1), self.done.eq(1), self.err.eq(err_acc)]
            m.next = "IDLE"


def _bursts(m: Module, req, *, bus_bytes: int, start, addr, rows, row_bytes, stride_bytes, allow=1):
    """Burst requests for ``rows`` rows of ``row_bytes`` bytes, row ``y`` at ``addr + y*stride_bytes``,
    built into ``m``; ``req`` is a ``stream.Signature(MemReq)`` interface (the client's side).

    ``start`` (a one-cycle pulse) loads the generator from ``addr``, ``rows``, ``row_bytes`` and
    ``stride_bytes``, which must stay stable until it is done.  ``addr`` must be aligned so that a row's
    first byte starts an element.  Each row covers the bus-aligned beats holding its bytes.  One request
    per cycle at most, only while ``allow``.

    Returns ``(active, issued, n)``: requests remain; a request is accepted this cycle; its beats.
    """
    lb = ceil_log2(bus_bytes)
    rows_left = Signal(16, name="bg_rows_left")
    cur = Signal(ADDR_WIDTH, name="bg_cur")       # bus-aligned address of the next burst
    left = Signal(ADDR_WIDTH, name="bg_left")     # beats of this row not yet requested
    active = Signal(name="bg_active")
    n = Signal(range(MAX_BURST_BEATS + 1), name="bg_n")
    issued = Signal(name="bg_issued")
    nxt = Signal(ADDR_WIDTH, name="bg_next_row")  # the address of the next row

    def row_beats(a):
        return (a[:lb] + row_bytes + (bus_bytes - 1)) >> lb

    def aligned(a):
        return Cat(Const(0, lb), a[lb:])

    # The next burst's length ``n`` and whether it ends its row (``row_end``) are registers, loaded with
    # what they are for the burst generator's next ``cur`` and ``left`` whenever those change (a start or
    # an issued burst), and ``nxt`` (the next row's address) likewise: so the request's valid and length
    # come from flip-flops and an issued burst only selects among precomputed values (the same requests
    # on the same cycles as computing them from ``cur`` and ``left`` in the cycle they are offered).
    def burst_beats(a_cur, a_left):
        """(beats of the burst at ``a_cur`` with ``a_left`` beats left in its row, it ends the row)"""
        pg = ((PAGE_BYTES - a_cur[:12]) >> lb)[:ceil_log2(PAGE_BYTES // bus_bytes + 1)]
        whole = (a_left <= MAX_BURST_BEATS) & (a_left <= pg)
        return Mux(whole, a_left, Mux(pg <= MAX_BURST_BEATS, pg, MAX_BURST_BEATS)), whole

    row_end = Signal(name="bg_row_end")          # the burst offered is the last of its row
    new_cur, new_left = Signal(ADDR_WIDTH, name="bg_new_cur"), Signal(ADDR_WIDTH, name="bg_new_left")
    new_n = Signal(range(MAX_BURST_BEATS + 1), name="bg_new_n")
    new_end = Signal(name="bg_new_end")
    beats_, whole_ = burst_beats(new_cur, new_left)
    m.d.comb += [new_n.eq(beats_), new_end.eq(whole_)]
    with m.If(start):
        m.d.comb += [new_cur.eq(aligned(addr)), new_left.eq(row_beats(addr))]
    with m.Elif(row_end):
        m.d.comb += [new_cur.eq(aligned(nxt)), new_left.eq(row_beats(nxt))]
    with m.Else():
        m.d.comb += [new_cur.eq(cur + (n << lb)), new_left.eq(left - n)]
    m.d.comb += [req.valid.eq(active & allow), req.payload.addr.eq(cur), req.payload.len.eq(n - 1),
                 issued.eq(req.valid & req.ready)]
    with m.If(start | issued):
        m.d.sync += [cur.eq(new_cur), left.eq(new_left), n.eq(new_n), row_end.eq(new_end)]
    with m.If(start):
        m.d.sync += [nxt.eq(addr + stride_bytes), rows_left.eq(rows),
                     active.eq((rows != 0) & (row_bytes != 0))]
    with m.Elif(issued & row_end):               # last burst of the row
        m.d.sync += [nxt.eq(nxt + stride_bytes), rows_left.eq(rows_left - 1)]
        with m.If(rows_left == 1):
            m.d.sync += active.eq(0)
    return active, issued, n


class DmaRead(_Engine):
    """2-D load with zero padding (``load_pad_2d``), DRAM to SRAM.

    For a command (``hw.interfaces.DmaReadCmd``), with W = x_pad_0 + x_size + x_pad_1, the engine
    writes to consecutive SRAM addresses from ``sram_base``: y_pad_0·W zeros; then for each row y of
    y_size: x_pad_0 zeros, the x_size elements at DRAM ``dram_addr + y·x_stride·elem_bytes``, x_pad_1
    zeros; then y_pad_1·W zeros.  A command with x_size = 0 writes nothing at all.  One element is
    written per cycle at most (zeros need no memory, so padding goes at one element per cycle).

    Parameters
    ----------
    elem_bits : int
        Element width (a power of two, 8 to 32768).
    bus_bits : int
        Memory bus width (64, 128, 256, 512 or 1024).
    sram_addr_width : int
        Address bits of the SRAM (1..16); addresses wrap modulo 2^sram_addr_width.

    Members
    -------
    cmd : In(stream.Signature(DmaReadCmd))
        Commands.  One is taken as soon as the burst requests of the one before are all issued, while
        that one's data may still be coming in and being written: the engine holds up to two
        commands, and writes each one's elements in the order they were taken.
    mem : Out(MemReadSignature(bus_bits))
        Read client of the memory arbiter.
    sram : Out(SramWriteSignature(sram_addr_width, elem_bits))
        SRAM write port (registered outputs).
    busy : Out(1)
        A command is being executed (from the cycle after it is taken up to its ``done`` pulse, and
        while a taken command waits).
    done : Out(1)
        One-cycle pulse per command, in the order taken: its last SRAM write has taken place (the cycle
        after the last ``sram.en``, or a few cycles after an empty command begins).
    err : Out(1)
        With ``done``: some beat of the command came back with an error response.
    """

    _PORTS = (DmaReadCmd, MemReadSignature, SramWriteSignature)   # command layout, memory and SRAM signatures

    def elaborate(self, platform):
        m = Module()
        E, B, A = self.elem_bits, self.bus_bits, self.sram_addr_width
        le, lb = ceil_log2(E // 8), ceil_log2(B // 8)
        resp = self.mem.resp

        # -- the command: taken as soon as the burst generator is free, so the next command's requests
        # go out while this one's data still comes in; the write sequence below then takes the
        # commands in order, each from the cycle it is taken if it is idle, else from ``q_*`` --------
        p = self.cmd.payload
        la = min(le, lb)
        r_addr = Signal(ADDR_WIDTH)          # the burst generator's command, held while it requests
        r_y, r_x, r_stride = Signal(16), Signal(16), Signal(16)
        req_start = Signal()                 # the burst generator loads the command taken last cycle
        q_valid = Signal()                   # a taken command waits for the write sequence
        q_fields = {name: Signal(len(getattr(p, name)), name=f"q_{name}")
                    for name in ("sram_base", "dram_addr", "y_size", "x_size", "x_stride",
                                 "x_pad_0", "x_pad_1", "y_pad_0", "y_pad_1")}
        take = Signal()
        aligned_addr = Cat(Const(0, la), p.dram_addr[la:])
        with m.If(take):
            m.d.sync += [r_addr.eq(aligned_addr), r_y.eq(p.y_size), r_x.eq(p.x_size),
                         r_stride.eq(p.x_stride)]
        m.d.sync += req_start.eq(take)

        # -- the command of the write sequence, held while it runs ------------------------------------
        c_sram = Signal(A)
        c_addr = Signal(ADDR_WIDTH)          # rounded down to min(elem, bus) bytes
        c_y, c_x, c_stride = Signal(16), Signal(16), Signal(16)
        c_xp0, c_xp1, c_yp0, c_yp1 = Signal(4), Signal(4), Signal(4), Signal(4)
        W = Signal(18)                       # row width with padding
        d_hi = Signal(17)                    # first column after the data
        r_hi = Signal(17)                    # first row after the data rows
        r_end = Signal(18)                   # rows in all
        m.d.comb += [W.eq(c_xp0 + c_x + c_xp1), d_hi.eq(c_xp0 + c_x), r_hi.eq(c_yp0 + c_y),
                     r_end.eq(r_hi + c_yp1)]

        running = Signal()
        active, _, _ = _bursts(m, self.mem.req, bus_bytes=B // 8, start=req_start,
                               addr=r_addr, rows=r_y, row_bytes=r_x << le, stride_bytes=r_stride << le)
        m.d.comb += [self.cmd.ready.eq(~req_start & ~active & ~q_valid), take.eq(self.cmd.valid & self.cmd.ready)]

        # -- the SRAM write sequence -----------------------------------------------------------------
        row, col = Signal(18), Signal(18)
        sram_ptr = Signal(A)
        err_acc = Signal()
        want = Signal()                      # this element comes from memory (else it is a zero)
        data_row = Signal()
        step = Signal()                      # this element is written this cycle
        elem = Signal(E)
        last_col, last_row = Signal(), Signal()
        m.d.comb += [data_row.eq((row >= c_yp0) & (row < r_hi)),
                     want.eq(data_row & (col >= c_xp0) & (col < d_hi)),
                     last_col.eq(col == W - 1), last_row.eq(row == r_end - 1)]

        if E < B:
            nl = B // E                      # elements per beat
            lnl = ceil_log2(nl)
            row_lane = Signal(lnl)           # lane of the current data row's first element
            lane = Signal(lnl)
            m.d.comb += [lane.eq(row_lane + (col - c_xp0)[:lnl]),
                         elem.eq(resp.payload.data.word_select(lane, E)),
                         resp.ready.eq(running & want & ((lane == nl - 1) | (col == d_hi - 1))),
                         step.eq(running & (~want | resp.valid))]
        else:
            k = E // B                       # beats per element
            m.d.comb += resp.ready.eq(running & want)
            if k == 1:
                m.d.comb += [elem.eq(resp.payload.data), step.eq(running & (~want | resp.valid))]
            else:
                bcnt = Signal(range(k))
                gathered = Signal((k - 1) * B)       # beats 0..k-2 of the element, beat 0 lowest
                m.d.comb += [elem.eq(Cat(gathered, resp.payload.data)),
                             step.eq(running & (~want | (resp.valid & (bcnt == k - 1))))]
                with m.If(resp.valid & resp.ready):
                    with m.If(bcnt == k - 1):
                        m.d.sync += bcnt.eq(0)
                    with m.Else():
                        m.d.sync += bcnt.eq(bcnt + 1)
                        m.d.sync += gathered.eq(Cat(gathered[B:], resp.payload.data) if k > 2
                                                else resp.payload.data)
        with m.If(resp.valid & resp.ready & resp.payload.err):
            m.d.sync += err_acc.eq(1)

        # registered SRAM write port
        m.d.sync += self.sram.en.eq(step)
        with m.If(step):
            m.d.sync += [self.sram.addr.eq(sram_ptr), self.sram.data.eq(Mux(want, elem, 0)),
                         sram_ptr.eq(sram_ptr + 1)]
            with m.If(last_col):
                m.d.sync += [col.eq(0), row.eq(row + 1)]
                if E < B:
                    with m.If(data_row):
                        m.d.sync += row_lane.eq(row_lane + c_stride[:lnl])
            with m.Else():
                m.d.sync += col.eq(col + 1)

        # -- control -----------------------------------------------------------------------------------
        held = dict(sram_base=c_sram, dram_addr=c_addr, y_size=c_y, x_size=c_x, x_stride=c_stride,
                    x_pad_0=c_xp0, x_pad_1=c_xp1, y_pad_0=c_yp0, y_pad_1=c_yp1)
        with m.FSM() as fsm:
            with m.State("IDLE"):
                with m.If(q_valid):
                    m.d.sync += [reg.eq(q_fields[name]) for name, reg in held.items()]
                    m.d.sync += q_valid.eq(0)
                    m.next = "START"
                with m.Elif(take):
                    m.d.sync += [reg.eq(aligned_addr if name == "dram_addr" else getattr(p, name))
                                 for name, reg in held.items()]
                    m.next = "START"
            with m.State("START"):
                m.d.comb += self.busy.eq(1)
                m.d.sync += [row.eq(0), col.eq(0), sram_ptr.eq(c_sram), err_acc.eq(0)]
                if E < B:
                    m.d.sync += row_lane.eq(c_addr[le:lb])
                with m.If((c_x == 0) | (r_end == 0)):
                    m.next = "DONE"
                with m.Else():
                    m.next = "RUN"
            with m.State("RUN"):
                m.d.comb += [running.eq(1), self.busy.eq(1)]
                with m.If(step & last_col & last_row):
                    m.next = "FLUSH"
            with m.State("FLUSH"):           # the last write is on the SRAM port this cycle
                m.d.comb += self.busy.eq(1)
                m.next = "DONE"
            self._done_state(m, err_acc)
        with m.If(take & ~fsm.ongoing("IDLE")):     # the write sequence is busy: the command waits
            m.d.sync += [reg.eq(aligned_addr if name == "dram_addr" else getattr(p, name))
                         for name, reg in q_fields.items()]
            m.d.sync += q_valid.eq(1)
        with m.If(q_valid | req_start | active):
            m.d.comb += self.busy.eq(1)
        return m


class DmaReadLanes(_Engine):
    """1-D load, DRAM to an SRAM whose words hold ``L = bus_bits // elem_bits`` elements (``L`` ≥ 2),
    written a whole word a cycle with per-element write enables: a bus beat's worth of elements per
    cycle, where :class:`DmaRead` writes one element a cycle.  The micro-op loads (LOAD UOP) use it.

    A command (``hw.interfaces.DmaReadCmd``; only ``sram_base``, ``dram_addr`` and ``x_size`` count)
    copies the ``x_size`` elements at DRAM ``dram_addr`` to SRAM elements ``sram_base``,
    ``sram_base + 1``, ... (element ``e`` is lane ``e mod L`` of word ``e // L``; addresses wrap modulo
    the SRAM's 2^``sram_addr_width`` elements).  When an element's lane in its beat differs from its
    lane in its word, each beat is rotated into place and the elements that belong to the next word
    wait for it in a register, so the engine still takes one beat a cycle.

    Members
    -------
    cmd, mem, busy, done, err
        As for :class:`DmaRead` (one command at a time: taken when the engine is idle).
    sram : Out(SramWriteSignature(sram_addr_width - log2(L), bus_bits, lanes=L))
        SRAM word write port (registered outputs): ``en`` has a bit per element lane.
    """

    def __new__(cls, elem_bits: int, bus_bits: int, sram_addr_width: int):
        self = super().__new__(cls, elem_bits, bus_bits, sram_addr_width)
        if elem_bits >= bus_bits or (1 << sram_addr_width) < bus_bits // elem_bits:
            raise ValueError(f"DmaReadLanes needs elements narrower than the bus and an SRAM of at least "
                             f"one word, not elem_bits={elem_bits}, bus_bits={bus_bits}, "
                             f"sram_addr_width={sram_addr_width}")
        return self

    def __init__(self, elem_bits: int, bus_bits: int, sram_addr_width: int):
        self.lanes = bus_bits // elem_bits
        ll = ceil_log2(self.lanes)
        self._PORTS = (DmaReadCmd, MemReadSignature,
                       lambda aw, e: SramWriteSignature(aw - ll, bus_bits, lanes=self.lanes))
        super().__init__(elem_bits, bus_bits, sram_addr_width)

    def elaborate(self, platform):
        m = Module()
        E, B, A, L = self.elem_bits, self.bus_bits, self.sram_addr_width, self.lanes
        le, lb, ll = ceil_log2(E // 8), ceil_log2(B // 8), ceil_log2(L)
        resp = self.mem.resp

        c_sram, c_addr, c_x = Signal(A), Signal(ADDR_WIDTH), Signal(16)
        start, running = Signal(), Signal()
        _bursts(m, self.mem.req, bus_bytes=B // 8, start=start, addr=c_addr, rows=Const(1, 16),
                row_bytes=c_x << le, stride_bytes=Const(0, 16))

        j0 = c_addr[le:lb]                   # the first element's lane in its beat
        s0 = c_sram[:ll]                     # ... and in its word
        rot = Signal(ll)                     # beat lane j goes to word lane (j + rot) mod L
        beats_left = Signal(17)              # beats of the command still to come
        elems_left = Signal(17)              # elements not yet arrived (they end the last beat)
        wptr = Signal(A - ll)                # the word this beat's lower lanes go to
        carry, carry_en = Signal(B), Signal(L)   # elements of the word after ``wptr``, rotated
        err_acc = Signal()

        # This beat's valid lanes: from the first element's lane in the first beat, up to the last
        # element's; rotated with the data.
        first = Signal()
        lo = Mux(first, j0, 0)
        valid = Signal(L)
        m.d.comb += valid.eq(Cat(*[(j >= lo) & ((j - lo) < elems_left) for j in range(L)]))
        lanes = [resp.payload.data.word_select(j, E) for j in range(L)]
        rdata = Signal(B)
        ren = Signal(L)
        with m.Switch(rot):
            for r in range(L):
                with m.Case(r):
                    m.d.comb += [rdata.eq(Cat(*(lanes[(p - r) % L] for p in range(L)))),
                                 ren.eq(Cat(*(valid[(p - r) % L] for p in range(L))))]
        low = Signal(L)                      # word lanes p >= rot: this beat's part of word ``wptr``
        m.d.comb += low.eq(Cat(*[p >= rot for p in range(L)]))

        m.d.comb += resp.ready.eq(running & (beats_left != 0))
        beat = resp.valid & resp.ready
        m.d.sync += self.sram.en.eq(0)
        with m.If(beat):
            en = Signal(L)
            m.d.comb += en.eq((ren & low) | carry_en)
            m.d.sync += [self.sram.en.eq(en), self.sram.addr.eq(wptr),
                         self.sram.data.eq(Cat(*[Mux(low[p], rdata.word_select(p, E), carry.word_select(p, E))
                                                 for p in range(L)])),
                         carry.eq(rdata), carry_en.eq(ren & ~low),
                         wptr.eq(wptr + 1), beats_left.eq(beats_left - 1), first.eq(0),
                         elems_left.eq(elems_left - Mux(first, L - j0, L))]
            with m.If(resp.payload.err):
                m.d.sync += err_acc.eq(1)

        with m.FSM():
            self._idle_state(m, dict(sram_base=c_sram, dram_addr=c_addr, x_size=c_x))
            # The first beat's lower lanes belong to the word before the first one when the first
            # element's lane moves down (j0 + rot >= L): that word then gets no lane (``en`` 0).
            r0 = (s0 - j0)[:ll]
            self._start_state(m, start, c_x == 0,
                              [rot.eq(r0), first.eq(1), elems_left.eq(c_x), carry_en.eq(0), err_acc.eq(0),
                               beats_left.eq((j0 + c_x + (L - 1)) >> ll),
                               wptr.eq(c_sram[ll:] - ((j0 + r0) >> ll))])
            with m.State("RUN"):
                m.d.comb += [running.eq(1), self.busy.eq(1)]
                with m.If(beat & (beats_left == 1)):     # the last beat: its write is registered now
                    with m.If((ren & ~low).any()):
                        m.next = "FLUSH"
                    with m.Else():
                        m.next = "LAST"
            with m.State("FLUSH"):           # the elements left in ``carry`` go to the next word
                m.d.comb += self.busy.eq(1)
                m.d.sync += [self.sram.en.eq(carry_en), self.sram.addr.eq(wptr), self.sram.data.eq(carry),
                             carry_en.eq(0)]
                m.next = "LAST"
            with m.State("LAST"):            # the last write is on the SRAM port this cycle
                m.d.comb += self.busy.eq(1)
                m.next = "DONE"
            self._done_state(m, err_acc)
        return m


class DmaWrite(_Engine):
    """2-D store (VTA's ``store``), SRAM to DRAM.

    For a command (``hw.interfaces.DmaWriteCmd``): for each row y of y_size, the x_size elements at SRAM
    ``sram_base + y·x_size`` (consecutive, wrapping) go to DRAM ``dram_addr + y·x_stride·elem_bytes``.
    Partial beats (elements narrower than the bus) are written with WSTRB, so the bytes around the row
    are untouched.  x_size = 0 (or y_size = 0) writes nothing.

    Parameters
    ----------
    elem_bits, bus_bits, sram_addr_width : int
        As for :class:`DmaRead`.

    Members
    -------
    cmd, busy
        As for :class:`DmaRead`, the commands of ``stream.Signature(DmaWriteCmd)``.
    mem : Out(MemWriteSignature(bus_bits))
        Write client of the memory arbiter.
    sram : Out(SramReadSignature(sram_addr_width, elem_bits))
        Synchronous SRAM read port: data the cycle after ``addr`` with ``en``.  The engine holds ``en``
        low to keep the read data while the bus stalls, so ``en`` must drive the read port's enable.
    done : Out(1)
        One-cycle pulse after the command's last B response.
    err : Out(1)
        With ``done``: some B response of the command was an error.
    """

    _PORTS = (DmaWriteCmd, MemWriteSignature, SramReadSignature)

    def elaborate(self, platform):
        m = Module()
        E, B, A = self.elem_bits, self.bus_bits, self.sram_addr_width
        Bb = B // 8
        le, lb = ceil_log2(E // 8), ceil_log2(Bb)
        wdata, wresp = self.mem.data, self.mem.resp

        c_sram = Signal(A)
        c_addr = Signal(ADDR_WIDTH)
        c_y, c_x, c_stride = Signal(16), Signal(16), Signal(16)

        start = Signal()
        running = Signal()
        lens = IdQueue(m, "wlen", 4, 8)      # burst lengths, from the AW side to the W side
        active, issued, n = _bursts(m, self.mem.req, bus_bytes=Bb, start=start, addr=c_addr, rows=c_y,
                                    row_bytes=c_x << le, stride_bytes=c_stride << le, allow=~lens.full)
        m.d.comb += [lens.push.eq(issued), lens.din.eq(n - 1)]

        pending = Signal(16)                 # bursts requested whose B response has not come back
        err_acc = Signal()
        got_resp = Signal()
        m.d.comb += [wresp.ready.eq(1), got_resp.eq(wresp.valid)]
        with m.If(issued & ~got_resp):
            m.d.sync += pending.eq(pending + 1)
        with m.Elif(got_resp & ~issued):
            m.d.sync += pending.eq(pending - 1)
        with m.If(got_resp & wresp.payload.err):
            m.d.sync += err_acc.eq(1)

        # -- SRAM reads, one element per cycle, held (en low) while the bus side stalls -----------------
        rd_more = Signal()                   # elements left to read
        rd_valid = Signal()                  # the SRAM read port holds an element not yet sent
        rd_ptr = Signal(A)
        rx, ry = Signal(16), Signal(16)
        advance = Signal()                   # the held element leaves (or there is none)
        m.d.comb += [self.sram.addr.eq(rd_ptr), self.sram.en.eq(running & advance)]
        with m.If(running & advance):
            m.d.sync += rd_valid.eq(rd_more)
            with m.If(rd_more):
                m.d.sync += rd_ptr.eq(rd_ptr + 1)
                with m.If(rx == c_x - 1):
                    m.d.sync += [rx.eq(0), ry.eq(ry + 1)]
                    with m.If(ry == c_y - 1):
                        m.d.sync += rd_more.eq(0)
                with m.Else():
                    m.d.sync += rx.eq(rx + 1)

        # -- W beats -------------------------------------------------------------------------------------
        bcount = Signal(8)                   # beat within the current burst
        hs = Signal()
        m.d.comb += [wdata.payload.last.eq(bcount == lens.head), hs.eq(wdata.valid & wdata.ready),
                     lens.pop.eq(hs & wdata.payload.last)]
        with m.If(hs):
            m.d.sync += bcount.eq(Mux(wdata.payload.last, 0, bcount + 1))
        if E >= B:
            k = E // B
            m.d.comb += [wdata.valid.eq(rd_valid & lens.nonempty), wdata.payload.strb.eq((1 << Bb) - 1)]
            if k == 1:
                m.d.comb += [wdata.payload.data.eq(self.sram.data), advance.eq(~rd_valid | hs)]
            else:
                bidx = Signal(range(k))
                m.d.comb += [wdata.payload.data.eq(self.sram.data.word_select(bidx, B)),
                             advance.eq(~rd_valid | (hs & (bidx == k - 1)))]
                with m.If(hs):
                    m.d.sync += bidx.eq(Mux(bidx == k - 1, 0, bidx + 1))
            drained = Signal()
            m.d.comb += drained.eq(~rd_valid)
        else:
            nl = B // E
            lnl = ceil_log2(nl)
            row_lane = Signal(lnl)
            e_lane, e_end = Signal(lnl), Signal()       # lane of the held element, last of its beat
            nx_lane = Signal(lnl)
            m.d.comb += nx_lane.eq(row_lane + rx[:lnl])
            with m.If(running & advance & rd_more):
                m.d.sync += [e_lane.eq(nx_lane), e_end.eq((nx_lane == nl - 1) | (rx == c_x - 1))]
                with m.If(rx == c_x - 1):
                    m.d.sync += row_lane.eq(row_lane + c_stride[:lnl])
            bfull = Signal()                 # the beat register is complete and offered on W
            bdata, bstrb = Signal(B), Signal(Bb)
            accept = Signal()
            lane_mask = Signal(Bb)
            m.d.comb += [wdata.valid.eq(bfull & lens.nonempty), wdata.payload.data.eq(bdata),
                         wdata.payload.strb.eq(bstrb),
                         accept.eq(rd_valid & (~bfull | hs)), advance.eq(~rd_valid | accept),
                         lane_mask.eq(Const((1 << (E // 8)) - 1, Bb) << (e_lane << le))]
            with m.If(accept):
                m.d.sync += [bdata.word_select(e_lane, E).eq(self.sram.data),
                             bstrb.eq(Mux(bfull, 0, bstrb) | lane_mask), bfull.eq(e_end)]
            with m.Elif(hs):
                m.d.sync += [bfull.eq(0), bstrb.eq(0)]
            drained = Signal()
            m.d.comb += drained.eq(~rd_valid & ~bfull)

        # -- control -------------------------------------------------------------------------------------
        with m.FSM():
            self._idle_state(m, dict(sram_base=c_sram, dram_addr=c_addr, y_size=c_y, x_size=c_x,
                                     x_stride=c_stride))
            self._start_state(m, start, (c_x == 0) | (c_y == 0),
                              [rd_ptr.eq(c_sram), rx.eq(0), ry.eq(0), rd_more.eq((c_x != 0) & (c_y != 0)),
                               err_acc.eq(0), bcount.eq(0)] + ([row_lane.eq(c_addr[le:lb])] if E < B else []))
            with m.State("RUN"):
                m.d.comb += [running.eq(1), self.busy.eq(1)]
                with m.If(~active & (pending == 0) & ~rd_more & drained):
                    m.next = "DONE"
            self._done_state(m, err_acc)
        return m


def insn_cmd(m: Module, cmd, insn, base, log_elem_bytes: int, one_d: bool = False):
    """Drive a ``DmaReadCmd``/``DmaWriteCmd`` payload ``cmd`` (comb, in ``m``) from a LOAD/STORE
    instruction ``insn`` (a view of the ``mem`` layout of ``hw/isa.py``): the DRAM byte address is
    ``base + dram_base * elem_bytes`` (32-bit wrap).  ``one_d`` (LOAD UOP): a 1-D copy of x_size
    elements, the other size fields ignored.  Pads are driven if ``cmd`` has them (loads)."""
    m.d.comb += [cmd.sram_base.eq(insn.sram_base),
                 cmd.dram_addr.eq(base + (insn.dram_base << log_elem_bytes)),
                 cmd.x_size.eq(insn.x_size)]
    if one_d:
        m.d.comb += [cmd.y_size.eq(1), cmd.x_stride.eq(insn.x_size)]
    else:
        m.d.comb += [cmd.y_size.eq(insn.y_size), cmd.x_stride.eq(insn.x_stride)]
        if hasattr(cmd, "y_pad_0"):
            m.d.comb += [cmd.y_pad_0.eq(insn.y_pad_0), cmd.y_pad_1.eq(insn.y_pad_1),
                         cmd.x_pad_0.eq(insn.x_pad_0), cmd.x_pad_1.eq(insn.x_pad_1)]
