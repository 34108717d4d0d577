"""Calling the ``vta`` command line in tests: in-process through ``sim.cli.main``, the one-line error
check, and a program saved as ``vta exec`` files."""

import json

from sim import cli

__all__ = ["vta", "one_error_line", "save"]


def vta(capsys, *args):
    args = [str(a) for a in args]
    if args[:1] in (["run"], ["exec"]) and "--backend" not in args and "--help" not in args:
        args += ["--backend", "fsim"]       # the default backend (amaranth) has tests of its own
    rc = cli.main(args)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def one_error_line(err, *fragments):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("vta: error: "), err
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], lines[0]
    return lines[0]


def save(prog, d, config_file=True):
    """Write ``prog`` as vta exec files in ``d``; return the exec arguments."""
    prog.save(d)
    args = ["--insn", d / "insn.bin", "--out-elems", prog.out_elems]
    for key, fname in (("uop", "uop.bin"), ("inp", "inp.bin"), ("wgt", "wgt.bin"), ("acc", "acc.bin"),
                       ("out-init", "out0.bin")):
        if (d / fname).exists():
            args += [f"--{key}", d / fname]
    if config_file:
        cfg = d / "vta_config.json"
        cfg.write_text(json.dumps(prog.config.to_json()))
        args += ["--config", cfg]
    return args
