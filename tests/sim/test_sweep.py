"""``vta sweep`` (sim.sweep): grid and workload parsing, a small sweep on a local Ray whose every
point's cycles equal a single ``vta run fc`` of that point, failed points recorded with their error,
the CSV, JSON and PNG outputs, and resuming from the results file."""

import csv
import io
import json

import pytest

from hw.config import VTAConfig
from sim import cli, sweep

import ray  # noqa: E402  (the [sweep] extra, part of [test])


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_parse_grid_and_workloads():
    assert sweep.parse_grid(["log_block=4,5", "LOG_BUS_WIDTH=6"]) == {"LOG_BLOCK": [4, 5],
                                                                     "LOG_BUS_WIDTH": [6]}
    for bad, frag in ((["LOG_BLOCK"], "KEY=V1,V2"), (["LOG_BLOCK=a"], "integers"),
                      (["LOG_BLOCK=4", "LOG_BLOCK=5"], "twice")):
        with pytest.raises(ValueError, match=frag):
            sweep.parse_grid(bad)
    assert sweep.parse_workload("fc:2x64x32") == ("fc", (2, 64, 32))
    assert sweep.parse_workload("mlp:digits") == ("mlp", ("digits", 64))
    for bad in ("fc:2x64", "fc:0x1x1", "conv:1", "mlp:mnist", "mlp:digits:0"):
        with pytest.raises(ValueError, match="workload"):
            sweep.parse_workload(bad)


def test_make_points_is_the_product():
    pts = sweep.make_points(VTAConfig(), {"LOG_BLOCK": [4, 5], "LOG_BUS_WIDTH": [6, 7]},
                            ["fc:1x16x16", "fc:2x32x32"], "amaranth")
    assert len(pts) == 8 and len({p.key for p in pts}) == 8
    assert {(p.config["LOG_BLOCK"], p.config["LOG_BUS_WIDTH"]) for p in pts} == {
        (4, 6), (4, 7), (5, 6), (5, 7)}
    with pytest.raises(ValueError, match="not a configuration key"):
        sweep.make_points(VTAConfig(), {"LOG_BLOKC": [4]}, ["fc:1x16x16"], "amaranth")


def test_run_point_records_errors():
    bad = sweep.Point({**VTAConfig().to_json(), "LOG_BLOCK": 3}, "fc:1x16x16", "fsim",
                      dict(sweep.FC_DEFAULTS))
    rec = sweep.run_point(bad)
    assert rec["status"] == "error" and rec["error"].startswith("ConfigError") and "LOG_BLOCK" in rec["error"]


def _vta_run_fc(capsys, tmp_path, rec) -> dict:
    """A single ``vta run fc`` of the point, through the real command line."""
    path = tmp_path / f"cfg{abs(hash(rec['key']))}.json"
    path.write_text(json.dumps(rec["config"]))
    b, k, n = sweep.parse_workload(rec["workload"])[1]
    o = rec["options"]
    argv = ["run", "fc", "--batch", b, "--in-features", k, "--out-features", n, "--shift", o["shift"],
            "--schedule", o["schedule"], "--seed", o["seed"], "--config", path, "--backend",
            rec["backend"], "--json"]
    if o["clip"]:
        argv += ["--clip", *o["clip"]]
    assert cli.main([str(a) for a in argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_small_sweep_matches_single_runs_and_resumes(local_ray, tmp_path, capsys):
    grid = {"LOG_BUS_WIDTH": [6, 7], "LOG_BLOCK": [3, 4]}        # LOG_BLOCK 3 does not fit: 2 failures
    points = sweep.make_points(VTAConfig(), grid, ["fc:4x48x32"], "amaranth",
                               {"shift": 6, "clip": [0, 127]})
    prefix = str(tmp_path / "s")
    log = io.StringIO()
    recs = sweep.run_sweep(points, prefix, grid_keys=list(grid), stream=log)
    assert [r["key"] for r in recs] == [p.key for p in points]
    ok = [r for r in recs if r["status"] == "ok"]
    failed = [r for r in recs if r["status"] != "ok"]
    assert len(ok) == 2 and len(failed) == 2
    assert all(r["config"]["LOG_BLOCK"] == 3 and "ConfigError" in r["error"] for r in failed)
    assert log.getvalue().count("FAILED") == 2 and "[4/4]" in log.getvalue()
    for r in ok:
        single = _vta_run_fc(capsys, tmp_path, r)
        assert r["verified"] and single["verified"]
        assert r["cycles"] == single["cycles"] and r["counters"] == single["counters"]
        assert r["cycles"] >= r["bound_cycles"] > 0
        assert r["gemm_utilisation"] == pytest.approx(r["counters"]["gemm_counter"] / r["cycles"])
    assert ok[0]["cycles"] != ok[1]["cycles"]          # the bus width shows in the cycles

    # The outputs: JSON (everything), CSV (a row a point), PNG.
    assert sweep.load_results(prefix + ".json") == recs
    rows = list(csv.DictReader(open(prefix + ".csv")))
    assert [int(r["cycles"]) for r in rows if r["status"] == "ok"] == [r["cycles"] for r in ok]
    assert all(row["error"] for row in rows if row["status"] == "error")
    assert open(prefix + ".png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"

    # Resume: the ok points are kept as they are, the failed ones run again.
    log2 = io.StringIO()
    again = sweep.run_sweep(points, prefix, previous=sweep.load_results(prefix + ".json"),
                            grid_keys=list(grid), stream=log2, plot=False)
    assert "2 already done, 2 to run" in log2.getvalue() and "[2/2]" in log2.getvalue()
    assert [r for r in again if r["status"] == "ok"] == ok


def _sweep_cli(argv):
    args = cli.build_parser().parse_args(["sweep", *argv])
    return args.func(args)


def test_sweep_cli_refusals(tmp_path):
    for argv, frag in ((["--backend", "fsim"], "counts no cycles"),
                       (["--grid", "LOG_BLOCK"], "KEY=V1,V2"),
                       (["--workload", "fc:1x2"], "fc:BxKxN"),
                       (["--resume", str(tmp_path / "none.json")], "cannot read the results"),
                       (["--out", str(tmp_path / "no" / "dir")], "does not exist")):
        with pytest.raises(cli.CliError, match=frag) as e:
            _sweep_cli(["--backend", "amaranth", *argv] if argv[0] != "--backend" else argv)
        assert "\n" not in str(e.value)
