"""Command queue entries and the dependency-token queues.

A token queue carries no data, so it is a counter (semantics.md §3): ``push`` adds one, ``pop`` takes
one, ``avail`` says a pop can happen, ``full`` that a push must wait.  The count is kept across launches
and cleared only by reset.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["QueueEntry", "TokenQueue", "TOKEN_QUEUES"]

#: One command-queue entry: the instruction word and its index in the program (for error reports).
QueueEntry = data.StructLayout({"insn": 128, "index": 32})

#: The four token queues: name -> (producer, consumer).
TOKEN_QUEUES = {"l2g": ("load", "compute"), "g2l": ("compute", "load"),
                "g2s": ("compute", "store"), "s2g": ("store", "compute")}


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
