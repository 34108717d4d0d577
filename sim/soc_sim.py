"""Backend ``soc-sim``: the self-test SoC (``hw/soc/top.py``) on Verilator, driven through its UART.

The SoC's Verilog (``sim.verilog.convert`` of ``hw.soc.top.SocTop``) and the native harness
``sim/soc_harness.cpp`` are built into one shared library (``sim.vbuild``, cached) and loaded with
ctypes.  The harness simulates the host's end of the serial line bit by bit; :class:`HarnessTransport`
moves bytes through it, and the one host driver (``sim.host.VTAHost``) runs the program over
``sim.links.uart.UartLink`` exactly as on a board (``sim/links/run.py``): the whole memory image goes
into the block RAM over the UART, the registers are written, STATUS is polled until ``irq``, and the
registers, counters and out region are read back over the UART.

The UART runs at :data:`DIVISOR` clock cycles per bit (the smallest the SoC's UART takes), so that the
load costs few simulated cycles; the bridge protocol is the same at any divisor.  The block RAM is
:data:`DEFAULT_MEM_BYTES` (or the next power of two that holds the image): one size, one build, for most
programs.  Cycle counts are those of the SoC's block RAM (its own memory timing, not the fixed-latency
memory model of the ``amaranth`` / ``icarus`` / ``verilator`` backends), and equal to those of the same
SoC in Amaranth's simulator.
"""

from __future__ import annotations

import ctypes
import json
import os

from sim.host import LinkTimeout, run_bound

__all__ = ["run", "check_available", "HarnessTransport", "library", "DIVISOR", "DEFAULT_MEM_BYTES",
           "POLL_CYCLES", "SOC_TOP"]

#: Clock cycles per UART bit in simulation.
DIVISOR = 4
#: Block RAM of the simulated SoC, unless the program's image needs more.
DEFAULT_MEM_BYTES = 1 << 20
#: Cycles between two STATUS polls while the core runs (a poll costs 11 bytes on the line).
POLL_CYCLES = 4096
#: Verilog module name of the SoC.
SOC_TOP = "vta_soc"
#: Cycles a reply may take beyond the time its bytes (and the bytes sent before it) need on the line:
#: the bridge's own work (FILL writes a byte a cycle, up to ``sim.links.uart.CHUNK_BYTES``) and slack.
REPLY_SLACK_CYCLES = 50_000

_HARNESS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "soc_harness.cpp")


def check_available(name: str = "soc-sim") -> None:
    """Raise (saying how to install) unless Verilator, make and a C++ compiler are there."""
    from sim.vbuild import check_verilator
    check_verilator()


def library(cfg, mem_bytes: int, divisor: int = DIVISOR):
    """The built harness library of the SoC of ``cfg`` (a ``sim.vbuild.Library``; cached)."""
    from hw.soc.uart import check_divisor
    from sim import vbuild, verilog
    check_divisor(divisor)
    params = json.dumps({"cfg": cfg.to_json(), "mem_bytes": mem_bytes, "divisor": divisor,
                         "top": SOC_TOP}, sort_keys=True)
    key = verilog.source_digest("sim.verilog", extra=params)

    def text() -> str:
        from hw.soc.top import SocTop
        return verilog.convert(SocTop(cfg, mem_bytes, divisor), SOC_TOP)

    return vbuild.build_library(f"soc-{cfg.name}", SOC_TOP, text, [_HARNESS], verilog_key=key,
                                estimate=60.0)


def _load(path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(path))
    vp, u8p, u32, u64 = ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint8), ctypes.c_uint32, ctypes.c_uint64
    lib.soc_open.argtypes, lib.soc_open.restype = [ctypes.c_int], vp
    lib.soc_close.argtypes, lib.soc_close.restype = [vp], None
    lib.soc_reset.argtypes, lib.soc_reset.restype = [vp, ctypes.c_int], None
    lib.soc_send.argtypes, lib.soc_send.restype = [vp, u8p, u32], None
    lib.soc_recv.argtypes, lib.soc_recv.restype = [vp, u8p, u32, u64], u32
    lib.soc_idle.argtypes, lib.soc_idle.restype = [vp, u64], None
    for name in ("soc_cycles", "soc_framing_errors", "soc_bytes_sent", "soc_bytes_received"):
        getattr(lib, name).argtypes, getattr(lib, name).restype = [vp], u64
    lib.soc_irq.argtypes, lib.soc_irq.restype = [vp], ctypes.c_int
    return lib


class HarnessTransport:
    """A transport of ``sim.links.uart.UartLink`` through the harness library at ``path``: one simulated
    SoC, out of reset, with its UART at ``divisor`` cycles per bit.

    :meth:`recv` runs the simulated clock until the bytes have come, at most the cycles their bytes and
    the bytes sent before them need on the line plus :data:`REPLY_SLACK_CYCLES`; then ``LinkTimeout``.
    Use as a context manager (or call :meth:`close`).
    """

    def __init__(self, path, divisor: int = DIVISOR, reset_cycles: int = 8):
        self.lib = _load(path)
        self.divisor = divisor
        self.h = self.lib.soc_open(divisor)
        if not self.h:
            raise ValueError(f"the harness refused UART divisor {divisor}")
        self.lib.soc_reset(self.h, reset_cycles)
        self._unanswered = 0          # bytes sent since the last recv

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if self.h:
            self.lib.soc_close(self.h)
            self.h = None

    def byte_cycles(self, n: int) -> int:
        """Cycles ``n`` bytes take on the line (10 bits each)."""
        return 10 * self.divisor * n

    async def send(self, data: bytes) -> None:
        buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        self.lib.soc_send(self.h, buf, len(data))
        self._unanswered += len(data)

    async def recv(self, n: int) -> bytes:
        bound = self.byte_cycles(n + self._unanswered) + REPLY_SLACK_CYCLES
        buf = (ctypes.c_uint8 * n)()
        k = self.lib.soc_recv(self.h, buf, n, bound)
        self._unanswered = 0
        if k < n:
            raise LinkTimeout(f"within {bound} cycles ({k} of {n} bytes came; cycle {self.cycles()} of "
                              f"the session)")
        return bytes(buf)

    async def idle(self, cycles: int) -> None:
        self.lib.soc_idle(self.h, cycles)

    def exchange(self, data: bytes, cycles: int, max_bytes: int = 4096) -> bytes:
        """Put ``data`` on the line, run ``cycles`` cycles (less if ``max_bytes`` bytes came first) and
        return the bytes that came: the SoC as a byte pump, for a fake serial port (tests)."""
        if data:
            buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
            self.lib.soc_send(self.h, buf, len(data))
        out = (ctypes.c_uint8 * max_bytes)()
        k = self.lib.soc_recv(self.h, out, max_bytes, cycles)
        return bytes(out[:k])

    def cycles(self) -> int:
        """Clock cycles simulated since the SoC was opened."""
        return self.lib.soc_cycles(self.h)

    def stats(self) -> dict:
        """Line statistics: bytes each way, framing errors seen by the host's receiver."""
        return {"bytes_sent": self.lib.soc_bytes_sent(self.h),
                "bytes_received": self.lib.soc_bytes_received(self.h),
                "framing_errors": self.lib.soc_framing_errors(self.h)}

    def irq(self) -> bool:
        """The SoC's irq pin now (tests; the host itself asks by STATUS)."""
        return bool(self.lib.soc_irq(self.h))


def run(program, *, max_cycles: int | None = None, progress: bool = False, vcd=None,
        mem_bytes: int | None = None, divisor: int = DIVISOR, **opts):
    """Run ``program`` on the simulated SoC through its UART; the backend registry's ``soc-sim``.

    Parameters
    ----------
    program : sw.program.Program
    max_cycles : int, optional
        Cycle bound from launch (default ``sim.host.cycle_bound(program)``).
    progress : bool
        Progress line on stderr while the core runs.
    vcd :
        Not supported (ValueError if given: the CLI refuses ``--waves`` first).
    mem_bytes : int, optional
        Block RAM size (default :data:`DEFAULT_MEM_BYTES`, or the next power of two holding the image).
    divisor : int
        UART clock cycles per bit (default :data:`DIVISOR`); each divisor is a build of its own.

    Other options (``mem_latency``...) are accepted and ignored, by the registry's rule; the CLI refuses
    ``--mem-latency`` for this backend.

    Raises
    ------
    VTARunError
        On an error status or the cycle bound.
    sim.links.LinkError
        If the UART link fails (no answer within a read's bound, an error status of the bridge).
    """
    import time
    from sim.links.run import run_over_uart
    from sim.memimage import MemImage, model_bytes
    if vcd is not None:
        raise ValueError("the soc-sim backend writes no waveform")
    bound = run_bound(program, max_cycles)
    if mem_bytes is None:     # a given size is checked by the SoC itself (INFO), as on a board
        mem_bytes = model_bytes(MemImage.place(program).size, None, DEFAULT_MEM_BYTES)
    lib = library(program.config, mem_bytes, divisor)
    t0 = time.perf_counter()
    with HarnessTransport(lib.path, divisor) as t:
        extra = {"divisor": divisor, "build_seconds": round(lib.seconds, 3), "build_cached": lib.cached,
                 "build_dir": str(lib.directory)}
        result = run_over_uart(program, t, backend="soc-sim", bound=bound, chunk=POLL_CYCLES,
                               progress=progress, extra=extra)
        result.extra.update(t.stats())
    elapsed = time.perf_counter() - t0
    result.extra["session_seconds"] = round(elapsed, 4)
    result.extra["cycles_per_second"] = result.extra["session_cycles"] / max(elapsed, 1e-9)
    return result
