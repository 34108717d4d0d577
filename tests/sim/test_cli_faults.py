"""``--fault`` and ``--back-pressure`` on the command line: bad specs and fsim refused with one line and
exit status 2, a fault stops an amaranth run with exit status 3 naming the instruction, back-pressure
keeps the result."""

import json

import pytest

from tests.support.cli import one_error_line, save, vta

FC = ["run", "fc", "--batch", "1", "--in-features", "32", "--out-features", "32", "--no-progress"]


@pytest.mark.parametrize("args,fragments", [
    (["--fault", "read:region=wgt:beat=x"], ["--fault 'read:region=wgt:beat=x'", "beat='x'"]),
    (["--fault", "write:region=wgt"], ["--fault 'write:region=wgt'", "region wgt is read"]),
    (["--fault", "read:region=uop", "--fault", "read:region=wgt"], ["a second read fault"]),
    (["--back-pressure", "rate=300"], ["--back-pressure 'rate=300'", "rate"]),
    (["--back-pressure", "sometimes"], ["--back-pressure 'sometimes'"]),
    (["--fault", "read:region=acc"], ["--fault", "region acc is empty"]),
])
def test_bad_specs_are_exit_2(capsys, args, fragments):
    rc, out, err = vta(capsys, *FC, "--backend", "amaranth", *args)
    assert rc == 2
    one_error_line(err, *fragments)


@pytest.mark.parametrize("args", [["--fault", "read:region=wgt"], ["--back-pressure", "on"]])
def test_refused_on_fsim(capsys, args):
    rc, out, err = vta(capsys, *FC, "--backend", "fsim", *args)
    assert rc == 2
    one_error_line(err, args[0], "backend fsim has no memory model")


def test_fault_stops_the_run_with_the_instruction(capsys, tmp_path):
    """A read fault on the first weight burst names the first LOAD WGT (found by disassembling the
    saved program), exit status 3."""
    from sw.program import Program
    from hw.isa import MemType, Opcode
    rc, _, _ = vta(capsys, *FC, "--backend", "fsim", "--save", tmp_path)
    assert rc == 0
    prog = Program.load(tmp_path)
    first = next(i for i, d in enumerate(prog.decoded()) if getattr(d, "opcode", None) == Opcode.LOAD
                 and d.memory_type == MemType.WGT and d.x_size)
    (tmp_path / "p").mkdir()
    rc, out, err = vta(capsys, "exec", *save(prog, tmp_path / "p"), "--backend", "amaranth",
                       "--fault", "read:region=wgt:beat=5:resp=DECERR", "--no-progress",
                       "--out", tmp_path / "out.bin")
    assert rc == 3, err
    one_error_line(err, "memory read error", f"instruction {first}")


def test_back_pressure_keeps_the_result(capsys):
    rc, out, err = vta(capsys, *FC, "--backend", "amaranth", "--json")
    rc2, out2, err2 = vta(capsys, *FC, "--backend", "amaranth", "--json", "--back-pressure", "rate=150:seed=2")
    assert rc == rc2 == 0, err2
    a, b = json.loads(out), json.loads(out2)
    assert a["verified"] and b["verified"]
    assert b["cycles"] > a["cycles"]
