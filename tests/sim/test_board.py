"""The board backend without a board: refusals on the command line, a port that never answers, and a
run over a real pyserial port whose other end is the simulated SoC (``tests/support/fake_board.py``)."""

import pytest

from sim import backends, board, soc_sim
from sim.cli.common import EXIT_BOUND, EXIT_REFUSED
from sim.links import LinkError, Refused
from tests.support.cli import one_error_line, vta
from tests.support.configs import SMALL
from tests.support.programs.gemm import blocked_gemm_program

FC = ["run", "fc", "--batch", 1, "--in-features", 16, "--out-features", 16]

pytest.importorskip("serial", reason="the board backend needs pyserial (pip install pyserial)")


def _program():
    program, _ = blocked_gemm_program(SMALL, m_blocks=1, k_blocks=2, n_blocks=2, tile_n=1, tile_k=1)
    return program


def refused(capsys, *args, fragments=()):
    rc, out, err = vta(capsys, *args)
    assert rc == EXIT_REFUSED, err
    return one_error_line(err, *fragments)


def test_board_needs_an_existing_port(capsys, tmp_path):
    refused(capsys, *FC, "--backend", "board", fragments=("needs --port",))
    refused(capsys, *FC, "--backend", "board", "--port", tmp_path / "ttyNONE",
            fragments=("--port", "no such serial port"))


@pytest.mark.parametrize("backend", ["board", "soc-sim"])
def test_options_the_soc_backends_cannot_honour(capsys, tmp_path, backend):
    from tests.support.fake_board import SilentPort
    with SilentPort() as port:
        extra = ["--port", port.path] if backend == "board" else []
        refused(capsys, *FC, "--backend", backend, *extra, "--mem-latency", 3,
                fragments=("--mem-latency 3", "block RAM"))
        refused(capsys, *FC, "--backend", backend, *extra, "--waves", tmp_path / "w.vcd",
                fragments=("--waves", "no waveform"))


def test_port_and_baud_only_for_the_board(capsys):
    refused(capsys, *FC, "--backend", "fsim", "--port", "/dev/null", fragments=("--port", "not fsim"))
    refused(capsys, *FC, "--backend", "soc-sim", "--baud", 9600, fragments=("--baud 9600", "not soc-sim"))


def test_missing_pyserial_is_refused(capsys, monkeypatch):
    import sys
    from tests.support.fake_board import SilentPort
    monkeypatch.setitem(sys.modules, "serial", None)
    with SilentPort() as port:
        refused(capsys, *FC, "--backend", "board", "--port", port.path, fragments=("pyserial",))
    with pytest.raises(backends.BackendUnavailable, match="pyserial"):
        backends.get_backend("board")


def test_a_port_that_cannot_be_opened_is_refused(tmp_path):
    with pytest.raises(Refused, match="ttyNONE"):
        board.run(_program(), port=str(tmp_path / "ttyNONE"))


def test_a_silent_board_times_out_naming_the_command(capsys):
    from tests.support.fake_board import SilentPort
    with SilentPort() as port:
        with pytest.raises(LinkError, match="stopped answering during INFO") as e:
            board.run(_program(), port=port.path, timeout=0.2)
        assert e.value.timeout
        rc, out, err = vta(capsys, *FC, "--backend", "board", "--port", port.path)
    assert rc == EXIT_BOUND, err
    one_error_line(err, "board:", "INFO", "/dev/")


def test_board_over_a_fake_serial_port_matches_fsim():
    try:
        soc_sim.check_available()
    except Exception as e:
        pytest.skip(f"the fake board is the soc-sim harness, which needs Verilator: {e}")
    from tests.support.fake_board import FakeBoard
    lib = soc_sim.library(SMALL, soc_sim.DEFAULT_MEM_BYTES)
    program = _program()
    ref = backends.run(program, backend="fsim")
    sim_res = backends.run(program, backend="soc-sim")
    with FakeBoard(lib.path, soc_sim.DIVISOR) as fake:
        # The fake SoC runs at simulation speed: a slow clock_hz keeps the wall-time bound generous.
        res = board.run(program, port=fake.path, baud=115200, clock_hz=20_000)
    assert res.backend == "board" and res.extra["port"] == fake.path
    assert res.out == ref.out
    assert res.fsim_counters() == ref.fsim_counters()
    assert res.counters == sim_res.counters            # the same SoC: the same cycles


def test_a_read_waits_for_its_bytes_on_the_line():
    """The bound of a read grows with the bytes that must cross the line first, at the baud rate."""
    import asyncio
    from sim.host import LinkTimeout
    from sim.links.serial import SerialTransport
    from tests.support.fake_board import SilentPort
    with SilentPort() as port:
        t = SerialTransport(port.path, 300, 25e6, timeout=0.1)
        try:
            asyncio.run(t.send(bytes(6)))          # 6 bytes out, 3 back: 0.3 s on the line at 300 baud
            with pytest.raises(LinkTimeout, match=r"within 0\.55 s .*\(0 of 3 bytes came\)"):
                asyncio.run(t.recv(3))
        finally:
            t.close()
