"""``vta verilog``: the core as one Verilog file with flat, conventional ports, accepted by Icarus and
by Verilator's lint."""

import re

import pytest

from hw.config import VTAConfig
from amaranth.lib.wiring import Out

from hw.interfaces import AXI4_MEMBERS, AXIL_MEMBERS
from sim import verilog

from .conftest import require


@pytest.fixture(scope="module")
def core_v(tmp_path_factory):
    """``vta verilog -o vta_top.v`` through the CLI."""
    from sim import cli
    path = tmp_path_factory.mktemp("verilog") / "vta_top.v"
    assert cli.main(["verilog", "-o", str(path)]) == 0
    return path


def ports(text: str, module: str) -> dict[str, str]:
    """Port name -> direction of ``module`` in Verilog text."""
    body = text[text.index(f"module {module}("):]
    body = body[:body.index("endmodule")]
    return dict((name, d) for d, name in re.findall(r"^\s*(input|output)\s+(?:\[[^\]]*\]\s*)?(\w+);",
                                                    body, re.M))


def test_ports_are_flat_and_conventional(core_v):
    cfg = VTAConfig()
    p = ports(core_v.read_text(), verilog.CORE_TOP)
    expected = {"clk": "input", "rst": "input", "irq": "output"}
    for n, _, d in AXI4_MEMBERS(cfg.bus_bits):
        expected[f"m_axi_{n}"] = "output" if d is Out else "input"
    for n, _, d in AXIL_MEMBERS:          # directions from the master's side; the core is the slave
        expected[f"s_axil_{n}"] = "input" if d is Out else "output"
    assert p == expected


def test_widths_follow_the_configuration(tmp_path):
    cfg = VTAConfig(log_bus_width=7, log_block=3, log_inp_buff_size=13, log_wgt_buff_size=15,
                    log_acc_buff_size=15)
    cfg_file = tmp_path / "cfg.json"
    import json
    cfg_file.write_text(json.dumps(cfg.to_json()))
    out = tmp_path / "v.v"
    assert verilog.main(["--config", str(cfg_file), "-o", str(out)]) == 0
    text = out.read_text()
    assert re.search(r"output \[127:0\] m_axi_wdata;", text)
    assert re.search(r"input \[127:0\] m_axi_rdata;", text)
    assert re.search(r"output \[15:0\] m_axi_wstrb;", text)


def test_no_absolute_paths_and_compact(core_v):
    text = core_v.read_text()
    assert "/work/" not in text and "src =" not in text
    # Zero-initialised SRAMs are loops, not one line per word.
    assert len(text.splitlines()) < 60_000


def test_icarus_accepts_it(core_v):
    require("icarus")
    r = verilog.lint_icarus(core_v, verilog.CORE_TOP)
    assert r.ok, r.output[-3000:]


def test_verilator_lint_accepts_it(core_v):
    require("verilator")
    r = verilog.lint_verilator(core_v, verilog.CORE_TOP)
    assert r.ok and not r.errors, r.output[-3000:]


def test_lint_option_of_the_command(core_v, capsys):
    require("icarus")
    require("verilator")
    assert verilog.main(["-o", str(core_v), "--lint"]) == 0
    err = capsys.readouterr().err
    assert "verilator: ok" in err and "icarus: ok" in err
