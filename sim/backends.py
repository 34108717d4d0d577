"""The backend registry: a backend name → the function that runs a program on it, imported on first use.

Every backend function has the signature

    run(program, *, max_cycles=None, progress=False, vcd=None, **opts) -> RunResult

and raises :class:`~sim.result.VTARunError` when the run stops on an error.  Options a backend does not
use (``mem_latency`` on the functional model, say) are accepted and ignored.
"""

from __future__ import annotations

import importlib
from typing import Callable

from .result import BACKENDS, RunResult

__all__ = ["REGISTRY", "WAVE_FORMATS", "MEMORY_MODEL", "BLOCK_RAM_BACKENDS", "SERIAL_BACKENDS",
           "BackendUnavailable", "get_backend", "run", "available"]

#: Backend name -> "module:function".
REGISTRY: dict[str, str] = {
    "fsim": "sim.fsim:run",
    "amaranth": "sim.amaranth_backend:run",
    "verilator": "sim.native:run",
    "icarus": "sim.cocotb_backend:run_icarus",
    "cocotb-verilator": "sim.cocotb_backend:run_verilator",
    "soc-sim": "sim.soc_sim:run",
    "board": "sim.board:run",
}
#: Backend name -> the waveform formats (file suffixes) its ``vcd=`` option writes.
WAVE_FORMATS: dict[str, tuple[str, ...]] = {"fsim": (), "amaranth": ("vcd",), "verilator": ("vcd",),
                                            "icarus": ("fst",), "cocotb-verilator": ("vcd",),
                                            "soc-sim": (), "board": ()}
#: Backends whose memory is the self-test SoC's block RAM (its own timing: no memory latency to set).
BLOCK_RAM_BACKENDS = ("soc-sim", "board")
#: Backends that talk to a board over a serial port (``port=``, ``baud=``).
SERIAL_BACKENDS = ("board",)

#: Backends that run the memory model of ``sim.memsettings`` (``read_fault``, ``write_fault``,
#: ``back_pressure``, ``after_reset`` options).
MEMORY_MODEL: tuple[str, ...] = ("amaranth", "verilator", "icarus", "cocotb-verilator")

assert tuple(REGISTRY) == BACKENDS, "sim.result.BACKENDS and the registry must list the same backends"


class BackendUnavailable(RuntimeError):
    """A known backend whose module or function cannot be loaded (not built yet, a missing tool)."""


def get_backend(name: str) -> Callable[..., RunResult]:
    """The run function of backend ``name``.

    Parameters
    ----------
    name : str
        One of :data:`REGISTRY`.

    Raises
    ------
    ValueError
        If ``name`` is not a backend.
    BackendUnavailable
        If its module or function cannot be imported; the message says why, in one line.
    """
    try:
        target = REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown backend {name!r} (known: {', '.join(REGISTRY)})") from None
    mod_name, func_name = target.split(":")
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as e:
        raise BackendUnavailable(f"backend {name!r} is not available: cannot import {mod_name} "
                                 f"({type(e).__name__}: {e})") from None
    func = getattr(mod, func_name, None)
    if not callable(func):
        raise BackendUnavailable(f"backend {name!r} is not available: {mod_name} has no function "
                                 f"{func_name}")
    # A module that needs an external tool says whether it is there (``check_available(name)``
    # raising with a one-line reason), so a missing simulator is known before any work.
    probe = getattr(mod, "check_available", None)
    if probe is not None:
        try:
            probe(name)
        except Exception as e:
            raise BackendUnavailable(f"backend {name!r} is not available: {e}") from None
    return func


def run(program, backend: str = "fsim", **opts) -> RunResult:
    """Run ``program`` on ``backend`` (see :func:`get_backend`) with the backend options ``opts``."""
    return get_backend(backend)(program, **opts)


def available() -> dict[str, str | None]:
    """Each backend name → None if it loads, else why not (this imports every backend module)."""
    out = {}
    for name in REGISTRY:
        try:
            get_backend(name)
            out[name] = None
        except BackendUnavailable as e:
            out[name] = str(e)
    return out
