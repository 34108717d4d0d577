"""Differential and mutation fuzzing (issue 11).

* **Differential**: random race-free programs (``tests/support/random_programs.py``) on the functional
  model and on a cycle-level backend: the same out bytes and every counter fsim defines.  The default
  run puts ``FUZZ_PROGRAMS`` programs on the native ``verilator`` backend (tens of milliseconds each) and
  a few of the same seeds on ``cocotb-verilator``, ``icarus`` and ``amaranth`` (seconds each), which must
  also agree with native Verilator on the bytes, every counter of ``hw.regs.COUNTERS`` and the cycle
  count.  ``pytest -m long`` runs ``LONG_PROGRAMS`` further seeds on each of the four.
* **Mutation**: those programs broken (bit flips, truncation, wild sizes): ``vta check`` and
  ``vta exec --no-check --no-progress`` on fsim end in one line and a documented exit status, and native Verilator,
  with a cycle bound, ends in a result or a ``VTARunError``, never another exception or a hang.
* **Coverage**: the default seeds hold every bin of ``tests/support/fuzz_coverage.py`` (every ALU op,
  every token flag, the corner values); the table is printed at the end of the run.

A failure names its seed and the command that replays it: ``VTA_FUZZ_SEED=N`` makes every fuzz test run
only seed N, and ``-m ''`` lifts the default deselection of the long tests, e.g.
``VTA_FUZZ_SEED=123 python -m pytest tests/sim/test_fuzz.py -m '' -k icarus``.  In Python the program is
``tests.support.random_programs.random_program(VTAConfig(), 123)`` (``mutate(that, 123)`` for the
mutation tests).
"""

import os

import pytest

from hw.config import VTAConfig
from hw.regs import COUNTERS
from sim import backends, fsim
from sim.fsim import COUNTER_NAMES
from sim.host import cycle_bound
from sim.result import VTARunError
from tests.support.fuzz_coverage import BINS, coverage, coverage_table
from tests.support.random_programs import mutate, random_program

CFG = VTAConfig()          # the configuration the Verilator tests build (one cached library)

#: Programs of the default run on native Verilator.
FUZZ_PROGRAMS = 100
#: The default run's cross-check: backend -> every how many of the default seeds also run on it.
CROSS_EVERY = {"cocotb-verilator": 50, "icarus": 50, "amaranth": 25}
#: Programs of ``pytest -m long`` on each cycle-level backend (seeds after the default ones).
LONG_PROGRAMS = 1000
#: Mutated programs: on fsim through the command line, and on native Verilator (default / long run).
MUTATIONS_FSIM = 200
MUTATIONS_VERILATOR = 100
LONG_MUTATIONS = 1000
#: The cycle bound of a mutated program on a cycle-level backend.
MUTATION_MAX_CYCLES = 100_000
#: The cycle-level backends of the differential fuzz; ``verilator`` is the reference for cycles.
CYCLE_BACKENDS = ("verilator", "cocotb-verilator", "icarus", "amaranth")


def seeds(first: int, n: int) -> list[int]:
    """The seeds of a fuzz test, or only ``$VTA_FUZZ_SEED`` when it is set."""
    if os.environ.get("VTA_FUZZ_SEED"):
        return [int(os.environ["VTA_FUZZ_SEED"])]
    return list(range(first, first + n))


def replay(seed: int) -> str:
    """The command that runs the failing test again (its node id), and the program's seed."""
    node = os.environ.get("PYTEST_CURRENT_TEST", "tests/sim/test_fuzz.py").rsplit(" (", 1)[0]
    return f"seed {seed}, replay: python -m pytest '{node}' -m ''"


def backend_run(name: str):
    """The run function of cycle-level backend ``name``; fails in CI, skips elsewhere, if its tool is
    missing (the reason is the registry's one line)."""
    try:
        return backends.get_backend(name)
    except backends.BackendUnavailable as e:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{name} is required in CI: {e}")
        pytest.skip(str(e))


def outcome(run, prog, **opts):
    """``("ok", out, counters, cycles)`` or ``("error", code, index)`` of ``run(prog)``."""
    try:
        r = run(prog, **opts)
    except VTARunError as e:
        return ("error", e.code.name, e.index)
    return ("ok", r.out, r.counters, r.cycles)


def fsim_view(o):
    """What fsim and a cycle-level backend must agree on."""
    if o[0] == "error":
        return o
    return ("ok", o[1], {k: o[2][k] for k in COUNTER_NAMES})


def describe(a, b, names) -> str:
    """What differs between outcomes ``a`` and ``b`` (``names``: the counters compared)."""
    if a[0] != b[0] or a[0] == "error":
        return f"{a} vs {b}"
    parts = []
    if a[1] != b[1]:
        bad = [i for i, (x, y) in enumerate(zip(a[1], b[1])) if x != y]
        parts.append(f"out bytes differ (length {len(a[1])} vs {len(b[1])}, first at byte "
                     f"{bad[0] if bad else min(len(a[1]), len(b[1]))}, {len(bad)} bytes)")
    diff = {k: (a[2][k], b[2][k]) for k in names if a[2][k] != b[2][k]}
    if diff:
        parts.append(f"counters differ {diff}")
    return "; ".join(parts)


_native_cache: dict[int, tuple] = {}


def on_native(prog):
    seed = prog.meta["seed"]
    if seed not in _native_cache:
        _native_cache[seed] = outcome(backend_run("verilator"), prog)
    return _native_cache[seed]


def differential(seed: int, backend: str) -> None:
    """Seed ``seed`` on fsim and on ``backend``: the same bytes and fsim's counters; on a backend but
    native Verilator also the same bytes, every counter and the same cycles as native Verilator."""
    run = backend_run(backend)
    prog = random_program(CFG, seed)
    ref = outcome(fsim.run, prog)
    assert ref[0] == "ok", f"seed {seed}: a race-free program stopped on fsim: {ref}; {replay(seed)}"
    got = on_native(prog) if backend == "verilator" else outcome(run, prog)
    assert fsim_view(got) == fsim_view(ref), \
        f"seed {seed}: fsim and {backend} differ: {describe(ref, got, COUNTER_NAMES)}; {replay(seed)}"
    if backend != "verilator":
        ver = on_native(prog)
        assert got[:3] == ver[:3], (f"seed {seed}: native verilator and {backend} differ: "
                                    f"{describe(ver, got, COUNTERS)}; {replay(seed)}")
        assert got[3] == ver[3], \
            f"seed {seed}: cycles differ: verilator {ver[3]}, {backend} {got[3]}; {replay(seed)}"


@pytest.mark.parametrize("seed", seeds(0, FUZZ_PROGRAMS))
def test_fuzz_verilator(seed):
    differential(seed, "verilator")


@pytest.mark.parametrize("backend,seed", [(b, s) for b, every in CROSS_EVERY.items()
                                          for s in seeds(0, FUZZ_PROGRAMS)[::every]])
def test_fuzz_cross_check(backend, seed):
    differential(seed, backend)


@pytest.mark.long
@pytest.mark.parametrize("seed", seeds(FUZZ_PROGRAMS, LONG_PROGRAMS))
@pytest.mark.parametrize("backend", CYCLE_BACKENDS)
def test_fuzz_long(backend, seed):
    differential(seed, backend)


# -- mutation ----------------------------------------------------------------------------------------

def _cli(capsys, *args):
    from sim import cli
    rc = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("seed", seeds(0, MUTATIONS_FSIM))
def test_mutation_fsim_cli(capsys, tmp_path, seed):
    prog, what = mutate(random_program(CFG, seed), seed)
    again = replay(seed)
    prog.save(tmp_path)
    files = ["--insn", tmp_path / "insn.bin", "--out-elems", prog.out_elems]
    for name in ("uop", "inp", "wgt", "acc"):
        if getattr(prog, name):
            files += [f"--{name}", tmp_path / f"{name}.bin"]
    if prog.out_init:
        files += ["--out-init", tmp_path / "out0.bin"]
    rc, _, err = _cli(capsys, "check", *files)
    assert rc in (0, 2), f"seed {seed}: {what}: {err}; {again}"
    assert (rc == 0) == (err == "") and "Traceback" not in err, f"seed {seed}: {what}: {err}; {again}"
    if rc:
        assert len(err.splitlines()) == 1 and err.startswith("vta: error: "), f"{err}; {again}"
    rc, _, err = _cli(capsys, "exec", *files, "--out", tmp_path / "o.bin", "--backend", "fsim",
                      "--no-check", "--no-progress", "--max-uops", 200_000)
    assert rc in (0, 3, 4), f"seed {seed}: {what}: exit {rc}: {err}; {again}"
    if rc:
        assert len(err.splitlines()) == 1 and err.startswith("vta: error: fsim: "), f"{err}; {again}"
        assert not (tmp_path / "o.bin").exists(), again


def mutation_bounded(seed: int) -> None:
    """Mutated seed ``seed`` on native Verilator under a cycle bound: a result within the bound or a
    ``VTARunError`` with a one-line message and the partial result, nothing else."""
    run = backend_run("verilator")
    prog, what = mutate(random_program(CFG, seed), seed)
    bound = min(cycle_bound(prog), MUTATION_MAX_CYCLES)
    try:
        res = run(prog, max_cycles=bound)
    except VTARunError as e:
        assert e.message and "\n" not in e.message, f"seed {seed}: {what}: {e.message!r}; {replay(seed)}"
        assert e.result is not None, f"seed {seed}: {what}: no result; {replay(seed)}"
    else:
        assert res.cycles <= bound, f"seed {seed}: {what}: {res.cycles} > {bound}; {replay(seed)}"


@pytest.mark.parametrize("seed", seeds(0, MUTATIONS_VERILATOR))
def test_mutation_verilator_bounded(seed):
    mutation_bounded(seed)


@pytest.mark.long
@pytest.mark.parametrize("seed", seeds(MUTATIONS_VERILATOR, LONG_MUTATIONS))
def test_mutation_long_verilator_bounded(seed):
    mutation_bounded(seed)


# -- coverage ----------------------------------------------------------------------------------------

def test_default_fuzz_covers_every_bin():
    """Every ALU op (with an immediate and with an acc operand), every token flag of every module and
    every corner value of ``BINS`` is in the default fuzz's programs."""
    counts = coverage(random_program(CFG, s) for s in range(FUZZ_PROGRAMS))
    missed = [name for _, name in BINS if not counts[name]]
    assert not missed, coverage_table(counts, FUZZ_PROGRAMS)
