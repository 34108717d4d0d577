"""The ``verilator`` backend's native harness (sim/native.py): the generated Verilog of SimTop behind a
ctypes library, run by the one host driver.

It must agree with the functional model byte for byte and counter for counter, count the same cycles
as the ``amaranth`` backend (the same design), take another memory latency without a rebuild, stop with
the same errors, and refuse what it cannot run with a message naming the value.  The library is built
once (minutes) and then found in the cache.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hw.config import VTAConfig
from hw.regs import ErrorCode
from sim import native
from sim.host import run_unsuspended
from sim.result import VTARunError
from tests.support import checks
from tests.support import programs as P
from tests.support.checks import assert_agrees_with_fsim

CFG = VTAConfig()
SUITE = {name: (prog, expected) for name, prog, expected in P.suite(CFG)}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def lib():
    try:
        native.check_available()
    except Exception as e:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"Verilator is required in CI: {e}")
        pytest.skip(f"Verilator not available: {e}")
    return native.build(CFG)


@pytest.mark.parametrize("name", list(SUITE))
def test_suite_matches_fsim(lib, name):
    prog, expected = SUITE[name]
    res = native.run(prog)
    assert res.backend == "verilator"
    assert_agrees_with_fsim(prog, res, expected)


def test_seed_fc(lib):
    prog, expected = P.tutorial_fc_program(CFG)[:2]
    res = native.run(prog)
    assert_agrees_with_fsim(prog, res, expected)
    assert res.fsim_counters() == P.TUTORIAL_COUNTERS
    assert res.extra["build_cached"]


@pytest.mark.parametrize("name,latency", [("tutorial_fc_small", None), ("blocked_gemm_vt2_compressed", 5),
                                          ("padded_acc_1_1_1_1", None)])
def test_same_cycles_and_counters_as_amaranth(lib, name, latency):
    prog, expected = SUITE[name]
    checks.assert_same_as_amaranth(prog, native.run, expected, mem_latency=latency)


def test_latency_is_a_setting_not_a_build(lib):
    """Other latencies run on the library already built, and change the cycles as they must."""
    prog, expected = SUITE["tutorial_fc_small"]
    runs = {lat: native.run(prog, mem_latency=lat) for lat in (2, 16, 40)}
    for lat, r in runs.items():
        assert r.out == expected and r.extra["build_cached"] and r.extra["build_dir"] == str(lib.directory)
        assert r.extra["read_latency"] == r.extra["write_latency"] == lat
    assert runs[2].cycles < runs[16].cycles < runs[40].cycles
    split = native.run(prog, read_latency=30, write_latency=3)
    assert split.extra["build_cached"] and runs[2].cycles < split.cycles


@pytest.mark.parametrize("kind", P.ILLEGAL_KINDS)
def test_illegal_instruction(lib, kind):
    checks.expect_error(lambda p: native.run(p, max_cycles=200_000), *P.illegal_program(CFG, kind),
                        backend="verilator")


@pytest.mark.parametrize("kind", ["compute", "store"])
def test_deadlock(lib, kind):
    err = checks.expect_error(lambda p: native.run(p, max_cycles=200_000), *P.deadlock_program(CFG, kind),
                              backend="verilator")
    assert "deadlock" in err.message


def test_no_finish(lib):
    checks.expect_error(lambda p: native.run(p, max_cycles=200_000), *P.no_finish_program(CFG),
                        backend="verilator")


def test_cycle_bound(lib):
    prog, _ = SUITE["tutorial_fc_small"]
    with pytest.raises(VTARunError) as info:
        native.run(prog, max_cycles=50)
    assert info.value.code == ErrorCode.TIMEOUT and "50 cycles" in info.value.message
    assert info.value.result is not None and info.value.result.backend == "verilator"


def test_bad_options_are_refused(lib):
    prog, _ = SUITE["tutorial_fc_small"]
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="max_cycles"):
            native.run(prog, max_cycles=bad)
    with pytest.raises(ValueError, match="mem_bytes must be a power of two, got 3000000"):
        native.run(prog, mem_bytes=3_000_000)


def test_memory_size_refusal_names_the_sizes(lib):
    prog, _ = P.tutorial_fc_program(CFG)[:2]          # a 1 MiB image
    with pytest.raises(ValueError, match=r"memory image \(\d+ bytes\) does not fit mem_bytes = 65536"):
        native.run(prog, mem_bytes=65536)


def test_a_larger_image_asks_for_one_larger_build(lib, monkeypatch, capsys):
    """An image above the built memory (4 MiB): the run says it needs a larger model and asks for exactly that
    size (the build itself is not made here: it would take minutes)."""
    asked = []

    class Stop(Exception):
        pass

    def fake_build(cfg, mem_bytes, **kw):
        asked.append(mem_bytes)
        raise Stop
    monkeypatch.setattr(native, "build", fake_build)
    prog, _ = SUITE["tutorial_fc_small"]
    with pytest.raises(Stop):
        native.run(prog, mem_bytes=64 << 20)
    assert asked == [64 << 20]
    assert "needs 64 MiB, more than the 4 MiB" in capsys.readouterr().err
    with pytest.raises(Stop):
        native.run(prog)
    assert asked[-1] == native.DEFAULT_MEM_BYTES


def test_memory_outside_is_refused(lib):
    with native.NativeSim(lib.path) as sim:
        link = native.NativeLink(sim)
        with pytest.raises(ValueError, match="outside the 4194304-byte memory"):
            run_unsuspended(link.read_mem(sim.mem_bytes - 4, 8))
        run_unsuspended(link.write_mem(100, b"abc"))
        assert run_unsuspended(link.read_mem(99, 5)) == b"\0abc\0"


def test_waves(lib, tmp_path):
    prog, expected = SUITE["alu_add_imm_compressed"]
    vcd = tmp_path / "w.vcd"
    res = native.run(prog, vcd=vcd)
    assert res.out == expected
    text = vcd.read_text()
    assert "$enddefinitions" in text and "irq" in text


@pytest.mark.parametrize("progress", [False, True])
def test_cached_run_does_not_import_amaranth(lib, progress):
    """Once built, a run in a fresh process finds the library from the sources' hash, never
    elaborating: Amaranth is not imported, with or without the progress line (a terminal's default,
    whose cycle estimate needs the core's MUL cost)."""
    code = ("import sys\n"
            "from hw.config import VTAConfig\n"
            "from sim import backends\n"
            "from tests.support.programs import suite\n"
            "name, prog, exp = [s for s in suite(VTAConfig()) if s[0] == 'tutorial_fc_small'][0]\n"
            f"r = backends.run(prog, 'verilator', progress={progress})\n"
            "assert r.out == exp and r.extra['build_cached']\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('amaranth', 'cocotb')))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["tutorial_fc_small", "blocked_gemm_vt2_compressed"])
def test_trace_samples_equal_amaranths(lib, name):
    """The harness's change-sampling of the trace port keeps exactly the samples the amaranth backend
    keeps (same rule, sim.trace), and a run without trace records none."""
    from sim import amaranth_backend
    prog, expected = SUITE[name]
    ref = amaranth_backend.run(prog, trace=True)
    res = native.run(prog, trace=True)
    assert res.out == expected and res.cycles == ref.cycles
    assert len(res.extra["trace_samples"]) > 10
    assert res.extra["trace_samples"] == ref.extra["trace_samples"]
    assert "trace_samples" not in native.run(prog).extra


def test_backend_names():
    """``verilator`` is this native path; the cocotb one is ``cocotb-verilator`` and loads when its
    simulator is there (its probe gets the backend's name, not the simulator's)."""
    from sim import backends
    assert backends.REGISTRY["verilator"] == "sim.native:run"
    assert backends.REGISTRY["cocotb-verilator"] == "sim.cocotb_backend:run_verilator"
    why = backends.available()["cocotb-verilator"]
    assert why is None or "unknown simulator" not in why, why


def test_compact_replications():
    """A bit repeated three times or more in a concatenation becomes a replication; anything else (a
    shorter run, a name that only ends like the bit's) stays as it is."""
    c = native.compact_replications
    assert c("assign a = { w[7], w[7], w[7], w[7:0], 16'h0 };") == "assign a = { {3{w[7]}}, w[7:0], 16'h0 };"
    assert c("assign a = { \\$9 [3], \\$9 [3], \\$9 [3], \\$9 [3], b[1], b[1], b[1], c };") == (
        "assign a = { {4{\\$9 [3]}}, {3{b[1]}}, c };")
    for same in ("assign a = { xw[7], xw[7], w[7], w[7], z };", "assign a = { w[7], w[7], b };"):
        assert c(same) == same
