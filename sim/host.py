"""The host driver: how a host runs a program on the core, over any link to its control port and memory.

Every cycle-level backend's testbench (``sim/amaranth_backend.py`` in Amaranth's simulator,
``sim/cocotb_tb.py`` under cocotb) drives the core through :class:`VTAHost`, so the run sequence is
written once: write the base registers and ``insn_count``, launch, wait for the end of the run within a
cycle bound, read the registers and counters back by their names in :mod:`hw.regs`, read the out region.
:meth:`RunState.raise_for_error` turns what was read into the one :class:`~sim.result.VTARunError`
with :mod:`sim.errors`'s message.

Link protocol
-------------
A *link* is any object with these coroutines (a board's link, over a UART, will implement the same):

``async read32(addr) -> int``
    Read the 32-bit control register at byte offset ``addr`` (:data:`hw.regs.REGS`).
``async write32(addr, value)``
    Write ``value`` (0 .. 2**32-1) to the control register at byte offset ``addr``.
``async read_mem(addr, n) -> bytes``
    ``n`` bytes of the core's memory from byte address ``addr``.
``async write_mem(addr, data)``
    Write the bytes ``data`` to the core's memory at byte address ``addr`` (only while the core is idle).
``async wait(cycles) -> bool``
    Wait until the run ends or ``cycles`` clock cycles have passed, whichever is first; True if the
    run has ended.  A simulator link awaits a rising edge of ``irq``; a board link polls ``status``.

A register access that gets no answer raises :class:`LinkTimeout`, whose message says the bound
(``"within 10000 cycles"``); the driver names the register.  A link also has ``port``, the words
naming its register port in such a message (``"an AXI4-Lite"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol

from hw import regs
from .result import VTARunError

if TYPE_CHECKING:
    from .memimage import MemImage

__all__ = ["Link", "LinkTimeout", "VTAHost", "RunState", "cycle_bound", "STATE_REGS", "run_unsuspended", "run_bound"]

#: The registers read back after every run, in this order.
STATE_REGS = ("control", "status", "error_code", "error_index", "stall", *regs.UNIT_INDEX_REGS)


class LinkTimeout(RuntimeError):
    """A register access the core did not answer; the message says within what bound."""


class Link(Protocol):
    """What :class:`VTAHost` needs of a link (module docstring)."""

    port: str

    async def read32(self, addr: int) -> int: ...

    async def write32(self, addr: int, value: int) -> None: ...

    async def read_mem(self, addr: int, n: int) -> bytes: ...

    async def write_mem(self, addr: int, data: bytes) -> None: ...

    async def wait(self, cycles: int) -> bool: ...


def run_bound(program, max_cycles: int | None = None, read_latency: int | None = None,
              write_latency: int | None = None, factor: int = 1) -> int:
    """The cycle bound of a run: ``max_cycles`` if given, else :func:`cycle_bound` (with the memory
    model's latencies) times ``factor`` (``sim.memsettings.bound_factor``: back-pressure's stalls).

    Raises
    ------
    ValueError
        If the bound is not a positive integer.
    """
    bound = (max_cycles if max_cycles is not None
             else cycle_bound(program, read_latency, write_latency) * factor)
    if isinstance(bound, bool) or not isinstance(bound, int) or bound <= 0:
        raise ValueError(f"max_cycles must be a positive integer, got {bound!r}")
    return bound


def cycle_bound(program, read_latency: int | None = None, write_latency: int | None = None) -> int:
    """A generous bound on the cycles a correct run of ``program`` can take, so that no run hangs:
    four times the sum of each instruction's data beats and micro-op iterations, plus fixed costs,
    plus the memory latency of every burst as if none overlapped (one for the instruction's fetch,
    and one per started 256 beats of each row of a LOAD or STORE, plus one for a 4 KiB crossing).

    Parameters
    ----------
    program : sw.program.Program
    read_latency, write_latency : int, optional
        The memory model's latencies in cycles (default: ``sim.simtop``'s defaults).
    """
    from .memimage import insn_region
    if read_latency is None or write_latency is None:
        from .memsettings import latencies
        read_latency, write_latency = latencies(None, read_latency, write_latency)
    cfg = program.config
    latency = max(read_latency, write_latency)
    total = 0
    for insn in program.decoded():
        total += latency                       # the burst that fetched it
        if hasattr(insn, "x_size"):
            w = insn.x_pad_0 + insn.x_size + insn.x_pad_1
            h = insn.y_pad_0 + insn.y_size + insn.y_pad_1
            eb = cfg.elem_bytes(insn_region(insn) or "out")
            total += w * h * max(eb // cfg.bus_bytes, 1) + 64
            row_beats = insn.x_size * max(eb // cfg.bus_bytes, 1)
            total += insn.y_size * (row_beats // 256 + 2) * latency
        elif hasattr(insn, "iter_out"):
            total += insn.n_uop_iters + 32
        else:
            total += 32
    return 4 * total + 20000


@dataclass
class RunState:
    """What the host read back after a run.

    Members
    -------
    finished : bool             the run ended within the bound
    bound : int                 the cycle bound it was given
    registers : dict[str, int]  every register of :data:`STATE_REGS`
    counters : dict[str, int]   every counter of ``hw.regs.COUNTERS``
    out : bytes                 the out region
    """

    finished: bool
    bound: int
    registers: dict[str, int]
    counters: dict[str, int]
    out: bytes = b""
    phases: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        """A JSON object of everything but ``out`` (the cocotb testbench hands it to its backend)."""
        return {"finished": self.finished, "bound": self.bound, **self.registers,
                "counters": dict(self.counters), "phases": dict(self.phases)}

    @classmethod
    def from_json(cls, obj: dict, out: bytes = b"") -> "RunState":
        """The inverse of :meth:`to_json`."""
        return cls(finished=obj["finished"], bound=obj["bound"],
                   registers={r: obj[r] for r in STATE_REGS}, counters=dict(obj["counters"]),
                   out=out, phases=dict(obj.get("phases", {})))

    def raise_for_error(self, program, result=None) -> None:
        """Raise :class:`~sim.result.VTARunError` if the run hit its bound or stopped on an error.

        Parameters
        ----------
        program : sw.program.Program
            The program that ran (to name an illegal instruction's field).
        result : sim.result.RunResult, optional
            Attached to the error as ``.result``.
        """
        from .errors import describe_error
        r = self.registers
        if not self.finished:
            waits = [n for n, bit in regs.STALL_BITS.items() if r["stall"] >> bit & 1]
            raise VTARunError(regs.ErrorCode.TIMEOUT,
                              f"no finish within {self.bound} cycles (stall bits: "
                              f"{', '.join(waits) or 'none'})", result=result)
        if r["status"] & regs.STATUS_ERROR:
            unit_index = {u: r[u] for u in regs.UNIT_INDEX_REGS}
            raise VTARunError(r["error_code"],
                              describe_error(r["error_code"], r["error_index"], r["stall"], unit_index,
                                             program),
                              index=r["error_index"], result=result)


class VTAHost:
    """Runs programs on the core over ``link`` (module docstring: the link protocol).

    Parameters
    ----------
    link : Link
    clock : callable, optional
        Returns seconds (``time.perf_counter``); when given, :meth:`run` records the wall time of its
        phases in ``RunState.phases``.
    """

    def __init__(self, link: Link, clock: Callable[[], float] | None = None):
        self.link = link
        self.clock = clock

    async def _answered(self, what: str, coro):
        try:
            return await coro
        except LinkTimeout as e:
            raise LinkTimeout(f"the core did not answer {getattr(self.link, 'port', 'a register')} "
                               f"{what} {e}") from None

    # -- registers, by name ---------------------------------------------------------------------------

    async def write_reg(self, name: str, value: int) -> None:
        """Write register ``name`` of ``hw.regs.REGS``."""
        off = regs.REG_BY_NAME[name].offset
        await self._answered(f"write of {name} (0x{off:02x})", self.link.write32(off, value & 0xFFFF_FFFF))

    async def read_reg(self, name: str) -> int:
        """Read register ``name`` of ``hw.regs.REGS``."""
        off = regs.REG_BY_NAME[name].offset
        return await self._answered(f"read of {name} (0x{off:02x})", self.link.read32(off))

    async def read_counter(self, name: str) -> int:
        """The 64-bit counter ``name`` of ``hw.regs.COUNTERS`` (low word, then high word)."""
        off = regs.counter_offset(name)
        lo = await self._answered(f"read of counter {name}", self.link.read32(off))
        hi = await self._answered(f"read of counter {name}", self.link.read32(off + 4))
        return lo | hi << 32

    async def read_counters(self) -> dict[str, int]:
        """Every counter of ``hw.regs.COUNTERS``, by name."""
        return {name: await self.read_counter(name) for name in regs.COUNTERS}

    # -- a run ----------------------------------------------------------------------------------------

    async def launch(self, bases: dict[str, int], insn_count: int) -> None:
        """Write the base registers (register name -> byte address) and ``insn_count``, then launch."""
        for name, value in bases.items():
            await self.write_reg(name, value)
        await self.write_reg("insn_count", insn_count)
        await self.write_reg("control", regs.CONTROL_LAUNCH)

    async def wait(self, bound: int, chunk: int | None = None,
                   on_progress: Callable[[int], None] | None = None) -> bool:
        """Wait for the end of the run, at most ``bound`` cycles; False if the bound passed.

        With ``chunk`` the wait is cut into waits of at most ``chunk`` cycles, after each of which
        ``on_progress(cycles so far)`` is called (if given) while the run goes on.
        """
        if isinstance(bound, bool) or not isinstance(bound, int) or bound <= 0:
            raise ValueError(f"the cycle bound must be a positive integer, got {bound!r}")
        waited = 0
        while waited < bound:
            step = bound - waited if chunk is None else min(chunk, bound - waited)
            if await self.link.wait(step):
                return True
            waited += step
            if on_progress is not None and waited < bound:
                on_progress(waited)
        return False

    async def read_state(self, finished: bool, bound: int) -> RunState:
        """The registers of :data:`STATE_REGS` and every counter, after a wait that ``finished`` (or
        passed ``bound``)."""
        registers = {name: await self.read_reg(name) for name in STATE_REGS}
        return RunState(finished, bound, registers, await self.read_counters())

    async def run(self, image: "MemImage", insn_count: int, bound: int, *, load: bool = False,
                  chunk: int | None = None, on_progress: Callable[[int], None] | None = None) -> RunState:
        """Run the program placed by ``image``: launch, wait within ``bound`` cycles, read back.

        Parameters
        ----------
        image : sim.memimage.MemImage
            Where each region sits (base registers) and where the out region is read back from (any
            object with its ``bases``, ``out_addr``, ``out_bytes`` and, with ``load``, ``image``).
        insn_count : int
        bound : int
            Cycle bound from launch.
        load : bool
            First write the image into memory through the link (when it was not preloaded).
        chunk, on_progress :
            As for :meth:`wait`.

        Returns
        -------
        RunState
            With ``out`` read back and, if the host has a clock, the seconds of each phase (load,
            launch, run, registers, out).  Call :meth:`RunState.raise_for_error` to turn an error into
            ``VTARunError``.
        """
        phases: dict[str, float] = {}
        t = self.clock() if self.clock else 0.0

        def phase(name):
            nonlocal t
            if self.clock is not None:
                now = self.clock()
                phases[name], t = now - t, now

        if load:
            await self.link.write_mem(0, image.image)
            phase("load")
        await self.launch(image.bases, insn_count)
        phase("launch")
        finished = await self.wait(bound, chunk, on_progress)
        phase("run")
        state = await self.read_state(finished, bound)
        phase("registers")
        state.out = await self.link.read_mem(image.out_addr, image.out_bytes) if image.out_bytes else b""
        phase("out")
        state.phases = phases
        return state


def run_unsuspended(coro, link: str = "this link"):
    """Run the coroutine ``coro`` (a :class:`VTAHost` call) to its result without an event loop, for
    links whose coroutines never suspend: they block, or run the simulated clock, inside each call (the
    native Verilator harness, the UART transports).  A coroutine that does suspend is an error naming
    ``link``."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError(f"a run over {link} suspended: its link's coroutines must never wait")
