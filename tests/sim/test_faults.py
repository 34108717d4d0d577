"""The fault matrix (issue 11): an error response from the memory model (``sim.memsettings``) on a
mid-burst beat of each memory client of the core -- instruction fetch, micro-op, inp, wgt and acc
reads, out writes -- with SLVERR and DECERR, with and without back-pressure, on every cycle backend
with the memory model (``BACKENDS``: add a backend's name there).

Each case checks that the run stops with the right error code and the index of the instruction whose
access failed (derived from the program: the first instruction of that client with a burst long
enough), that nothing the instructions from the faulting one on would write reached memory (the out
region equals the functional model's after some prefix of the program that stops before the faulting
instruction; for a faulting store, its own bytes may be old or new, but its faulty beat is not
written), that the core runs the program correctly after a reset, and that every backend agrees exactly with the
first of ``BACKENDS`` (error code and index, every counter, cycles, out bytes, the run after the reset).

A few cases of each backend run in the default suite (each client once, both responses, both
back-pressure settings); the rest are ``slow``.
"""

from __future__ import annotations

import dataclasses
import functools

import pytest

from hw.config import VTAConfig
from hw.dma import MAX_BURST_BEATS, PAGE_BYTES
from hw.fetch.fetch import FETCH_BURST_BEATS
from hw.isa import INSN_WIDTH
from hw.regs import FSIM_COUNTERS, ErrorCode
from sim import backends, fsim
from sim.memimage import MemImage, insn_region
from sim.memsettings import FAULT_REGIONS, parse_back_pressure, parse_fault
from sim.result import VTARunError
from tests.support.programs import suite
from tests.support.simulators import require

#: Cycle backends of the matrix in the default suite (Icarus runs it as a slow test below).
BACKENDS = ("amaranth", "verilator")
CLIENTS = tuple(FAULT_REGIONS)                   # insn, uop, inp, wgt, acc, out
RESPONSES = ("SLVERR", "DECERR")
BACK_PRESSURE = {"off": "off", "on": "rate=96:seed=7"}
CFG = VTAConfig()
#: The beat of the burst that faults: never the first.
BEAT = {c: 1 for c in CLIENTS} | {"insn": 3}


def _require(backend: str) -> None:
    if backend in ("verilator", "icarus"):
        require(backend)


def _bursts(addr: int, nbytes: int, bus: int):
    """Beats of each burst of a row of ``nbytes`` at ``addr``, split as ``hw.dma`` splits rows."""
    word, end = addr // bus, -(-(addr + nbytes) // bus)
    while word < end:
        to_page = (PAGE_BYTES - (word * bus) % PAGE_BYTES) // bus
        n = min(end - word, MAX_BURST_BEATS, to_page)
        yield n
        word += n


def faulting_index(prog, client: str, beat: int) -> int | None:
    """The instruction whose access meets the fault ``region=client:beat=beat:burst=0`` first: for
    fetch, the instruction carried by that beat of the first fetch burst; else the first instruction
    of that region with a burst of more than ``beat`` beats (each client issues its bursts in program
    order)."""
    cfg, bus = prog.config, prog.config.bus_bytes
    if client == "insn":
        first = next(_bursts(MemImage.place(prog).bases["insn_base"], prog.n_insns * INSN_WIDTH // 8, bus), 0)
        if min(first, FETCH_BURST_BEATS) <= beat:
            return None
        return beat * bus * 8 // INSN_WIDTH
    base = MemImage.place(prog).bases[f"{client}_base"]
    eb = cfg.elem_bytes(client)
    for i, insn in enumerate(prog.decoded()):
        if insn_region(insn) != client or not insn.x_size:
            continue
        for r in range(insn.y_size):
            addr = base + (insn.dram_base + r * insn.x_stride) * eb
            if any(n > beat for n in _bursts(addr, insn.x_size * eb, bus)):
                return i
    return None


def program_for(client: str):
    """The first program of the suite in which ``client`` has a burst the fault can hit mid-way."""
    for name, prog, expected in suite(CFG):
        index = faulting_index(prog, client, BEAT[client])
        if index is not None:
            return name, prog, expected, index
    raise AssertionError(f"no suite program has a {client} burst of more than {BEAT[client]} beats")


def _prefix_out(prog, n: int) -> bytes:
    """The out region after the functional model ran the first ``n`` instructions."""
    part = dataclasses.replace(prog, insns=prog.insns[:16 * n])
    try:
        return fsim.run(part).out
    except VTARunError as e:
        return e.result.out


@functools.lru_cache(maxsize=None)
def outcome(backend: str, client: str, resp: str, bp: str):
    """(error, result, program, expected out, faulting index) of one case on ``backend``."""
    name, prog, expected, index = program_for(client)
    kind, fault = parse_fault(f"{FAULT_REGIONS[client]}:region={client}:beat={BEAT[client]}:resp={resp}",
                              MemImage.place(prog))
    with pytest.raises(VTARunError) as info:
        backends.run(prog, backend, **{f"{kind}_fault": fault},
                     back_pressure=parse_back_pressure(BACK_PRESSURE[bp]), after_reset=True)
    return info.value, info.value.result, prog, expected, index


def _store_range(prog, index: int) -> range:
    insn = prog.decoded()[index]
    ob = prog.config.out_elem_bytes
    rows = [range((insn.dram_base + r * insn.x_stride) * ob, (insn.dram_base + r * insn.x_stride + insn.x_size) * ob)
            for r in range(insn.y_size)]
    return range(min(r.start for r in rows), max(r.stop for r in rows))


def check_case(backend, client, resp, bp):
    _require(backend)
    err, res, prog, expected, index = outcome(backend, client, resp, bp)
    want = ErrorCode.AXI_WRITE if client == "out" else ErrorCode.AXI_READ
    assert (err.code, err.index) == (want, index), err.message
    assert res is not None and res.backend == backend
    # Nothing from the faulting instruction on reached memory.
    out = res.out
    prefixes = [_prefix_out(prog, n) for n in range(index + 1)]
    if client != "out":
        assert out in prefixes, "the out region holds writes of the faulting instruction or later ones"
    else:
        after = _prefix_out(prog, index + 1)
        dest = _store_range(prog, index)
        outside = [i for i in range(len(out)) if i not in dest]
        assert any(all(out[i] == p[i] for i in outside) for p in prefixes), \
            "a write outside the faulting store landed"
        old = prefixes[-1]
        assert all(out[i] in (old[i], after[i]) for i in dest)
        bus = prog.config.bus_bytes
        beat_bytes = range(dest.start - dest.start % bus + BEAT[client] * bus,
                           dest.start - dest.start % bus + (BEAT[client] + 1) * bus)
        assert all(out[i] == old[i] for i in beat_bytes if i in dest), "the faulty beat was written"
    # After a reset, the same program runs correctly.
    again = res.extra["after_reset"]
    assert again["error_code"] == 0 and again["finished"]
    assert bytes.fromhex(again["out"]) == expected
    ref = fsim.run(prog)
    for k in FSIM_COUNTERS:
        assert again["counters"][k] == ref.counters[k], k
    if backend != BACKENDS[0]:
        assert_agree(outcome(BACKENDS[0], client, resp, bp), (err, res))
    return err, res


def assert_agree(first, other):
    """Two backends stopped the same way: code, index, message, every counter, cycles, out bytes, and
    the run after the reset."""
    (ref_err, ref_res, *_), (err, res, *_) = first, other
    assert (err.code, err.index, err.message) == (ref_err.code, ref_err.index, ref_err.message)
    assert res.counters == ref_res.counters
    assert res.cycles == ref_res.cycles
    assert res.out == ref_res.out
    a, r = res.extra["after_reset"], ref_res.extra["after_reset"]
    assert (a["counters"], a["out"]) == (r["counters"], r["out"])


def _cases(default_only: bool):
    cases = []
    for i, client in enumerate(CLIENTS):
        for j, resp in enumerate(RESPONSES):
            for k, bp in enumerate(BACK_PRESSURE):
                default = (j == i % 2) and (k == (i // 2) % 2)
                if default == default_only:
                    cases.append((client, resp, bp))
    return cases


def _params(default_only: bool):
    return [pytest.param(*c, id="-".join(c)) for c in _cases(default_only)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("client,resp,bp", _params(True))
def test_fault(backend, client, resp, bp):
    check_case(backend, client, resp, bp)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("client,resp,bp", _params(False))
def test_fault_more(backend, client, resp, bp):
    check_case(backend, client, resp, bp)


def test_back_pressure_changes_timing_not_results():
    """Back-pressure slows a clean run down on the amaranth backend, never changes its bytes or work
    counters (and the settings reach the design: the cycle count differs)."""
    name, prog, expected, _ = program_for("wgt")
    plain = backends.run(prog, "amaranth")
    slowed = backends.run(prog, "amaranth", back_pressure=parse_back_pressure("rate=128:seed=1"))
    assert plain.out == slowed.out == expected
    assert slowed.cycles > plain.cycles
    for k in FSIM_COUNTERS:
        assert plain.counters[k] == slowed.counters[k], k


@pytest.mark.slow
@pytest.mark.parametrize("client,resp,bp", _params(True) + _params(False))
def test_fault_on_icarus(client, resp, bp):
    """The whole matrix on Icarus too (the same generated Verilog and testbench as Verilator), agreeing
    with the first backend of ``BACKENDS``."""
    check_case("icarus", client, resp, bp)
