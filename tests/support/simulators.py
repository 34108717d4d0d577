"""What a test needs of an external simulator: it fails in CI (``CI=true``) when the simulator is missing,
and is skipped with the install command as the reason on a user's machine."""

import os

import pytest

from sim.cocotb_build import SimulatorNotFound, check_simulator

__all__ = ["require"]


def require(simulator: str) -> None:
    """Fail (CI) or skip (elsewhere) unless ``simulator`` (``"icarus"`` or ``"verilator"``) is there."""
    try:
        check_simulator(simulator)
    except SimulatorNotFound as e:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{simulator} is required in CI: {e}")
        pytest.skip(f"{simulator} not available: {e}")
