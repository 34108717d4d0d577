"""Pipeline traces: what each unit of the core did, cycle by cycle, as Chrome/Perfetto trace-event JSON.

A cycle-level backend samples the design's trace port (``TRACE_FIELDS``, built into ``sim.simtop.SimTop``)
and hands this module the *changes* of each field: ``{field: [(cycle, value), ...]}``, the first entry of
each list at the launch cycle.  :func:`build_trace` turns them into trace events:

- one track per unit (fetch, load, compute, store) with one slice per instruction, from the cycle the
  unit takes it to the cycle it lets it go (for load, compute and store: taken from the command queue
  to tokens pushed; for fetch: at the head of the fetch buffer to dispatched), its program index,
  opcode and disassembly in the slice's arguments, and its waits (tokens, a full queue) as sub-slices;
- one track per memory client with a slice for each stretch of cycles it has a burst in flight;
- counter tracks for the occupancy of the command and token queues.

Timestamps are cycles counted from launch (the JSON's ``ts`` unit is shown as microseconds by the
viewers: read 1 µs as 1 cycle).  Open the file in https://ui.perfetto.dev or chrome://tracing;
``vta plot`` draws it as a PNG.

The port's layout is ``hw/observe.py``'s table, plain Python, so a backend that never imports Amaranth
(the native Verilator harness) decodes the same port the same way.

Samples: what a backend hands over
----------------------------------
A *sample* is the whole trace port (``SimTop.trace_word``, ``trace_width()`` bits) read as one unsigned
integer, field ``f`` at bits ``f.offset .. f.offset + f.width - 1`` (``TRACE_FIELDS``), the cycle in the
low 32 bits.  A backend reads the port after a clock edge, with the design settled, whenever
``SimTop.trace_key`` (the bits above the timestamp) changes (or every cycle: the result is the same), and
passes each value to a ``hw.observe.TraceRecorder``, whose ``samples`` are the run's samples.  In a file
(``hw.observe.write_samples`` / ``read_samples``) each sample is ``sample_bytes()`` bytes, little-endian,
one after the other.  :func:`trace_from_samples` turns samples into the trace object;
:func:`write_trace` writes it.  That is all a new backend needs::

    rec = TraceRecorder()
    ...                       # rec.offer(int(trace)) whenever trace_key changes, until rec.done
    write_trace("t.json", trace_from_samples(rec.samples, program.decoded(), meta={"backend": "x"}))
"""

from __future__ import annotations

import bisect
import json
from typing import Iterable, Sequence

from hw.isa import Opcode
from hw.observe import (CHANGE_SHIFT, MEM_CLIENTS, QUEUES, TRACE_FIELDS, UNITS, TraceField, TraceRecorder,
                        read_samples, sample_bytes, trace_width, write_samples)
from hw.regs import STALL_BITS
from sw.jsonfile import read_json

__all__ = ["UNITS", "MEM_CLIENTS", "QUEUES", "TraceField", "TRACE_FIELDS", "trace_width", "decode_samples",
           "CHANGE_SHIFT", "build_trace", "write_trace", "load_trace", "TraceError", "instruction_slices",
           "TraceRecorder", "sample_bytes", "read_samples", "write_samples", "trace_from_samples"]

#: Which unit owns each stall bit (the bit names of ``hw.regs.STALL_BITS`` start with the unit's name).
_WAIT_UNIT = {name: name.split()[0] for name in STALL_BITS}


class TraceError(ValueError):
    """A trace file that cannot be read, or field changes that do not fit the trace port."""


def decode_samples(words: Iterable[int]) -> tuple[dict[str, list[tuple[int, int]]], int]:
    """Turn samples of the whole trace port into each field's changes and the run's last cycle.

    A backend samples the port on every clock edge while ``running`` is 1 and keeps a sample when any
    field above the timestamp (bits ``CHANGE_SHIFT`` and up) differs from the last kept one, and the
    first sample after ``running`` falls.  Each sample carries its own timestamp (the ``cycle`` field), so
    the changes are the design's, whichever backend sampled them.
    """
    changes: dict[str, list[tuple[int, int]]] = {f.name: [] for f in TRACE_FIELDS if f.name != "cycle"}
    end = 0
    for word in words:
        cycle = word & 0xFFFF_FFFF
        end = max(end, cycle)
        for f in TRACE_FIELDS[1:]:
            v = (word >> f.offset) & ((1 << f.width) - 1)
            seq = changes[f.name]
            if not seq or seq[-1][1] != v:
                seq.append((cycle, v))
    return changes, end


def trace_from_samples(samples: Sequence[int], insns: Sequence | None = None, *,
                       meta: dict | None = None) -> dict:
    """The trace-event object of a run from its samples (a ``TraceRecorder``'s ``samples``): the entry
    point for every backend.  ``insns`` and ``meta`` as :func:`build_trace` takes them."""
    if not samples:
        raise TraceError("no trace samples: the run never launched, or the backend did not sample")
    changes, end = decode_samples(samples)
    return build_trace(changes, end, insns, meta=meta)


def _intervals(seq: Sequence[tuple[int, int]], end: int):
    """(start, stop, value) for each stretch of a field's changes, up to cycle ``end``."""
    for i, (t, v) in enumerate(seq):
        stop = seq[i + 1][0] if i + 1 < len(seq) else end
        if stop > t:
            yield t, stop, v


def instruction_slices(changes: dict, unit: str, end: int) -> list[tuple[int, int, int]]:
    """(start, stop, index) of every instruction ``unit`` held: a stretch of ``{unit}_active`` high, split
    where the index changes."""
    index = changes[f"{unit}_index"]
    times = [t for t, _ in index]
    out = []
    for start, stop, v in _intervals(changes[f"{unit}_active"], end):
        if not v:
            continue
        # The index may change while the unit stays active (back-to-back instructions): cut there.
        first = bisect.bisect_right(times, start)          # changes after `start`
        last = bisect.bisect_left(times, stop)             # ... and before `stop`
        cuts = [start, *times[first:last], stop]
        held = index[first - 1][1] if first else 0         # the index at `start`
        for i, (a, b) in enumerate(zip(cuts, cuts[1:])):
            out.append((a, b, held if i == 0 else index[first + i - 1][1]))
    return out


def build_trace(changes: dict[str, list[tuple[int, int]]], end: int, insns: Sequence | None = None,
                *, meta: dict | None = None) -> dict:
    """The trace-event JSON object of one run.

    Parameters
    ----------
    changes : each field's (cycle, value) changes, cycles from launch
    end : the last cycle of the run (slices still open there end at it)
    insns : the program's decoded instructions (``hw.isa.Insn``), for each slice's opcode and disassembly
    meta : extra facts stored under ``otherData`` (backend, configuration, ...)
    """
    missing = [f.name for f in TRACE_FIELDS if f.name not in changes and f.name != "cycle"]
    if missing:
        raise TraceError(f"trace changes lack the fields {', '.join(missing)}")
    pid = 1
    events: list[dict] = [{"ph": "M", "name": "process_name", "pid": pid, "args": {"name": "VTA core"}}]
    tids = {}
    for name in [*UNITS, *(f"mem {c}" for c in MEM_CLIENTS)]:
        tids[name] = len(tids) + 1
        events.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tids[name], "args": {"name": name}})
        events.append({"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tids[name],
                       "args": {"sort_index": tids[name]}})

    for unit in UNITS:
        for start, stop, index in instruction_slices(changes, unit, end):
            args = {"index": index}
            name = f"insn #{index}"
            if insns is not None and 0 <= index < len(insns):
                insn = insns[index]
                text = str(insn)
                try:
                    args["opcode"] = Opcode(insn.opcode).name
                except ValueError:
                    args["opcode"] = f"illegal {insn.opcode}"
                args["disasm"] = " ".join(text.split())
                # "LOAD WGT", "GEMM", "ALU MAX", ...: the words before the first operand.
                head = [w for w in text.split()[:2] if w.isalpha() and w.isupper()]
                name = f"{' '.join(head) or args['opcode']} #{index}"
            events.append({"ph": "X", "name": name, "cat": unit, "pid": pid, "tid": tids[unit],
                           "ts": start, "dur": stop - start, "args": args})
    # Waits as sub-slices: on the unit's track, nested inside the instruction slice by time.
    stall = changes["stall"]
    for wait_name, bit in STALL_BITS.items():
        unit = _WAIT_UNIT[wait_name]
        bit_seq = []
        for t, v in stall:
            b = (v >> bit) & 1
            if not bit_seq or bit_seq[-1][1] != b:
                bit_seq.append((t, b))
        for start, stop, v in _intervals(bit_seq, end):
            if v:
                events.append({"ph": "X", "name": "wait: " + wait_name.split(" ", 1)[1], "cat": "wait",
                               "pid": pid, "tid": tids[unit], "ts": start, "dur": stop - start,
                               "args": {"wait": wait_name}})
    for c in MEM_CLIENTS:
        for start, stop, v in _intervals(changes[f"mem_{c}"], end):
            if v:
                events.append({"ph": "X", "name": f"{c} burst", "cat": "mem", "pid": pid,
                               "tid": tids[f"mem {c}"], "ts": start, "dur": stop - start, "args": {}})
    for q in QUEUES:
        for t, v in changes[f"level_{q}"]:
            events.append({"ph": "C", "name": f"queue {q}", "pid": pid, "ts": t, "args": {"entries": v}})
    other = {"time_unit": "cycles (viewers show 1 cycle as 1 us)", "cycles": end}
    other.update(meta or {})
    return {"traceEvents": events, "displayTimeUnit": "ns", "otherData": other}


def write_trace(path, trace: dict) -> None:
    """Write ``trace`` (from :func:`build_trace`) as JSON."""
    with open(path, "w") as f:
        json.dump(trace, f, separators=(",", ":"))
        f.write("\n")


def load_trace(path) -> dict:
    """Read a trace written by :func:`write_trace`; :class:`TraceError` names the file and the problem."""
    obj = read_json(path, TraceError, "the trace")
    if not isinstance(obj, dict) or not isinstance(obj.get("traceEvents"), list):
        raise TraceError(f"{path}: not a trace-event file (no traceEvents list)")
    return obj
