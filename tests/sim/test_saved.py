"""Saved program directories round-trip: vta run fc --save D, then vta exec D, vta check D, vta disasm D
and vta unpack D OUT.bin reproduce the run without any other option."""

import json

import numpy as np
import pytest

from sim import cli
from tests.sim.test_cli import one_error_line, vta
from tests.support.cli import exec_reproduces

FC = ["run", "fc", "--batch", 3, "--in-features", 40, "--out-features", 24, "--shift", 4, "--clip", 0, 100]


@pytest.fixture
def saved(capsys, tmp_path):
    d = tmp_path / "D"
    rc, out, err = vta(capsys, *FC, "--save", d)
    assert rc == 0, err
    return d


def test_save_writes_the_program_and_the_results(saved):
    meta = json.loads((saved / "program.json").read_text())
    assert meta["batch"] == 3 and meta["out_features"] == 24 and "config" in meta
    expected, result = np.load(saved / "expected.npy"), np.load(saved / "result.npy")
    assert expected.shape == (3, 24) and expected.dtype == np.int8
    np.testing.assert_array_equal(result, expected)
    assert (expected >= 0).all() and (expected <= 100).all() and expected.any()   # the clip
    assert (saved / "out.bin").stat().st_size == meta["out_elems"] * 16


@pytest.mark.parametrize("backend", ["fsim", "amaranth"])
def test_exec_and_unpack_reproduce_the_result(capsys, saved, tmp_path, backend):
    o = tmp_path / "o.bin"
    exec_reproduces(capsys, saved, o, "--backend", backend)
    rc, _, err = vta(capsys, "unpack", saved, o, "-o", tmp_path / "r.npy")
    assert rc == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "r.npy"), np.load(saved / "expected.npy"))


def test_check_and_disasm_take_the_directory(capsys, saved):
    n = (saved / "insn.bin").stat().st_size // 16
    rc, out, _ = vta(capsys, "check", saved)
    assert rc == 0 and out.startswith(f"ok: {n} instructions")
    rc, out, _ = vta(capsys, "disasm", saved)
    lines = out.splitlines()
    assert rc == 0 and len([l for l in lines if l.split()[:1] and l.split()[0].isdigit()]) > n
    assert any(l.startswith("micro-ops (") for l in lines)       # uop.bin came from the directory
    rc, out2, _ = vta(capsys, "disasm", saved / "insn.bin")
    assert out2.splitlines() == lines[:n]


def test_saved_directory_keeps_its_configuration(capsys, tmp_path):
    from tests.support.configs import SMALL
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps(SMALL.to_json()))
    d = tmp_path / "S"
    assert vta(capsys, *FC, "--config", cfg, "--save", d)[0] == 0
    o = tmp_path / "o.bin"
    exec_reproduces(capsys, d, o)            # no --config: program.json's


@pytest.mark.parametrize("args,fragments", [
    (["exec", "{d}", "--insn", "{d}/insn.bin", "--out", "o.bin"], ["either DIR", "--insn"]),
    (["exec", "{t}/nosuch", "--out", "o.bin"], ["nosuch", "not a directory"]),
    (["exec", "--out", "o.bin"], ["no program", "--insn"]),
    (["check", "{t}"], ["program.json"]),
    (["unpack", "{d}", "{t}/nosuch.bin"], ["OUT.bin", "nosuch.bin"]),
    (["unpack", "{d}", "{d}/wgt.bin", "-o", "{t}/nodir/x.npy"], ["-o", "x.npy"]),
    (["unpack", "{d}", "{d}/uop.bin"], ["uop.bin", "bytes"]),
])
def test_saved_directory_refusals(capsys, saved, tmp_path, args, fragments):
    args = [a.format(d=saved, t=tmp_path) for a in args]
    rc, _, err = vta(capsys, *args)
    assert rc == 2
    one_error_line(err, *fragments)


def test_unpack_refuses_a_program_without_a_shape(capsys, saved, tmp_path):
    meta = json.loads((saved / "program.json").read_text())
    for key in ("batch", "out_features"):
        del meta[key]
    (saved / "program.json").write_text(json.dumps(meta))
    rc, _, err = vta(capsys, "unpack", saved, saved / "out.bin")
    assert rc == 2
    one_error_line(err, "batch", "out_features", "vta run fc --save")
