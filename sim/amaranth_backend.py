"""Backend ``amaranth``: the core, cycle by cycle, in Amaranth's own simulator.

The program is placed in the memory model's initial contents (``sim/memimage.py``); a testbench runs it
with the host driver (``sim/host.py``) over :class:`SimLink` (AXI4-Lite for the registers, the memory's
backdoor port for memory), and the design then runs by itself until ``irq`` rises, the cycle bound
passes, or an error stops it; the testbench wakes only at ``irq`` or every ``CHUNK`` cycles (for the
progress line and the bound), so simulation speed is the design's own.
"""

from __future__ import annotations

import sys
import time

from amaranth.hdl import ResetInserter, Signal
from amaranth.sim import Simulator

from hw.observe import TraceRecorder

from .axil import AxiLiteDriver
from .host import VTAHost, run_bound
from .memimage import MemImage
from .progress import Progress
from .report import estimate_cycles
from .result import RunResult
from .memsettings import bound_factor, from_options
from .simtop import SimTop

__all__ = ["run", "SimLink"]


def _compile_repeats_at_once() -> None:
    """Make Amaranth's simulator compute a repeated part of a concatenation in one operation.

    ``pysim`` compiles ``Cat(x, x, ..., x)`` (what ``x.replicate(n)`` is, and how it widens a memory's
    one-bit write enable to the element's width, on every clock edge) into one shift-and-or term per
    copy: thousands of terms for a wide SRAM.  A run of ``n`` copies of a ``w``-bit part equals the part
    times ``sum(1 << w*i for i in range(n))`` (the copies do not overlap, so no carries), which is what
    this compiles instead.  Same values, bit for bit; only the generated Python is shorter.  Applied
    once, only to Amaranth 0.5's RHS compiler; any other version is left alone.

    Why a private patch and not a shape of the design: pysim spends one term per data bit of every
    memory write port, whatever its granularity, so banking the weight SRAM (per output channel, or
    into bus-wide banks written whole) keeps the same number of terms and adds a process per bank; a
    2048-bit SRAM written every cycle simulates at 600 cycles/s as one port, 358 as 32 bus-wide banks,
    1553 as one bus-wide port with 32 read ports, and 6683 as one port with this patch.  Amaranth 0.5
    has no public switch for it.
    """
    try:
        from amaranth.sim import _pyrtl
        cls = _pyrtl._RHSValueCompiler
    except (ImportError, AttributeError):
        return
    if getattr(cls, "_vta_repeats", False) or "on_Concat" not in cls.__dict__:
        return

    def on_Concat(self, value):
        gen_parts = []
        offset = 0
        parts = list(value.parts)
        i = 0
        while i < len(parts):
            part = parts[i]
            n = 1
            while i + n < len(parts) and parts[i + n] is part:
                n += 1
            width = len(part)
            part_mask = (1 << width) - 1
            if n > 1 and width > 0:
                spread = sum(1 << (width * k) for k in range(n))
                gen_parts.append(f"((({part_mask:#x} & {self(part)}) * {spread:#x}) << {offset})")
            else:
                for _ in range(n):
                    gen_parts.append(f"(({part_mask:#x} & {self(part)}) << {offset})")
                    offset += width
                i += n
                continue
            offset += width * n
            i += n
        if gen_parts:
            return f"({' | '.join(gen_parts)})"
        return "0"

    cls.on_Concat = on_Concat
    cls._vta_repeats = True


def _inline_signal_updates() -> None:
    """Make Amaranth's simulator queue a process's signal changes inline, not by a method call each.

    ``pysim`` ends every compiled process with one ``slots[i].update(next_i, mask)`` call per signal
    it drives, hundreds per cycle for the core; this writes the body of ``_PySignalState.update``
    (Amaranth 0.5) in their place: the same statements, without the call.  Lines of any other form
    are left as they are, and so is any other Amaranth version.
    """
    try:
        from amaranth.sim import _pyrtl, pysim
        emitter = _pyrtl._PythonEmitter
        update = pysim._PySignalState.update
    except (ImportError, AttributeError):
        return
    import inspect
    import re
    expected = ("value = (self.next & ~mask) | (value & mask)", "if self.next != value:",
                "self.next = value", "self.pending.add(self)")
    try:
        body = [line.strip() for line in inspect.getsource(update).splitlines()[1:] if line.strip()]
    except (OSError, TypeError):
        return
    if getattr(emitter, "_vta_inline", False) or tuple(body) != expected:
        return
    pattern = re.compile(r"slots\[(\d+)\]\.update\((next_\d+), (-?\d+)\)")
    original = emitter.append

    def append(self, code):
        match = pattern.fullmatch(code)
        if match is None:
            return original(self, code)
        index, var, mask = match.group(1), match.group(2), int(match.group(3))
        original(self, f"_s = slots[{index}]")
        original(self, f"_v = (_s.next & {~mask}) | ({var} & {mask})")
        original(self, "if _s.next != _v:")
        with self.indent():
            original(self, "_s.next = _v")
            original(self, "_s.pending.add(_s)")

    emitter.append = append
    emitter._vta_inline = True


_compile_repeats_at_once()
_inline_signal_updates()

PERIOD = 1e-8     # 100 MHz, as the Pynq VTA
CHUNK = 5000      # cycles between progress updates


class SimLink:
    """The host link (``sim/host.py``) of a testbench in Amaranth's simulator: registers over the
    AXI4-Lite port of ``dut`` (a ``SimTop``), memory through its memory's backdoor port, and the end of
    a run as a rising edge of ``irq``."""

    port = "an AXI4-Lite"

    def __init__(self, ctx, dut: SimTop):
        self.ctx, self.dut = ctx, dut
        self.axil = AxiLiteDriver(ctx, dut)
        self.bus_bytes = dut.cfg.bus_bytes

    async def read32(self, addr: int) -> int:
        return await self.axil.read(addr)

    async def write32(self, addr: int, value: int) -> None:
        await self.axil.write(addr, value)

    async def read_mem(self, addr: int, n: int) -> bytes:
        ctx, dut, wb = self.ctx, self.dut, self.bus_bytes
        first, end = addr // wb, -(-(addr + n) // wb)
        out = bytearray()
        for w in range(first, end):
            ctx.set(dut.bd_addr, w)
            await ctx.tick()
            out += ctx.get(dut.bd_rdata).to_bytes(wb, "little")
        return bytes(out[addr - first * wb:][:n])

    async def write_mem(self, addr: int, data: bytes) -> None:
        ctx, dut, wb = self.ctx, self.dut, self.bus_bytes
        first, end = addr // wb, -(-(addr + len(data)) // wb)
        buf = bytearray(await self.read_mem(first * wb, (end - first) * wb))
        buf[addr - first * wb:addr - first * wb + len(data)] = data
        ctx.set(dut.bd_we, 1)
        for i, w in enumerate(range(first, end)):
            ctx.set(dut.bd_addr, w)
            ctx.set(dut.bd_wdata, int.from_bytes(buf[i * wb:(i + 1) * wb], "little"))
            await ctx.tick()
        ctx.set(dut.bd_we, 0)

    async def wait(self, cycles: int) -> bool:
        expired, _ = await self.ctx.delay(cycles * PERIOD).posedge(self.dut.irq)
        if expired:
            return False
        await self.ctx.tick()
        return True


def run(program, *, max_cycles: int | None = None, progress: bool = False, vcd: str | None = None,
        mem_latency: int | None = None, read_latency: int | None = None, write_latency: int | None = None,
        read_fault=None, write_fault=None, back_pressure=None, after_reset: bool = False, trace: bool = False,
        **opts) -> RunResult:
    """Run ``program`` on the core in Amaranth's simulator and return its result.

    Parameters
    ----------
    program : sw.program.Program
    max_cycles : int, optional
        Cycle bound (default: ``sim.host.cycle_bound(program)``); reaching it raises VTARunError.
    progress : bool
        Print a progress line on stderr.
    vcd : str, optional
        Write a waveform to this file.
    mem_latency, read_latency, write_latency : int, optional
        Latencies of the memory model (cycles), as ``sim.memsettings.latencies`` takes them.
    read_fault, write_fault, back_pressure : optional
        ``sim.memsettings.Fault`` / ``BackPressure``: an error response and the memory's stalls.
    after_reset : bool
        Then reset the design, load the image again and run the program once more without the
        faults; its outcome is ``extra["after_reset"]`` (``sim.host.RunState.to_json`` and ``out``).
    trace : bool or callable
        Build the core's trace port and sample it (``sim.trace``): the samples are
        ``result.extra["trace_samples"]``; a callable is also called as ``trace(program, samples)``
        once the run has ended, on an error too (``sim.trace.TraceCollector``).  Off, the design has
        no trace logic at all.

    Raises
    ------
    VTARunError
        On an error status or the cycle bound; ``.result`` holds what was read back.
    """
    cfg = program.config
    img = MemImage.place(program)
    settings = from_options(mem_latency, read_latency, write_latency, read_fault, write_fault,
                            back_pressure, layout=img)
    rl, wl = settings.read_latency, settings.write_latency
    bound = run_bound(program, max_cycles, rl, wl, bound_factor(settings))
    dut = SimTop(cfg, img.size, read_latency=rl, write_latency=wl, init=img.image,
                 trace=trace)
    rst = Signal()
    # Amaranth's simulator compiles a memory's write enable bit by bit into one expression (unless
    # _compile_repeats_at_once applied); a wide SRAM (the 8192-bit weight element of LOG_BLOCK 5)
    # then nests deeper than Python's default limit.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * cfg.wgt_elem_bits + 1000))
    # ... and writes constants as decimal literals, longer than Python's default limit for wide elements.
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)
    sim = Simulator(ResetInserter(rst)(dut))
    sim.add_clock(PERIOD)
    states = []

    def drive(ctx, values):
        for name, value in values.items():
            ctx.set(getattr(dut, name), value)

    async def bench(ctx):
        drive(ctx, settings.port_values())
        line = Progress("amaranth", estimate_cycles(program)) if progress else None
        link = SimLink(ctx, dut)
        host = VTAHost(link, clock=time.perf_counter)
        state = await host.run(img, program.n_insns, bound, chunk=CHUNK,
                               on_progress=line.update if progress else None)
        if progress:
            line.close()
        states.append(state)
        if after_reset:
            drive(ctx, settings.without_faults().port_values())
            ctx.set(rst, 1)
            await ctx.tick().repeat(4)
            ctx.set(rst, 0)
            await ctx.tick().repeat(2)
            await link.write_mem(0, img.image)
            states.append(await host.run(img, program.n_insns, bound, chunk=CHUNK))

    sim.add_testbench(bench)
    recorder = None
    if trace:
        recorder = TraceRecorder()

        async def sampler(ctx):
            # Wakes only when a field other than the timestamp changes, after the design has settled
            # (a one-shot wait each time: the fields change on clock edges only, never in between).
            while not recorder.done:
                await ctx.changed(dut.trace_key)
                recorder.offer(ctx.get(dut.trace_word))

        sim.add_testbench(sampler, background=True)
    t_start = time.perf_counter()
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()
    wall = time.perf_counter() - t_start

    state = states[0]
    counters = state.counters
    sim_time = state.phases["run"]
    result = RunResult(backend="amaranth", out=state.out, counters=counters,
                       cycles=counters["cycle_count"], instructions=program.n_insns, uops=program.n_uops,
                       wall_time=wall, extra={"read_latency": rl, "write_latency": wl,
                                              "memory_settings": settings.to_json(),
                                              "sim_seconds": sim_time,
                                              "cycles_per_second": counters["cycle_count"] / max(sim_time, 1e-9)})
    if after_reset:
        again = states[1]
        result.extra["after_reset"] = {**again.to_json(), "out": again.out.hex()}
    if recorder is not None:
        result.extra["trace_samples"] = recorder.samples
        if callable(trace):
            trace(program, recorder.samples)
    state.raise_for_error(program, result)
    return result
