"""The core in Amaranth's simulator against the functional model: output bytes and every counter fsim
defines, on VTA-style programs, bad programs, and small FCs over the configuration matrix."""

import numpy as np
import pytest

from hw.config import VTAConfig
from hw.regs import ErrorCode, FSIM_COUNTERS, STALL_BITS
from sim import amaranth_backend, fsim
from sim.result import VTARunError
from sw.fc import build_fc
from tests.support import checks, programs as P
from tests.support.checks import assert_agrees_with_fsim
from tests.support.configs import SMALL


def agree(prog, expected=None, **kw):
    """Run ``prog`` on the amaranth backend; assert identical bytes and counters to fsim."""
    res = amaranth_backend.run(prog, **kw)
    assert_agrees_with_fsim(prog, res, expected)
    return res


@pytest.mark.parametrize("name", [n for n, _, _ in P.suite(SMALL)])
def test_suite_small_config(name):
    prog, expected = next((p, e) for n, p, e in P.suite(SMALL) if n == name)
    agree(prog, expected)


@pytest.mark.parametrize("name", ["alu_shr_imm_compressed", "alu_add_acc_uncompressed_wide",
                                  "blocked_gemm_vt2_compressed", "gemm_same_acc", "padded_wgt_1_1_1_1",
                                  "tutorial_fc_small"])
def test_suite_default_config(name):
    cfg = VTAConfig()
    prog, expected = next((p, e) for n, p, e in P.suite(cfg) if n == name)
    agree(prog, expected)


@pytest.mark.parametrize("pads", [(0, 0, 0, 0), (2, 0, 0, 1), (0, 1, 2, 0), (1, 1, 1, 1)])
@pytest.mark.parametrize("mem", ["inp", "wgt", "acc"])
def test_padded_loads(mem, pads):
    prog, expected = P.padded_load_program(SMALL, mem, pads, y_size=1, x_size=2)
    agree(prog, expected)


@pytest.mark.parametrize("mem", ["inp", "acc"])
def test_padded_loads_up_to_15(mem):
    prog, expected = P.padded_load_program(VTAConfig(), mem, (15, 1, 0, 15), y_size=2, x_size=3)
    agree(prog, expected)


def expect_error(prog, exp: "P.ExpectedError"):
    return checks.expect_error(lambda p: amaranth_backend.run(p, max_cycles=200_000), prog, exp,
                               backend="amaranth")


@pytest.mark.parametrize("kind", P.ILLEGAL_KINDS)
def test_illegal_instruction(kind):
    prog, exp = P.illegal_program(SMALL, kind)
    expect_error(prog, exp)


@pytest.mark.parametrize("kind", ["compute", "store"])
def test_deadlock_names_module_and_queue(kind):
    prog, exp = P.deadlock_program(SMALL, kind)
    err = expect_error(prog, exp)
    assert "deadlock" in err.message


def test_no_finish():
    prog, exp = P.no_finish_program(SMALL)
    expect_error(prog, exp)


def test_full_command_queue_deadlocks_exactly_when_fsim_does():
    cfg = SMALL.replace(cmd_queue_depth=4)
    prog, exp = P.queue_full_program(cfg)
    expect_error(prog, exp)
    prog, expected = P.queue_full_program(cfg, n_stores=cfg.cmd_queue_depth + 1)
    agree(prog)


@pytest.mark.parametrize("depth", [1, 2])
def test_full_token_queue(depth):
    cfg = SMALL.replace(token_queue_depth=depth)
    prog, exp = P.token_full_program(cfg)
    if isinstance(exp, P.ExpectedError):
        expect_error(prog, exp)
    else:
        agree(prog)


def test_address_outside_memory_is_a_bus_error():
    """A LOAD far beyond the memory image: the memory model answers DECERR and the core stops with
    AXI_READ naming the instruction (the static checker would refuse this program before a run)."""
    prog, _ = P.dram_out_of_range_program(SMALL, "inp")
    insns = prog.decoded()
    idx = next(i for i, insn in enumerate(insns) if getattr(insn, "memory_type", None) == 2 and insn.opcode == 0)
    insns[idx].dram_base = 1 << 20          # 16 MiB past the inp region: outside the image
    from hw.isa import encode_insns
    from dataclasses import replace
    bad = replace(prog, insns=encode_insns(insns, SMALL))
    with pytest.raises(VTARunError) as info:
        amaranth_backend.run(bad, max_cycles=100_000)
    assert info.value.code == ErrorCode.AXI_READ and info.value.index == idx


def test_cycle_bound_stops_a_run_and_says_so():
    prog, _ = P.tutorial_fc_program(SMALL, in_blocks=2, out_blocks=2, tile_in=1, tile_out=1)
    with pytest.raises(VTARunError) as info:
        amaranth_backend.run(prog, max_cycles=50)
    assert info.value.code == ErrorCode.TIMEOUT and "50 cycles" in info.value.message


CONFIGS = [
    dict(log_block=lb, log_batch=bt, log_bus_width=bus)
    for lb in (3, 4, 5) for bt in (0, 1) for bus in (6, 7)
]


def _sized(log_block, log_batch, log_bus_width):
    """A configuration of the matrix with buffers that fit VTA's instruction fields (LOG_BLOCK 3 does
    not fit with the default buffer sizes)."""
    if log_block == 3:
        return VTAConfig(log_block=3, log_batch=log_batch, log_bus_width=log_bus_width,
                         log_inp_buff_size=13, log_wgt_buff_size=15, log_acc_buff_size=15)
    return VTAConfig(log_block=log_block, log_batch=log_batch, log_bus_width=log_bus_width)


@pytest.mark.parametrize("conf", CONFIGS, ids=lambda c: "block{log_block}_batch{log_batch}_bus{log_bus_width}".format(**c))
def test_small_fc_on_every_configuration(conf):
    cfg = _sized(**conf)
    rng = np.random.default_rng(sum(conf.values()))
    B, K, N = 3, 2 * cfg.block + 5, cfg.block + 3
    x = rng.integers(-128, 128, (B, K), dtype=np.int8)
    w = rng.integers(-128, 128, (N, K), dtype=np.int8)
    fc = build_fc(x, w, shift=6, clip=(-20, 100), relu=True, config=cfg)
    res = agree(fc.program)
    np.testing.assert_array_equal(fc.unpack(res.out), fc.reference())


@pytest.mark.slow
def test_seed_fc_tutorial_counters_and_bus_bound():
    """The seed tutorial's FC (1024x1024, tutorial schedule) on the core: verified, the seven counters
    exactly VTA's, and the cycle count within 1.10x of the memory-bus bound."""
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (1, 1024), dtype=np.int8)
    w = rng.integers(-128, 128, (1024, 1024), dtype=np.int8)
    fc = build_fc(x, w, shift=8, clip=(0, 127), schedule="tutorial")
    res = amaranth_backend.run(fc.program)
    np.testing.assert_array_equal(fc.unpack(res.out), fc.reference())
    assert res.fsim_counters() == P.TUTORIAL_COUNTERS
    from sim.bench import bus_bound_cycles
    assert res.cycles <= 1.10 * bus_bound_cycles(res, fc.program.config)
    assert res.counters["axi_read_beats"] >= 1048576 // 8


def test_vta_exec_on_amaranth_reports_a_deadlock_in_one_line(tmp_path, capsys):
    from sim import cli
    import json
    prog, exp = P.deadlock_program(SMALL, "store")
    prog.save(tmp_path)
    (tmp_path / "cfg.json").write_text(json.dumps(SMALL.to_json()))
    out = tmp_path / "out.bin"
    rc = cli.main(["exec", "--insn", str(tmp_path / "insn.bin"), "--uop", str(tmp_path / "uop.bin"),
                   "--out-elems", "1", "--out", str(out), "--config", str(tmp_path / "cfg.json"),
                   "--backend", "amaranth"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 3 and len(err) == 1 and not out.exists()
    assert "deadlock" in err[0] and f"instruction {exp.index}" in err[0]
    assert "compute pops s2g" in err[0] and "store pops g2s" in err[0]


def test_vcd_waveform(tmp_path):
    prog, expected = P.alu_program(SMALL, 2, True, True, rows=1, vector=2)
    vcd = tmp_path / "wave.vcd"
    agree(prog, expected, vcd=str(vcd))
    text = vcd.read_text()
    assert "$enddefinitions" in text and "irq" in text


@pytest.mark.parametrize("log_bus", [8, 9])
@pytest.mark.parametrize("name", ["blocked_gemm_vt2_compressed", "alu_add_acc_uncompressed_wide",
                                  "padded_acc_1_1_1_1", "tutorial_fc_small"])
def test_wide_memory_bus(name, log_bus):
    """256- and 512-bit buses: several instructions and elements per beat."""
    cfg = SMALL.replace(log_bus_width=log_bus)
    prog, expected = next((p, e) for n, p, e in P.suite(cfg) if n == name)
    agree(prog, expected)


def test_store_outside_memory_is_a_bus_error():
    prog, _ = P.dram_out_of_range_program(SMALL, "out")
    insns = prog.decoded()
    idx = next(i for i, insn in enumerate(insns) if insn.opcode == 1 and insn.x_size)
    insns[idx].dram_base = 1 << 20
    from hw.isa import encode_insns
    from dataclasses import replace
    bad = replace(prog, insns=encode_insns(insns, SMALL))
    with pytest.raises(VTARunError) as info:
        amaranth_backend.run(bad, max_cycles=100_000)
    assert info.value.code == ErrorCode.AXI_WRITE and info.value.index == idx
    assert f"instruction {idx}" in info.value.message


@pytest.mark.parametrize("conf", [
    dict(log_block=1, log_inp_buff_size=12, log_wgt_buff_size=12, log_acc_buff_size=14, log_uop_buff_size=12),
    dict(log_block=6, log_inp_buff_size=12, log_wgt_buff_size=18, log_acc_buff_size=14),
    dict(log_block=3, log_batch=2, log_inp_buff_size=12, log_wgt_buff_size=12, log_acc_buff_size=14),
], ids=["block1", "block6", "batch4_block3"])
def test_small_fc_on_extreme_configurations(conf):
    cfg = VTAConfig(**conf)
    rng = np.random.default_rng(7)
    B, K, N = 5, 3 * cfg.block + 1, cfg.block + 2
    x = rng.integers(-128, 128, (B, K), dtype=np.int8)
    w = rng.integers(-128, 128, (N, K), dtype=np.int8)
    fc = build_fc(x, w, shift=5, relu=True, config=cfg)
    res = agree(fc.program)
    np.testing.assert_array_equal(fc.unpack(res.out), fc.reference())


@pytest.mark.parametrize("log_bus", [6, 8])
@pytest.mark.parametrize("n_good", [2, 6])     # a whole number of 256-bit beats
def test_fetch_read_error_names_the_faulty_instruction(log_bus, n_good):
    """The program runs into the end of memory: the first instruction past it comes back with DECERR,
    and the core stops with AXI_READ naming that instruction (for a beat wider than an instruction, the
    first one the beat holds), not one fetch happened to be dispatching."""
    from amaranth.sim import Simulator
    from hw.isa import GemmInsn, encode_insns
    from sim.amaranth_backend import PERIOD, SimLink
    from sim.host import VTAHost
    from sim.memimage import PAGE, MemImage
    from sim.simtop import SimTop

    cfg = SMALL.replace(log_bus_width=log_bus)
    words = encode_insns([GemmInsn() for _ in range(n_good)], cfg)
    image = bytes(PAGE - len(words)) + words          # the instructions end where the memory ends
    img = MemImage(image, {"insn_base": PAGE - len(words)}, out_addr=0, out_bytes=0)
    dut = SimTop(cfg, len(image), init=image)
    states = []

    async def bench(ctx):
        states.append(await VTAHost(SimLink(ctx, dut)).run(img, n_good + 8, 5000))

    sim = Simulator(dut)
    sim.add_clock(PERIOD)
    sim.add_testbench(bench)
    sim.run()
    regs = states[0].registers
    per_beat = max(cfg.bus_bits // 128, 1)
    assert states[0].finished
    assert regs["error_code"] == ErrorCode.AXI_READ
    assert regs["error_index"] == n_good - n_good % per_beat
