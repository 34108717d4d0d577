"""``bitstreams/verilog/generate.py``: one board's Verilog, its port list, lints."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "bitstreams", "verilog", "generate.py")


def test_generate_ultra96(tmp_path):
    p = subprocess.run([sys.executable, SCRIPT, "ultra96", "-o", str(tmp_path), "--no-lint"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "ultra96:" in p.stdout and "128-bit m_axi" in p.stdout
    ports = dict(line.split()[0::2] for line in (tmp_path / "ultra96" / "ports.txt").read_text().splitlines())
    assert ports["m_axi_wdata"] == "128" and ports["s_axil_wdata"] == "32" and ports["irq"] == "1"


def test_unknown_board_is_refused(tmp_path):
    p = subprocess.run([sys.executable, SCRIPT, "zybo", "-o", str(tmp_path)], capture_output=True,
                       text=True)
    assert p.returncode == 2 and "unknown board 'zybo'" in p.stderr
