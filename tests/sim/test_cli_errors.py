"""Issue 11: nothing a user types gives a traceback or a hang.  One test (or parametrized family) per
row of the issue's table: each ends in one line ``vta: error: ...`` naming the option or file and the
value, with the exit status of ``sim.cli.common.EXIT_CODES``, or in a correct bounded result."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hw.isa import AluOp
from sim import cli, fsim
from sim.cli.common import EXIT_BOUND, EXIT_CODES, EXIT_HW_ERROR, EXIT_INTERNAL, EXIT_REFUSED
from sim.host import cycle_bound
from tests.support import programs as P
from tests.support.cli import one_error_line, save, vta
from tests.support.configs import SMALL

FC = ["run", "fc", "--batch", 1, "--in-features", 16, "--out-features", 16]
ROOT = Path(__file__).resolve().parents[2]


def refused(capsys, *args, fragments=()):
    rc, out, err = vta(capsys, *args)
    assert rc == EXIT_REFUSED, err
    return one_error_line(err, *fragments)


def big_gemm(iters: int):
    """A legal GEMM of iters x iters micro-ops on one acc entry."""
    b = P.Builder(SMALL)
    b.uop(0, 0, 0)
    b.load_uop(0, 0, 1)
    b.gemm(0, 1, iters, iters)
    b.finish()
    return b.program(out_elems=1)


# -- row: --seed -1, --mem-latency 0 / 1 / -1, --max-cycles 0 / -1 on verilator ---------------------------

@pytest.mark.parametrize("opt,value", [("--seed", -1), ("--mem-latency", 0), ("--mem-latency", 1),
                                       ("--mem-latency", -1), ("--max-cycles", 0), ("--max-cycles", -1),
                                       ("--max-cycles", -5), ("--max-uops", 0)])
def test_bad_numbers_are_refused_before_work(capsys, opt, value):
    line = refused(capsys, *FC, "--backend", "verilator", opt, value, fragments=(f"{opt} {value}",))
    assert "run fc" in line


@pytest.mark.parametrize("backend", ["amaranth", "verilator"])
def test_negative_bound_on_cycle_backends(capsys, backend):
    refused(capsys, *FC, "--backend", backend, "--max-cycles", -5, fragments=("--max-cycles -5",))


# -- row: --backend icarus without iverilog; vta backends tells the truth -------------------------------------

def test_missing_icarus(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path), PYTHONPATH=str(ROOT))     # an empty PATH: no iverilog
    run = lambda *a: subprocess.run([sys.executable, "-m", "sim", *a], capture_output=True, text=True,
                                    timeout=300, env=env, cwd=ROOT)
    p = run("backends")
    assert p.returncode == 0, p.stderr
    lines = dict(line.split(None, 1) for line in p.stdout.splitlines())
    assert lines["fsim"] == "ok" and lines["icarus"] != "ok" and "iverilog" in lines["icarus"]
    p = run(*map(str, FC), "--backend", "icarus")
    assert p.returncode == EXIT_REFUSED and p.stdout == ""
    one_error_line(p.stderr, "backend 'icarus' is not available", "iverilog")


# -- row: vta bench --backend fsim / nosuch, --fc-features 0, --mem-latency 0 ---------------------------------

@pytest.mark.parametrize("args,fragment", [(["--backend", "fsim"], "--backend: invalid choice: 'fsim'"),
                                           (["--backend", "nosuch"], "--backend: invalid choice: 'nosuch'"),
                                           (["--fc-features", 0], "--fc-features 0"),
                                           (["--mem-latency", 0], "--mem-latency 0")])
def test_bench_refusals(capsys, args, fragment):
    refused(capsys, "bench", *args, fragments=(fragment,))


# -- row: vta verilog -o /nonexistent/x.v, -o DIR ------------------------------------------------------------

def test_verilog_output_paths(capsys, tmp_path):
    refused(capsys, "verilog", "-o", tmp_path / "nonexistent" / "x.v", fragments=("does not exist",))
    refused(capsys, "verilog", "-o", tmp_path, fragments=("is a directory",))
    assert list(tmp_path.iterdir()) == []


# -- row: sizes that do not fit memory (--in-features 1e9, --out-elems 2147483648, 100000 x 100000) ----------

def test_sizes_that_cannot_fit(capsys, tmp_path):
    refused(capsys, "run", "fc", "--batch", 1, "--in-features", "1e9", "--out-features", 16,
            fragments=("--in-features '1e9' is not an integer",))
    line = refused(capsys, "run", "fc", "--batch", 1, "--in-features", 100000, "--out-features", 100000,
                   "--backend", "fsim", fragments=("10,000,200,000 bytes", "address space"))
    assert "--in-features 100000" in line
    refused(capsys, "run", "fc", "--batch", 1, "--in-features", 10**9, "--out-features", 16,
            fragments=("bytes of memory",))
    prog, _ = P.alu_program(SMALL, AluOp.ADD, use_imm=True, compressed=True)
    args = save(prog, tmp_path)
    i = args.index("--out-elems")
    args[i + 1] = 2147483648
    refused(capsys, "exec", *args, "--out", tmp_path / "o.bin",
            fragments=("--out-elems 2147483648", "bytes of memory"))
    refused(capsys, "check", *args, fragments=("bytes of memory",))


# -- row: --clip 100 -100 ----------------------------------------------------------------------------------

def test_clip_lo_above_hi(capsys):
    refused(capsys, *FC, "--clip", 100, -100, fragments=("--clip 100 -100", "LO is greater than HI"))


# -- row: --mem-latency 5000: the automatic bound accounts for the latency ----------------------------------

def test_cycle_bound_counts_the_memory_latency(capsys, tmp_path):
    prog, exp = P.alu_program(SMALL, AluOp.ADD, use_imm=True, compressed=True)
    assert cycle_bound(prog, 5000, 5000) > cycle_bound(prog, 16, 16) + 4 * 5000 * prog.n_insns
    args = save(prog, tmp_path)
    rc, out, err = vta(capsys, "exec", *args, "--out", tmp_path / "o.bin", "--backend", "amaranth",
                       "--mem-latency", 5000, "--json")
    assert rc == 0, err
    assert (tmp_path / "o.bin").read_bytes() == exp
    import json
    cycles = json.loads(out)["cycles"]
    assert cycles > 5000 * 3                 # the latency was really there (fetch, uop, acc, store ...)


# -- row: --max-cycles on fsim; fsim and the checker bound the micro-ops ----------------------------------

def test_fsim_honours_max_cycles(capsys, tmp_path):
    prog = big_gemm(40)                                # 1600 micro-ops: more than 1000 cycles
    args = save(prog, tmp_path)
    out = tmp_path / "o.bin"
    rc, _, err = vta(capsys, "exec", *args, "--out", out, "--max-cycles", 1000)
    assert rc == EXIT_BOUND
    one_error_line(err, "fsim: ", "no finish within 1000 cycles", "instruction 1")
    assert not out.exists()
    rc, _, err = vta(capsys, "exec", *args, "--out", out, "--max-cycles", 2000)
    assert rc == 0, err


def test_huge_legal_gemm_is_refused_and_bounded(capsys, tmp_path):
    prog = big_gemm(16383)                             # 2.7 x 10^8 micro-ops
    args = save(prog, tmp_path)
    refused(capsys, "check", *args, fragments=("instruction 1 (GEMM)", "micro-op budget"))
    refused(capsys, "exec", *args, "--out", tmp_path / "o.bin", fragments=("micro-op budget",))
    rc, _, err = vta(capsys, "exec", *args, "--out", tmp_path / "o.bin", "--no-check")
    assert rc == EXIT_BOUND                            # at once: fsim refuses to start the instruction
    one_error_line(err, "fsim: micro-op budget", "268,402,689 micro-ops")
    rc, _, err = vta(capsys, "check", *args, "--max-uops", 300_000_000)
    assert rc == 0, err


def test_fsim_progress_on_long_runs(monkeypatch, capsys):
    monkeypatch.setattr(fsim, "PROGRESS_SECONDS", 0.0)
    fsim.run(big_gemm(300), progress=True)             # 90,000 micro-ops: 11 steps
    err = capsys.readouterr().err.splitlines()
    assert len(err) >= 10 and all(line.startswith("fsim: instruction ") for line in err)
    assert err[-1].endswith(" s") and "90,000 micro-ops" in "\n".join(err)
    fsim.run(big_gemm(300), progress=False)
    assert capsys.readouterr().err == ""


# -- row: vta check / disasm on an empty instruction file; a program without FINISH ------------------------

def test_empty_and_unfinished_programs(capsys, tmp_path):
    (tmp_path / "empty.bin").write_bytes(b"")
    refused(capsys, "check", "--insn", tmp_path / "empty.bin", "--out-elems", 1, fragments=("empty program",))
    refused(capsys, "disasm", tmp_path / "empty.bin", fragments=("empty",))
    prog, _ = P.no_finish_program(SMALL)
    refused(capsys, "check", *save(prog, tmp_path), fragments=("no FINISH",))
    rc, out, _ = vta(capsys, "disasm", tmp_path / "insn.bin")
    assert rc == 0 and out.splitlines()[-1].startswith("(no FINISH")


# -- row: --vcd on icarus writes FST; silently ignored on fsim ------------------------------------------------

def test_waves_format_follows_the_suffix(capsys, tmp_path):
    refused(capsys, *FC, "--backend", "icarus", "--vcd", tmp_path / "x.vcd", fragments=("writes .fst",))
    refused(capsys, *FC, "--backend", "fsim", "--vcd", tmp_path / "x.vcd", fragments=("fsim has no waveform",))
    refused(capsys, *FC, "--backend", "verilator", "--waves", tmp_path / "x.fst", fragments=("writes .vcd",))
    refused(capsys, *FC, "--backend", "amaranth", "--waves", tmp_path / "no" / "x.vcd",
            fragments=("does not exist",))
    assert list(tmp_path.iterdir()) == []
    rc, _, err = vta(capsys, *FC, "--backend", "amaranth", "--waves", tmp_path / "x.vcd")
    assert rc == 0, err
    assert (tmp_path / "x.vcd").read_text().lstrip().startswith("$")     # VCD: "$date", "$timescale"...


# -- row: vta exec --out FILE is mode 0600; --out DIR leaves a stray temp file ----------------------------------

@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_exec_out_mode_follows_umask(capsys, tmp_path, umask):
    prog, exp = P.alu_program(SMALL, AluOp.ADD, use_imm=True, compressed=True)
    args = save(prog, tmp_path)
    old = os.umask(umask)
    try:
        rc, _, err = vta(capsys, "exec", *args, "--out", tmp_path / "o.bin")
    finally:
        os.umask(old)
    assert rc == 0, err
    assert stat.S_IMODE((tmp_path / "o.bin").stat().st_mode) == 0o666 & ~umask
    assert (tmp_path / "o.bin").read_bytes() == exp


def test_exec_out_directory_is_refused_cleanly(capsys, tmp_path):
    prog, _ = P.alu_program(SMALL, AluOp.ADD, use_imm=True, compressed=True)
    args = save(prog, tmp_path / "p")
    out = tmp_path / "outdir"
    out.mkdir()
    refused(capsys, "exec", *args, "--out", out, fragments=("--out", "is a directory"))
    refused(capsys, "exec", *args, "--out", tmp_path / "missing" / "o.bin", fragments=("does not exist",))
    assert list(out.iterdir()) == [] and not any(p.name.startswith(".vta-out-") for p in tmp_path.iterdir())


# -- exit status: documented once, shown by --help and README; hardware errors 3; internal errors 5 --------------

def test_exit_codes_are_documented(capsys):
    assert cli.main(["--help"]) == 0
    helptext = capsys.readouterr().out
    readme = (ROOT / "README.md").read_text()
    for code, text in EXIT_CODES.items():
        assert f"{code}  {text}" in " ".join(helptext.split("\n")).replace("   ", "  ") or text in helptext
        assert f"| {code} | {text} |" in readme


def test_hardware_error_is_exit_3(capsys, tmp_path):
    prog, _ = P.deadlock_program(SMALL, "compute")
    rc, _, err = vta(capsys, "exec", *save(prog, tmp_path), "--out", tmp_path / "o.bin")
    assert rc == EXIT_HW_ERROR
    one_error_line(err, "fsim: deadlock")


def test_internal_error_is_one_line(capsys, monkeypatch):
    def broken(program, **opts):
        raise RuntimeError("something broke\nover two lines")
    monkeypatch.setattr("sim.backends.get_backend", lambda name: broken)
    rc, _, err = vta(capsys, *FC)
    assert rc == EXIT_INTERNAL
    one_error_line(err, "internal error: RuntimeError: something broke; over two lines", "VTA_TRACEBACK=1")


def test_wild_sizes_end_cleanly_on_fsim(capsys, tmp_path):
    """A legal LOAD of 65535 rows (stride 0) with the largest pads: fsim computes only what stays in
    the SRAM (the footprint wraps), so it ends at once, without gigabytes of temporaries."""
    from hw.isa import MemType
    b = P.Builder(SMALL)
    b.load(MemType.INP, 0, 0, 0xFFFF, 1, 0, (15, 15, 15, 15))
    b.store(0, 0, 0xFFFF, 1, 0)
    b.finish()
    import numpy as np
    prog = b.program(inp=np.ones((1, SMALL.batch, SMALL.block_in)), out_elems=1)
    args = save(prog, tmp_path)
    rc, _, err = vta(capsys, "exec", *args, "--out", tmp_path / "o.bin", "--no-check")
    assert rc == 0, err
    refused(capsys, "check", *args, fragments=("sram_base",))
