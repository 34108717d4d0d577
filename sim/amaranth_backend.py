"""Backend ``amaranth``: the core, cycle by cycle, in Amaranth's own simulator.

The program is placed in the memory model's initial contents (``sim/memimage.py``), the registers are
written over AXI4-Lite by a testbench, and the design then runs by itself until ``irq`` rises, the cycle
bound passes, or an error stops it; the testbench wakes only at ``irq`` or every ``CHUNK`` cycles (for
the progress line and the bound), so simulation speed is the design's own.
"""

from __future__ import annotations

import sys
import time

from amaranth.sim import Simulator

from hw.regs import (REG_BY_NAME, COUNTERS, counter_offset, ErrorCode, STATUS_ERROR, STALL_BITS,
                     UNIT_INDEX_REGS)
from sw.program import Program
from .memimage import MemImage
from .result import RunResult, VTARunError
from .simtop import SimTop, DEFAULT_READ_LATENCY, DEFAULT_WRITE_LATENCY, cycle_bound
from .axil import AxiLiteDriver
from .errors import describe_error

__all__ = ["run", "read_counters"]


def _compile_repeats_at_once() -> None:
    """Make Amaranth's simulator compute a repeated part of a concatenation in one operation.

    ``pysim`` compiles ``Cat(x, x, ..., x)`` (what ``x.replicate(n)`` is, and how it widens a memory's
    one-bit write enable to the element's width, on every clock edge) into one shift-and-or term per
    copy: thousands of terms for a wide SRAM.  A run of ``n`` copies of a ``w``-bit part equals the part
    times ``sum(1 << w*i for i in range(n))`` (the copies do not overlap, so no carries), which is what
    this compiles instead.  Same values, bit for bit; only the generated Python is shorter.  Applied
    once, only to Amaranth 0.5's RHS compiler; any other version is left alone.
    """
    try:
        from amaranth.sim import _pyrtl
        cls = _pyrtl._RHSValueCompiler
    except (ImportError, AttributeError):
        return
    if getattr(cls, "_vta_repeats", False) or "on_Concat" not in cls.__dict__:
        return

    def on_Concat(self, value):
        gen_parts = []
        offset = 0
        parts = list(value.parts)
        i = 0
        while i < len(parts):
            part = parts[i]
            n = 1
            while i + n < len(parts) and parts[i + n] is part:
                n += 1
            width = len(part)
            part_mask = (1 << width) - 1
            if n > 1 and width > 0:
                spread = sum(1 << (width * k) for k in range(n))
                gen_parts.append(f"((({part_mask:#x} & {self(part)}) * {spread:#x}) << {offset})")
            else:
                for _ in range(n):
                    gen_parts.append(f"(({part_mask:#x} & {self(part)}) << {offset})")
                    offset += width
                i += n
                continue
            offset += width * n
            i += n
        if gen_parts:
            return f"({' | '.join(gen_parts)})"
        return "0"

    cls.on_Concat = on_Concat
    cls._vta_repeats = True


def _inline_signal_updates() -> None:
    """Make Amaranth's simulator queue a process's signal changes inline, not by a method call each.

    ``pysim`` ends every compiled process with one ``slots[i].update(next_i, mask)`` call per signal
    it drives, hundreds per cycle for the core; this writes the body of ``_PySignalState.update``
    (Amaranth 0.5) in their place: the same statements, without the call.  Lines of any other form
    are left as they are, and so is any other Amaranth version.
    """
    try:
        from amaranth.sim import _pyrtl, pysim
        emitter = _pyrtl._PythonEmitter
        update = pysim._PySignalState.update
    except (ImportError, AttributeError):
        return
    import inspect
    import re
    expected = ("value = (self.next & ~mask) | (value & mask)", "if self.next != value:",
                "self.next = value", "self.pending.add(self)")
    try:
        body = [line.strip() for line in inspect.getsource(update).splitlines()[1:] if line.strip()]
    except (OSError, TypeError):
        return
    if getattr(emitter, "_vta_inline", False) or tuple(body) != expected:
        return
    pattern = re.compile(r"slots\[(\d+)\]\.update\((next_\d+), (-?\d+)\)")
    original = emitter.append

    def append(self, code):
        match = pattern.fullmatch(code)
        if match is None:
            return original(self, code)
        index, var, mask = match.group(1), match.group(2), int(match.group(3))
        original(self, f"_s = slots[{index}]")
        original(self, f"_v = (_s.next & {~mask}) | ({var} & {mask})")
        original(self, "if _s.next != _v:")
        with self.indent():
            original(self, "_s.next = _v")
            original(self, "_s.pending.add(_s)")

    emitter.append = append
    emitter._vta_inline = True


_compile_repeats_at_once()
_inline_signal_updates()

PERIOD = 1e-8     # 100 MHz, as the Pynq VTA
CHUNK = 5000      # cycles between progress updates


async def read_counters(read) -> dict[str, int]:
    """Every counter of ``hw.regs.COUNTERS`` through the register read function ``read(addr)``."""
    out = {}
    for name in COUNTERS:
        lo = await read(counter_offset(name))
        hi = await read(counter_offset(name) + 4)
        out[name] = lo | hi << 32
    return out


def run(program: Program, *, max_cycles: int | None = None, progress: bool = False, vcd: str | None = None,
        mem_latency: int | None = None, read_latency: int | None = None, write_latency: int | None = None,
        **opts) -> RunResult:
    """Run ``program`` on the core in Amaranth's simulator and return its result.

    Parameters
    ----------
    max_cycles : cycle bound (default: ``simtop.cycle_bound(program)``); reaching it raises VTARunError
    progress : print a progress line on stderr
    vcd : write a waveform to this file
    mem_latency : read and write latency of the memory model (cycles); or set them apart with
        ``read_latency`` / ``write_latency``
    """
    cfg = program.config
    img = MemImage(program)
    rl = read_latency if read_latency is not None else mem_latency if mem_latency is not None else DEFAULT_READ_LATENCY
    wl = write_latency if write_latency is not None else mem_latency if mem_latency is not None else DEFAULT_WRITE_LATENCY
    bound = max_cycles if max_cycles is not None else cycle_bound(program)
    dut = SimTop(cfg, img.size, read_latency=rl, write_latency=wl, init=img.image)
    # Amaranth's simulator compiles a memory's write enable bit by bit into one expression (unless
    # _compile_repeats_at_once applied); a wide SRAM (the 8192-bit weight element of LOG_BLOCK 5)
    # then nests deeper than Python's default limit.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * cfg.wgt_elem_bits + 1000))
    # ... and writes constants as decimal literals, longer than Python's default limit for wide elements.
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)
    sim = Simulator(dut)
    sim.add_clock(PERIOD)
    state: dict = {}
    bus_bytes = cfg.bus_bytes

    async def bench(ctx):
        axil = AxiLiteDriver(ctx, dut)
        for name, value in img.bases.items():
            await axil.write(REG_BY_NAME[name].offset, value)
        await axil.write(REG_BY_NAME["insn_count"].offset, program.n_insns)
        await axil.write(REG_BY_NAME["control"].offset, 1)
        t0 = time.perf_counter()
        cycles = 0
        finished = False
        while cycles < bound:
            step = min(CHUNK, bound - cycles)
            expired, _ = await ctx.delay(step * PERIOD).posedge(dut.irq)
            if not expired:
                finished = True
                break
            cycles += step
            if progress:
                print(f"\ramaranth: {cycles} cycles ({cycles / (time.perf_counter() - t0):.0f} cycles/s)",
                      end="", file=sys.stderr, flush=True)
        if progress:
            print(file=sys.stderr)
        state["sim_time"] = time.perf_counter() - t0
        await ctx.tick()
        state["finished"] = finished
        state["status"] = await axil.read(REG_BY_NAME["status"].offset)
        state["error_code"] = await axil.read(REG_BY_NAME["error_code"].offset)
        state["error_index"] = await axil.read(REG_BY_NAME["error_index"].offset)
        state["stall"] = await axil.read(REG_BY_NAME["stall"].offset)
        state["unit_index"] = {r: await axil.read(REG_BY_NAME[r].offset) for r in UNIT_INDEX_REGS}
        state["counters"] = await read_counters(axil.read)
        # Read the out region back through the memory's backdoor port.
        out = bytearray()
        first = img.out_addr // bus_bytes
        n_words = -(-img.out_bytes // bus_bytes)
        for i in range(n_words):
            ctx.set(dut.bd_addr, first + i)
            await ctx.tick()
            out += ctx.get(dut.bd_rdata).to_bytes(bus_bytes, "little")
        state["out"] = bytes(out[:img.out_bytes])

    sim.add_testbench(bench)
    t_start = time.perf_counter()
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()
    wall = time.perf_counter() - t_start

    counters = state["counters"]
    result = RunResult(backend="amaranth", out=state["out"], counters=counters,
                       cycles=counters["cycle_count"], instructions=program.n_insns, uops=program.n_uops,
                       wall_time=wall, extra={"read_latency": rl, "write_latency": wl,
                                              "sim_seconds": state["sim_time"],
                                              "cycles_per_second": counters["cycle_count"] / max(state["sim_time"], 1e-9)})
    if not state["finished"]:
        raise VTARunError(ErrorCode.TIMEOUT,
                          f"no finish within {bound} cycles (stall bits: "
                          + (", ".join(n for n, b in STALL_BITS.items() if state['stall'] >> b & 1) or "none")
                          + ")", result=result)
    if state["status"] & STATUS_ERROR:
        raise VTARunError(state["error_code"],
                          describe_error(state["error_code"], state["error_index"], state["stall"],
                                         state["unit_index"], program),
                          index=state["error_index"], result=result)
    return result
