"""sim/memsettings.py: the table of the memory model's run-time ports, validation of the settings, and
the --fault / --back-pressure specs."""

import pytest

from hw.config import VTAConfig
from sim.axi_mem import AxiMemory
from sim.memimage import MemImage
from sim.memsettings import (PORTS, BackPressure, Fault, MemSettings, parse_back_pressure, parse_fault,
                             region_range)
from sim.simtop import SimTop


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_every_port_is_on_the_memory_and_the_top_with_its_width_and_reset_value():
    mem = AxiMemory(64, 4096)
    top = SimTop(VTAConfig(), 1 << 16, read_latency=5, write_latency=3)
    for name, width, init in PORTS:
        for owner in (mem, top):
            sig = getattr(owner, name)
            assert len(sig) == width, name
        want = {"mem_read_latency": (8, 5), "mem_write_latency": (4, 3)}.get(name, (init, init))
        assert (mem.signature.members[name].init, top.signature.members[name].init) == want, name


def test_port_values_cover_the_table_and_follow_the_settings():
    assert MemSettings().port_values() == {n: v for n, _, v in PORTS}
    s = MemSettings(7, 9, read_fault=Fault("DECERR", beat=3, nth=2, addr_lo=16, addr_hi=99),
                    back_pressure=BackPressure(rate=10, seed=4, channels=("r", "b")))
    v = s.port_values()
    assert set(v) == {n for n, _, _ in PORTS}
    assert (v["mem_read_latency"], v["mem_write_latency"]) == (7, 9)
    assert (v["fault_rd_en"], v["fault_rd_beat"], v["fault_rd_nth"], v["fault_rd_lo"], v["fault_rd_hi"],
            v["fault_rd_resp"]) == (1, 3, 2, 16, 99, 3)
    assert v["fault_wr_en"] == 0
    assert (v["bp_rate"], v["bp_seed"], v["bp_channels"]) == (10, 4, 0b10010)
    assert s.without_faults().port_values()["fault_rd_en"] == 0
    for name, width, _ in PORTS:
        assert 0 <= v[name] < 1 << width


@pytest.mark.parametrize("kwargs,fragment", [
    ({"read_latency": 1}, "read_latency"), ({"write_latency": 0}, "write_latency"),
    ({"read_latency": 1 << 31}, "read_latency"), ({"read_latency": True}, "read_latency"),
    ({"read_fault": "x"}, "read_fault")])
def test_settings_refused_with_the_field(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        MemSettings(**kwargs)


@pytest.mark.parametrize("spec,fragment", [
    ("peek:region=wgt", "read or write"), ("read:region=out", "region out is write"),
    ("read:region=nope", "unknown region"), ("read:beat=256", "beat"), ("read:beat=x", "beat='x'"),
    ("read:resp=OKAY", "resp"), ("read:addr=9-3", "addr_hi"), ("read:addr=9", "LO-HI"),
    ("read:beat=1:beat=2", "at most once"), ("read:region=wgt:addr=0-1", "not both")])
def test_bad_fault_specs_name_the_spec(spec, fragment):
    with pytest.raises(ValueError) as info:
        parse_fault(spec)
    assert str(info.value).startswith(f"fault {spec!r}: ") and fragment in str(info.value)


def test_fault_specs():
    assert parse_fault("write:addr=0x10-0x1f:burst=2:beat=0:resp=decerr") == (
        "write", Fault("DECERR", beat=0, nth=2, addr_lo=16, addr_hi=31))
    kind, f = parse_fault("read:region=wgt")
    assert (kind, f.region, f.beat, f.resp) == ("read", "wgt", 1, "SLVERR")
    from tests.support.programs import suite
    prog = next(p for _, p, _ in suite(VTAConfig()) if p.wgt)
    layout = MemImage.place(prog)
    lo, hi = region_range(layout, "wgt")
    assert lo == layout.bases["wgt_base"] and hi == layout.bases["acc_base"] - 1
    assert f.resolve(layout) == Fault("SLVERR", 1, 0, lo, hi)
    assert parse_fault("read:region=wgt", layout)[1] == f.resolve(layout)
    empty = MemImage.place(next(p for _, p, _ in suite(VTAConfig()) if not p.wgt))
    with pytest.raises(ValueError, match="region wgt is empty"):
        f.resolve(empty)


@pytest.mark.parametrize("spec,fragment", [
    ("rate=256", "rate"), ("rate=-1", "rate"), ("seed=x", "seed='x'"), ("channels=ar,q", "channels"),
    ("fast", "not one of")])
def test_bad_back_pressure_specs_name_the_spec(spec, fragment):
    with pytest.raises(ValueError) as info:
        parse_back_pressure(spec)
    assert str(info.value).startswith(f"back-pressure {spec!r}: ") and fragment in str(info.value)


def test_back_pressure_specs():
    assert parse_back_pressure("off") is None
    assert parse_back_pressure("on") == BackPressure()
    assert parse_back_pressure("rate=5:seed=0x10:channels=w") == BackPressure(5, 16, ("w",))
