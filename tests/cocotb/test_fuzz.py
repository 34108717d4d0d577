"""Differential and mutation fuzzing (issue 11).

* **Differential**: random race-free programs (``tests/support/random_programs.py``) on the functional
  model and on Verilator: the same outcome (out bytes and every counter fsim defines, or the same error
  code and instruction); on a subset also on Amaranth's simulator, which must agree with Verilator on the
  bytes, every counter of ``hw.regs.COUNTERS`` and the cycle count.  ``FUZZ_PROGRAMS`` programs by
  default, ``pytest -m long`` for ``LONG_PROGRAMS`` more.
* **Mutation**: those programs broken (bit flips, truncation, wild sizes): ``vta check`` and
  ``vta exec --no-check`` on fsim end in one line and a documented exit status, and the cycle-level
  backend, with a cycle bound, ends in a result or a ``VTARunError``, never another exception or a hang.
* **Coverage**: the default seeds hold every bin of ``tests/support/fuzz_coverage.py`` (every ALU op,
  every token flag, the corner values); the table is printed at the end of the run.

Replay one seed: ``VTA_FUZZ_SEED=N python -m pytest tests/cocotb/test_fuzz.py`` (every fuzz test then runs
only seed N).
"""

import os

import pytest

from hw.config import VTAConfig
from hw.regs import COUNTERS
from sim import amaranth_backend, cocotb_backend, fsim
from sim.fsim import COUNTER_NAMES
from sim.host import cycle_bound
from sim.result import VTARunError
from tests.support.fuzz_coverage import BINS, coverage, coverage_table
from tests.support.random_programs import mutate, random_program

CFG = VTAConfig()          # the configuration the Verilator tests build (one cached model)

#: Programs of the default run on Verilator; the first of every AMARANTH_EVERY also on Amaranth.
FUZZ_PROGRAMS = 100
AMARANTH_EVERY = 10
#: Programs of ``pytest -m long`` (seeds after the default ones).
LONG_PROGRAMS = 1000
#: Mutated programs of the default run: on fsim through the command line, and on Verilator.
MUTATIONS_FSIM = 200
MUTATIONS_VERILATOR = 20
#: The cycle bound of a mutated program on a cycle-level backend.
MUTATION_MAX_CYCLES = 100_000


def seeds(first: int, n: int) -> list[int]:
    """The seeds of a fuzz test, or only ``$VTA_FUZZ_SEED`` when it is set."""
    if os.environ.get("VTA_FUZZ_SEED"):
        return [int(os.environ["VTA_FUZZ_SEED"])]
    return list(range(first, first + n))


def replay(seed: int) -> str:
    return f"replay: VTA_FUZZ_SEED={seed} python -m pytest tests/cocotb/test_fuzz.py"


def outcome(run, prog):
    """``("ok", out, counters, cycles)`` or ``("error", code, index)`` of ``run(prog)``."""
    try:
        r = run(prog)
    except VTARunError as e:
        return ("error", e.code.name, e.index)
    return ("ok", r.out, r.counters, r.cycles)


def fsim_view(o):
    """What fsim and a cycle-level backend must agree on."""
    if o[0] == "error":
        return o
    return ("ok", o[1], {k: o[2][k] for k in COUNTER_NAMES})


_verilator_cache: dict[int, tuple] = {}


def on_verilator(prog):
    seed = prog.meta["seed"]
    if seed not in _verilator_cache:
        _verilator_cache[seed] = outcome(cocotb_backend.run_verilator, prog)
    return _verilator_cache[seed]


def differential(seed, amaranth: bool):
    prog = random_program(CFG, seed)
    ref = outcome(fsim.run, prog)
    assert ref[0] == "ok", f"a race-free program stopped on fsim: {ref}; {replay(seed)}"
    ver = on_verilator(prog)
    assert fsim_view(ver) == fsim_view(ref), f"fsim and verilator differ; {replay(seed)}"
    if amaranth:
        ama = outcome(amaranth_backend.run, prog)
        assert ama[1] == ver[1], f"amaranth and verilator out bytes differ; {replay(seed)}"
        diff = {k: (ama[2][k], ver[2][k]) for k in COUNTERS if ama[2][k] != ver[2][k]}
        assert not diff, f"amaranth vs verilator counters differ {diff}; {replay(seed)}"
        assert ama[3] == ver[3], f"cycles differ: amaranth {ama[3]}, verilator {ver[3]}; {replay(seed)}"


@pytest.mark.parametrize("seed", seeds(0, FUZZ_PROGRAMS))
def test_fuzz_fsim_vs_verilator(verilator, seed):
    differential(seed, amaranth=False)


@pytest.mark.parametrize("seed", seeds(0, FUZZ_PROGRAMS)[::AMARANTH_EVERY])
def test_fuzz_amaranth_vs_verilator_cycles(verilator, seed):
    differential(seed, amaranth=True)


@pytest.mark.long
@pytest.mark.parametrize("seed", seeds(FUZZ_PROGRAMS, LONG_PROGRAMS))
def test_fuzz_long_fsim_vs_verilator(verilator, seed):
    differential(seed, amaranth=False)


@pytest.mark.long
@pytest.mark.parametrize("seed", seeds(FUZZ_PROGRAMS, 30))
def test_fuzz_long_amaranth_vs_verilator(verilator, seed):
    differential(seed, amaranth=True)


# -- mutation ----------------------------------------------------------------------------------------

def _cli(capsys, *args):
    from sim import cli
    rc = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("seed", seeds(0, MUTATIONS_FSIM))
def test_mutation_fsim_cli(capsys, tmp_path, seed):
    prog, what = mutate(random_program(CFG, seed), seed)
    prog.save(tmp_path)
    files = ["--insn", tmp_path / "insn.bin", "--out-elems", prog.out_elems]
    for name in ("uop", "inp", "wgt", "acc"):
        if getattr(prog, name):
            files += [f"--{name}", tmp_path / f"{name}.bin"]
    if prog.out_init:
        files += ["--out-init", tmp_path / "out0.bin"]
    rc, _, err = _cli(capsys, "check", *files)
    assert rc in (0, 2), f"{what}: {err}; {replay(seed)}"
    assert (rc == 0) == (err == "") and "Traceback" not in err
    if rc:
        assert len(err.splitlines()) == 1 and err.startswith("vta: error: "), err
    rc, _, err = _cli(capsys, "exec", *files, "--out", tmp_path / "o.bin", "--backend", "fsim",
                      "--no-check", "--max-uops", 200_000)
    assert rc in (0, 3, 4), f"{what}: exit {rc}: {err}; {replay(seed)}"
    if rc:
        assert len(err.splitlines()) == 1 and err.startswith("vta: error: fsim: "), err
        assert not (tmp_path / "o.bin").exists()


@pytest.mark.parametrize("seed", seeds(0, MUTATIONS_VERILATOR))
def test_mutation_verilator_bounded(verilator, seed):
    prog, what = mutate(random_program(CFG, seed), seed)
    bound = min(cycle_bound(prog), MUTATION_MAX_CYCLES)
    try:
        res = cocotb_backend.run_verilator(prog, max_cycles=bound)
    except VTARunError as e:
        assert e.message and "\n" not in e.message, (what, e.message)
        assert e.result is not None, what
    else:
        assert res.cycles <= bound


# -- coverage ----------------------------------------------------------------------------------------

def test_default_fuzz_covers_every_bin():
    """Every ALU op (with an immediate and with an acc operand), every token flag of every module and
    every corner value of ``BINS`` is in the default fuzz's programs."""
    counts = coverage(random_program(CFG, s) for s in range(FUZZ_PROGRAMS))
    missed = [name for _, name in BINS if not counts[name]]
    assert not missed, coverage_table(counts, FUZZ_PROGRAMS)
