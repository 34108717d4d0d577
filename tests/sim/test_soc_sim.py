"""The soc-sim backend: the self-test SoC on Verilator, run by the host driver through its UART
(``sim/soc_sim.py``, ``sim/links/run.py``), checked against the functional model."""

import json

import pytest

from hw.regs import ErrorCode
from sim import backends, soc_sim
from sim.links import LinkError, Refused
from sim.links.run import check_suits, run_over_uart
from sim.memimage import MemImage
from sim.result import VTARunError
from tests.support.cli import vta
from tests.support.configs import SMALL, SMALL_BATCH2
from tests.support.programs.gemm import blocked_gemm_program


@pytest.fixture(scope="module")
def soc_lib():
    """The SMALL SoC's harness library (built once, then cached), or a loud skip without Verilator."""
    try:
        soc_sim.check_available()
    except Exception as e:
        pytest.skip(f"soc-sim needs Verilator, make and a C++ compiler: {e}")
    return soc_sim.library(SMALL, soc_sim.DEFAULT_MEM_BYTES)


def _program(cfg=SMALL):
    program, _ = blocked_gemm_program(cfg, m_blocks=1, k_blocks=2, n_blocks=2, tile_n=1, tile_k=1)
    return program


def test_program_over_the_simulated_uart_matches_fsim(soc_lib):
    program = _program()
    ref = backends.run(program, backend="fsim")
    res = backends.run(program, backend="soc-sim")
    assert res.backend == "soc-sim"
    assert res.out == ref.out
    assert res.fsim_counters() == ref.fsim_counters()
    assert res.cycles == res.counters["cycle_count"] > 0
    # The whole image went over the line, and nothing was garbled on the way back.
    assert res.extra["divisor"] == soc_sim.DIVISOR
    assert res.extra["framing_errors"] == 0
    assert res.extra["bytes_sent"] > 0 and res.extra["bytes_received"] > 0
    assert res.extra["mem_bytes"] == soc_sim.DEFAULT_MEM_BYTES


def test_cycle_bound_stops_the_run(soc_lib):
    with pytest.raises(VTARunError, match="no finish within 5 cycles") as e:
        backends.run(_program(), backend="soc-sim", max_cycles=5)
    assert e.value.code == ErrorCode.TIMEOUT


class _Deaf:
    """A transport whose bytes never reach the SoC: every reply times out."""

    def __init__(self, t):
        self.t = t

    async def send(self, data):
        pass

    async def recv(self, n):
        return await self.t.recv(n)

    async def idle(self, cycles):
        await self.t.idle(cycles)


def test_a_link_that_does_not_answer_says_where(soc_lib):
    with soc_sim.HarnessTransport(soc_lib.path) as t:
        with pytest.raises(LinkError, match=r"stopped answering during INFO.*within \d+ cycles") as e:
            run_over_uart(_program(), _Deaf(t), backend="soc-sim", bound=1000, chunk=100)
    assert e.value.timeout


def test_a_program_for_another_configuration_is_refused(soc_lib):
    program = _program(SMALL_BATCH2)
    with soc_sim.HarnessTransport(soc_lib.path) as t:
        with pytest.raises(Refused, match="another configuration"):
            run_over_uart(program, t, backend="soc-sim", bound=100_000, chunk=100)
        assert t.stats()["bytes_sent"] == 9          # INFO's header, and nothing was written


def test_an_image_larger_than_the_block_ram_is_refused():
    from hw.soc.protocol import config_id
    program = _program()
    image = MemImage.place(program)
    check_suits(program, image, image.size, config_id(SMALL), "x")
    with pytest.raises(Refused, match="does not fit the x SoC's"):
        check_suits(program, image, image.size - 1, config_id(SMALL), "x")


def test_vta_run_fc_on_soc_sim(soc_lib, capsys, tmp_path):
    cfg = tmp_path / "small.json"
    cfg.write_text(json.dumps(SMALL.to_json()))
    rc, out, err = vta(capsys, "run", "fc", "--batch", 1, "--in-features", 16, "--out-features", 8,
                       "--shift", 4, "--config", cfg, "--backend", "soc-sim", "--json")
    assert rc == 0, err
    got = json.loads(out)
    rc, out, err = vta(capsys, "run", "fc", "--batch", 1, "--in-features", 16, "--out-features", 8,
                       "--shift", 4, "--config", cfg, "--backend", "fsim", "--json")
    ref = json.loads(out)
    assert got["verified"] and got["backend"] == "soc-sim"
    assert {k: got["counters"][k] for k in ref["counters"]} == ref["counters"]


@pytest.mark.slow
def test_cycles_equal_the_same_soc_in_amaranths_simulator(soc_lib):
    """The harness adds nothing to the SoC's timing: Amaranth's simulator of the same SocTop, driven by
    the same host driver over the same link, counts the same cycles."""
    from hw.soc.top import SocTop
    from sim.host import VTAHost, cycle_bound
    from tests.support.uart_model import run_soc

    program = _program()
    img = MemImage.place(program)

    async def body(ctx, link, out):
        out["state"] = await VTAHost(link).run(img, program.n_insns, cycle_bound(program), load=True,
                                               chunk=2000)

    out = run_soc(SocTop(SMALL, soc_sim.DEFAULT_MEM_BYTES, soc_sim.DIVISOR), soc_sim.DIVISOR, body)
    res = backends.run(program, backend="soc-sim")
    assert out["state"].counters == res.counters
    assert out["state"].out == res.out
