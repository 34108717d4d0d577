"""Shared pieces of the cocotb tests: simulator requirements and the comparison against fsim.

A test that needs a simulator which is not installed fails in CI (``CI=true``) and is skipped, with
the install command as the reason, on a user's machine.
"""

import os

import pytest

from sim.cocotb_build import SimulatorNotFound, check_simulator


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
