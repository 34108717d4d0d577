"""Calling the ``vta`` command line in tests: in-process through ``sim.cli.main``, the one-line error
check, a program saved as ``vta exec`` files, and the check that a saved directory reproduces its result."""

import json

import numpy as np

from sim import cli

__all__ = ["vta", "one_error_line", "save", "exec_reproduces"]


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


def exec_reproduces(capsys, d, o, *exec_args):
    """``vta exec d --out o`` (with ``exec_args``) on a directory saved by ``vta run ... --save d``
    writes the saved out.bin again, and ``vta unpack d o`` prints the saved expected.npy."""
    rc, _, err = vta(capsys, "exec", d, "--out", o, *exec_args)
    assert rc == 0, err
    assert o.read_bytes() == (d / "out.bin").read_bytes()
    rc, out, err = vta(capsys, "unpack", d, o)
    assert rc == 0, err
    expected = np.load(d / "expected.npy")
    np.testing.assert_array_equal(np.loadtxt(out.splitlines(), dtype=np.int64).reshape(expected.shape),
                                  expected)
