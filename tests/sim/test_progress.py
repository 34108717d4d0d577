"""The progress line (sim/progress.py): a total and the time left, redrawn on a terminal, one line per
interval on a pipe, and what the amaranth backend writes with progress on."""

import io

import numpy as np

from sim import amaranth_backend, progress
from sw.fc import build_fc


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_pipe_gets_one_line_per_interval():
    clock, out = Clock(), io.StringIO()
    p = progress.Progress("amaranth", 1000, stream=out, interval=5.0, clock=clock)
    for t, cycles in [(1, 100), (5, 250), (6, 300), (9, 400), (10, 500), (30, 1500)]:
        clock.t = t
        p.update(cycles)
    p.close()
    lines = out.getvalue().splitlines()
    assert lines == ["amaranth: 250 cycles of about 1000 (25%), about 15 s left, 50 cycles/s",
                     "amaranth: 500 cycles of about 1000 (50%), about 10 s left, 50 cycles/s",
                     "amaranth: 1500 cycles (past the estimate of 1000), 50 cycles/s"]
    assert "\r" not in out.getvalue()


def test_terminal_line_is_redrawn_and_ended():
    clock, out = Clock(), Tty()
    p = progress.Progress("verilator", None, stream=out, interval=0.5, clock=clock)
    assert p.tty
    for t in (0.1, 0.2, 1.0):
        clock.t = t
        p.update(int(t * 1000))
    p.close()
    text = out.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n")
    assert "verilator: 1000 cycles, 1000 cycles/s" in text and "left" not in text


def test_quiet_run_writes_nothing():
    out = io.StringIO()
    p = progress.Progress("icarus", 10, stream=out)
    p.close()
    assert out.getvalue() == ""


def test_amaranth_progress_lines_on_a_pipe(monkeypatch, capsys):
    monkeypatch.setattr(progress, "PIPE_INTERVAL", 0.0)
    monkeypatch.setattr(amaranth_backend, "CHUNK", 100)
    rng = np.random.default_rng(0)
    fc = build_fc(rng.integers(-128, 128, (1, 64), dtype=np.int8),
                  rng.integers(-128, 128, (64, 64), dtype=np.int8))
    res = amaranth_backend.run(fc.program, progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert abs(len(lines) - res.cycles // 100) <= 1        # one line per chunk of 100 cycles
    assert lines[0].startswith("amaranth: 100 cycles of about ") and "cycles/s" in lines[0]


def test_cocotb_progress_polls_the_testbench_file(monkeypatch, capsys, tmp_path):
    """The cocotb backends' poller reads the cycles the testbench writes and shows them against the
    estimate."""
    import time
    from sim.cocotb_job import show_progress
    monkeypatch.setattr(progress, "PIPE_INTERVAL", 0.0)
    path = tmp_path / "progress.txt"
    path.write_text("1234")
    stop = show_progress("verilator", path, time.perf_counter() - 1.0, 5000)
    time.sleep(1.2)
    stop()
    lines = capsys.readouterr().err.splitlines()
    assert lines and lines[0].startswith("verilator: 1234 cycles of about 5000 (25%)"), lines


def test_vta_run_shows_progress_on_a_pipe_by_default(monkeypatch, capsys):
    from sim import cli
    monkeypatch.setattr(progress, "PIPE_INTERVAL", 0.0)
    monkeypatch.setattr(amaranth_backend, "CHUNK", 100)
    args = ["run", "fc", "--batch", "1", "--in-features", "64", "--out-features", "64", "--backend", "amaranth"]
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert "amaranth: 100 cycles of about" in err and "left" in err
    assert cli.main(args + ["--no-progress"]) == 0
    assert capsys.readouterr().err == ""
