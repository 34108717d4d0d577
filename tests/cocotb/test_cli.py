"""``vta run fc`` and ``vta exec`` with ``--backend icarus|verilator|cocotb-verilator`` (``verilator``
is the native harness, the other two cocotb)."""

import json

import pytest

from hw.config import VTAConfig
from sim import cli, fsim
from tests.support import programs as P
from tests.support.cli import exec_reproduces


def vta(capsys, *args):
    rc = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_run_fc_tutorial_on_verilator(verilator, capsys):
    rc, out, _ = vta(capsys, "run", "fc", "--batch", 1, "--in-features", 1024, "--out-features", 1024,
                     "--shift", 8, "--clip", 0, 127, "--schedule", "tutorial", "--backend", verilator,
                     "--json", "--no-progress")
    assert rc == 0
    res = json.loads(out)
    assert res["verified"] and res["backend"] == "verilator"
    assert {k: res["counters"][k] for k in P.TUTORIAL_COUNTERS} == P.TUTORIAL_COUNTERS
    assert res["cycles"] == res["counters"]["cycle_count"] > 100_000


def test_run_fc_small_on_icarus(icarus, capsys):
    rc, out, _ = vta(capsys, "run", "fc", "--batch", 2, "--in-features", 48, "--out-features", 32,
                     "--shift", 5, "--relu", "--backend", icarus, "--no-progress")
    assert rc == 0 and "Result matches numpy: yes" in out and "cycle_count" in out


@pytest.mark.parametrize("backend", ["icarus", "verilator", "cocotb-verilator"])
def test_exec_matches_fsim(backend, capsys, tmp_path):
    from .conftest import require
    require(backend.removeprefix("cocotb-"))
    prog, expected = P.blocked_gemm_program(VTAConfig())[:2]
    prog.save(tmp_path)
    args = ["exec", "--insn", tmp_path / "insn.bin", "--out-elems", prog.out_elems,
            "--out", tmp_path / "out.bin", "--backend", backend, "--json", "--no-progress"]
    for region in ("uop", "inp", "wgt", "acc"):
        if (tmp_path / f"{region}.bin").exists():
            args += [f"--{region}", tmp_path / f"{region}.bin"]
    rc, out, err = vta(capsys, *args)
    assert rc == 0, err
    assert (tmp_path / "out.bin").read_bytes() == fsim.run(prog).out == expected
    assert json.loads(out)["backend"] == backend


def test_exec_error_is_one_line(verilator, capsys, tmp_path):
    cfg = VTAConfig()
    prog, exp = P.deadlock_program(cfg, "store")
    prog.save(tmp_path)
    rc, _, err = vta(capsys, "exec", "--insn", tmp_path / "insn.bin", "--uop", tmp_path / "uop.bin",
                     "--out-elems", 1, "--out", tmp_path / "out.bin", "--backend", verilator,
                     "--no-check", "--no-progress")
    lines = err.strip().splitlines()
    assert rc == 3 and len(lines) == 1 and "verilator: deadlock" in lines[0]
    assert "deadlock" in lines[0] and f"instruction {exp.index}" in lines[0]
    assert not (tmp_path / "out.bin").exists()


def test_saved_program_round_trip_on_verilator(verilator, capsys, tmp_path):
    """vta run fc --save D on verilator, then vta exec D and vta unpack D reproduce the saved result."""
    d, o = tmp_path / "D", tmp_path / "o.bin"
    rc, _, err = vta(capsys, "run", "fc", "--batch", 3, "--in-features", 40, "--out-features", 24,
                     "--shift", 4, "--backend", verilator, "--save", d, "--no-progress")
    assert rc == 0, err
    exec_reproduces(capsys, d, o, "--backend", verilator, "--no-progress")
