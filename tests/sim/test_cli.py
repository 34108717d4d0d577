"""The ``vta`` command line: run fc, exec, check, disasm, and every refusal as one line with its exit
status.  Most tests call ``sim.cli.main`` in-process; a few go through the console script and
``python -m sim``."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from hw.config import VTAConfig
from hw.isa import AluOp
from hw.regs import FSIM_COUNTERS
from sim import backends, cli
from sim.result import RunResult
from tests.support import programs as P
from tests.support.cli import one_error_line, save, vta
from tests.support.configs import SMALL_BATCH2 as SMALL


# -- help ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cmd", [[], ["run"], ["run", "fc"], ["exec"], ["check"], ["disasm"],
                                 ["verilog"], ["backends"]])
def test_help(capsys, cmd):
    rc, out, _ = vta(capsys, *cmd, "--help")
    assert rc == 0 and out.startswith("usage: vta")


def test_usage_errors_exit_2(capsys):
    assert vta(capsys)[0] == 2
    assert vta(capsys, "run", "fc", "--batch", "1")[0] == 2                       # missing options
    assert vta(capsys, "run", "fc", "--batch", "1", "--in-features", "16", "--out-features", "16",
               "--backend", "nosuch")[0] == 2
    assert vta(capsys, "exec", "--insn", "x.bin")[0] == 2                          # --out missing


# -- run fc --------------------------------------------------------------------------------------------

FC = ["run", "fc", "--batch", 2, "--in-features", 40, "--out-features", 24, "--shift", 4]


def test_run_fc_text(capsys):
    rc, out, err = vta(capsys, *FC, "--clip", -20, 100, "--relu")
    assert rc == 0, err
    lines = out.splitlines()
    i = lines.index("Execution statistics:")
    table = lines[i + 1:i + 1 + len(FSIM_COUNTERS)]
    for name, line in zip(FSIM_COUNTERS, table):
        assert line.startswith("\t") and line[1:18] == f"{name:<16}:", line
        assert len(line) == 1 + 16 + 2 + 16
    assert lines[i + 1 + len(FSIM_COUNTERS)].split() == ["cycle_count", ":", "n/a"]
    assert "Result matches numpy: yes" in out


def test_run_fc_json(capsys, tmp_path):
    rc, out, _ = vta(capsys, *FC, "--seed", 3, "--json", "--save", tmp_path / "prog")
    assert rc == 0
    obj = json.loads(out)
    for key in ("verified", "backend", "cycles", "counters", "instructions", "uops", "bus_bytes",
                "wall_time", "batch", "in_features", "out_features", "config", "schedule"):
        assert key in obj, key
    assert obj["verified"] is True and obj["backend"] == "fsim" and obj["cycles"] is None
    assert obj["bus_bytes"] == VTAConfig().bus_bytes
    assert set(FSIM_COUNTERS) <= set(obj["counters"])
    assert (tmp_path / "prog" / "insn.bin").stat().st_size == 16 * obj["instructions"]


def test_run_fc_tutorial_statistics(capsys):
    rc, out, _ = vta(capsys, "run", "fc", "--batch", 1, "--in-features", 1024, "--out-features", 1024,
                     "--shift", 8, "--clip", 0, 127, "--schedule", "tutorial", "--json")
    assert rc == 0
    obj = json.loads(out)
    assert obj["verified"]
    assert {k: obj["counters"][k] for k in FSIM_COUNTERS} == P.TUTORIAL_COUNTERS


def test_run_fc_small_config_and_bus(capsys, tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({**SMALL.to_json(), "LOG_BUS_WIDTH": 7}))
    rc, out, _ = vta(capsys, *FC, "--config", cfg, "--json")
    obj = json.loads(out)
    assert rc == 0 and obj["verified"] and obj["bus_bytes"] == 16
    assert obj["config"]["LOG_BLOCK"] == 2


def _corrupting_run(program, **opts):
    from sim import fsim
    r = fsim.run(program)
    out = bytearray(r.out)
    out[0] ^= 0x5A
    return RunResult(**{**r.__dict__, "out": bytes(out)})


def test_run_fc_mismatch_exits_1(capsys, monkeypatch):
    monkeypatch.setitem(backends.REGISTRY, "fsim", "tests.sim.test_cli:_corrupting_run")
    rc, out, _ = vta(capsys, *FC)
    assert rc == 1
    assert "Result matches numpy: NO: 1 of 48 elements differ, first at [0, 0]" in out
    rc, out, _ = vta(capsys, *FC, "--json")
    assert rc == 1 and json.loads(out)["verified"] is False and json.loads(out)["mismatches"] == 1


@pytest.mark.parametrize("args,fragments", [
    (["--shift", 40], ["shift", "40"]),
    (["--clip", 0, 70000], ["70000"]),
    (["--schedule", "nosuch"], ["--schedule 'nosuch'", "default", "tutorial"]),
])
def test_run_fc_bad_options(capsys, args, fragments):
    rc, _, err = vta(capsys, *FC, *args)
    assert rc == 2
    one_error_line(err, *fragments)


def test_run_fc_bad_sizes(capsys):
    rc, _, err = vta(capsys, "run", "fc", "--batch", 0, "--in-features", 16, "--out-features", 16)
    assert rc == 2
    one_error_line(err, "--batch 0")


@pytest.mark.parametrize("content,fragments", [
    (None, ["cannot read configuration"]),
    ("{not json", ["invalid JSON"]),
    ('{"LOG_BLOCK": 9}', ["LOG_BLOCK", "9"]),
    ('{"LOG_WHATEVER": 1}', ["LOG_WHATEVER"]),
    ('{"LOG_ACC_BUFF_SIZE": 26}', ["LOG_ACC_BUFF_SIZE"]),
])
def test_bad_config(capsys, tmp_path, content, fragments):
    path = tmp_path / "vta_config.json"
    if content is not None:
        path.write_text(content)
    rc, _, err = vta(capsys, *FC, "--config", path)
    assert rc == 2
    line = one_error_line(err, *fragments)
    assert str(path) in line


def test_unavailable_backend(capsys, monkeypatch):
    monkeypatch.setitem(backends.REGISTRY, "amaranth", "sim.no_such_module:run")
    rc, _, err = vta(capsys, *FC, "--backend", "amaranth")
    assert rc == 2
    one_error_line(err, "backend 'amaranth' is not available")
    monkeypatch.setitem(backends.REGISTRY, "amaranth", "sim.fsim:no_such_function")
    rc, _, err = vta(capsys, *FC, "--backend", "amaranth")
    one_error_line(err, "backend 'amaranth' is not available", "no_such_function")


def test_backend_options_are_passed_through(capsys, monkeypatch):
    seen = {}

    def spy(program, **opts):
        from sim import fsim
        seen.update(opts)
        return fsim.run(program, **opts)

    monkeypatch.setattr(backends, "get_backend", lambda name: spy)
    rc, _, _ = vta(capsys, *FC, "--max-cycles", 1234, "--max-uops", 99, "--mem-latency", 7, "--progress")
    assert rc == 0
    assert seen == {"max_cycles": 1234, "max_uops": 99, "vcd": None, "mem_latency": 7, "progress": True}


# -- exec ----------------------------------------------------------------------------------------------

def test_exec_good_program(capsys, tmp_path):
    prog, exp = P.alu_program(SMALL, AluOp.SHR, use_imm=False, compressed=True, seed=1)
    args = save(prog, tmp_path)
    rc, out, err = vta(capsys, "exec", *args, "--out", tmp_path / "out.bin")
    assert rc == 0, err
    assert (tmp_path / "out.bin").read_bytes() == exp
    assert "Execution statistics:" in out
    rc, out, _ = vta(capsys, "exec", *args, "--out", tmp_path / "out2.bin", "--json")
    obj = json.loads(out)
    assert rc == 0 and obj["backend"] == "fsim" and obj["out_bytes"] == len(exp)
    assert obj["instructions"] == prog.n_insns and obj["uops"] == prog.n_uops
    assert obj["counters"]["alu_counter"] == 16


def test_exec_out_init_sets_the_out_region(capsys, tmp_path):
    cfg = SMALL
    b = P.Builder(cfg)
    b.finish()
    prog = b.program(out_elems=3, out_init=np.arange(3 * cfg.out_elem_bytes).reshape(3, cfg.batch, -1))
    args = save(prog, tmp_path)
    args = args[:2] + args[4:]                    # no --out-elems: the out-init size
    rc, _, err = vta(capsys, "exec", *args, "--out", tmp_path / "o.bin")
    assert rc == 0, err
    assert (tmp_path / "o.bin").read_bytes() == bytes(range(3 * cfg.out_elem_bytes))
    rc, _, _ = vta(capsys, "exec", *args, "--out-elems", 5, "--out", tmp_path / "o.bin")
    assert (tmp_path / "o.bin").read_bytes() == bytes(range(3 * cfg.out_elem_bytes)) + bytes(
        2 * cfg.out_elem_bytes)
    rc, _, err = vta(capsys, "exec", *args, "--out-elems", 2, "--out", tmp_path / "o.bin")
    assert rc == 2
    one_error_line(err, "out0.bin", "exceed --out-elems 2")


def test_exec_needs_an_out_size(capsys, tmp_path):
    b = P.Builder(SMALL)
    b.finish()
    args = save(b.program(), tmp_path)
    rc, _, err = vta(capsys, "exec", args[0], args[1], *args[4:], "--out", tmp_path / "o.bin")
    assert rc == 2
    one_error_line(err, "--out-elems", "--out-init")


def test_exec_bad_files(capsys, tmp_path):
    prog, _ = P.alu_program(SMALL, AluOp.ADD, use_imm=True, compressed=True)
    args = save(prog, tmp_path)
    out = ["--out", tmp_path / "o.bin"]
    # instruction file of a wrong length
    (tmp_path / "bad.bin").write_bytes(prog.insns + b"\0" * 5)
    rc, _, err = vta(capsys, "exec", "--insn", tmp_path / "bad.bin", *args[2:], *out)
    assert rc == 2
    one_error_line(err, "bad.bin", f"{len(prog.insns) + 5} bytes", "multiple of 16")
    # a missing region file
    rc, _, err = vta(capsys, "exec", *args, "--inp", tmp_path / "missing.bin", *out)
    assert rc == 2
    one_error_line(err, "--inp", "missing.bin", "No such file")
    # a region file of a wrong length
    (tmp_path / "acc_bad.bin").write_bytes(prog.acc[:-3])
    i = args.index("--acc")
    bad = args[:i + 1] + [tmp_path / "acc_bad.bin"] + args[i + 2:]
    rc, _, err = vta(capsys, "exec", *bad, *out)
    assert rc == 2
    one_error_line(err, "acc_bad.bin", f"{SMALL.acc_elem_bytes}-byte acc element")
    assert not (tmp_path / "o.bin").exists()


@pytest.mark.parametrize("case", ["illegal", "dram", "sram"])
def test_exec_checker_refusal_and_no_check(capsys, tmp_path, case):
    if case == "illegal":
        prog, exp = P.illegal_program(SMALL, "opcode6")
        check_frag, run_frag = "opcode = 6", "illegal instruction 2: opcode 6"
    elif case == "dram":
        prog, exp = P.dram_out_of_range_program(SMALL, "inp")
        check_frag, run_frag = "dram_base = 0", f"instruction {exp.index}: LOAD INP reads inp elements 0..4"
    else:
        b = P.Builder(SMALL)
        b.uop(0, 0)
        b.load_uop(0, 0, 1)
        b.alu(AluOp.ADD, 0, 1, iter_in=3, dst=(0, SMALL.acc_depth - 1), imm=1)
        b.finish()
        prog = b.program()
        check_frag, run_frag = "dst_factor_in = ", None
    args = save(prog, tmp_path)
    out = tmp_path / "o.bin"
    out.write_bytes(b"keep")
    rc, _, err = vta(capsys, "exec", *args, "--out", out)
    assert rc == 2
    one_error_line(err, "program refused by the checker", "instruction", check_frag)
    rc, _, err = vta(capsys, "exec", *args, "--out", out, "--no-check")
    if run_frag is None:            # the hardware wraps the index: the run succeeds
        assert rc == 0, err
    else:
        assert rc == 3              # stopped on a hardware error
        one_error_line(err, "fsim: ", run_frag)
        assert out.read_bytes() == b"keep"          # never clobbered by a failed run


@pytest.mark.parametrize("maker,fragments", [
    (lambda: P.deadlock_program(SMALL, "compute"), ["deadlock: compute pops l2g at instruction 1"]),
    (lambda: P.deadlock_program(SMALL, "store"),
     ["deadlock: ", "compute pops s2g at instruction 3", "store pops g2s at instruction 2"]),
    (lambda: P.no_finish_program(SMALL), ["no FINISH"]),
])
def test_exec_run_errors(capsys, tmp_path, maker, fragments):
    prog, _ = maker()
    args = save(prog, tmp_path)
    out = tmp_path / "o.bin"
    out.write_bytes(b"keep")
    rc, stdout, err = vta(capsys, "exec", *args, "--out", out, "--no-check")
    assert rc == 3
    one_error_line(err, *fragments)
    assert out.read_bytes() == b"keep"
    rc, stdout, err = vta(capsys, "exec", *args, "--out", out, "--json", "--no-check")
    obj = json.loads(stdout)
    assert rc == 3 and obj["error"]["code"] in ("DEADLOCK", "NO_FINISH")


# -- check, disasm ----------------------------------------------------------------------------------------

def test_check_command(capsys, tmp_path):
    prog, _ = P.blocked_gemm_program(SMALL)
    args = save(prog, tmp_path)
    rc, out, _ = vta(capsys, "check", *args)
    assert rc == 0 and out.startswith(f"ok: {prog.n_insns} instructions")
    prog, exp = P.dram_out_of_range_program(SMALL, "out")
    args = save(prog, tmp_path / "bad")
    rc, _, err = vta(capsys, "check", *args)
    assert rc == 2
    one_error_line(err, f"instruction {exp.index} (STORE)", "dram_base = 1")


def test_disasm(capsys, tmp_path):
    prog, _ = P.illegal_program(SMALL, "alu_opcode5")
    b = P.Builder(SMALL)
    prog.save(tmp_path)
    rc, out, _ = vta(capsys, "disasm", tmp_path / "insn.bin", "--uop", tmp_path / "uop.bin",
                     "--config", save(prog, tmp_path)[-1])
    assert rc == 0
    lines = out.splitlines()
    assert len(lines) == prog.n_insns + 1 + prog.n_uops
    assert lines[0].split()[:3] == ["0", "LOAD", "UOP"] and lines[0].endswith("compute")
    assert lines[1].split()[:3] == ["1", "ALU", "ADD"]
    assert lines[2].endswith("illegal: ALU alu_opcode 5")
    assert lines[3].split()[:2] == ["3", "FINISH"]
    assert lines[4] == "micro-ops (1):" and lines[5].split() == ["0", "uop", "dst", "0", "src", "0",
                                                                  "wgt", "0"]
    # queues, and instructions after FINISH
    b.load(0, 0, 0, 1, 1)                    # LOAD UOP -> compute
    b.load(2, 0, 0, 1, 1)                    # LOAD INP -> load
    b.store(0, 0, 1, 1)
    b.finish()
    b.load(1, 0, 0, 1, 1)
    (tmp_path / "q.bin").write_bytes(b.program().insns)
    rc, out, _ = vta(capsys, "disasm", tmp_path / "q.bin")
    ends = [line.rsplit("  ", 1)[1].strip() for line in out.splitlines()]
    assert ends == ["compute", "load", "store", "compute", "load, after FINISH: never fetched"]


def test_disasm_bad_file(capsys, tmp_path):
    (tmp_path / "x.bin").write_bytes(b"\0" * 17)
    rc, _, err = vta(capsys, "disasm", tmp_path / "x.bin")
    assert rc == 2
    one_error_line(err, "x.bin", "17 bytes")
    rc, _, err = vta(capsys, "disasm", tmp_path / "nope.bin")
    assert rc == 2
    one_error_line(err, "nope.bin")


# -- through the console script and python -m sim ------------------------------------------------------

def test_console_script_and_module(tmp_path):
    prog, _ = P.deadlock_program(SMALL, "compute")
    args = [str(a) for a in save(prog, tmp_path)]
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    p = subprocess.run([sys.executable, "-m", "sim", "exec", *args, "--out", str(tmp_path / "o.bin"),
                        "--backend", "fsim"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 3 and p.stdout == ""
    one_error_line(p.stderr, "deadlock: compute pops l2g at instruction 1")
    exe = os.path.join(os.path.dirname(sys.executable), "vta")
    if not os.path.exists(exe):
        pytest.skip("console script vta not installed next to this Python")
    p = subprocess.run([exe, "run", "fc", "--batch", "1", "--in-features", "16", "--out-features", "16",
                        "--backend", "fsim"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    assert "Result matches numpy: yes" in p.stdout


def test_default_backend_is_the_amaranth_simulation(capsys):
    rc = cli.main(["run", "fc", "--batch", "1", "--in-features", "16", "--out-features", "16", "--json"])
    obj = json.loads(capsys.readouterr().out)
    assert rc == 0 and obj["verified"] is True
    assert obj["backend"] == "amaranth" and obj["cycles"] > 0
