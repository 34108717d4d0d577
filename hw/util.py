"""Small helpers the hardware modules share: argument checks, ``log2``, and a register FIFO."""

from __future__ import annotations

from amaranth.hdl import Array, Module, Mux, Signal

__all__ = ["check_bus_bits", "check_int", "log2", "IdQueue", "BUS_WIDTHS"]

BUS_WIDTHS = (64, 128, 256, 512, 1024)


def check_bus_bits(bus_bits: int) -> int:
    """Return ``bus_bits`` if it is a supported AXI data width, else raise ``ValueError`` naming it."""
    if isinstance(bus_bits, bool) or not isinstance(bus_bits, int) or bus_bits not in BUS_WIDTHS:
        raise ValueError(f"bus_bits must be one of {BUS_WIDTHS}, not {bus_bits!r}")
    return bus_bits


def check_int(name: str, value, lo: int, hi: int | None = None) -> int:
    """Return ``value`` if it is an integer in ``lo..hi``, else raise ``ValueError`` naming it."""
    if (isinstance(value, bool) or not isinstance(value, int) or value < lo
            or (hi is not None and value > hi)):
        rng = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        raise ValueError(f"{name} must be an integer {rng}, not {value!r}")
    return value


def log2(n: int) -> int:
    """log2 of the power of two ``n``."""
    return n.bit_length() - 1


class IdQueue:
    """A small FIFO of registers built directly into module ``m`` (no submodule: a shallow hierarchy
    keeps the simulator fast).  The head is readable combinationally.

    Drive ``push``/``din`` and ``pop`` (comb); read ``head``, ``nonempty``, ``full``, ``level``.
    Pushing when full or popping when empty is the caller's error.
    """

    def __init__(self, m: Module, name: str, depth: int, width: int):
        if depth < 1:
            raise ValueError(f"{name}: depth must be at least 1, not {depth}")
        width = max(width, 1)
        self.depth = depth
        self.push, self.pop = Signal(name=f"{name}_push"), Signal(name=f"{name}_pop")
        self.din = Signal(width, name=f"{name}_din")
        self.head = Signal(width, name=f"{name}_head")
        self.level = Signal(range(depth + 1), name=f"{name}_level")
        self.nonempty, self.full = Signal(name=f"{name}_nonempty"), Signal(name=f"{name}_full")
        m.d.comb += [self.nonempty.eq(self.level != 0), self.full.eq(self.level == depth)]
        if depth == 1:
            reg = Signal(width, name=f"{name}_0")
            m.d.comb += self.head.eq(reg)
            with m.If(self.push):
                m.d.sync += reg.eq(self.din)
        else:
            regs = Array(Signal(width, name=f"{name}_{i}") for i in range(depth))
            wptr = Signal(range(depth), name=f"{name}_wptr")
            rptr = Signal(range(depth), name=f"{name}_rptr")
            m.d.comb += self.head.eq(regs[rptr])
            with m.If(self.push):
                m.d.sync += regs[wptr].eq(self.din)
                m.d.sync += wptr.eq(Mux(wptr == depth - 1, 0, wptr + 1))
            with m.If(self.pop):
                m.d.sync += rptr.eq(Mux(rptr == depth - 1, 0, rptr + 1))
        with m.If(self.push & ~self.pop):
            m.d.sync += self.level.eq(self.level + 1)
        with m.Elif(self.pop & ~self.push):
            m.d.sync += self.level.eq(self.level - 1)
