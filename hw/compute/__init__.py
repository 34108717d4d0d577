"""The compute module: the compute control (:mod:`.compute`) around the GEMM core and tensor ALU
(:mod:`.tensor`)."""

from .compute import Compute, COMPUTE_COUNTERS
from .tensor import TensorCore

__all__ = ["Compute", "COMPUTE_COUNTERS", "TensorCore"]
