"""Assertions shared by every backend's tests: agreement with the functional model, and bad programs
reported with the right code, instruction and queue."""

import pytest

from hw.regs import FSIM_COUNTERS
from sim import fsim
from sim.result import VTARunError

__all__ = ["assert_agrees_with_fsim", "assert_same_as_amaranth", "expect_error"]


def assert_agrees_with_fsim(prog, res, expected=None):
    """Output bytes and every counter the functional model defines agree with ``fsim.run(prog)``."""
    ref = fsim.run(prog)
    if expected is not None:
        assert ref.out == expected
    assert res.out == ref.out
    for k in FSIM_COUNTERS + ("acc_wr_count",):
        assert res.counters[k] == ref.counters[k], (k, res.counters[k], ref.counters[k])
    assert res.cycles == res.counters["cycle_count"] > 0
    return ref


def assert_same_as_amaranth(prog, run, expected=None, **opts):
    """``run(prog, **opts)`` (a cycle-level backend) gives the ``amaranth`` backend's out bytes, cycles
    and every counter; returns both results."""
    from sim import amaranth_backend
    ref = amaranth_backend.run(prog, **opts)
    res = run(prog, **opts)
    if expected is not None:
        assert ref.out == expected
    assert res.out == ref.out
    assert res.cycles == ref.cycles
    assert res.counters == ref.counters
    return res, ref


def expect_error(run, prog, exp, backend=None):
    """``run(prog)`` stops with the code, instruction index and stall names of ``exp``
    (``tests.support.programs.ExpectedError``), and the functional model reports the same code, index and
    message."""
    with pytest.raises(VTARunError) as info:
        run(prog)
    err = info.value
    assert err.code == exp.code, err.message
    if exp.index is not None:
        assert err.index == exp.index, err.message
    for stall in exp.stalls:
        assert stall in err.message
    with pytest.raises(VTARunError) as ref:
        fsim.run(prog)
    assert ref.value.code == err.code and ref.value.index == err.index
    # Every backend words an illegal instruction, a deadlock and a missing FINISH the same way.
    assert err.message == ref.value.message
    if backend is not None:
        assert err.result is not None and err.result.backend == backend
    return err
