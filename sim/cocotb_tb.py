"""The cocotb testbench of the ``icarus`` and ``verilator`` backends (runs inside the simulator).

:mod:`sim.cocotb_backend` writes a *job directory* (``job.json``, the memory image) and starts the
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

The control port is driven by cocotbext-axi's ``AxiLiteMaster`` in both cases.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
import warnings

# cocotbext-axi 0.1.28 uses APIs that cocotb 2 deprecates; the warnings are not ours to fix.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.axi(\..*)?$")
warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*cocotbext.*")

import cocotb  # noqa: E402
from cocotb.clock import Clock  # noqa: E402
from cocotb.triggers import (ClockCycles, First, FallingEdge, RisingEdge, SimTimeoutError,  # noqa: E402
                             Timer, with_timeout)

from hw import regs  # noqa: E402

JOB_ENV = "VTA_COCOTB_JOB"
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
        The job description written by :mod:`sim.cocotb_backend`.
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

    async def reset(self):
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 4)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    # -- registers ----------------------------------------------------------------------------------

    async def _bounded(self, what: str, coro):
        try:
            return await with_timeout(coro, REG_TIMEOUT_CYCLES * CLOCK_NS, "ns")
        except SimTimeoutError:
            raise RuntimeError(f"the core did not answer an AXI4-Lite {what} within "
                               f"{REG_TIMEOUT_CYCLES} cycles") from None

    async def write_reg(self, name: str, value: int):
        off = regs.REG_BY_NAME[name].offset
        await self._bounded(f"write of {name} (0x{off:02x})",
                            self.axil.write_dword(off, value & 0xFFFF_FFFF))

    async def read_reg(self, name: str) -> int:
        off = regs.REG_BY_NAME[name].offset
        return await self._bounded(f"read of {name} (0x{off:02x})", self.axil.read_dword(off))

    async def read_counter(self, name: str) -> int:
        off = regs.counter_offset(name)
        lo = await self._bounded(f"read of counter {name}", self.axil.read_dword(off))
        hi = await self._bounded(f"read of counter {name}", self.axil.read_dword(off + 4))
        return lo | hi << 32

    # -- memory -------------------------------------------------------------------------------------

    def load_image(self, image: bytes):
        """Only for ``axiram``; ``simtop`` was loaded by ``$readmemh`` before time 0."""
        self.ram.write(0, image)

    async def read_memory(self, addr: int, nbytes: int) -> bytes:
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

    # -- a run --------------------------------------------------------------------------------------

    async def launch(self, bases: dict[str, int], insn_count: int):
        for name, value in bases.items():
            await self.write_reg(name, value)
        await self.write_reg("insn_count", insn_count)
        await self.write_reg("control", regs.CONTROL_LAUNCH)

    async def wait_finished(self, max_cycles: int, progress: bool) -> bool:
        """Await the rising edge of ``irq`` (one trigger, no per-cycle Python); False at the bound.

        With ``progress`` the wait is cut into chunks of :data:`PROGRESS_CYCLES`, after each of which
        the cycles so far are written to ``progress.txt``.
        """
        irq = self.dut.irq
        waited = 0
        while not int(irq.value):
            if waited >= max_cycles:
                return False
            chunk = max_cycles - waited
            if progress:
                chunk = min(chunk, PROGRESS_CYCLES.get(self.job["simulator"], 10_000))
            await First(RisingEdge(irq), Timer(chunk * CLOCK_NS, unit="ns"))
            waited += chunk
            if progress and not int(irq.value):
                path = os.path.join(os.environ[JOB_ENV], "progress.txt")
                with open(path + ".tmp", "w") as f:
                    f.write(str(waited))
                os.replace(path + ".tmp", path)
        return True


@cocotb.test()
async def run_job(dut):
    """Run the job named by ``$VTA_COCOTB_JOB`` and write its result.

    ``result["phases"]`` holds the wall time of each phase (setup, reset, launch, run, registers,
    out), for the benchmark's account of where time goes.
    """
    phases = {}
    t = time.perf_counter()

    def phase(name):
        nonlocal t
        now = time.perf_counter()
        phases[name] = now - t
        t = now

    jobdir = os.environ[JOB_ENV]
    with open(os.path.join(jobdir, "job.json")) as f:
        job = json.load(f)
    tb = VTATestbench(dut, job)
    if tb.ram is not None:
        with open(os.path.join(jobdir, "image.bin"), "rb") as f:
            tb.load_image(f.read())
    phase("setup")
    await tb.reset()
    phase("reset")
    await tb.launch(job["bases"], job["insn_count"])
    phase("launch")
    finished = await tb.wait_finished(job["max_cycles"], job.get("progress", False))
    phase("run")
    result = {"finished": finished, "wall_time": phases["run"]}
    for name in ("control", "status", "error_code", "error_index", "stall", *regs.UNIT_INDEX_REGS):
        result[name] = await tb.read_reg(name)
    result["counters"] = {name: await tb.read_counter(name) for name in job["counters"]}
    phase("registers")
    out = await tb.read_memory(job["out_addr"], job["out_bytes"])
    with open(os.path.join(jobdir, "out.bin"), "wb") as f:
        f.write(out)
    if job.get("dump_memory") and tb.ram is not None:
        with open(os.path.join(jobdir, "memory.bin"), "wb") as f:
            f.write(bytes(tb.ram.read(0, job["mem_bytes"])))
    phase("out")
    result["phases"] = phases
    with open(os.path.join(jobdir, "result.json"), "w") as f:
        json.dump(result, f)
