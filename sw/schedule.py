"""The dispatch and dependency-token protocol of a VTA core, the one model of it (README "Decisions").

* Fetch dispatches the instructions in program order into the load, compute and store command queues
  (each of ``cfg.cmd_queue_depth`` entries; fetch waits while the target queue is full) and stops after
  dispatching a FINISH: nothing after it is dispatched.
* Each module takes its next instruction out of its queue when idle, waits until every token it pops is
  there, pops them all at once, executes, then waits until every token it pushes fits
  (``cfg.token_queue_depth``) and pushes them all at once.
* The run is done when FINISH has retired in compute and the load and store modules are idle with empty
  queues.  When nothing can move any more it is a missing FINISH (everything dispatched, every module
  idle, no FINISH) or a deadlock (each waiting module, what it waits on and its instruction).

The protocol is a bounded Kahn network (each token queue has one producer and one consumer), so whether
a program finishes or deadlocks does not depend on the order in which the modules are stepped; this
model steps fetch first, then load, compute and store, each until it blocks.

:class:`Scheduler` runs the protocol alone; a caller that has a data path (the functional model) gives
it a callback that executes an instruction between its pops and its pushes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable, Sequence

from hw.config import VTAConfig
from hw.isa import FLAG_QUEUES, TOKEN_QUEUES, Insn, Opcode, module_of

__all__ = ["Scheduler", "DONE", "NO_FINISH", "DEADLOCK", "MODULES", "ERROR_INDEX_ORDER",
           "simulate_tokens", "TokenRun"]

#: The three modules, in the order the scheduler steps them.
MODULES = ("load", "compute", "store")

#: The order in which the hardware's ``error_index`` looks for the first waiting module.
ERROR_INDEX_ORDER = ("compute", "load", "store")

#: Outcomes of :meth:`Scheduler.run`.
DONE, NO_FINISH, DEADLOCK = "done", "no_finish", "deadlock"


class _Module:
    """One of the load, compute and store modules: its command queue and the instruction it holds."""

    __slots__ = ("name", "queue", "cur", "phase", "pops", "pushes", "flags")

    def __init__(self, name: str):
        self.name = name
        self.flags = FLAG_QUEUES[name]
        self.queue: deque = deque()
        self.cur = None          # (index, insn) once taken from the queue
        self.phase = "idle"      # idle -> pop -> push -> idle
        self.pops: list[str] = []
        self.pushes: list[str] = []


class Scheduler:
    """The dispatch and token protocol of one run.

    Parameters
    ----------
    cfg : VTAConfig
        Supplies ``cmd_queue_depth`` and ``token_queue_depth``.
    n_insns : int
        How many instructions the program has.
    fetch : callable(index) -> Insn
        The decoded instruction at ``index``; called once per instruction, in program order, when fetch
        reaches it (it may raise, e.g. for an illegal instruction: the run stops there).
    execute : callable(index, insn), optional
        Runs an instruction after its pops and before its pushes (may raise to stop the run).
    tokens : dict[str, int], optional
        The token counts to start from, updated in place (a core keeps them across launches); zeros by
        default.

    Members
    -------
    tokens : dict[str, int]      the count of each token queue
    max_tokens : dict[str, int]  the largest count each queue reached during this run
    pc : int                     the next instruction fetch dispatches
    pending : tuple | None       ``(index, insn, module name)`` fetched but waiting on a full queue
    fetch_stopped : bool         a FINISH was dispatched
    finished : bool              the FINISH retired in compute
    tokens_at_finish : dict      the token counts when the FINISH retired (empty before)
    idle_at_finish : bool        load and store had nothing left when the FINISH retired
    """

    def __init__(self, cfg: VTAConfig, n_insns: int, fetch: Callable[[int], Insn],
                 execute: Callable[[int, Insn], None] | None = None, tokens: dict | None = None):
        self.qdepth, self.tdepth = cfg.cmd_queue_depth, cfg.token_queue_depth
        self.n_insns = n_insns
        self._fetch_insn, self._execute = fetch, execute
        self.tokens = tokens if tokens is not None else dict.fromkeys(TOKEN_QUEUES, 0)
        self.max_tokens = dict(self.tokens)
        self.modules = {n: _Module(n) for n in MODULES}
        self.pc = 0
        self.pending = None
        self.fetch_stopped = False
        self.finished = False
        self.tokens_at_finish: dict = {}
        self.idle_at_finish = False

    # -- running -----------------------------------------------------------------------------------

    def run(self) -> str:
        """Move fetch and the modules until the run is done or nothing can move.

        Returns
        -------
        str
            :data:`DONE`, :data:`NO_FINISH` or :data:`DEADLOCK` (then :meth:`waits` and
            :meth:`error_index` say where).
        """
        while True:
            moved = self._fetch()
            for mod in self.modules.values():
                moved |= self._step(mod)
            if self.finished and self._drained():
                return DONE
            if not moved:
                return NO_FINISH if self._no_finish() else DEADLOCK

    def _drained(self) -> bool:
        return all(not m.queue and m.phase == "idle" for n, m in self.modules.items() if n != "compute")

    def _no_finish(self) -> bool:
        return (all(m.phase == "idle" and not m.queue for m in self.modules.values())
                and self.pending is None and self.pc >= self.n_insns and not self.fetch_stopped)

    def _fetch(self) -> bool:
        moved = False
        while not self.fetch_stopped:
            if self.pending is None:
                if self.pc >= self.n_insns:
                    break
                insn = self._fetch_insn(self.pc)
                self.pending = (self.pc, insn, module_of(insn))
            i, insn, name = self.pending
            queue = self.modules[name].queue
            if len(queue) >= self.qdepth:
                break
            queue.append((i, insn))
            self.pending = None
            self.pc += 1
            moved = True
            if insn.opcode == Opcode.FINISH:
                self.fetch_stopped = True
        return moved

    def _step(self, m: _Module) -> bool:
        """Advance module ``m`` until it blocks; True if it moved."""
        tokens = self.tokens
        moved = False
        while True:
            if m.phase == "idle":
                if not m.queue:
                    return moved
                m.cur = m.queue.popleft()
                insn = m.cur[1]
                m.pops = [q for f, q in m.flags["pop"].items() if getattr(insn, f)]
                m.pushes = [q for f, q in m.flags["push"].items() if getattr(insn, f)]
                m.phase = "pop"
                moved = True
            if m.phase == "pop":
                if any(tokens[q] == 0 for q in m.pops):
                    return moved
                for q in m.pops:
                    tokens[q] -= 1
                if self._execute is not None:
                    self._execute(*m.cur)
                m.phase = "push"
                moved = True
            if m.phase == "push":
                if any(tokens[q] >= self.tdepth for q in m.pushes):
                    return moved
                for q in m.pushes:
                    tokens[q] += 1
                    if tokens[q] > self.max_tokens[q]:
                        self.max_tokens[q] = tokens[q]
                if m.cur[1].opcode == Opcode.FINISH:
                    self.finished = True
                    self.tokens_at_finish = dict(tokens)
                    self.idle_at_finish = self._drained()
                m.phase, m.cur = "idle", None
                moved = True

    # -- where it stopped --------------------------------------------------------------------------

    def waits(self) -> list[tuple[str, int]]:
        """What each blocked module and fetch waits on: ``(hw.regs.STALL_BITS name, instruction
        index)``, modules in the order load, compute, store, then fetch."""
        tokens, out = self.tokens, []
        for m in self.modules.values():
            if m.phase == "pop":
                out += [(f"{m.name} pops {q}", m.cur[0]) for q in m.pops if tokens[q] == 0]
            elif m.phase == "push":
                out += [(f"{m.name} pushes {q}", m.cur[0]) for q in m.pushes if tokens[q] >= self.tdepth]
        if self.pending is not None:
            i, _, name = self.pending
            out.append((f"fetch waits on full {name} queue", i))
        return out

    def error_index(self) -> int | None:
        """The hardware's ``error_index`` once nothing moves: for a missing FINISH the number of
        instructions dispatched; otherwise the instruction of the first waiting module in the order
        compute, load, store, else the instruction fetch holds."""
        if self._no_finish():
            return self.pc
        waiting = {name: i for w, i in self.waits() if (name := w.split()[0]) in self.modules}
        return next((waiting[n] for n in ERROR_INDEX_ORDER if n in waiting),
                    self.pending[0] if self.pending is not None else None)


@dataclass
class TokenRun:
    """Outcome of :func:`simulate_tokens`.

    Members
    -------
    outcome : str            :data:`DONE`, :data:`NO_FINISH` or :data:`DEADLOCK`
    finished : bool          the FINISH retired in compute
    tokens_at_finish : dict  token counts when the FINISH retired
    idle_at_finish : bool    load and store had executed everything dispatched before the FINISH
    tokens_final : dict      token counts once nothing can move any more
    max_tokens : dict        the largest count each queue reached
    waits : tuple            empty when done, else ``(STALL_BITS name, instruction index)`` pairs
    """
    outcome: str
    finished: bool
    tokens_at_finish: dict
    idle_at_finish: bool
    tokens_final: dict
    max_tokens: dict
    waits: tuple = ()


def simulate_tokens(insns: Sequence[Insn], cfg: VTAConfig | None = None) -> TokenRun:
    """Run ``insns`` through the dispatch and token protocol alone (no data, no timing): whether the
    stream finishes, deadlocks or lacks a FINISH, and the token counts along the way.

    Parameters
    ----------
    insns : sequence of Insn
    cfg : VTAConfig, optional
        The queue depths; the default configuration if omitted.
    """
    sched = Scheduler(cfg or VTAConfig(), len(insns), insns.__getitem__)
    outcome = sched.run()
    return TokenRun(outcome, sched.finished, sched.tokens_at_finish, sched.idle_at_finish,
                    dict(sched.tokens), dict(sched.max_tokens),
                    () if outcome == DONE else tuple(sched.waits()))
