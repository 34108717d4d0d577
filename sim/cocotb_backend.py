"""The ``icarus`` and ``cocotb-verilator`` backends: the generated Verilog under cocotb 2's Python runner.

These are the verification path: cocotb testbenches on both simulators, the bare core under
cocotbext-axi's ``AxiRam`` with back-pressure.  The fast path on Verilator is the ``verilator``
backend, a native harness (:mod:`sim.native`).

``run_icarus(program, ...)`` and ``run_verilator(program, ...)`` return the same
:class:`sim.result.RunResult` as every backend.  Each run

1. builds (or reuses) the simulator model of the top level (:mod:`sim.cocotb_build`);
2. writes a job directory and runs :mod:`sim.cocotb_tb` in the simulator (:mod:`sim.cocotb_job`),
   which runs the program with the host driver (:mod:`sim.host`): launch through the control
   registers, await ``irq``, read the registers, counters and out region back;
3. turns the result into a ``RunResult``, or raises :class:`sim.result.VTARunError` on an error status,
   a memory error or the cycle bound (:meth:`sim.host.RunState.raise_for_error`).

Memory models (``memory=``)
---------------------------
``"simtop"`` (default)
    ``sim.simtop.SimTop``: the core and the Amaranth ``AxiMemory`` with fixed read/write latency, loaded
    by ``$readmemh`` before time 0.  The memory timing is part of the design, so for the same program
    and the same latencies the ``amaranth``, ``icarus`` and ``verilator`` backends report the same
    ``cycles`` (and every other counter).  No Python runs per cycle: this is the fast path.  The
    memory is ``DEFAULT_MEM_BYTES`` (4 MiB) whatever the image size, so that one model serves most
    programs: an access beyond the image but inside 4 MiB reads zeros here, where the ``amaranth``
    backend (memory sized to the image) answers DECERR.
``"axiram"``
    The bare core with 1-bit AXI ID ports added (``vta_top_ids``: cocotbext-axi requires IDs) and
    cocotbext-axi's ``AxiRam`` on ``m_axi``; ``pause=p`` makes each of the five AXI channels stall
    each cycle with probability ``p`` (seeded by ``seed``).  Python answers every beat, so it is
    slow, and its cycle counts depend on the pauses: it checks that bytes and work counters do not
    change under back-pressure, not timing.

Speed (seed FC, 139k cycles, ``python -m sim.cocotb_bench``): Verilator simulates ~320k
cycles/s between launch and ``irq``; end to end ~1.1 s (~125k cycles/s), of which ~0.65 s is fixed
cost: starting the simulator process with its embedded Python and cocotb, importing cocotbext-axi,
zeroing the 4 MiB memory.  Icarus: ~7k cycles/s.
"""

from __future__ import annotations

import os

from sim.cocotb_build import DEFAULT_MEM_BYTES, MEMORIES, build, check_simulator
from sim.cocotb_job import run_job
from sim.host import run_bound
from sim.memimage import MemImage, model_bytes
from sim.report import estimate_cycles
from sim.result import RunResult
from sim.memsettings import bound_factor, from_options, latencies

__all__ = ["run_program", "run_icarus", "run_verilator", "check_available"]


def check_available(name: str) -> None:
    """Raise :class:`sim.cocotb_build.SimulatorNotFound` unless the simulator of backend ``name``
    (``icarus``, ``cocotb-verilator``) is installed (the backend registry's probe,
    ``sim.backends.get_backend``)."""
    check_simulator(name.removeprefix("cocotb-"))


def run_program(program, simulator: str, *, max_cycles: int | None = None, progress: bool = False,
                vcd: str | os.PathLike | None = None, mem_latency: int | None = None,
                read_latency: int | None = None, write_latency: int | None = None,
                memory: str = "simtop",
                pause: float = 0.0, seed: int = 0, mem_bytes: int | None = None,
                design=None, read_fault=None, write_fault=None, back_pressure=None,
                after_reset: bool = False, trace: bool = False) -> RunResult:
    """Run ``program`` on ``simulator`` (``"icarus"`` or ``"verilator"``) under cocotb.

    Parameters
    ----------
    program : sw.program.Program
    simulator : str
    max_cycles : int, optional
        Cycle bound from launch (default ``sim.host.cycle_bound(program)``, as the ``amaranth``
        backend); reaching it raises ``VTARunError`` with code ``TIMEOUT``.
    progress : bool
        Show the cycles simulated so far on stderr (updated every 200k cycles on Verilator, 5k on
        Icarus).  The simulator's own output always goes to the job's ``sim.log``.
    vcd : path, optional
        Write a waveform there (Verilator: VCD; Icarus: FST, whatever the name).  Needs a separate
        build with tracing (cached like any other).
    mem_latency, read_latency, write_latency : int, optional
        Latencies of the ``simtop`` memory in cycles, as the ``amaranth`` backend takes them
        (``mem_latency`` sets both; default ``sim.memsettings.DEFAULT_READ_LATENCY`` / ``..._WRITE_...``).
        They are ports of the design (``sim.memsettings``): no rebuild.
    read_fault, write_fault, back_pressure : optional
        ``simtop`` only: ``sim.memsettings.Fault`` / ``BackPressure`` (as the ``amaranth`` backend).
    after_reset : bool
        ``simtop`` only: then reset, reload and run again without faults (``extra["after_reset"]``).
    memory : str
        ``"simtop"`` or ``"axiram"`` (module docstring).
    pause : float
        ``axiram`` only: probability that each AXI channel pauses in a cycle.
    seed : int
        Seed of the pause generators.
    mem_bytes : int, optional
        Size of the simulation memory (default :data:`DEFAULT_MEM_BYTES`, or the next power of two
        that holds the image).
    design : callable, optional
        A stand-in for ``SimTop`` / ``VTACore`` (tests of this backend).
    trace : bool or callable
        ``simtop`` only: sample the design's trace port (``sim.trace``) whenever it changes; the samples
        are ``result.extra["trace_samples"]``, and a callable is called as ``trace(program, samples)``
        (on an error too), as on the ``amaranth`` backend.  The Verilog always has the port; sampling costs Python
        per change, so it is off unless asked for.

    Raises
    ------
    VTARunError
        On an error status (illegal instruction, deadlock, no FINISH, memory error) or the cycle bound;
        ``.result`` holds what was read back.
    SimulatorNotFound, RuntimeError
        If the simulator is missing, or the build or the testbench failed.
    """
    cfg = program.config
    if memory not in MEMORIES:
        raise ValueError(f"unknown memory model {memory!r} (known: {', '.join(MEMORIES)})")
    if not 0.0 <= pause < 1.0:
        raise ValueError(f"pause must be a probability in [0, 1), got {pause!r}")
    if pause and memory != "axiram":
        raise ValueError(f"pause={pause} needs memory='axiram' (the simtop memory has fixed latency)")
    if trace and memory != "simtop":
        raise ValueError("trace=True needs memory='simtop' (the bare core has no trace port)")
    settings = None
    layout = MemImage.place(program)
    if memory == "simtop":
        settings = from_options(mem_latency, read_latency, write_latency, read_fault, write_fault,
                                back_pressure, layout=layout)
    elif read_fault or write_fault or back_pressure or after_reset:
        raise ValueError("faults, back-pressure and after_reset need memory='simtop'")
    latency = (settings.read_latency, settings.write_latency) if settings else None
    max_cycles = run_bound(program, max_cycles, *(latency or latencies()), bound_factor(settings))
    mem_bytes = model_bytes(layout.size, mem_bytes, DEFAULT_MEM_BYTES)
    # The latencies are ports: one build serves them all (it is made with the defaults).
    b = build(cfg, simulator, memory, mem_bytes=mem_bytes, waves=vcd is not None, design=design)
    job = run_job(b, cfg, layout, insn_count=program.n_insns, max_cycles=max_cycles, progress=progress,
                  progress_total=estimate_cycles(program) if progress else None,
                  vcd=vcd, memory=memory, mem_bytes=mem_bytes, pause=pause, seed=seed,
                  mem_ports=settings.port_values() if settings else None,
                  after_reset_ports=(settings.without_faults().port_values()
                                     if settings and after_reset else None),
                  trace=bool(trace))
    state, res, elapsed = job.state, job.result, job.elapsed
    counters = dict(state.counters)
    result = RunResult(
        backend=BACKEND_NAMES[simulator], out=state.out, counters=counters, cycles=counters.get("cycle_count"),
        instructions=program.n_insns, uops=program.n_uops, wall_time=elapsed,
        extra={"memory": memory, "mem_bytes": mem_bytes, "pause": pause, "seed": seed,
               "build_seconds": round(b.seconds, 3), "build_cached": b.cached,
               "build_dir": str(b.directory), "read_latency": latency[0] if latency else None,
               "write_latency": latency[1] if latency else None, "sim_seconds": res["wall_time"],
               "memory_settings": settings.to_json() if settings else None,
               "phases": {k: round(v, 4) for k, v in state.phases.items()},
               "cycles_per_second": (counters.get("cycle_count", 0) / elapsed if elapsed else None),
               **{r: state.registers[r] for r in ("status", "error_code", "error_index", "stall")}})
    if "after_reset" in res:
        result.extra["after_reset"] = res["after_reset"]
    if trace:
        result.extra["trace_samples"] = job.trace_samples
        if callable(trace):
            trace(program, job.trace_samples)
    state.raise_for_error(program, result)
    return result


#: The backend name (``sim.backends``) of each simulator's cocotb path.
BACKEND_NAMES = {"icarus": "icarus", "verilator": "cocotb-verilator"}

#: Options of :func:`run_program` the two backend functions pass on; others are ignored (the backend
#: registry's rule: options a backend does not use are accepted and ignored).
_RUN_OPTIONS = ("read_latency", "write_latency", "memory", "pause", "seed", "mem_bytes", "design",
                "read_fault", "write_fault", "back_pressure", "after_reset", "trace")


def run_icarus(program, *, max_cycles=None, progress=False, vcd=None, mem_latency=None,
               **opts) -> RunResult:
    """The ``icarus`` backend: :func:`run_program` on Icarus Verilog (slow: a few thousand cycles/s)."""
    return run_program(program, "icarus", max_cycles=max_cycles, progress=progress, vcd=vcd,
                       mem_latency=mem_latency, **{k: v for k, v in opts.items() if k in _RUN_OPTIONS})


def run_verilator(program, *, max_cycles=None, progress=False, vcd=None, mem_latency=None,
                  **opts) -> RunResult:
    """The ``cocotb-verilator`` backend: :func:`run_program` on Verilator, under cocotb (the
    verification path; ``verilator`` is the native one, :mod:`sim.native`)."""
    return run_program(program, "verilator", max_cycles=max_cycles, progress=progress, vcd=vcd,
                       mem_latency=mem_latency, **{k: v for k, v in opts.items() if k in _RUN_OPTIONS})
