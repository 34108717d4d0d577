"""Traces sampled from the design (``--trace``): per-unit instruction slices match the program, every
cycle-level backend writes the same events at the same cycles, the JSON is trace-event format, the CLI
writes the trace and the picture, and tracing changes nothing the run reports."""

import json
from collections import Counter

import numpy as np
import pytest

from hw.isa import module_of
from hw.observe import TRACE_FIELDS, trace_width
from sim.backends import run
from sim.trace import UNITS, trace_from_samples

from .conftest import require


def _program(batch=2, k=32, n=32, seed=1):
    from sw import fc
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (batch, k), dtype=np.int8)
    w = rng.integers(-128, 128, (n, k), dtype=np.int8)
    # shift + clip + relu: ALU instructions too, not only loads, GEMMs and stores.
    return fc.build_fc(x, w, shift=6, clip=(-100, 100), relu=True).program


@pytest.fixture(scope="module")
def program():
    return _program()


@pytest.fixture(scope="module")
def amaranth_run(program):
    return run(program, "amaranth", trace=True)


def _trace(program, res):
    return trace_from_samples(res.extra["trace_samples"], program.decoded(), meta={"backend": res.backend})


def _slices(trace, unit):
    tid = {e["args"]["name"]: e["tid"] for e in trace["traceEvents"]
           if e["ph"] == "M" and e["name"] == "thread_name"}[unit]
    return [e for e in trace["traceEvents"] if e["ph"] == "X" and e.get("tid") == tid and e["cat"] == unit]


def test_instruction_slices_per_unit_equal_the_program(program, amaranth_run):
    insns = program.decoded()
    # Counted from the program: fetch dispatches every instruction, each unit runs its own.
    expected = {"fetch": list(range(len(insns)))}
    for i, insn in enumerate(insns):
        expected.setdefault(module_of(insn), []).append(i)
    assert set(expected) == set(UNITS) and len(expected["compute"]) > len(expected["load"]) > 0
    trace = _trace(program, amaranth_run)
    for unit in UNITS:
        got = _slices(trace, unit)
        assert sorted(e["args"]["index"] for e in got) == expected[unit], unit
        for e in got:
            assert e["args"]["disasm"] == " ".join(str(insns[e["args"]["index"]]).split())
        # One instruction at a time per unit: slices do not overlap.
        spans = sorted((e["ts"], e["ts"] + e["dur"]) for e in got)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), unit
    # The last sample's cycle is the core's cycle counter at the finish.
    assert trace["otherData"]["cycles"] == amaranth_run.cycles


def test_trace_is_trace_event_json(program, amaranth_run, tmp_path):
    from sim.trace import load_trace, write_trace
    p = tmp_path / "t.json"
    write_trace(p, _trace(program, amaranth_run))
    trace = load_trace(p)
    assert isinstance(trace["traceEvents"], list) and trace["traceEvents"]
    phases = Counter()
    for e in trace["traceEvents"]:
        phases[e["ph"]] += 1
        assert e["ph"] in ("M", "X", "C") and isinstance(e["name"], str) and isinstance(e["pid"], int)
        if e["ph"] == "X":
            assert isinstance(e["tid"], int) and isinstance(e["ts"], int) and e["ts"] >= 0
            assert isinstance(e["dur"], int) and e["dur"] > 0 and isinstance(e["args"], dict)
        if e["ph"] == "C":
            assert all(isinstance(v, int) for v in e["args"].values())
    assert phases["X"] and phases["C"] and phases["M"]
    # Waits nest inside an instruction slice of their unit's track.
    unit_slices = [e for e in trace["traceEvents"] if e["ph"] == "X" and e["cat"] in UNITS]
    for w in (e for e in trace["traceEvents"] if e["ph"] == "X" and e["cat"] == "wait"):
        assert any(s["tid"] == w["tid"] and s["ts"] <= w["ts"] and w["ts"] + w["dur"] <= s["ts"] + s["dur"]
                   for s in unit_slices), w
    bursts = [e for e in trace["traceEvents"] if e["ph"] == "X" and e["cat"] == "mem"]
    assert {e["name"] for e in bursts} >= {"fetch burst", "inp burst", "wgt burst", "out burst"}


def test_tracing_changes_nothing_the_run_reports(program, amaranth_run):
    plain = run(program, "amaranth")
    assert "trace_samples" not in plain.extra
    assert (plain.out, plain.cycles, plain.counters) == (amaranth_run.out, amaranth_run.cycles,
                                                          amaranth_run.counters)


@pytest.mark.filterwarnings("ignore:.*created but never used")
def test_trace_port_exists_only_when_asked_for():
    from amaranth.hdl import Shape
    from hw.config import VTAConfig
    from hw.top import VTACore
    from sim.simtop import SimTop
    cfg = VTAConfig()
    assert "trace" not in VTACore(cfg).signature.members
    assert Shape.cast(VTACore(cfg, trace=True).signature.members["trace"].shape).width == trace_width()
    assert "trace_word" not in SimTop(cfg, 4096, trace=False).signature.members
    key = SimTop(cfg, 4096).signature.members["trace_key"].shape
    assert Shape.cast(key).width == trace_width() - TRACE_FIELDS[1].offset


@pytest.mark.parametrize("backend", ["verilator", "cocotb-verilator", "icarus"])
def test_verilog_backends_write_the_same_trace_as_amaranth(backend, program, amaranth_run):
    require("icarus" if backend == "icarus" else "verilator")
    res = run(program, backend, trace=True)
    assert res.cycles == amaranth_run.cycles
    assert res.extra["trace_samples"] == amaranth_run.extra["trace_samples"]
    a, b = _trace(program, amaranth_run), _trace(program, res)
    assert a["traceEvents"] == b["traceEvents"]


def test_cli_trace_and_timeline(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="--timeline needs matplotlib (the sweep extra)")
    from sim.cli import main
    t, png = tmp_path / "t.json", tmp_path / "t.png"
    assert main(["run", "fc", "--batch", "1", "--in-features", "16", "--out-features", "16",
                 "--backend", "amaranth", "--trace", str(t), "--timeline", str(png), "--no-progress"]) == 0
    trace = json.loads(t.read_text())
    assert trace["otherData"]["backend"] == "amaranth" and trace["otherData"]["workload"].startswith("fc")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote trace" in capsys.readouterr().err


def test_cli_trace_refused_on_fsim(tmp_path, capsys):
    from sim.cli import main
    for opt, name in (("--trace", "t.json"), ("--timeline", "t.png")):
        assert main(["run", "fc", "--batch", "1", "--in-features", "16", "--out-features", "16",
                     "--backend", "fsim", opt, str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("vta: error: ") and opt in err and "fsim" in err and err.count("\n") == 1
        assert not (tmp_path / name).exists()


def test_exec_trace_of_a_saved_program(tmp_path, capsys, program):
    from sim.cli import main
    program.save(tmp_path / "p")
    t = tmp_path / "t.json"
    assert main(["exec", str(tmp_path / "p"), "--out", str(tmp_path / "o.bin"), "--backend", "amaranth",
                 "--trace", str(t), "--no-progress"]) == 0
    trace = json.loads(t.read_text())
    fetched = [e for e in trace["traceEvents"] if e["ph"] == "X" and e["cat"] == "fetch"]
    assert len(fetched) == program.n_insns


def test_trace_of_a_deadlock_is_written_and_shows_the_wait(tmp_path, capsys):
    from hw.config import VTAConfig
    from sim.cli import main
    from tests.support.programs.errors import deadlock_program
    program, _ = deadlock_program(VTAConfig(), "compute")
    program.save(tmp_path / "p")
    t = tmp_path / "t.json"
    assert main(["exec", str(tmp_path / "p"), "--out", str(tmp_path / "o.bin"), "--backend", "amaranth",
                 "--no-check", "--trace", str(t), "--no-progress"]) == 3
    assert "DEADLOCK" in capsys.readouterr().err.upper()
    waits = [e for e in json.loads(t.read_text())["traceEvents"] if e["ph"] == "X" and e["cat"] == "wait"]
    assert any(e["name"].startswith("wait: pops") for e in waits)
