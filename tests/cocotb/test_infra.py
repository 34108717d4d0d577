"""The cocotb infrastructure on a tiny stand-in core (``standin.py``): Verilog post-processing, the
build cache, both simulators, both memory models, back-pressure, the cycle bound and bus errors.

The stand-in copies ``insn_count`` bus words from ``insn_base`` to ``out_base`` adding 1 to each, so
the expected bytes are a numpy one-liner; builds take a second or two.
"""

import re

import numpy as np
import pytest

from hw.config import VTAConfig
from hw.regs import ErrorCode
from sim import cocotb_backend as cb
from sim import cocotb_build
from sim import verilog
from sim.axi_mem import STORAGE_MODULE
from sim.result import VTARunError
from sw.program import Program

from .standin import SilentCore, StandInCore, StandInSimTop

CFG = VTAConfig()
MEM = 1 << 16


def copy_program(n_words: int, seed: int = 0):
    """A stand-in program: ``n_words`` (even) random bus words to copy; returns it and the expected
    out."""
    assert n_words % 2 == 0
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 2**63, size=2 * n_words, dtype=np.uint64)   # 16-byte "instructions"
    prog = Program(CFG, insns=words.tobytes(), out_elems=n_words * 8 // CFG.out_elem_bytes)
    return prog, (words[:n_words] + np.uint64(1)).tobytes()


def run_standin(simulator, prog, memory="simtop", **kw):
    design = StandInSimTop if memory == "simtop" else StandInCore
    if memory == "simtop":
        kw.setdefault("mem_bytes", MEM)
    return cb.run_program(prog, simulator, memory=memory, design=design, **kw)


# -- Verilog text ----------------------------------------------------------------------------------

def test_zero_memories_become_verilog_modules_and_others_stay_amaranths():
    from amaranth import Module
    from amaranth.lib import memory, wiring
    from amaranth.lib.wiring import In, Out

    class Two(wiring.Component):
        addr: In(3)
        zero: Out(8)
        five: Out(8)

        def elaborate(self, platform):
            m = Module()
            m.submodules.z = z = memory.Memory(shape=8, depth=8, init=[])
            m.submodules.f = f = memory.Memory(shape=8, depth=8, init=[0, 5])
            for mem, out in ((z, self.zero), (f, self.five)):
                rd = mem.read_port(transparent_for=(mem.write_port(granularity=4),))
                m.d.comb += [rd.addr.eq(self.addr), out.eq(rd.data)]
            return m

    text = verilog.convert(Two(), "two")
    assert text.count("module two_zero_mem_") == 1 and "two_zero_mem_0 " in text
    assert "mem[i] = 0;" in text and "if (w0_en[1]) mem[w0_addr][4 +: 4] <= w0_data[4 +: 4];" in text
    assert "if (w0_addr == r0_addr) begin" in text            # the transparent read port
    assert "8'h05" in text                                    # the initialised memory, as Amaranth writes it


def test_simulation_memory_is_loaded_after_the_zeroing():
    text = verilog.simtop_verilog(CFG, MEM, 4, 2, simtop_factory=StandInSimTop)
    zero, load = text.index("mem[i] = 0;"), text.index("$readmemh(file, mem);")
    assert zero < load < text.index("endmodule", load)
    assert text.count(f"module {STORAGE_MODULE} ") == 1 and f"{STORAGE_MODULE} #(" in text


def test_hex_image_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    image = bytearray(rng.integers(0, 256, 64 * 16, dtype=np.uint8).tobytes())
    image[16 * 5:16 * 9] = bytes(64)          # a run of zero words is skipped
    path = tmp_path / "m.hex"
    n = verilog.write_hex_image(path, bytes(image), 16)
    mem = {}
    addr = 0
    for line in path.read_text().split():
        if line.startswith("@"):
            addr = int(line[1:], 16)
        else:
            mem[addr] = int(line, 16)
            addr += 1
    assert n == len(mem) == 60
    words = np.frombuffer(bytes(image), dtype=np.uint8).reshape(-1, 16)
    for i, row in enumerate(words):
        assert mem.get(i, 0) == int.from_bytes(row.tobytes(), "little")


def test_standin_verilog_has_flat_ports_and_lints(tmp_path):
    text = verilog.convert(StandInCore(CFG), verilog.CORE_TOP)
    header = re.search(r"module vta_top\((.*?)\);", text, re.S).group(1)
    ports = {p.strip() for p in header.replace("\n", " ").split(",")}
    assert {"clk", "rst", "irq", "m_axi_araddr", "m_axi_rdata", "s_axil_awaddr", "s_axil_rdata"} <= ports
    path = tmp_path / "standin.v"
    path.write_text(text)
    for lint in (verilog.lint_icarus, verilog.lint_verilator):
        try:
            r = lint(path, verilog.CORE_TOP)
        except FileNotFoundError as e:
            pytest.skip(str(e))
        assert r.ok, r.output


# -- runs ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("memory", ["simtop", "axiram"])
def test_standin_copies(simulator, memory):
    prog, expected = copy_program(12, seed=1)
    res = run_standin(simulator, prog, memory)
    assert res.out == expected
    assert res.counters["axi_read_beats"] == res.counters["axi_write_beats"] == 12
    assert res.backend == cb.BACKEND_NAMES[simulator] and res.cycles == res.counters["cycle_count"] > 12


def test_same_cycles_on_both_simulators_and_latency_matters():
    """The memory timing belongs to the design: Icarus and Verilator count the same cycles, and a
    longer read latency costs exactly one cycle per word per extra cycle of latency."""
    from .conftest import require
    require("icarus")
    require("verilator")
    prog, expected = copy_program(6)
    a = run_standin("icarus", prog, read_latency=4, write_latency=2)
    b = run_standin("verilator", prog, read_latency=4, write_latency=2)
    c = run_standin("verilator", prog, read_latency=7, write_latency=2)
    assert a.out == b.out == c.out == expected
    assert a.cycles == b.cycles
    assert c.cycles == b.cycles + 6 * 3


def test_back_pressure_keeps_bytes_and_counters(simulator):
    prog, expected = copy_program(16, seed=2)
    calm = run_standin(simulator, prog, "axiram")
    for seed in (1, 2):
        busy = run_standin(simulator, prog, "axiram", pause=0.5, seed=seed)
        assert busy.out == calm.out == expected
        assert busy.counters["axi_read_beats"] == calm.counters["axi_read_beats"]
        assert busy.cycles > calm.cycles


def test_build_is_cached(verilator):
    prog, expected = copy_program(2)
    run_standin(verilator, prog)
    again = run_standin(verilator, prog)
    assert again.extra["build_cached"] and again.out == expected


def test_cycle_bound_raises_timeout(simulator):
    prog, _ = copy_program(50)
    with pytest.raises(VTARunError) as info:
        run_standin(simulator, prog, max_cycles=40)
    assert info.value.code == ErrorCode.TIMEOUT and "40 cycles" in info.value.message
    assert info.value.result is not None and info.value.result.counters["cycle_count"] >= 40


def test_image_larger_than_the_memory_is_refused():
    with pytest.raises(ValueError, match="does not fit mem_bytes = 65536"):
        run_standin("verilator", Program(CFG, insns=bytes(MEM), out_elems=1))


def test_bad_options_are_refused():
    prog, _ = copy_program(2)
    with pytest.raises(ValueError, match="unknown simulator 'ghdl'"):
        cocotb_build.check_simulator("ghdl")
    with pytest.raises(ValueError, match="pause=0.5 needs memory='axiram'"):
        cb.run_program(prog, "verilator", pause=0.5)
    with pytest.raises(ValueError, match="unknown memory model 'dram'"):
        cb.run_program(prog, "verilator", memory="dram")
    with pytest.raises(ValueError, match="read_latency must be an integer"):
        cb.run_program(prog, "verilator", read_latency="slow", design=StandInSimTop, mem_bytes=MEM)


def test_waveform(simulator, tmp_path):
    prog, expected = copy_program(2)
    wave = tmp_path / "wave.vcd"
    res = run_standin(simulator, prog, vcd=str(wave))
    assert res.out == expected
    data = wave.read_bytes()
    if simulator == "verilator":
        text = data.decode()
        assert "$enddefinitions" in text and "irq" in text
    else:
        assert len(data) > 100          # an FST file (binary)


def test_a_core_that_never_answers_does_not_hang(verilator):
    prog, _ = copy_program(2)
    with pytest.raises(RuntimeError, match="did not answer an AXI4-Lite write of insn_base"):
        cb.run_program(prog, verilator, memory="axiram", design=SilentCore)
