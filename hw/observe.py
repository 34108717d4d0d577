"""The trace port of the core: what a cycle-level simulation samples to draw the pipeline (``sim/trace.py``).

``VTACore.trace`` is one wide output, the fields below packed low bit first.  It is plain wires from
signals the core has anyway (plus a small in-flight count per memory client), so an FPGA build that leaves
it unconnected loses nothing.  This table is the one definition of the layout: the hardware port is built
from it and every backend decodes samples with it, Amaranth or not.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["UNITS", "MEM_CLIENTS", "QUEUES", "TraceField", "TRACE_FIELDS", "CHANGE_SHIFT", "trace_width",
           "field"]

#: The units, in track order.
UNITS = ("fetch", "load", "compute", "store")

#: The memory clients of the core's bus arbiter, in track order (reads, then the store's writes).
MEM_CLIENTS = ("fetch", "uop", "inp", "wgt", "acc", "out")

#: Queues whose occupancy is drawn as a counter track: the three command queues and the four token queues.
QUEUES = ("load_q", "compute_q", "store_q", "l2g", "g2l", "g2s", "s2g")


@dataclass(frozen=True)
class TraceField:
    """One field of the trace port: ``name``, ``width`` bits at bit ``offset``, ``doc``."""
    name: str
    width: int
    offset: int
    doc: str


def _fields() -> tuple[TraceField, ...]:
    spec = [("cycle", 32, "the core's cycle counter (cycles since launch): the timestamp of each sample"),
            ("running", 1, "a launched program is running")]
    for u in UNITS:
        spec.append((f"{u}_active", 1, f"{u} holds an instruction"))
        spec.append((f"{u}_index", 32, f"program index of the instruction {u} holds"))
    spec.append(("stall", 16, "what each unit waits on, bit by bit as hw.regs.STALL_BITS"))
    for c in MEM_CLIENTS:
        spec.append((f"mem_{c}", 1, f"the {c} client has a burst in flight"))
    for q in QUEUES:
        spec.append((f"level_{q}", 8, f"entries in {q} (saturates at 255)"))
    out, off = [], 0
    for name, width, doc in spec:
        out.append(TraceField(name, width, off, doc))
        off += width
    return tuple(out)


#: The trace port's fields, low bit first: the one definition the hardware port and the decoder share.
TRACE_FIELDS: tuple[TraceField, ...] = _fields()


def trace_width() -> int:
    """Width of the trace port in bits."""
    last = TRACE_FIELDS[-1]
    return last.offset + last.width


#: The fields a sample is kept for: every field but the timestamp.
CHANGE_SHIFT = 32


def field(name: str) -> TraceField:
    """The field called ``name``."""
    for f in TRACE_FIELDS:
        if f.name == name:
            return f
    raise KeyError(name)
