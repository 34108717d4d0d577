"""Shared pieces of the cocotb tests: simulator requirements and the comparison against fsim.

A test that needs a simulator which is not installed fails in CI (``CI=true``) and is skipped, with
the install command as the reason, on a user's machine.
"""

import os

import pytest

from hw.regs import FSIM_COUNTERS
from sim import fsim
from sim.cocotb_backend import SimulatorNotFound, check_simulator


def require(simulator: str) -> None:
    try:
        check_simulator(simulator)
    except SimulatorNotFound as e:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{simulator} is required in CI: {e}")
        pytest.skip(f"{simulator} not available: {e}")


@pytest.fixture
def icarus():
    require("icarus")
    return "icarus"


@pytest.fixture
def verilator():
    require("verilator")
    return "verilator"


@pytest.fixture(params=["icarus", "verilator"])
def simulator(request):
    require(request.param)
    return request.param


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
