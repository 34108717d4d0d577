"""The cocotb testbench of the ``icarus`` and ``verilator`` backends (runs inside the simulator).

:mod:`sim.cocotb_job` writes a *job directory* (``job.json``, the memory image) and starts the
simulator through cocotb's runner with ``VTA_COCOTB_JOB`` naming it; the single test :func:`run_job`
runs the job and writes ``result.json`` and ``out.bin`` back.  A VTA error (illegal instruction,
deadlock, memory error, the cycle bound) is a *result*, not a failed cocotb test: the test fails only
when the testbench itself breaks.

Two memory models (``job["memory"]``):

``"simtop"``  the top is ``vta_simtop`` (core + the Amaranth fixed-latency ``AxiMemory``): the memory
              is loaded before time 0 by ``$readmemh`` (``+vta_mem=FILE``), and after launch Python
              awaits one rising edge of ``irq`` (or the cycle bound), so no Python runs per cycle.
              Memory timing belongs to the design: the cycle count equals the Amaranth simulator's.
``"axiram"``  the top is ``vta_top_ids`` (the bare core with dummy AXI IDs): cocotbext-axi's ``AxiRam`` answers ``m_axi``,
              optionally with random pause generators on all five channels (back-pressure and
              latency).  Python runs per beat; used to check bytes and counters under stress.

The control port is driven by cocotbext-axi's ``AxiLiteMaster`` in both cases.  :class:`VTATestbench`
is the host link of :mod:`sim.host` (``read32``/``write32`` over ``AxiLiteMaster``, memory through the
backdoor port or ``AxiRam``, ``wait`` on ``irq``); the run itself is :class:`sim.host.VTAHost`'s.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
import warnings
from types import SimpleNamespace

# cocotbext-axi 0.1.28 uses APIs that cocotb 2 deprecates; the warnings are not ours to fix.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.axi(\..*)?$")
warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*cocotbext.*")

import cocotb  # noqa: E402
from cocotb.clock import Clock  # noqa: E402
from cocotb.triggers import (ClockCycles, First, FallingEdge, RisingEdge, SimTimeoutError,  # noqa: E402
                             Timer, with_timeout)

from hw.observe import TraceRecorder, write_samples  # noqa: E402
from sim.cocotb_job import JOB_ENV, TRACE_FILE  # noqa: E402
from sim.host import LinkTimeout, VTAHost  # noqa: E402

#: Clock period of the simulation in ns (only the ratio to nothing matters: cycles are what count).
CLOCK_NS = 10
#: Cycles one control-register access may take before the testbench gives up (a core that never
#: answers on AXI4-Lite must not hang the simulation).
REG_TIMEOUT_CYCLES = 10_000
#: Cycles between progress reports (the job's ``progress``: written to ``progress.txt`` in the job
#: directory, which the backend's process shows).
PROGRESS_CYCLES = {"verilator": 200_000, "icarus": 5_000}


def _pause_generator(rng: random.Random, probability: float):
    """Endless pauses: each cycle paused with ``probability``."""
    while True:
        yield rng.random() < probability


class VTATestbench:
    """Owns the clock, the AXI4-Lite master on ``s_axil`` and, for the bare core, the ``AxiRam`` on
    ``m_axi``.

    Parameters
    ----------
    dut : cocotb handle of the top (``vta_simtop`` or ``vta_top_ids``)
    job : dict
        The job description written by :mod:`sim.cocotb_job`.
    """

    def __init__(self, dut, job: dict):
        from cocotbext.axi import AxiLiteBus, AxiLiteMaster
        self.dut = dut
        self.job = job
        self.memory = job["memory"]
        # Icarus is 4-state: drive every input from time 0.
        dut.rst.value = 1
        for name in ("bd_addr", "bd_wdata", "bd_we") if self.memory == "simtop" else ():
            getattr(dut, name).value = 0
        self.drive(job.get("mem_ports") or {})
        self.clock = Clock(dut.clk, CLOCK_NS, unit="ns")
        self.clock.start()
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        self.axil.write_if.log.setLevel(logging.WARNING)
        self.axil.read_if.log.setLevel(logging.WARNING)
        self.ram = None
        if self.memory == "axiram":
            from cocotbext.axi import AxiBus, AxiRam
            self.ram = AxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst,
                              size=job["mem_bytes"])
            self.ram.write_if.log.setLevel(logging.WARNING)
            self.ram.read_if.log.setLevel(logging.WARNING)
            pause = job.get("pause") or 0.0
            if pause:
                rng = random.Random(job.get("seed", 0))
                for ch in (self.ram.write_if.aw_channel, self.ram.write_if.w_channel,
                           self.ram.write_if.b_channel, self.ram.read_if.ar_channel,
                           self.ram.read_if.r_channel):
                    ch.set_pause_generator(_pause_generator(random.Random(rng.random()), pause))

    def drive(self, values: dict) -> None:
        """Drive the memory's run-time ports (``sim.memsettings.PORTS``) that the top has."""
        for name, value in values.items():
            handle = getattr(self.dut, name, None)
            if handle is not None:
                handle.value = value

    async def reset(self):
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 4)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    async def _bounded(self, coro):
        try:
            return await with_timeout(coro, REG_TIMEOUT_CYCLES * CLOCK_NS, "ns")
        except SimTimeoutError:
            raise LinkTimeout(f"within {REG_TIMEOUT_CYCLES} cycles") from None

    # -- the host link (sim/host.py) ----------------------------------------------------------------

    port = "an AXI4-Lite"

    async def read32(self, addr: int) -> int:
        return await self._bounded(self.axil.read_dword(addr))

    async def write32(self, addr: int, value: int) -> None:
        await self._bounded(self.axil.write_dword(addr, value))

    async def read_mem(self, addr: int, nbytes: int) -> bytes:
        if nbytes == 0:
            return b""
        if self.ram is not None:
            return bytes(self.ram.read(addr, nbytes))
        wb = self.job["bus_bytes"]
        first, last = addr // wb, (addr + nbytes - 1) // wb
        dut = self.dut
        words = []
        for w in range(first, last + 1):
            dut.bd_addr.value = w
            await RisingEdge(dut.clk)
            await FallingEdge(dut.clk)
            words.append(int(dut.bd_rdata.value).to_bytes(wb, "little"))
        blob = b"".join(words)
        off = addr - first * wb
        return blob[off:off + nbytes]

    async def write_mem(self, addr: int, data: bytes) -> None:
        if self.ram is not None:
            self.ram.write(addr, data)
            return
        wb = self.job["bus_bytes"]
        first, end = addr // wb, -(-(addr + len(data)) // wb)
        buf = bytearray(await self.read_mem(first * wb, (end - first) * wb))
        buf[addr - first * wb:addr - first * wb + len(data)] = data
        dut = self.dut
        await FallingEdge(dut.clk)
        dut.bd_we.value = 1
        for i, w in enumerate(range(first, end)):
            dut.bd_addr.value = w
            dut.bd_wdata.value = int.from_bytes(buf[i * wb:(i + 1) * wb], "little")
            await RisingEdge(dut.clk)
            await FallingEdge(dut.clk)
        dut.bd_we.value = 0

    async def wait(self, cycles: int) -> bool:
        """Await the rising edge of ``irq`` (one trigger, no per-cycle Python), at most ``cycles``."""
        irq = self.dut.irq
        if not int(irq.value):
            await First(RisingEdge(irq), Timer(cycles * CLOCK_NS, unit="ns"))
        return bool(int(irq.value))


async def _sample_trace(dut, recorder: TraceRecorder) -> None:
    """Offer the trace port to ``recorder`` each time ``trace_key`` changes, read once the time step has
    settled (``ReadOnly``), until the run ends (``sim.trace``: the sample format)."""
    from cocotb.triggers import ReadOnly
    trace, key = dut.trace_word, dut.trace_key
    while not recorder.done:
        await key.value_change
        await ReadOnly()
        value = trace.value
        if value.is_resolvable:
            recorder.offer(value.to_unsigned())


def _write_progress(cycles: int) -> None:
    path = os.path.join(os.environ[JOB_ENV], "progress.txt")
    with open(path + ".tmp", "w") as f:
        f.write(str(cycles))
    os.replace(path + ".tmp", path)


@cocotb.test()
async def run_job(dut):
    """Run the job named by ``$VTA_COCOTB_JOB`` with the host driver and write its result.

    ``result.json`` is :meth:`sim.host.RunState.to_json` plus ``wall_time`` (seconds between launch
    and the end of the wait); its ``phases`` hold the wall time of each phase (setup, reset, load,
    launch, run, registers, out), for the benchmark's account of where time goes.
    """
    t0 = time.perf_counter()
    jobdir = os.environ[JOB_ENV]
    with open(os.path.join(jobdir, "job.json")) as f:
        job = json.load(f)
    tb = VTATestbench(dut, job)
    t1 = time.perf_counter()
    await tb.reset()
    t2 = time.perf_counter()
    # The layout of sim.memimage.MemImage.to_json (the module is not imported here: it costs time).
    image = SimpleNamespace(image=b"", **job["image"])
    if tb.ram is not None:
        with open(os.path.join(jobdir, "image.bin"), "rb") as f:
            image.image = f.read()
    progress = job.get("progress", False)
    chunk = PROGRESS_CYCLES.get(job["simulator"], 10_000) if progress else None
    recorder = None
    if job.get("trace"):
        recorder = TraceRecorder()
        cocotb.start_soon(_sample_trace(dut, recorder))
    state = await VTAHost(tb, clock=time.perf_counter).run(
        image, job["insn_count"], job["max_cycles"], load=tb.ram is not None, chunk=chunk,
        on_progress=_write_progress if progress else None)
    with open(os.path.join(jobdir, "out.bin"), "wb") as f:
        f.write(state.out)
    if recorder is not None:
        write_samples(os.path.join(jobdir, TRACE_FILE), recorder.samples)
    if job.get("dump_memory") and tb.ram is not None:
        with open(os.path.join(jobdir, "memory.bin"), "wb") as f:
            f.write(bytes(tb.ram.read(0, job["mem_bytes"])))
    state.phases = {"setup": t1 - t0, "reset": t2 - t1, **state.phases}
    result = state.to_json()
    result["wall_time"] = state.phases["run"]
    if job.get("after_reset_ports") is not None:
        tb.drive(job["after_reset_ports"])
        await tb.reset()
        with open(os.path.join(jobdir, "image.bin"), "rb") as f:
            await tb.write_mem(0, f.read())
        again = await VTAHost(tb, clock=time.perf_counter).run(image, job["insn_count"], job["max_cycles"])
        result["after_reset"] = {**again.to_json(), "out": again.out.hex()}
    with open(os.path.join(jobdir, "result.json"), "w") as f:
        json.dump(result, f)
