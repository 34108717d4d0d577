"""Instruction fetch: reads the program over the memory port in bursts, decodes each instruction's
opcode and memory type, and dispatches it, in program order, to the load, compute or store command queue
(vta-reference §4.2).  It runs ahead of execution as far as the queues allow, stops after dispatching a
FINISH, and stops the core on an illegal instruction or a read error response (semantics.md §3)."""

from amaranth.hdl import Module, Signal, Mux, Cat
from amaranth.lib import data, wiring, stream, fifo
from amaranth.lib.wiring import In, Out

from ..config import VTAConfig
from ..isa import Opcode, MemType, INSN_WIDTH, layouts
from ..interfaces import MemReadSignature, FetchStatusSignature, ADDR_WIDTH, INDEX_WIDTH
from ..queues import QueueEntry
from ..util import log2

__all__ = ["Fetch", "FETCH_BUFFER_BEATS", "FETCH_BURST_BEATS"]

#: Beats of prefetch buffer, and the longest instruction burst.  Fetch only asks for data it has room
#: for, so it never holds up the shared read channel while a command queue is full.
FETCH_BUFFER_BEATS = 32
FETCH_BURST_BEATS = 16


class Fetch(wiring.Component):
    """Instruction fetch and dispatch.

    Members
    -------
    start : In(1)          launch pulse: fetch ``insn_count`` instructions from ``insn_base``
    insn_base, insn_count : In(32)
    halt : In(1)           stop dispatching (the core stopped on an error)
    mem : Out(MemReadSignature)
    load_q, compute_q, store_q : Out(stream.Signature(QueueEntry))   the three command queues
    status : Out(FetchStatusSignature)
        ``illegal``: stopped on an illegal instruction, ``index`` names it; ``rd_err``: a beat came
        back with an error response, fetch stopped at once and ``index`` names the (first) instruction
        of that beat; both until the next start.  Otherwise ``index`` is the next instruction to
        dispatch.
    """

    def __init__(self, cfg: VTAConfig):
        self.cfg = cfg
        super().__init__({
            "start": In(1), "insn_base": In(ADDR_WIDTH), "insn_count": In(INDEX_WIDTH), "halt": In(1),
            "mem": Out(MemReadSignature(cfg.bus_bits)),
            "load_q": Out(stream.Signature(QueueEntry)),
            "compute_q": Out(stream.Signature(QueueEntry)),
            "store_q": Out(stream.Signature(QueueEntry)),
            "status": Out(FetchStatusSignature),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        bus_bits, bus_bytes = cfg.bus_bits, cfg.bus_bytes
        log_bus_bytes = log2(bus_bytes)
        status = self.status

        m.submodules.beats = beats = fifo.SyncFIFOBuffered(width=bus_bits, depth=FETCH_BUFFER_BEATS)

        # -- burst requests ------------------------------------------------------------------------
        req_addr = Signal(32)
        beats_left = Signal(33)           # beats still to request
        outstanding = Signal(range(FETCH_BUFFER_BEATS + 1))   # requested, not yet received
        stopped = Signal()                # FINISH dispatched, halted or illegal: drop what comes back
        running = Signal()

        # The burst length ``n`` and ``beats_left != 0`` are registers, kept equal to what they would be
        # computed from ``req_addr`` and ``beats_left`` (both change only at a start or an issued
        # burst), so the request's valid and length reach the arbiter from flip-flops, not through
        # ``req_addr``'s page arithmetic (the same requests on the same cycles).
        def burst_beats(addr, left):
            to_page = ((4096 - addr[:12]) >> log_bus_bytes)[:13]
            return Mux((left < FETCH_BURST_BEATS) & (left < to_page), left,
                       Mux(to_page < FETCH_BURST_BEATS, to_page, FETCH_BURST_BEATS))
        n = Signal(range(FETCH_BURST_BEATS + 1))
        more = Signal()                   # beats_left != 0
        room = Signal()
        m.d.comb += room.eq(outstanding + beats.level + n <= FETCH_BUFFER_BEATS)
        m.d.comb += [
            self.mem.req.valid.eq(running & ~stopped & more & room),
            self.mem.req.payload.addr.eq(req_addr),
            self.mem.req.payload.len.eq(n - 1),
        ]
        got = Signal()
        m.d.comb += [got.eq(self.mem.resp.valid), self.mem.resp.ready.eq(1)]
        issued = Signal()
        m.d.comb += issued.eq(self.mem.req.valid & self.mem.req.ready)
        m.d.sync += outstanding.eq(outstanding + Mux(issued, n, 0) - got)
        next_addr, next_left = Signal(32), Signal(33)
        m.d.comb += [next_addr.eq(req_addr + (n << log_bus_bytes)), next_left.eq(beats_left - n)]
        with m.If(issued):
            m.d.sync += [req_addr.eq(next_addr), beats_left.eq(next_left),
                         n.eq(burst_beats(next_addr, next_left)), more.eq(next_left != 0)]
        # A beat with an error response stops fetch at once and names the instruction it carries.
        rx_beats = Signal(33)             # beats received since the launch
        err_index = Signal(INDEX_WIDTH)
        with m.If(got):
            m.d.sync += rx_beats.eq(rx_beats + 1)
        with m.If(got & self.mem.resp.payload.err & ~status.rd_err):
            m.d.sync += [status.rd_err.eq(1), stopped.eq(1),
                         err_index.eq(rx_beats >> log2(INSN_WIDTH // bus_bits) if bus_bits <= INSN_WIDTH
                                      else rx_beats << log2(bus_bits // INSN_WIDTH))]
        m.d.comb += [beats.w_data.eq(self.mem.resp.payload.data),
                     beats.w_en.eq(got & ~stopped)]

        # -- unpack beats into instructions ----------------------------------------------------------
        index = Signal(INDEX_WIDTH)       # the next instruction to dispatch
        drain = Signal()                  # nothing more to dispatch: empty the buffer
        m.d.comb += drain.eq(stopped | (index == self.insn_count))
        insn = Signal(INSN_WIDTH)
        insn_valid = Signal()
        dispatch = Signal()               # the instruction in `insn` leaves this cycle
        if bus_bits <= INSN_WIDTH:
            per = INSN_WIDTH // bus_bits         # beats per instruction
            gathered = Signal(range(per + 1))
            shift = Signal(INSN_WIDTH)
            m.d.comb += [insn.eq(shift), insn_valid.eq(gathered == per)]
            m.d.comb += beats.r_en.eq((gathered < per) | dispatch | drain)
            with m.If(beats.r_en & beats.r_rdy):
                if per == 1:
                    m.d.sync += shift.eq(beats.r_data)
                else:
                    m.d.sync += shift.eq(Cat(shift[bus_bits:], beats.r_data))
                m.d.sync += gathered.eq(Mux(dispatch, 1, gathered + 1))
            with m.Elif(dispatch):
                m.d.sync += gathered.eq(0)
        else:
            per = bus_bits // INSN_WIDTH         # instructions per beat
            word = Signal(bus_bits)
            sub = Signal(range(per + 1))  # next instruction in `word`; per = empty
            m.d.comb += [insn.eq(word.word_select(sub[:-1] if per > 1 else 0, INSN_WIDTH) if per > 1 else word[:INSN_WIDTH]),
                         insn_valid.eq(sub != per)]
            last_of_word = Signal()
            m.d.comb += last_of_word.eq(sub == per - 1)
            m.d.comb += beats.r_en.eq((sub == per) | (dispatch & last_of_word) | drain)
            with m.If(beats.r_en & beats.r_rdy):
                m.d.sync += [word.eq(beats.r_data), sub.eq(0)]
            with m.Elif(dispatch):
                m.d.sync += sub.eq(sub + 1)
            with m.Elif(beats.r_en):
                m.d.sync += sub.eq(per)

        # -- decode and dispatch -----------------------------------------------------------------------
        lay = layouts(cfg)
        as_mem = data.View(lay["mem"].amaranth_layout(), insn)
        as_alu = data.View(lay["alu"].amaranth_layout(), insn)
        opcode, mtype, aluop = as_mem.opcode, as_mem.memory_type, as_alu.alu_opcode
        to_load, to_compute, to_store, bad = Signal(), Signal(), Signal(), Signal()
        with m.Switch(opcode):
            with m.Case(Opcode.LOAD):
                with m.Switch(mtype):
                    with m.Case(MemType.INP, MemType.WGT):
                        m.d.comb += to_load.eq(1)
                    with m.Case(MemType.UOP, MemType.ACC):
                        m.d.comb += to_compute.eq(1)
                    with m.Default():
                        m.d.comb += bad.eq(1)
            with m.Case(Opcode.STORE):
                m.d.comb += to_store.eq(1)
            with m.Case(Opcode.GEMM, Opcode.FINISH):
                m.d.comb += to_compute.eq(1)
            with m.Case(Opcode.ALU):
                m.d.comb += [to_compute.eq(aluop <= 4), bad.eq(aluop > 4)]
            with m.Default():
                m.d.comb += bad.eq(1)

        active = Signal()
        m.d.comb += active.eq(running & ~stopped & insn_valid & (index != self.insn_count) & ~self.halt)
        for q, sel in ((self.load_q, to_load), (self.compute_q, to_compute), (self.store_q, to_store)):
            m.d.comb += [q.payload.insn.eq(insn), q.payload.index.eq(index),
                         q.valid.eq(active & sel)]
        m.d.comb += dispatch.eq(active & ((to_load & self.load_q.ready) | (to_compute & self.compute_q.ready)
                                          | (to_store & self.store_q.ready)))
        m.d.comb += status.wait_full.eq(Cat(active & to_load & ~self.load_q.ready,
                                          active & to_compute & ~self.compute_q.ready,
                                          active & to_store & ~self.store_q.ready))
        with m.If(dispatch):
            m.d.sync += index.eq(index + 1)
            with m.If(opcode == Opcode.FINISH):
                m.d.sync += stopped.eq(1)
        with m.If(active & bad):
            m.d.sync += [status.illegal.eq(1), stopped.eq(1)]
        with m.If(self.halt):
            m.d.sync += stopped.eq(1)

        all_dispatched = Signal()
        m.d.comb += all_dispatched.eq(stopped | (index == self.insn_count))
        m.d.comb += [status.busy.eq(running & (~all_dispatched | (outstanding != 0))),
                     status.index.eq(Mux(status.rd_err, err_index, index))]

        # -- launch --------------------------------------------------------------------------------
        with m.If(self.start):
            if bus_bits <= INSN_WIDTH:
                total = self.insn_count * (INSN_WIDTH // bus_bits)
            else:
                per_beat = bus_bits // INSN_WIDTH
                total = (self.insn_count + per_beat - 1) >> (per_beat.bit_length() - 1)
            m.d.sync += [running.eq(1), stopped.eq(0), index.eq(0), req_addr.eq(self.insn_base),
                         beats_left.eq(total), n.eq(burst_beats(self.insn_base, total)), more.eq(total != 0),
                         status.illegal.eq(0), status.rd_err.eq(0), rx_beats.eq(0)]
            if bus_bits <= INSN_WIDTH:
                m.d.sync += gathered.eq(0)
            else:
                m.d.sync += sub.eq(per)
        return m
