"""The trace port of the core: what a cycle-level simulation samples to draw the pipeline (``sim/trace.py``).

``VTACore.trace`` is one wide output, the fields below packed low bit first.  It is plain wires from
signals the core has anyway (plus a small in-flight count per memory client), so an FPGA build that leaves
it unconnected loses nothing.  This table is the one definition of the layout: the hardware port is built
from it and every backend decodes samples with it, Amaranth or not.  :class:`TraceRecorder` is the one
sampling rule (which values of the port a backend keeps); this module imports nothing, so a testbench
running inside a simulator can use it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["UNITS", "MEM_CLIENTS", "QUEUES", "TraceField", "TRACE_FIELDS", "CHANGE_SHIFT", "trace_width",
           "field", "TraceRecorder", "sample_bytes", "write_samples", "read_samples"]

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


def sample_bytes() -> int:
    """Bytes of one sample in a sample file: the port's width rounded up to whole bytes."""
    return (trace_width() + 7) // 8


class TraceRecorder:
    """The sampling rule every backend follows: offer it the port's value (an ``int``) whenever the bits
    above the timestamp (``word >> CHANGE_SHIFT``, the ``trace_key`` of ``sim.simtop.SimTop``) may have
    changed, at least once per clock cycle in which they do, with the design settled; it keeps

    - nothing before the first word with ``running`` set (the launch),
    - a word whenever the bits above the timestamp differ from the last kept word's,
    - only the last word of one timestamp (a simulator that shows a value before it settles, or shows
      the launch cycle and the next, both stamped 0, keeps one),
    - the first word with ``running`` clear after the launch, and then nothing more (``done``).

    ``samples`` is the list of kept words, in time order: what ``sim.trace.decode_samples`` takes.
    Offering the same word twice, or words that did not change, keeps nothing extra, so a backend may
    offer more often than needed (every cycle, say) and keep the same samples.
    """

    _CYCLE_MASK = (1 << CHANGE_SHIFT) - 1

    def __init__(self):
        self.samples: list[int] = []
        self.done = False
        self._running = field("running").offset

    def offer(self, word: int) -> None:
        if self.done:
            return
        running = (word >> self._running) & 1
        samples = self.samples
        if not samples:
            if running:
                samples.append(word)
            return
        last = samples[-1]
        if (last & self._CYCLE_MASK) == (word & self._CYCLE_MASK):
            samples[-1] = word
        elif (last >> CHANGE_SHIFT) != (word >> CHANGE_SHIFT):
            samples.append(word)
        if not running:
            self.done = True


def write_samples(path, samples) -> None:
    """Write ``samples`` (ints) as a sample file: ``sample_bytes()`` bytes each, little-endian, in order."""
    n = sample_bytes()
    with open(path, "wb") as f:
        f.write(b"".join(int(w).to_bytes(n, "little") for w in samples))


def read_samples(path) -> list[int]:
    """The samples of a file :func:`write_samples` wrote."""
    n = sample_bytes()
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) % n:
        raise ValueError(f"{path}: {len(blob)} bytes is not a whole number of {n}-byte trace samples")
    return [int.from_bytes(blob[i:i + n], "little") for i in range(0, len(blob), n)]
