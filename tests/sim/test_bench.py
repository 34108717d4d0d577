"""The throughput the design promises (cycle counts, not wall time): one GEMM and one ALU micro-op
per cycle, DMA at the bus rate; and `vta bench` prints them."""

from sim import bench, cli
from tests.support.configs import SMALL


def test_design_throughput_small_config():
    res = bench.measure("amaranth", SMALL, seed_fc=False)
    assert res["gemm_uops_per_cycle"] >= 0.99
    assert res["alu_uops_per_cycle"] >= 0.99
    assert res["load_beats_per_cycle"] >= 0.95
    # One out element per cycle leaves the SRAM: narrower elements than the bus fill part of a beat.
    assert res["store_beats_per_cycle"] >= 0.95 * min(1.0, SMALL.out_elem_bits / SMALL.bus_bits)


def test_vta_bench_prints_the_figures(capsys, tmp_path):
    import json
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(SMALL.to_json()))
    assert cli.main(["bench", "--config", str(cfg), "--fc-features", "64", "--progress"]) == 0
    out, err = capsys.readouterr()
    steps = [l for l in err.splitlines() if l.startswith("bench: ")]
    assert steps[0] == "bench: GEMM micro-ops per cycle (1 of 5)" and steps[-1] == "bench: the seed FC 64x64 (5 of 5)"
    for label in ("GEMM micro-ops per cycle", "ALU micro-ops per cycle", "LOAD WGT beats per cycle",
                  "seed FC 64x64", "cycles/s"):
        assert label in out
    assert "verified True" in out


def test_fc_table_on_a_cycle_backend(capsys):
    """Small FC shapes of the default schedule on the Amaranth simulation: verified, the figures are the
    bounds' (no timed assertion; the cost model's prediction only loosely)."""
    from sw.fcplan import fc_bounds
    rows = bench.fc_table("amaranth", SMALL, [(3, 20, 9), (9, 12, 16)])
    for r in rows:
        b = fc_bounds(r["batch"], r["in_features"], r["out_features"], SMALL, 3)
        assert r["verified"] and r["cycles"] >= b.isa
        assert r["cycles_over_bound"] == round(r["cycles"] / b.bound, 4)
        assert 0.5 < r["predicted_cycles"] / r["cycles"] < 2
    assert cli.main(["bench", "--fc-table", "--fc-shapes", "3x20x9", "--backend", "fsim"]) == 2
    assert "invalid choice: 'fsim'" in capsys.readouterr().err     # fsim counts no cycles


def test_fc_table_bad_shapes(capsys):
    assert cli.main(["bench", "--fc-shapes", "3x20"]) == 2
    assert "--fc-shapes '3x20'" in capsys.readouterr().err


def test_speed_rows(capsys, tmp_path):
    """`vta bench --speed`: a row per backend asked for, verified, the cycles of the run and rates that
    are the cycles over the times printed (no timed assertion); an unknown backend is refused."""
    import json
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(SMALL.to_json()))
    assert cli.main(["bench", "--speed", "--backend", "amaranth", "--config", str(cfg), "--fc-features",
                     "32", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["speed"]
    assert [r["backend"] for r in rows] == ["amaranth"]
    r = rows[0]
    assert r["verified"] and r["cycles"] > 0 and not r["warmed"]
    assert r["end_to_end_cycles_per_second"] == r["cycles"] / r["wall_seconds"]
    assert r["design_cycles_per_second"] == r["cycles"] / r["run_seconds"]
    assert r["run_seconds"] <= r["wall_seconds"]
    assert cli.main(["bench", "--speed", "--backend", "amaranth", "--config", str(cfg), "--fc-features",
                     "32"]) == 0
    out = capsys.readouterr().out
    assert "end-to-end c/s" in out and "amaranth yes" in " ".join(out.split())
