"""Command queue entries and the dependency-token queues.

A token queue carries no data, so it is a counter (semantics.md §3): ``push`` adds one, ``pop`` takes
one, ``avail`` says a pop can happen, ``full`` that a push must wait.  The count is kept across launches
and cleared only by reset.
"""

from amaranth.hdl import Module, Signal, Cat
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["QueueEntry", "TokenQueue", "Stage", "FLAG_BITS"]

#: One command-queue entry: the instruction word and its index in the program (for error reports).
QueueEntry = data.StructLayout({"insn": 128, "index": 32})

#: Bit positions of the dependency flags in every instruction word (hw/isa.py's common fields).
def _flag_bits():
    from .isa import DEP_FLAGS, _COMMON
    offs, pos = {}, 0
    for name, width in _COMMON:
        offs[name] = pos
        pos += width
    return {f: offs[f] for f in DEP_FLAGS}


FLAG_BITS = _flag_bits()

class TokenQueue(wiring.Component):
    """A dependency-token queue of capacity ``depth``.

    Members
    -------
    push : In(1)    add a token (only while ``full`` is 0)
    pop : In(1)     take a token (only while ``avail`` is 1)
    avail : Out(1)  at least one token
    full : Out(1)   ``depth`` tokens
    count : Out(range(depth + 1))
    """

    def __init__(self, depth: int):
        if depth < 1:
            self._MustUse__silence = True      # never elaborated: no "unused elaboratable" warning
            raise ValueError(f"token queue depth must be at least 1, not {depth}")
        self.depth = depth
        super().__init__({"push": In(1), "pop": In(1), "avail": Out(1), "full": Out(1),
                          "count": Out(range(depth + 1))})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [self.avail.eq(self.count != 0), self.full.eq(self.count == self.depth)]
        with m.If(self.push & ~self.pop):
            m.d.sync += self.count.eq(self.count + 1)
        with m.Elif(self.pop & ~self.push):
            m.d.sync += self.count.eq(self.count - 1)
        return m


class Stage:
    """The instruction sequence every module (load, compute, store) follows, built into a module:

    take the next entry of its command queue → wait until every token the instruction pops is there, pop
    them → execute (the module's own logic, from the ``start`` pulse until it raises ``exec_done``) →
    wait until every token it pushes fits, push them → next instruction.

    Parameters
    ----------
    m : Module            the module to build into
    q : stream interface  the command queue's output (payload ``QueueEntry``)
    pops : list of (flag_bit, avail, pop)    the instruction bit that asks for a pop, the queue's
                                             ``avail``, and the signal to pulse
    pushes : list of (flag_bit, full, push)  likewise for pushes
    exec_done : Signal    the module's execution finished (sampled in the execute state)
    halt : Signal         take no new instruction

    Attributes
    ----------
    insn, index : the current instruction and its program index
    start : one-cycle pulse: execution begins
    busy : an instruction is in progress
    executing : the instruction executes (between its pops and its pushes)
    wait_pop, wait_push : list of 1-bit signals, one per entry of ``pops`` / ``pushes``
    stuck : waiting for something only another module can give (an empty queue, a token, a free slot)
    """

    def __init__(self, m, q, pops, pushes, exec_done, halt, name):
        self.insn = Signal(128, name=f"{name}_insn")
        self.index = Signal(32, name=f"{name}_index")
        self.start = Signal(name=f"{name}_start")
        self.busy = Signal(name=f"{name}_busy")
        self.stuck = Signal(name=f"{name}_stuck")
        flag = lambda bit: self.insn[bit]
        self.wait_pop = [Signal(name=f"{name}_wait_pop{i}") for i in range(len(pops))]
        self.wait_push = [Signal(name=f"{name}_wait_push{i}") for i in range(len(pushes))]

        pops_ready = Signal(name=f"{name}_pops_ready")
        pushes_ready = Signal(name=f"{name}_pushes_ready")
        m.d.comb += pops_ready.eq(1)
        for i, (bit, avail, _) in enumerate(pops):
            m.d.comb += self.wait_pop[i].eq(flag(bit) & ~avail)
        for i, (bit, full, _) in enumerate(pushes):
            m.d.comb += self.wait_push[i].eq(flag(bit) & full)
        m.d.comb += [pops_ready.eq(~Cat(*self.wait_pop).any() if pops else 1),
                     pushes_ready.eq(~Cat(*self.wait_push).any() if pushes else 1)]

        with m.FSM(name=f"{name}_fsm") as fsm:
            with m.State("IDLE"):
                m.d.comb += q.ready.eq(~halt)
                with m.If(q.valid & ~halt):
                    m.d.sync += [self.insn.eq(q.payload.insn), self.index.eq(q.payload.index)]
                    m.next = "POP"
                m.d.comb += self.stuck.eq(~q.valid)
            with m.State("POP"):
                with m.If(pops_ready):
                    for bit, _, pop in pops:
                        m.d.comb += pop.eq(flag(bit))
                    m.d.comb += self.start.eq(1)
                    m.next = "EXEC"
                with m.Else():
                    m.d.comb += self.stuck.eq(1)
            with m.State("EXEC"):
                with m.If(exec_done):
                    m.next = "PUSH"
            with m.State("PUSH"):
                with m.If(pushes_ready):
                    for bit, _, push in pushes:
                        m.d.comb += push.eq(flag(bit))
                    m.next = "IDLE"
                with m.Else():
                    m.d.comb += self.stuck.eq(1)
            m.d.comb += self.busy.eq(~fsm.ongoing("IDLE"))
        # Keep the per-token wait outputs meaningful only in their states.
        self._fsm = fsm
        self.in_pop = fsm.ongoing("POP")
        self.executing = fsm.ongoing("EXEC")
        self.in_push = fsm.ongoing("PUSH")
