"""sim/trace.py and sim/plot.py on hand-made field changes: slices, nested waits, counters, the picture."""

import json

import pytest

from hw.isa import AluInsn, FinishInsn, GemmInsn, MemInsn, MemType, Opcode
from hw.regs import STALL_BITS
from sim.trace import (CHANGE_SHIFT, TRACE_FIELDS, TraceError, build_trace, decode_samples, instruction_slices,
                       load_trace, trace_width, write_trace)


def _changes(**given):
    ch = {f.name: [(0, 0)] for f in TRACE_FIELDS if f.name != "cycle"}
    ch.update(given)
    return ch


def _slices(trace, cat):
    return [e for e in trace["traceEvents"] if e.get("ph") == "X" and e.get("cat") == cat]


def test_fields_pack_without_overlap():
    pos = 0
    for f in TRACE_FIELDS:
        assert f.offset == pos and f.width > 0
        pos += f.width
    assert trace_width() == pos


def test_timestamp_is_the_lowest_field():
    assert (TRACE_FIELDS[0].name, TRACE_FIELDS[0].offset, TRACE_FIELDS[0].width) == ("cycle", 0, CHANGE_SHIFT)


def test_decode_samples_splits_words_into_field_changes():
    by = {f.name: f for f in TRACE_FIELDS}
    word = lambda **v: sum(x << by[k].offset for k, x in v.items())
    ch, end = decode_samples([word(cycle=0, running=1), word(cycle=5, running=1, load_active=1, load_index=3),
                              word(cycle=9, running=1, load_index=3), word(cycle=12, load_index=3)])
    assert ch["load_active"] == [(0, 0), (5, 1), (9, 0)]
    assert ch["load_index"] == [(0, 0), (5, 3)]
    assert ch["compute_active"] == [(0, 0)]
    assert ch["running"] == [(0, 1), (12, 0)] and end == 12


def test_instruction_slices_split_on_index_change_while_active():
    ch = _changes(compute_active=[(0, 0), (2, 1), (10, 0), (12, 1), (20, 0)],
                  compute_index=[(0, 0), (2, 1), (6, 2), (12, 3)])
    assert instruction_slices(ch, "compute", 30) == [(2, 6, 1), (6, 10, 2), (12, 20, 3)]


def test_trace_names_instructions_and_nests_waits():
    insns = [MemInsn(opcode=Opcode.LOAD, memory_type=MemType.WGT), GemmInsn(), AluInsn(), FinishInsn()]
    bit = STALL_BITS["compute pops l2g"]
    ch = _changes(load_active=[(0, 1), (8, 0)], load_index=[(0, 0)],
                  compute_active=[(0, 0), (1, 1), (15, 0)], compute_index=[(0, 1)],
                  stall=[(0, 0), (1, 1 << bit), (8, 0)],
                  mem_wgt=[(0, 0), (2, 1), (7, 0)], level_l2g=[(0, 0), (8, 1), (9, 0)])
    trace = build_trace(ch, 20, insns, meta={"backend": "test"})
    load, = _slices(trace, "load")
    assert (load["ts"], load["dur"], load["args"]["index"]) == (0, 8, 0)
    assert load["name"] == "LOAD WGT #0" and load["args"]["opcode"] == "LOAD"
    gemm, = _slices(trace, "compute")
    assert gemm["name"] == "GEMM #1" and gemm["args"]["disasm"].startswith("GEMM")
    wait, = _slices(trace, "wait")
    assert wait["tid"] == gemm["tid"] and (wait["ts"], wait["dur"]) == (1, 7)
    assert gemm["ts"] <= wait["ts"] and wait["ts"] + wait["dur"] <= gemm["ts"] + gemm["dur"]
    burst, = _slices(trace, "mem")
    assert (burst["ts"], burst["dur"]) == (2, 5)
    counters = [e for e in trace["traceEvents"] if e["ph"] == "C" and e["name"] == "queue l2g"]
    assert [(e["ts"], e["args"]["entries"]) for e in counters] == [(0, 0), (8, 1), (9, 0)]
    assert trace["otherData"]["backend"] == "test"


def test_missing_field_is_refused():
    ch = _changes()
    del ch["stall"]
    with pytest.raises(TraceError, match="stall"):
        build_trace(ch, 10)


def test_write_load_roundtrip_and_bad_files(tmp_path):
    trace = build_trace(_changes(store_active=[(0, 0), (3, 1), (4, 0)]), 5)
    p = tmp_path / "t.json"
    write_trace(p, trace)
    assert load_trace(p) == json.loads(p.read_text())
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(TraceError, match="invalid JSON"):
        load_trace(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text("[]")
    with pytest.raises(TraceError, match="traceEvents"):
        load_trace(tmp_path / "other.json")
    with pytest.raises(TraceError, match="cannot read"):
        load_trace(tmp_path / "missing.json")


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib", reason="the timeline needs matplotlib (the sweep extra)")
    from sim.plot import plot_timeline
    ch = _changes(load_active=[(0, 1), (8, 0)], compute_active=[(0, 0), (8, 1), (20, 0)],
                  stall=[(0, 0), (8, 1 << STALL_BITS["compute pops l2g"]), (9, 0)],
                  level_load_q=[(0, 2), (8, 1)])
    out = tmp_path / "t.png"
    plot_timeline(build_trace(ch, 25), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_vta_plot_command(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="the timeline needs matplotlib (the sweep extra)")
    from sim.cli import main
    p = tmp_path / "t.json"
    write_trace(p, build_trace(_changes(fetch_active=[(0, 1), (4, 0)]), 6))
    assert main(["plot", str(p), "-o", str(tmp_path / "x.png")]) == 0
    assert (tmp_path / "x.png").stat().st_size > 1000
    assert main(["plot", str(tmp_path / "nope.json")]) == 2
    assert "cannot read the trace" in capsys.readouterr().err
