"""The explained counter report (sim/report.py), the counter table it reads (hw/regs.py) and
docs/counters.md generated from both."""

import pathlib

import numpy as np
import pytest

from hw import regs
from hw.config import VTAConfig
from sim import amaranth_backend, fsim, report
from sw.fc import build_fc

ROOT = pathlib.Path(__file__).parents[2]


def small_fc(b=2, k=64, n=48):
    rng = np.random.default_rng(1)
    return build_fc(rng.integers(-128, 128, (b, k), dtype=np.int8),
                    rng.integers(-128, 128, (n, k), dtype=np.int8), shift=4)


def test_counter_documentation_is_generated_from_the_table():
    doc = ROOT / "docs" / "counters.md"
    assert doc.read_text() == report.markdown(), \
        "docs/counters.md is stale: run python -m sim.report > docs/counters.md"


def test_counter_table_keeps_names_and_offsets():
    names = [c.name for c in regs.COUNTER_TABLE]
    assert names == list(regs.COUNTERS) and len(set(names)) == len(names)
    for i, c in enumerate(regs.COUNTER_TABLE):
        assert c.offset == regs.COUNTER_BASE + 8 * i == regs.counter_offset(c.name)
        assert regs.COUNTERS[c.name] == c.doc and c.doc and c.unit
    assert set(regs.FSIM_COUNTERS) <= set(names)
    # every queue of the report names two wait counters of the table, one of each side
    for push, pop in report.TOKEN_QUEUES.values():
        assert regs.COUNTER_BY_NAME[push].per_cycle and "push" in regs.COUNTERS[push]
        assert regs.COUNTER_BY_NAME[pop].per_cycle and "pop" in regs.COUNTERS[pop]


def test_per_cycle_counters_never_exceed_the_cycles():
    """What the table marks per_cycle is a share of cycle_count on a real run of the core."""
    fcp = small_fc()
    res = amaranth_backend.run(fcp.program)
    for c in regs.COUNTER_TABLE:
        if c.per_cycle:
            assert 0 <= res.counters[c.name] <= res.cycles, c.name
    moved_in = sum(res.counters[c] for c in report.MOVED_BYTES if c != "out_store_nbytes")
    assert res.counters["axi_read_beats"] * fcp.program.config.bus_bytes >= moved_in   # reads carry the loads
    text = report.report(res.counters, res.cycles, res.instructions, fcp.program.config.bus_bytes)
    for c in regs.COUNTER_TABLE:
        line = next(l for l in text.splitlines() if l.split()[:1] == [c.name])
        assert str(res.counters[c.name]) in line.split() and c.doc in line
        if c.per_cycle:
            assert f"{100 * res.counters[c.name] / res.cycles:.1f}%" in line
    ratio = res.cycles / report.bus_bound_cycles(res, fcp.program.config)
    assert f"cycles / bound = {ratio:.3f}" in text
    assert f"GEMM utilisation {100 * res.counters['gemm_active'] / res.cycles:.1f}%" in text


def test_report_of_the_functional_model_has_no_shares():
    fcp = small_fc()
    res = fsim.run(fcp.program)
    text = report.report(res.counters, None, res.instructions, fcp.program.config.bus_bytes)
    assert "%" not in text and "cycles / bound" not in text
    assert "cycle_count" not in text                      # fsim does not count cycles
    assert f"Bus bound: {report.bus_bound_cycles(res, fcp.program.config):.0f} cycles" in text


def test_bus_bound_is_the_busier_channel():
    counters = dict.fromkeys(report.MOVED_BYTES, 0) | {"wgt_load_nbytes": 800, "out_store_nbytes": 64}
    assert report.bus_channels(counters, 4) == (800 + 4 * 16, 64)
    assert report.bus_bound(counters, 4, 8) == (800 + 4 * 16) / 8
    assert report.bus_bound(counters, 4, 16) == (800 + 4 * 16) / 16
    # a store-heavy run is bound by its write channel
    counters["out_store_nbytes"] = 4096
    assert report.bus_bound(counters, 4, 8) == 4096 / 8


@pytest.mark.parametrize("dims", [(1, 64, 64), (4, 160, 96)])
def test_cycle_estimate_is_a_lower_bound(dims):
    fcp = small_fc(*dims)
    est = report.estimate_cycles(fcp.program)
    res = amaranth_backend.run(fcp.program)
    assert 0.5 * res.cycles <= est <= res.cycles


def test_cycle_estimate_counts_mul_cycles():
    """An ALU MUL micro-op issues in MUL_CYCLES cycles, every other one in one: the estimate of a
    program of one long ALU instruction on one acc entry counts them and stays a lower bound."""
    from hw.isa import MUL_CYCLES
    from hw.isa import AluOp
    from tests.support.programs import Builder
    cfg = VTAConfig()
    est = {}
    for op in (AluOp.ADD, AluOp.MUL):
        b = Builder(cfg)
        b.uop(0, 0)
        b.load_uop(0, 0, 1)
        b.alu(op, 0, 1, iter_out=64, iter_in=64, imm=3)
        b.finish()
        prog = b.program()
        est[op] = report.estimate_cycles(prog)
        assert est[op] <= amaranth_backend.run(prog).cycles
    assert est == {AluOp.ADD: 64 * 64, AluOp.MUL: MUL_CYCLES * 64 * 64}


def test_bench_reexports_the_bus_bound():
    from sim import bench
    assert bench.bus_bound_cycles is report.bus_bound_cycles


def test_version(capsys):
    from importlib import metadata
    from sim import cli
    with pytest.raises(SystemExit) as e:
        cli.build_parser().parse_args(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"vta {metadata.version('vta-amaranth')}"


def test_run_fc_text_and_json_carry_the_bus_bound(capsys):
    import json
    from sim import cli
    args = ["run", "fc", "--batch", "2", "--in-features", "64", "--out-features", "48", "--backend", "fsim"]
    assert cli.main(args + ["--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    c = obj["counters"]
    read = c["inp_load_nbytes"] + c["wgt_load_nbytes"] + c["acc_load_nbytes"] + c["uop_load_nbytes"] \
        + 16 * obj["instructions"]
    assert obj["bus_bound_cycles"] == max(read, c["out_store_nbytes"]) / obj["bus_bytes"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert f"Bus bound: {obj['bus_bound_cycles']:.0f} cycles (the busier AXI channel" in out
    assert f"{read} bytes read" in out and f"{c['out_store_nbytes']} bytes written" in out
    for name in c:                                        # every counter fsim gives, with its meaning
        assert f"  {name} " in out and regs.COUNTERS[name] in out
