"""Shared pieces of the cocotb tests: simulator requirements and the comparison against fsim.

A test that needs a simulator which is not installed fails in CI (``CI=true``) and is skipped, with
the install command as the reason, on a user's machine.
"""


import pytest

from tests.support.simulators import require   # noqa: F401  (the cocotb tests take it from here)


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
