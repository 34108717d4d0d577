"""Backend ``verilator``: the Verilog of ``SimTop`` run by a native harness, at Verilator's own speed.

The same design as every cycle-level backend (:mod:`sim.simtop`: the core and the AXI memory model, as
Verilog from :mod:`sim.verilog`; its reset and memory settings taken through a register each,
:func:`registered_inputs`) is compiled with Verilator together with ``sim/native_harness.cpp``
into one shared library (:mod:`sim.vbuild`, cached), loaded here with :mod:`ctypes`.  The host driver
(:class:`sim.host.VTAHost`) runs the program over :class:`NativeLink`: each register access is one C
call that clocks an AXI4-Lite transaction, the memory image is copied straight into the memory model's
storage, and a wait is one C call that clocks the design until ``irq`` rises.  No Python runs per
cycle.

What is built, and when
-----------------------
A library is built once per configuration and memory size, and reused from the cache while the
hardware sources (``hw/``, ``sim/simtop.py``, ``sim/axi_mem.py``, ``sim/memsettings.py``,
``sim/verilog.py``), the harness and Amaranth's version stay the same; whether it is there is decided from a hash of those files,
without elaborating anything (:func:`library_key`).  The memory is :data:`DEFAULT_MEM_BYTES` (4 MiB)
whatever the image size, so one library serves most programs; a program whose image is larger, or a
``mem_bytes`` larger than that, is one build of the next power of two, which says so on stderr.  An
access beyond the image but inside the memory reads zeros here, where the ``amaranth`` backend (memory
sized to the image) answers DECERR.

The memory's latencies, injected faults and back-pressure are input ports of the design
(:mod:`sim.memsettings`): the harness is built knowing the names of :data:`sim.memsettings.PORTS` and
drives each from :meth:`sim.memsettings.MemSettings.port_values`, so none of them needs a rebuild.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import sys
import time
from pathlib import Path

from .host import LinkTimeout, VTAHost, run_bound, run_unsuspended
from .memimage import MemImage, model_bytes
from .result import RunResult

__all__ = ["DEFAULT_MEM_BYTES", "MEM_SCOPE", "REG_TIMEOUT_CYCLES", "PROGRESS_CYCLES", "NativeLink",
           "NativeSim", "library_key", "build", "run", "check_available"]

#: Size of the memory a library is built with (the most a run can use without another build): the
#: cocotb backends' size.  Every run pays for all of it (the model zeroes it twice when it starts, and
#: its pages are fresh): 16 MiB cost about 15 ms more a run than 2 MiB.
DEFAULT_MEM_BYTES = 4 << 20
#: Verilator's scope of the memory model's storage module (:func:`registered_inputs`'s ``sim``, then
#: ``SimTop.mem`` -> ``AxiMemory``'s ``mem``).
MEM_SCOPE = "vta_simtop.sim.mem.mem"
#: Cycles one control-register access may take before the link gives up.
REG_TIMEOUT_CYCLES = 10_000
#: Cycles between progress updates (``progress=True``).
PROGRESS_CYCLES = 1_000_000
#: Cycles of reset before a run, and idle cycles after it (as the cocotb testbench).
RESET_CYCLES, AFTER_RESET_CYCLES = 4, 2
#: Cycles the design's reset lags the harness's (:func:`registered_inputs`), added after a reset.
RESET_LAG = 1
#: Bump when the way a library is built changes.
RECIPE = "4"
#: The Python modules the Verilog is made from (besides every file under ``hw/``).
SOURCES = ("sim.simtop", "sim.axi_mem", "sim.memsettings", "sim.verilog")
HARNESS = Path(__file__).with_name("native_harness.cpp")
#: Verilator options of this library after :data:`sim.vbuild.VERILATOR_ARGS`: variables without an
#: initial value start at zero without a call per element (``unique`` makes one per word of the
#: memory, 50 ms a run for 16 MiB; its values are zero too unless asked otherwise at run time, and
#: every register of Amaranth's Verilog has an initial value anyway).
NATIVE_ARGS = ["--x-initial", "fast"]
#: C++ options of this library: code for this machine's processor (about a sixth less time per cycle
#: than the generic x86-64 code; the cache key then names the processor, :func:`sim.vbuild.host_cpu`).
NATIVE_CFLAGS = ["-march=native"]
TOP = "vta_simtop"


def check_available(name: str = "verilator") -> None:
    """Raise :class:`sim.vbuild.SimulatorNotFound` unless Verilator can build the library (the backend
    registry's probe)."""
    from .vbuild import check_verilator
    check_verilator()


def library_key(cfg, mem_bytes: int, trace: bool = False) -> str:
    """The hash standing for the Verilog of this configuration: the hardware sources' files (read, not
    imported), the configuration, the memory's size and whether the trace port is there."""
    from .verilog import source_digest
    params = json.dumps({"cfg": cfg.to_json(), "mem_bytes": mem_bytes, "trace": trace,
                         "recipe": RECIPE}, sort_keys=True)
    return source_digest(*SOURCES, extra=params)


def build(cfg, mem_bytes: int = DEFAULT_MEM_BYTES, *, waves: bool = False, trace: bool = False):
    """Build (or find in the cache) the library of ``cfg``; a :class:`sim.vbuild.Library`.

    With ``waves``, one that can write a VCD; with ``trace``, one whose design has the trace port
    (``SimTop(trace=True)``) and whose harness samples it.  Each is a separate library: the plain one
    has neither cost (the trace logic alone is about a tenth of the design's simulation time)."""
    from . import vbuild
    from .memsettings import DEFAULT_READ_LATENCY, DEFAULT_WRITE_LATENCY, PORTS

    def verilog_text():
        from .simtop import SimTop
        from .verilog import simtop_verilog
        return compact_replications(simtop_verilog(
            cfg, mem_bytes, DEFAULT_READ_LATENCY, DEFAULT_WRITE_LATENCY,
            simtop_factory=lambda *a, **k: registered_inputs(SimTop(*a, trace=trace, **k))))

    name = (f"{TOP}-{cfg.name}-{mem_bytes >> 20}MiB" + ("-trace" if trace else "")
            + ("-waves" if waves else ""))
    defines = {"VTA_TOP_HEADER": f"V{TOP}.h", "VTA_TOP_CLASS": f"V{TOP}",
               "VTA_SETTING_PORTS": " ".join(f"X({name})" for name, _, _ in PORTS)}
    if trace:
        defines["VTA_TRACE_PORT"] = 1
    if waves:
        defines["VTA_WAVES"] = 1
    return vbuild.build_library(
        name, TOP, verilog_text, [HARNESS], verilog_key=library_key(cfg, mem_bytes, trace),
        defines=defines, args=NATIVE_ARGS + (["--trace"] if waves else []),
        control=f'public_flat_rw -module "vta_axi_mem_storage" -var "mem"', cflags=NATIVE_CFLAGS,
        estimate=240)


#: One bit-select repeated at least three times in a concatenation (an element: after ``{ `` or ``, ``).
_REPEATED_BIT = re.compile(r"(?<=[{,] )((\\?[\w$.]+ ?\[\d+\]), )\1{2,}")


def compact_replications(text: str) -> str:
    """The Verilog ``text`` with every run of one bit repeated in a concatenation (``x[7], x[7], x[7],
    ...``: how Yosys writes a sign extension) as a replication (``{3{x[7]}}, ...``): the same Verilog,
    but Verilator makes of the replication one sign extension instead of a shift and an OR per bit,
    which is about a third of the simulation's time (the tensor core's packed multipliers)."""
    def replicate(m: re.Match) -> str:
        return f"{{{len(m.group(0)) // len(m.group(1))}{{{m.group(2)}}}}}, "
    return _REPEATED_BIT.sub(replicate, text)


def registered_inputs(simtop):
    """``simtop`` (a :class:`sim.simtop.SimTop`) as submodule ``sim`` of a component with the same
    ports, whose reset and memory settings (:data:`sim.memsettings.PORTS`) reach ``simtop`` through a
    register each; the other ports are wired straight through.

    Amaranth's Verilog computes every register's next value in combinational logic that reads
    ``rst``, and the memory's handshakes read the settings ports: with those as top-level inputs,
    Verilator evaluates that logic again in every ``eval()`` (its input-combinational region, twice a
    cycle: about a fifth of the simulation's time).  Registered, the settings only delay a value the
    harness sets before a reset, and the reset is one cycle later and one longer, which :func:`run`
    makes up for with one more cycle after it (:data:`RESET_LAG`): the design sees the same
    cycles from the end of its reset as on every other backend.
    """
    from amaranth.hdl import ClockDomain, ClockSignal, DomainRenamer, Module, ResetSignal, Signal
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In
    from .memsettings import PORTS

    registered = {name for name, _, _ in PORTS}

    class RegisteredInputs(wiring.Component):
        def elaborate(self, platform):
            m = Module()
            m.domains.inner = ClockDomain("inner", local=True)
            rst = Signal(init=1, reset_less=True, name="sim_rst")
            m.d.sync += rst.eq(ResetSignal("sync"))
            m.d.comb += [ClockSignal("inner").eq(ClockSignal("sync")), ResetSignal("inner").eq(rst)]
            m.submodules.sim = DomainRenamer("inner")(simtop)
            for name, member in simtop.signature.members.items():
                outer, inner = getattr(self, name), getattr(simtop, name)
                if member.flow != In:
                    m.d.comb += outer.eq(inner)
                elif name in registered:
                    q = Signal.like(inner, name=f"{name}_q", reset_less=True)
                    m.d.sync += q.eq(outer)
                    m.d.comb += inner.eq(q)
                else:
                    m.d.comb += inner.eq(outer)
            return m

    return RegisteredInputs(dict(simtop.signature.members))


_LIBS: dict[str, ctypes.CDLL] = {}


def _load(path: Path) -> ctypes.CDLL:
    key = str(path)
    lib = _LIBS.get(key)
    if lib is not None:
        return lib
    lib = ctypes.CDLL(key)
    vp, u64, u32, i32 = ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_int
    buf = ctypes.c_char_p
    for name, res, args in (
            ("vn_open", vp, [ctypes.c_char_p]), ("vn_close", None, [vp]),
            ("vn_error", ctypes.c_char_p, [vp]), ("vn_mem_bytes", u64, [vp]),
            ("vn_word_bytes", u32, [vp]), ("vn_cycles", u64, [vp]),
            ("vn_mem_write", i32, [vp, u64, buf, u64]), ("vn_mem_read", i32, [vp, u64, vp, u64]),
            ("vn_reset", None, [vp, i32, i32]), ("vn_write32", i32, [vp, u32, u32, u64]),
            ("vn_read32", i32, [vp, u32, ctypes.POINTER(u32), u64]), ("vn_wait", i32, [vp, u64]),
            ("vn_n_ports", i32, []), ("vn_port_name", ctypes.c_char_p, [i32]),
            ("vn_set_port", i32, [vp, i32, u64]), ("vn_waves", i32, [vp, ctypes.c_char_p]),
            ("vn_trace_sample_bytes", u32, []), ("vn_trace_start", i32, [vp]),
            ("vn_trace_bytes", u64, [vp]), ("vn_trace_copy", u64, [vp, vp, u64])):
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    _LIBS[key] = lib
    return lib


class NativeSim:
    """One simulation of a built library (a fresh design, memory zeroed); :meth:`close` frees it."""

    def __init__(self, library_path: Path):
        self.lib = _load(Path(library_path))
        self.handle = self.lib.vn_open(MEM_SCOPE.encode())
        if not self.handle:
            raise MemoryError("the native harness could not allocate a simulation")
        self.mem_bytes = self.lib.vn_mem_bytes(self.handle)
        self.ports = {self.lib.vn_port_name(i).decode(): i for i in range(self.lib.vn_n_ports())}
        if not self.mem_bytes:
            err = self.lib.vn_error(self.handle).decode()
            self.close()
            raise RuntimeError(f"native harness: {err}")

    def close(self) -> None:
        if self.handle:
            self.lib.vn_close(self.handle)
            self.handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def cycles(self) -> int:
        """Clock cycles since the simulation began."""
        return self.lib.vn_cycles(self.handle)

    def waves(self, path) -> None:
        """Write a VCD of every signal to ``path`` from now on (a library built with ``waves``)."""
        if self.lib.vn_waves(self.handle, os.fsencode(path)):
            raise RuntimeError("this native library was built without waveforms (build(waves=True))")

    def trace_start(self) -> None:
        """Record the trace port from now on (the harness keeps the port's value after every clock
        edge at which its bits above the timestamp changed)."""
        if self.lib.vn_trace_start(self.handle):
            raise RuntimeError("this native library's top has no trace port")

    def trace_samples(self) -> list[int]:
        """The trace samples kept by the rule of ``hw.observe.TraceRecorder`` (``sim.trace``)."""
        from hw.observe import TraceRecorder
        n, size = self.lib.vn_trace_bytes(self.handle), self.lib.vn_trace_sample_bytes()
        buf = ctypes.create_string_buffer(n)
        self.lib.vn_trace_copy(self.handle, buf, n)
        raw = buf.raw
        rec = TraceRecorder()
        for i in range(0, n, size):
            rec.offer(int.from_bytes(raw[i:i + size], "little"))
        return rec.samples

    def set_ports(self, values: dict[str, int]) -> None:
        """Drive the memory's run-time ports (names of :data:`sim.memsettings.PORTS`)."""
        for name, value in values.items():
            i = self.ports.get(name)
            if i is None:
                raise ValueError(f"the native library has no setting port {name!r} (it has "
                                 f"{', '.join(self.ports) or 'none'})")
            self.lib.vn_set_port(self.handle, i, value)

    def reset(self, cycles: int = RESET_CYCLES, after: int = AFTER_RESET_CYCLES) -> None:
        """Hold reset for ``cycles`` cycles, then let ``after`` cycles pass from the end of the
        design's reset (:data:`RESET_LAG` more of the harness's)."""
        self.lib.vn_reset(self.handle, cycles, after + RESET_LAG)


class NativeLink:
    """The host link (:mod:`sim.host`) of a :class:`NativeSim`: registers over its AXI4-Lite port,
    memory read and written in zero time, the end of a run as a rising edge of ``irq``.  Every
    coroutine finishes without suspending (each is one call into the harness)."""

    port = "an AXI4-Lite"

    def __init__(self, sim: NativeSim, reg_timeout: int = REG_TIMEOUT_CYCLES):
        self.sim = sim
        self.lib, self.h = sim.lib, sim.handle
        self.reg_timeout = reg_timeout
        self._word = ctypes.c_uint32()

    async def read32(self, addr: int) -> int:
        if self.lib.vn_read32(self.h, addr, ctypes.byref(self._word), self.reg_timeout):
            raise LinkTimeout(f"within {self.reg_timeout} cycles")
        return self._word.value

    async def write32(self, addr: int, value: int) -> None:
        if self.lib.vn_write32(self.h, addr, value, self.reg_timeout):
            raise LinkTimeout(f"within {self.reg_timeout} cycles")

    def _check(self, addr: int, n: int, what: str) -> None:
        if addr < 0 or n < 0 or addr + n > self.sim.mem_bytes:
            raise ValueError(f"{what} of {n} bytes at {addr:#x} is outside the {self.sim.mem_bytes}-byte "
                             f"memory")

    async def read_mem(self, addr: int, n: int) -> bytes:
        self._check(addr, n, "memory read")
        buf = ctypes.create_string_buffer(n)
        self.lib.vn_mem_read(self.h, addr, buf, n)
        return buf.raw

    async def write_mem(self, addr: int, data: bytes) -> None:
        data = bytes(data)
        self._check(addr, len(data), "memory write")
        self.lib.vn_mem_write(self.h, addr, data, len(data))

    async def wait(self, cycles: int) -> bool:
        return bool(self.lib.vn_wait(self.h, cycles))


def run(program, *, max_cycles: int | None = None, progress: bool = False,
        vcd: str | os.PathLike | None = None, mem_latency: int | None = None,
        read_latency: int | None = None, write_latency: int | None = None,
        read_fault=None, write_fault=None, back_pressure=None, after_reset: bool = False,
        trace: bool = False, mem_bytes: int | None = None, **opts) -> RunResult:
    """Run ``program`` on the native Verilator harness and return its result.

    Parameters
    ----------
    program : sw.program.Program
    max_cycles : int, optional
        Cycle bound from launch (default ``sim.host.cycle_bound(program)``); reaching it raises
        ``VTARunError`` with code ``TIMEOUT``.
    progress : bool
        Show the cycles simulated so far on stderr (every :data:`PROGRESS_CYCLES` cycles).
    vcd : path, optional
        Write a VCD of every signal there (a separate library, built with Verilator's ``--trace``).
    mem_latency, read_latency, write_latency, read_fault, write_fault, back_pressure, after_reset :
        The memory model's settings (``sim.memsettings``) and the re-run after a reset, exactly as
        ``sim.amaranth_backend.run`` takes them; all drive ports of the built design.
    trace : bool
        Record the design's trace port (``sim.trace``: the sample rule); the samples are
        ``result.extra["trace_samples"]``.  A separate library (built once) whose design has the port;
        off, the design has no trace logic and the harness records nothing.
    mem_bytes : int, optional
        The memory the library is built with (default :data:`DEFAULT_MEM_BYTES`, or the next power of
        two that holds the image).

    Raises
    ------
    VTARunError
        On an error status or the cycle bound; ``.result`` holds what was read back.
    ValueError
        On a bad option (named).
    """
    from .memsettings import bound_factor, from_options
    cfg = program.config
    layout = MemImage.place(program)
    settings = from_options(mem_latency, read_latency, write_latency, read_fault, write_fault,
                            back_pressure, layout=layout)
    latency = settings.read_latency, settings.write_latency
    bound = run_bound(program, max_cycles, *latency, bound_factor(settings))
    if mem_bytes is not None and (isinstance(mem_bytes, bool) or not isinstance(mem_bytes, int)
                                  or mem_bytes <= 0 or mem_bytes & (mem_bytes - 1)):
        raise ValueError(f"mem_bytes must be a power of two, got {mem_bytes!r}")
    mem_bytes = model_bytes(layout.size, mem_bytes, DEFAULT_MEM_BYTES)
    if mem_bytes > DEFAULT_MEM_BYTES:
        print(f"vta: the memory image needs {mem_bytes >> 20} MiB, more than the "
              f"{DEFAULT_MEM_BYTES >> 20} MiB of the default verilator model: using (building once) "
              f"a {mem_bytes >> 20} MiB model", file=sys.stderr, flush=True)
    lib = build(cfg, mem_bytes, waves=vcd is not None, trace=bool(trace))
    t0 = time.perf_counter()
    line = None
    if progress:
        from .progress import Progress
        from .report import estimate_cycles
        line = Progress("verilator", estimate_cycles(program))
    with NativeSim(lib.path) as sim:
        if vcd is not None:
            sim.waves(vcd)
        sim.set_ports(settings.port_values())
        sim.reset()
        if trace:
            sim.trace_start()
        host = VTAHost(NativeLink(sim), clock=time.perf_counter)
        state = run_unsuspended(host.run(layout, program.n_insns, bound, load=True,
                                   chunk=PROGRESS_CYCLES if progress else None,
                                   on_progress=line.update if line else None))
        samples = sim.trace_samples() if trace else None
        again = None
        if after_reset:
            sim.set_ports(settings.without_faults().port_values())
            sim.reset()
            again = run_unsuspended(host.run(layout, program.n_insns, bound, load=True))
    if line is not None:
        line.close()
    elapsed = time.perf_counter() - t0
    counters = dict(state.counters)
    run_seconds = state.phases.get("run", 0.0)
    cycles = counters.get("cycle_count")
    result = RunResult(
        backend="verilator", out=state.out, counters=counters, cycles=cycles,
        instructions=program.n_insns, uops=program.n_uops, wall_time=elapsed,
        extra={"mem_bytes": mem_bytes, "read_latency": latency[0], "write_latency": latency[1],
               "memory_settings": settings.to_json(),
               "build_seconds": round(lib.seconds, 3), "build_cached": lib.cached,
               "build_dir": str(lib.directory), "sim_seconds": run_seconds,
               "phases": {k: round(v, 4) for k, v in state.phases.items()},
               "cycles_per_second": cycles / run_seconds if cycles and run_seconds else None,
               **{r: state.registers[r] for r in ("status", "error_code", "error_index", "stall")}})
    if samples is not None:
        result.extra["trace_samples"] = samples
        if callable(trace):              # the CLI's sim.trace.TraceCollector, as on every traced backend
            trace(program, samples)
    if again is not None:
        result.extra["after_reset"] = {**again.to_json(), "out": again.out.hex()}
    state.raise_for_error(program, result)
    return result
