"""sim.vbuild: a tiny Verilog counter and a C++ file become a shared library, built once and then found
in the cache by its hash; a change of a define is a new build; a broken source fails with its log."""

import ctypes

import pytest

from sim import vbuild

COUNTER = ("module vb_counter(input clk, input rst, output reg [7:0] q);\n"
           "  always @(posedge clk) q <= rst ? 8'd0 : q + 8'd1;\nendmodule\n")
HARNESS = """
#include "verilated.h"
#include "Vvb_counter.h"
extern "C" int count(int n) {
    VerilatedContext ctx;
    Vvb_counter top{&ctx};
    top.clk = 0; top.rst = 1; top.eval();
    top.clk = 1; top.eval(); top.clk = 0; top.eval();
    top.rst = 0;
    for (int i = 0; i < n; i++) { top.clk = 1; top.eval(); top.clk = 0; top.eval(); }
    return top.q + OFFSET;
}
"""


@pytest.fixture
def harness(tmp_path, monkeypatch):
    try:
        vbuild.check_verilator()
    except vbuild.SimulatorNotFound as e:
        pytest.skip(f"Verilator is not usable here: {e}")
    monkeypatch.setenv("VTA_CACHE_DIR", str(tmp_path / "cache"))
    cpp = tmp_path / "harness.cpp"
    cpp.write_text(HARNESS)
    return cpp


def test_build_cache_and_defines(harness, capfd):
    lib = vbuild.build_library("vbtest", "vb_counter", COUNTER, [harness], defines={"OFFSET": 100},
                               estimate=30)
    assert not lib.cached and lib.path.exists()
    err = capfd.readouterr().err
    assert "building vbtest with Verilator" in err and "about 30 s" in err
    assert ctypes.CDLL(str(lib.path)).count(5) == 105
    # The same inputs: found in the cache, from a Verilog function that is never called.
    def never():
        raise AssertionError("the Verilog was made again for a cached library")
    again = vbuild.build_library("vbtest", "vb_counter", never, [harness], defines={"OFFSET": 100},
                                 verilog_key=vbuild.text_key(COUNTER))
    assert again.cached and again.path == lib.path and capfd.readouterr().err == ""
    # Another define: another library.
    other = vbuild.build_library("vbtest", "vb_counter", COUNTER, [harness], defines={"OFFSET": 7})
    assert not other.cached and other.path != lib.path
    assert ctypes.CDLL(str(other.path)).count(300) == (300 % 256) + 7


def test_broken_source_fails_with_log(harness):
    with pytest.raises(RuntimeError, match=r"Verilator build of vbbad failed .*build\.log"):
        vbuild.build_library("vbbad", "vb_counter", COUNTER.replace("endmodule", ""), [harness],
                             defines={"OFFSET": 0})


def test_cflags_and_the_processor_are_part_of_the_key(harness, monkeypatch):
    """More C++ options name another library; with ``-march=native``, so does another processor (such
    a library is not reused on a machine it was not compiled for)."""
    keys = []

    def found(name, key):
        keys.append(key)
        return vbuild.Library(name, harness, harness.parent, key, 0.0, True)

    monkeypatch.setattr(vbuild, "cached_library", found)
    for cflags in ([], ["-O1"], ["-march=native"]):
        vbuild.build_library("vbkey", "vb_counter", COUNTER, [harness], defines={"OFFSET": 0}, cflags=cflags)
    monkeypatch.setattr(vbuild, "host_cpu", lambda: "another processor")
    vbuild.build_library("vbkey", "vb_counter", COUNTER, [harness], defines={"OFFSET": 0},
                         cflags=["-march=native"])
    vbuild.build_library("vbkey", "vb_counter", COUNTER, [harness], defines={"OFFSET": 0}, cflags=["-O1"])
    assert len(set(keys[:4])) == 4 and keys[4] == keys[1]


def test_source_digest_reads_the_sources_once_per_process(monkeypatch):
    """A long run keys every model by the sources as they were when it first looked (the modules it
    elaborates from), not as they are on disk later; other parameters still change the key."""
    import builtins
    from sim import verilog
    first = verilog.source_digest("sim.verilog", extra="a")

    def no_reading(*args, **kwargs):
        raise AssertionError("source_digest read a file again")

    monkeypatch.setattr(builtins, "open", no_reading)
    assert verilog.source_digest("sim.verilog", extra="a") == first
    assert verilog.source_digest("sim.verilog", extra="b") != first
