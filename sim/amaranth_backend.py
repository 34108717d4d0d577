"""Backend ``amaranth``: the core, cycle by cycle, in Amaranth's own simulator.

The program is placed in the memory model's initial contents (``sim/memimage.py``); a testbench runs it
with the host driver (``sim/host.py``) over :class:`SimLink` (AXI4-Lite for the registers, the memory's
backdoor port for memory), and the design then runs by itself until ``irq`` rises, the cycle bound
passes, or an error stops it; the testbench wakes only at ``irq`` or every ``CHUNK`` cycles (for the
progress line and the bound), so simulation speed is the design's own.

The memories of at least ``MODEL_MIN_WIDTH`` bits (the weight, accumulator, input and output SRAMs and
the command queues of the seed configuration) run as behavioural models with Amaranth's memory timing,
bit for bit (``sim/memmodel.py``: the simulator would otherwise evaluate one term per data bit of their
write ports at every clock edge); a ``vcd`` waveform shows their ports, not their rows.  Everything runs
through Amaranth's public API.  Measured against the earlier backend, which patched two private parts
of Amaranth's simulator instead: 1.13x the CPU time on a 1x512x512 FC (median of 5), 1.20x on the seed
FC (one run), with the same cycles and counters; without the models (nor the patches), 1.53x the CPU
time of this backend on the 1x512x512 FC.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

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
from .memmodel import Elaborated, MemoryModelPlatform
from .simtop import SimTop

__all__ = ["run", "SimLink"]


PERIOD = 1e-8     # 100 MHz, as the Pynq VTA
CHUNK = 5000      # cycles between progress updates
#: Memories at least this wide are simulated as behavioural models (``sim.memmodel``).  Measured on a
#: 1x512x512 FC: 512 (the weight and accumulator SRAMs only) takes 1.24x the CPU time of 128, and 64 (the
#: AXI memory model and fetch's beat FIFO too) 1.06x.
MODEL_MIN_WIDTH = 128


@contextmanager
def _wide_literals():
    """Within: no limit on the digits of an integer converted to a string (Python's own limit is
    4300), as Amaranth's simulator writes each register's mask as a decimal literal when it compiles the
    design: LOG_BLOCK 6's 32768-bit weight register needs 9865.  Restored on leaving."""
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(limit)


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
    platform = MemoryModelPlatform(MODEL_MIN_WIDTH)
    with _wide_literals():
        sim = Simulator(Elaborated(ResetInserter(rst)(dut), platform))
    platform.add_processes(sim)
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
