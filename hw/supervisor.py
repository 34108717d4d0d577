"""Run supervision: when a run is done, why it stopped, and the counters that watch the units.

The supervisor watches fetch and the three units through their status ports (``hw.interfaces``) and
tells the control block (``hw/control.py``) through its ``RunSignature`` port: ``done`` when FINISH has
retired in compute and the load and store queues have drained; otherwise the first error in the order
illegal instruction, fetch read error, load / compute read error, store write error, deadlock (every unit
waits on another for ``DEADLOCK_CYCLES`` cycles while one waits on a token), no FINISH (likewise with no
token wait).  After an error it holds ``halt`` until the next launch, so no unit takes a new instruction.
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .isa import FLAG_QUEUES
from .interfaces import (FetchStatusSignature, UnitStatusSignature, CounterIncSignature, RunSignature,
                         INDEX_WIDTH)
from .regs import ErrorCode, STALL_BITS, ERROR_WIDTH

__all__ = ["Supervisor", "SUPERVISOR_COUNTERS", "DEADLOCK_CYCLES"]

#: A deadlock (or a program without FINISH) is reported once every unit has been waiting on another
#: for this many consecutive cycles (longer than any queue's internal latency).
DEADLOCK_CYCLES = 16

UNITS = ("load", "compute", "store")

#: The counters the supervisor increments (what the units' status says, and the bus beats).
SUPERVISOR_COUNTERS = (
    "fetch_busy", "load_busy", "compute_busy", "store_busy",
    "overlap_load_compute", "overlap_compute_store", "overlap_all",
    *(f"{u}_wait_{q}" for u in UNITS for q in (*FLAG_QUEUES[u]["pop"].values(), *FLAG_QUEUES[u]["push"].values())),
    "axi_read_beats", "axi_write_beats",
)


def _stall_name(unit: str, queue: str) -> str:
    """The ``STALL_BITS`` name of ``unit`` waiting on token queue ``queue``."""
    return f"{unit} {'pops' if queue in FLAG_QUEUES[unit]['pop'].values() else 'pushes'} {queue}"


class Supervisor(wiring.Component):
    """Members
    -------
    fetch : In(FetchStatusSignature)
    load, compute, store : In(UnitStatusSignature(unit))
    finish : In(1)                 compute retired a FINISH (since the launch)
    load_q_empty, store_q_empty : In(1)   the load / store command queue is empty
    rd_beat, wr_beat : In(1)       a data beat on the memory bus's R / W channel
    run : Out(RunSignature)        to the control block
    halt : Out(1)                  the run stopped on an error: take no new instruction
    inc : Out(CounterIncSignature(SUPERVISOR_COUNTERS))
    """

    def __init__(self):
        super().__init__({
            "fetch": In(FetchStatusSignature), **{u: In(UnitStatusSignature(u)) for u in UNITS},
            "finish": In(1), "load_q_empty": In(1), "store_q_empty": In(1),
            "rd_beat": In(1), "wr_beat": In(1),
            "run": Out(RunSignature), "halt": Out(1),
            "inc": Out(CounterIncSignature(SUPERVISOR_COUNTERS)),
        })

    def elaborate(self, platform):
        m = Module()
        fetch, run = self.fetch, self.run
        unit = {u: getattr(self, u) for u in UNITS}
        waits = {(u, q): getattr(unit[u], f"wait_{q}")
                 for u in UNITS for q in (*FLAG_QUEUES[u]["pop"].values(), *FLAG_QUEUES[u]["push"].values())}

        done = Signal()
        m.d.comb += done.eq(self.finish & ~unit["load"].busy & self.load_q_empty
                            & ~unit["store"].busy & self.store_q_empty)

        stall = run.stall
        stall_src = {_stall_name(u, q): w for (u, q), w in waits.items()}
        for i, queue in enumerate(("load", "compute", "store")):
            stall_src[f"fetch waits on full {queue} queue"] = fetch.wait_full[i]
        assert set(stall_src) == set(STALL_BITS), set(stall_src) ^ set(STALL_BITS)
        for name, bit in STALL_BITS.items():
            m.d.comb += stall[bit].eq(stall_src[name])

        # Nothing can move: fetch is finished or blocked on a full queue, and every unit is idle with
        # an empty queue or waiting on a token.
        fetch_stuck = ~fetch.busy | fetch.wait_full.any()
        all_stuck = Signal()
        m.d.comb += all_stuck.eq(run.running & ~done & fetch_stuck
                                 & unit["load"].stuck & unit["compute"].stuck & unit["store"].stuck)
        stuck_for = Signal(range(DEADLOCK_CYCLES + 1))
        with m.If(all_stuck & ~run.launch):
            with m.If(stuck_for != DEADLOCK_CYCLES):
                m.d.sync += stuck_for.eq(stuck_for + 1)
        with m.Else():
            m.d.sync += stuck_for.eq(0)
        stalled = stuck_for == DEADLOCK_CYCLES
        any_token_wait = Signal()
        m.d.comb += any_token_wait.eq(stall.any())

        def waits_of(u):
            return [w for (uu, _), w in waits.items() if uu == u]

        # The priority chain picks which unit's index is reported (a one-hot ``src``); the 32-bit index
        # itself then goes through one AND-OR of four inputs, not a chain of nine 32-bit multiplexers.
        error = Signal(ERROR_WIDTH)
        error_index = Signal(INDEX_WIDTH)
        sources = {"fetch": fetch.index, **{u: unit[u].index for u in UNITS}}
        src = {n: Signal(name=f"error_src_{n}") for n in sources}
        with m.If(fetch.illegal):
            m.d.comb += [error.eq(ErrorCode.ILLEGAL_INSN), src["fetch"].eq(1)]
        with m.Elif(fetch.rd_err):
            m.d.comb += [error.eq(ErrorCode.AXI_READ), src["fetch"].eq(1)]
        with m.Elif(unit["load"].err):
            m.d.comb += [error.eq(ErrorCode.AXI_READ), src["load"].eq(1)]
        with m.Elif(unit["compute"].err):
            m.d.comb += [error.eq(ErrorCode.AXI_READ), src["compute"].eq(1)]
        with m.Elif(unit["store"].err):
            m.d.comb += [error.eq(ErrorCode.AXI_WRITE), src["store"].eq(1)]
        with m.Elif(stalled & any_token_wait):
            # Name the instruction of the first unit (compute, load, store) that waits on a token.
            with m.If(Cat(*waits_of("compute")).any()):
                m.d.comb += src["compute"].eq(1)
            with m.Elif(Cat(*waits_of("load")).any()):
                m.d.comb += src["load"].eq(1)
            with m.Else():
                m.d.comb += src["store"].eq(1)
            m.d.comb += error.eq(ErrorCode.DEADLOCK)
        with m.Elif(stalled):
            m.d.comb += [error.eq(ErrorCode.NO_FINISH), src["fetch"].eq(1)]
        picked = [sources[n] & src[n].replicate(INDEX_WIDTH) for n in sources]
        m.d.comb += error_index.eq(picked[0] | picked[1] | picked[2] | picked[3])
        m.d.comb += [run.done.eq(done), run.error.eq(error), run.error_index.eq(error_index),
                     run.load_index.eq(unit["load"].index), run.compute_index.eq(unit["compute"].index),
                     run.store_index.eq(unit["store"].index), run.fetch_index.eq(fetch.index)]
        with m.If(run.launch):
            m.d.sync += self.halt.eq(0)
        with m.Elif(run.running & (error != 0)):
            m.d.sync += self.halt.eq(1)

        # -- counters -------------------------------------------------------------------------------
        lb, cb, sb = unit["load"].active, unit["compute"].active, unit["store"].active
        inc = {"fetch_busy": fetch.busy, "load_busy": lb, "compute_busy": cb, "store_busy": sb,
               "overlap_load_compute": lb & cb, "overlap_compute_store": cb & sb, "overlap_all": lb & cb & sb,
               "axi_read_beats": self.rd_beat, "axi_write_beats": self.wr_beat,
               **{f"{u}_wait_{q}": w for (u, q), w in waits.items()}}
        assert set(inc) == set(SUPERVISOR_COUNTERS)
        m.d.comb += [getattr(self.inc, n).eq(v) for n, v in inc.items()]
        return m

