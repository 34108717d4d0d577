"""Command queue entries, the command queues and the dependency-token queues.

A command queue (:class:`CommandQueue`) is a first-in first-out buffer of ``QueueEntry`` with the timing
of Amaranth's ``SyncFIFOBuffered`` (an entry written into an empty queue can be read two cycles later; one
read and one write per cycle), kept in distributed (LUT) RAM on FPGAs: 512 entries of 160 bits would take
three block RAMs each, which the SRAMs need (``bitstreams/README.md``).

A token queue carries no data, so it is a counter (semantics.md §3): ``push`` adds one, ``pop`` takes
one, ``avail`` says a pop can happen, ``full`` that a push must wait.  The count is kept across launches
and cleared only by reset.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .isa import FLAG_QUEUES, GENERIC, INSN_WIDTH
from .interfaces import INDEX_WIDTH, TokenPopSignature, TokenPushSignature

__all__ = ["QueueEntry", "QUEUE_RAM_STYLES", "DEFAULT_QUEUE_RAM_STYLE", "CommandQueue", "TokenQueue", "Stage"]

#: The memory styles a command queue may ask the FPGA tools for (``None``: no attribute, the tools choose).
QUEUE_RAM_STYLES = ("distributed", None)
#: The style a command queue asks for unless told otherwise: LUT RAM (what the Zynq-7020 needs).
DEFAULT_QUEUE_RAM_STYLE = "distributed"

#: One command-queue entry: the instruction word and its index in the program (for error reports).
QueueEntry = data.StructLayout({"insn": INSN_WIDTH, "index": INDEX_WIDTH})


class CommandQueue(wiring.Component):
    """A command queue of ``depth`` entries (``depth`` ≥ 2).

    ``depth - 1`` entries are kept in a memory with a synchronous read port, the head in a register that
    ``r.payload`` shows: the memory is read ahead whenever the register is empty or being read.  Cycle for
    cycle this is ``amaranth.lib.fifo.SyncFIFOBuffered(depth=depth)`` (tests/hw/test_queues.py checks it);
    the difference is the memory's ``ram_style`` attribute: ``"distributed"`` (the default) keeps Yosys
    and Vivado from spending block RAM on it, which the Zynq-7020 needs for the SRAMs; ``None`` sets no
    attribute and lets the tools choose (block RAM: the ECP5 flows, whose LUT RAM is 16 x 4 bits a cell,
    so a 511-entry queue there costs about 6k LUT4 of read multiplexers).

    Members
    -------
    w : In(stream.Signature(QueueEntry))    the writer (fetch); ``w.ready`` while there is room
    r : Out(stream.Signature(QueueEntry))   the reader (a unit); ``r.valid`` while an entry is there
    level : Out(range(depth + 1))            entries held
    """

    def __new__(cls, depth: int, ram_style: str | None = DEFAULT_QUEUE_RAM_STYLE):
        # Refuse before the object exists: nothing is left for Amaranth to warn "never used" about.
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 2:
            raise ValueError(f"command queue depth must be an integer of at least 2, not {depth!r}")
        if ram_style not in QUEUE_RAM_STYLES:
            raise ValueError(f"command queue ram_style must be one of "
                             f"{', '.join(map(repr, QUEUE_RAM_STYLES))}, not {ram_style!r}")
        return super().__new__(cls)

    def __init__(self, depth: int, ram_style: str | None = DEFAULT_QUEUE_RAM_STYLE):
        self.depth, self.ram_style = depth, ram_style
        super().__init__({"w": In(stream.Signature(QueueEntry)), "r": Out(stream.Signature(QueueEntry)),
                          "level": Out(range(depth + 1))})

    def elaborate(self, platform):
        m = Module()
        inner = self.depth - 1                      # entries behind the head register
        attrs = {"ram_style": self.ram_style} if self.ram_style else {}
        m.submodules.storage = mem = memory.Memory(shape=QueueEntry.size, depth=inner, init=[], attrs=attrs)
        wr, rd = mem.write_port(), mem.read_port(domain="sync")
        head = Signal(range(inner), name="head")   # next memory entry to read
        tail = Signal(range(inner), name="tail")   # next memory entry to write
        held = Signal(range(inner + 1), name="held")  # entries in the memory
        push = self.w.valid & self.w.ready
        fill = (held != 0) & (~self.r.valid | self.r.ready)   # move the oldest entry to the head
        m.d.comb += [self.w.ready.eq(held != inner), self.r.payload.eq(rd.data),
                     wr.addr.eq(tail), wr.data.eq(self.w.payload), wr.en.eq(push),
                     rd.addr.eq(head), rd.en.eq(fill),
                     self.level.eq(held + self.r.valid)]

        def step(ptr):
            return (ptr + 1)[:len(ptr)] if inner & (inner - 1) == 0 else Mux(ptr == inner - 1, 0, ptr + 1)
        with m.If(push):
            m.d.sync += tail.eq(step(tail))
        with m.If(fill):
            m.d.sync += head.eq(step(head))
        with m.If(push & ~fill):
            m.d.sync += held.eq(held + 1)
        with m.Elif(fill & ~push):
            m.d.sync += held.eq(held - 1)
        with m.If(fill):
            m.d.sync += self.r.valid.eq(1)
        with m.Elif(self.r.ready):
            m.d.sync += self.r.valid.eq(0)
        return m


class TokenQueue(wiring.Component):
    """A dependency-token queue of capacity ``depth``.

    Members
    -------
    w : In(TokenPushSignature)   the producer: ``w.push`` adds a token (only while ``w.full`` is 0)
    r : In(TokenPopSignature)    the consumer: ``r.pop`` takes a token (only while ``r.avail`` is 1)
    count : Out(range(depth + 1))
    """

    def __new__(cls, depth: int):
        # Refuse before the object exists: nothing is left for Amaranth to warn "never used" about.
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ValueError(f"token queue depth must be an integer of at least 1, not {depth!r}")
        return super().__new__(cls)

    def __init__(self, depth: int):
        self.depth = depth
        super().__init__({"w": In(TokenPushSignature), "r": In(TokenPopSignature),
                          "count": Out(range(depth + 1))})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [self.r.avail.eq(self.count != 0), self.w.full.eq(self.count == self.depth)]
        with m.If(self.w.push & ~self.r.pop):
            m.d.sync += self.count.eq(self.count + 1)
        with m.Elif(self.r.pop & ~self.w.push):
            m.d.sync += self.count.eq(self.count - 1)
        return m


class Stage:
    """The instruction sequence every unit (load, compute, store) follows, built into a module:

    take the next entry of its command queue → wait until every token the instruction pops is there, pop
    them → execute (the unit's own logic, from the ``start`` pulse until it raises ``exec_done``) →
    wait until every token it pushes fits, push them (no cycle for this if it pushes none) → next
    instruction.  ``can_start`` lets the unit hold an instruction whose tokens are there until it can
    begin it.

    Which flag pops or pushes which queue is ``hw.isa.FLAG_QUEUES[unit]``; flags the unit ignores have
    no effect.

    Parameters
    ----------
    m : Module            the module to build into
    unit : str            ``"load"``, ``"compute"`` or ``"store"``
    q : stream interface  the command queue's output (payload ``QueueEntry``)
    tokens : the unit's token ports by queue name (``hw.interfaces.token_members(unit)``)
    status : the unit's ``UnitStatusSignature`` port; Stage drives all of it, ``err`` from ``fault``
    exec_done : Signal    the unit's execution finished (sampled in the execute state)
    halt : Signal         take no new instruction
    can_start : Value or None   the unit can begin the instruction now (its pops wait for it too);
                          None: always
    fault : Value or None  the instruction ends in an error in this cycle (with ``exec_done``, or with
                          ``retire`` for a unit with a tail): sets ``status.err`` (sticky until reset),
                          and no new instruction is taken from then on, in the cycles before the
                          supervisor's ``halt`` follows (an instruction that pushes nothing leaves EXEC
                          for IDLE directly, so without it IDLE could take the next one first)
    retire : Value or None  None: an instruction is finished when it leaves EXEC (load-compute-store
                          order, one instruction at a time).  Else the unit has a *tail*: ``exec_done``
                          only says the instruction has handed its work on (a load: its DMA command is
                          taken), and the instruction waits in a one-entry tail, while the next one is
                          taken, pops its tokens and executes, until ``retire`` (a level, sampled while
                          the tail waits) says its work is complete; then it pushes its tokens.  A
                          faulting tail instruction (``fault`` with ``retire``) pushes nothing, and
                          neither does the executing one after it (it ends when it has handed on its
                          work).  ``status.index`` shows the tail's instruction while there is one and
                          after a fault (the oldest unfinished: the one an error or a blocked push is
                          about)

    Attributes
    ----------
    insn : the current instruction (a view of ``hw.isa.GENERIC``; ``insn.as_value()`` is the word)
    index : its program index
    start : one-cycle pulse: execution begins
    executing : the instruction executes (between its pops and its pushes)
    handoff : (units with a tail) one-cycle pulse: the executing instruction moves into the tail
    tail_valid : (units with a tail) an instruction is in the tail
    """

    def __init__(self, m, unit, q, tokens, status, exec_done, halt, can_start=None, fault=None, retire=None):
        fq = FLAG_QUEUES[unit]
        self.insn = data.View(GENERIC.amaranth_layout(), Signal(INSN_WIDTH, name=f"{unit}_insn"))
        self.index = Signal(INDEX_WIDTH, name=f"{unit}_index")
        self.start = Signal(name=f"{unit}_start")
        insn = self.insn

        waits_pop = {qn: Signal(name=f"{unit}_needs_{qn}") for qn in fq["pop"].values()}
        for flag, qn in fq["pop"].items():
            m.d.comb += waits_pop[qn].eq(getattr(insn, flag) & ~tokens[qn].avail)
        pops_ready = Signal(name=f"{unit}_pops_ready")
        m.d.comb += pops_ready.eq(~Cat(*waits_pop.values()).any())
        # The flags whose tokens are pushed: the executing instruction's, or the tail's.
        if retire is None:
            push_flags = {flag: getattr(insn, flag) for flag in fq["push"]}
        else:
            push_flags = {flag: Signal(name=f"{unit}_tail_{flag}") for flag in fq["push"]}
        waits_push = {qn: Signal(name=f"{unit}_blocks_{qn}") for qn in fq["push"].values()}
        for flag, qn in fq["push"].items():
            m.d.comb += waits_push[qn].eq(push_flags[flag] & tokens[qn].full)
        pushes_ready = Signal(name=f"{unit}_pushes_ready")
        m.d.comb += pushes_ready.eq(~Cat(*waits_push.values()).any())

        def push_tokens():
            for flag, qn in fq["push"].items():
                m.d.comb += tokens[qn].push.eq(push_flags[flag])

        stop = halt
        if fault is not None:
            faulted = Signal(name=f"{unit}_faulted")
            m.d.sync += faulted.eq(fault | (faulted & ~halt))
            stop = halt | faulted
            with m.If(fault):
                m.d.sync += status.err.eq(1)

        # The tail (units with ``retire``): WAIT until ``retire``, then PUSH its tokens.
        self.tail_valid = tail_valid = Signal(name=f"{unit}_tail_valid")
        tail_push = Signal(name=f"{unit}_tail_push")          # the tail is in PUSH (else WAIT)
        tail_index = Signal(INDEX_WIDTH, name=f"{unit}_tail_index")
        tail_free = Signal(name=f"{unit}_tail_free")          # the tail takes an instruction this cycle
        self.handoff = handoff = Signal(name=f"{unit}_handoff")
        tail_blocked = Signal(name=f"{unit}_tail_blocked")    # the tail waits to push on a full queue
        if retire is not None:
            leaving = Signal(name=f"{unit}_tail_leaving")
            tail_fault = Signal(name=f"{unit}_tail_fault")
            m.d.comb += tail_fault.eq(0 if fault is None else fault)
            any_push = Cat(*push_flags.values()).any()
            dropped = Signal(name=f"{unit}_tail_dropped")     # a faulting tail leaves, pushing nothing
            with m.If(tail_valid & ~tail_push & retire):
                with m.If(tail_fault):
                    m.d.comb += dropped.eq(1)
                with m.Elif(any_push):
                    m.d.sync += tail_push.eq(1)
                with m.Else():
                    m.d.comb += leaving.eq(1)
            with m.If(tail_valid & tail_push):
                with m.If(pushes_ready):
                    push_tokens()
                    m.d.comb += leaving.eq(1)
                with m.Else():
                    m.d.comb += tail_blocked.eq(1)
            m.d.comb += tail_free.eq(~tail_valid | leaving)
            with m.If(handoff):
                m.d.sync += [tail_valid.eq(1), tail_push.eq(0), tail_index.eq(self.index)]
                m.d.sync += [push_flags[flag].eq(getattr(insn, flag)) for flag in fq["push"]]
            with m.Elif(leaving | dropped):
                m.d.sync += [tail_valid.eq(0), tail_push.eq(0)]

        front_stuck = Signal(name=f"{unit}_front_stuck")     # the instruction sequence waits on others
        with m.FSM(name=f"{unit}_fsm") as fsm:
            with m.State("IDLE"):
                m.d.comb += q.ready.eq(~stop)
                with m.If(q.valid & ~stop):
                    m.d.sync += [self.insn.eq(q.payload.insn), self.index.eq(q.payload.index)]
                    m.next = "POP"
                m.d.comb += front_stuck.eq(~q.valid)
            with m.State("POP"):
                with m.If(pops_ready & (1 if can_start is None else can_start)):
                    for flag, qn in fq["pop"].items():
                        m.d.comb += tokens[qn].pop.eq(getattr(insn, flag))
                    m.d.comb += self.start.eq(1)
                    m.next = "EXEC"
                with m.Else():
                    m.d.comb += front_stuck.eq(1)
            with m.State("EXEC"):
                if retire is None:
                    with m.If(exec_done):
                        # An instruction that pushes no token is done here: no cycle in PUSH.
                        with m.If(Cat(*push_flags.values()).any()):
                            m.next = "PUSH"
                        with m.Else():
                            m.next = "IDLE"
                else:
                    with m.If(exec_done):
                        with m.If(status.err | tail_fault):
                            m.next = "IDLE"                     # after a fault: dropped, nothing pushed
                        with m.Elif(tail_free):
                            m.d.comb += handoff.eq(1)
                            m.next = "IDLE"
                        with m.Else():
                            m.d.comb += front_stuck.eq(1)      # waits for the tail only
            if retire is None:
                with m.State("PUSH"):
                    with m.If(pushes_ready):
                        push_tokens()
                        m.next = "IDLE"
                    with m.Else():
                        m.d.comb += front_stuck.eq(1)
        self.executing = fsm.ongoing("EXEC")
        waits_in = {qn: (fsm.ongoing("PUSH") if retire is None else tail_valid & tail_push) & w
                    for qn, w in waits_push.items()}
        if retire is None:
            m.d.comb += [status.busy.eq(~fsm.ongoing("IDLE")), status.active.eq(self.executing),
                         status.index.eq(self.index), status.stuck.eq(front_stuck)]
        else:
            # Stuck: the front is (above) and the tail is empty or blocked on a push (a tail waiting for
            # its work to complete is progress).  Active: executing, or the tail's work is under way.
            m.d.comb += [status.busy.eq(~fsm.ongoing("IDLE") | tail_valid),
                         status.active.eq(self.executing | (tail_valid & ~tail_push)),
                         status.index.eq(Mux(tail_valid | status.err, tail_index, self.index)),
                         status.stuck.eq(front_stuck & (~tail_valid | tail_blocked))]
        # The per-token waits count only in their states; with a tail, a pop wait only while the tail
        # is not at work (the unit is then held up by the token, not busy with the load before).
        pop_waiting = fsm.ongoing("POP") if retire is None else fsm.ongoing("POP") & ~(tail_valid & ~tail_push)
        m.d.comb += [getattr(status, f"wait_{qn}").eq(pop_waiting & w) for qn, w in waits_pop.items()]
        m.d.comb += [getattr(status, f"wait_{qn}").eq(w) for qn, w in waits_in.items()]
