"""The VTA core's generated Verilog under cocotb (Icarus and Verilator) against the functional model.

Every program runs on the default configuration, so each simulator builds one model (``simtop``)
plus, for the back-pressure tests, one bare-core model (``axiram``); the builds are cached.
"""

from dataclasses import replace

import numpy as np
import pytest

from hw.config import VTAConfig
from hw.isa import encode_insns
from hw.regs import ErrorCode, FSIM_COUNTERS
from sim import cocotb_backend as cb
from sim import fsim
from sim.result import VTARunError
from sw.fc import build_fc
from tests.support import programs as P

from tests.support import checks
from tests.support.checks import assert_agrees_with_fsim
from .conftest import require

CFG = VTAConfig()
SUITE = {name: (prog, expected) for name, prog, expected in P.suite(CFG)}
#: A representative handful for the slow simulator.
ICARUS_SUITE = ["alu_add_imm_compressed", "alu_shr_imm_compressed", "blocked_gemm_vt2_compressed",
                "padded_inp_1_1_1_1", "padded_wgt_1_1_1_1", "tutorial_fc_small"]


def small_fc(seed, batch=2, k=40, n=24, **kw):
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (batch, k), dtype=np.int8)
    w = rng.integers(-128, 128, (n, k), dtype=np.int8)
    return build_fc(x, w, shift=6, clip=(-20, 100), config=CFG, **kw)


# -- good programs ---------------------------------------------------------------------------------

def test_seed_fc_on_verilator(verilator):
    """The seed tutorial's FC (1024x1024, tutorial schedule): right bytes, VTA's seven counters, every
    counter as fsim, all in a few seconds."""
    prog, expected = P.tutorial_fc_program(CFG)[:2]
    res = cb.run_verilator(prog)
    assert_agrees_with_fsim(prog, res, expected)
    assert res.fsim_counters() == P.TUTORIAL_COUNTERS
    assert res.counters["axi_read_beats"] >= 1048576 // CFG.bus_bytes
    assert res.extra["sim_seconds"] < 10


@pytest.mark.parametrize("name", list(SUITE))
def test_suite_on_verilator(verilator, name):
    prog, expected = SUITE[name]
    assert_agrees_with_fsim(prog, cb.run_verilator(prog), expected)


@pytest.mark.parametrize("name", ICARUS_SUITE)
def test_suite_on_icarus(icarus, name):
    prog, expected = SUITE[name]
    assert_agrees_with_fsim(prog, cb.run_icarus(prog), expected)


@pytest.mark.parametrize("seed", [0, 1])
def test_small_fc_on_icarus(icarus, seed):
    fc = small_fc(seed, relu=bool(seed))
    res = cb.run_icarus(fc.program)
    assert_agrees_with_fsim(fc.program, res)
    np.testing.assert_array_equal(fc.unpack(res.out), fc.reference())


PADDED = [(mem, pads) for mem in ("inp", "wgt", "acc") for pads in ((2, 0, 0, 1), (0, 1, 2, 0))]
PADDED += [("inp", (15, 1, 0, 15)), ("acc", (15, 1, 0, 15))]   # a 15-pad wgt tile overflows its SRAM


@pytest.mark.parametrize("mem,pads", PADDED)
def test_padded_loads_on_verilator(verilator, mem, pads):
    prog, expected = P.padded_load_program(CFG, mem, pads, y_size=2, x_size=3)
    assert_agrees_with_fsim(prog, cb.run_verilator(prog), expected)


# -- cycle agreement -------------------------------------------------------------------------------

@pytest.mark.parametrize("latency", [None, 5])
def test_same_cycles_as_the_amaranth_backend(verilator, latency):
    """Both run the same SimTop (core + fixed-latency AxiMemory): the same cycle count and every
    counter equal, for the default latency and another one."""
    prog, expected = SUITE["tutorial_fc_small"]
    checks.assert_same_as_amaranth(prog, cb.run_verilator, expected, mem_latency=latency)


def test_same_cycles_on_icarus_and_verilator(icarus):
    require("verilator")
    prog, expected = SUITE["blocked_gemm_vt2_compressed"]
    a, b = cb.run_icarus(prog), cb.run_verilator(prog)
    assert a.out == b.out == expected
    assert a.counters == b.counters


# -- AXI back-pressure (cocotbext-axi AxiRam with pause generators) -------------------------------

@pytest.mark.parametrize("name", ["blocked_gemm_vt2_compressed", "padded_wgt_1_1_1_1",
                                  "alu_add_acc_uncompressed_wide", "tutorial_fc_small"])
def test_back_pressure_on_verilator(verilator, name):
    """Random stalls on all five AXI channels change the timing, never the bytes or the counters
    that count work (everything but cycles, busy, overlap and wait counters)."""
    prog, expected = SUITE[name]
    calm = cb.run_verilator(prog, memory="axiram")
    assert_agrees_with_fsim(prog, calm, expected)
    for seed in (1, 2):
        busy = cb.run_verilator(prog, memory="axiram", pause=0.4, seed=seed)
        assert busy.out == expected
        for k in FSIM_COUNTERS + ("acc_wr_count", "axi_read_beats", "axi_write_beats",
                                  "gemm_active", "alu_active"):
            assert busy.counters[k] == calm.counters[k], k
        assert busy.cycles > calm.cycles


def test_back_pressure_on_icarus(icarus):
    prog, expected = SUITE["padded_inp_1_1_1_1"]
    res = cb.run_icarus(prog, memory="axiram", pause=0.3, seed=5)
    assert_agrees_with_fsim(prog, res, expected)


# -- bad programs ----------------------------------------------------------------------------------

def expect_error(simulator, prog, exp: "P.ExpectedError"):
    return checks.expect_error(lambda p: cb.run_program(p, simulator, max_cycles=200_000), prog, exp,
                               backend=cb.BACKEND_NAMES[simulator])


@pytest.mark.parametrize("kind", P.ILLEGAL_KINDS)
def test_illegal_instruction(verilator, kind):
    expect_error(verilator, *P.illegal_program(CFG, kind))


@pytest.mark.parametrize("kind", ["compute", "store"])
def test_deadlock_names_module_and_queue(verilator, kind):
    err = expect_error(verilator, *P.deadlock_program(CFG, kind))
    assert "deadlock" in err.message


def test_no_finish(verilator):
    expect_error(verilator, *P.no_finish_program(CFG))


def test_bad_programs_on_icarus(icarus):
    expect_error(icarus, *P.illegal_program(CFG, "opcode7"))
    expect_error(icarus, *P.deadlock_program(CFG, "store"))


def test_address_outside_memory_is_a_bus_error(verilator):
    """A LOAD far beyond the simulation memory: the memory answers DECERR, the core stops with
    AXI_READ naming the instruction."""
    prog, _ = P.dram_out_of_range_program(CFG, "inp")
    insns = prog.decoded()
    idx = next(i for i, insn in enumerate(insns)
               if getattr(insn, "memory_type", None) == 2 and insn.opcode == 0)
    insns[idx].dram_base = 1 << 20          # 16 MiB past the inp region: beyond the 4 MiB memory
    bad = replace(prog, insns=encode_insns(insns, CFG))
    with pytest.raises(VTARunError) as info:
        cb.run_verilator(bad, max_cycles=100_000)
    assert info.value.code == ErrorCode.AXI_READ and info.value.index == idx


def test_cycle_bound_on_the_core(verilator):
    prog, _ = SUITE["tutorial_fc_small"]
    with pytest.raises(VTARunError) as info:
        cb.run_verilator(prog, max_cycles=50)
    assert info.value.code == ErrorCode.TIMEOUT and "50 cycles" in info.value.message


def test_another_configuration_on_verilator(verilator):
    """A 128-bit bus and an 8x8 core: the image and the backdoor follow the bus width."""
    cfg = VTAConfig(log_block=3, log_bus_width=7, log_inp_buff_size=13, log_wgt_buff_size=15,
                    log_acc_buff_size=15)
    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, (3, 40), dtype=np.int8)
    w = rng.integers(-128, 128, (20, 40), dtype=np.int8)
    fc = build_fc(x, w, shift=5, clip=(-50, 50), config=cfg)
    res = cb.run_verilator(fc.program)
    assert_agrees_with_fsim(fc.program, res)
    np.testing.assert_array_equal(fc.unpack(res.out), fc.reference())


@pytest.mark.parametrize("seed", range(4))
def test_random_programs_on_verilator(verilator, seed):
    """The random edge-case programs of tests/sim/test_differential.py on the generated Verilog; same
    bytes and counters as fsim, and the same cycles as the amaranth backend."""
    from tests.support.random_programs import random_program
    from tests.support.configs import SMALL
    from sim import amaranth_backend
    prog = random_program(SMALL, seed)
    res = cb.run_verilator(prog)
    assert_agrees_with_fsim(prog, res)
    assert res.cycles == amaranth_backend.run(prog).cycles
