"""The compute module: the GEMM core and tensor ALU (:mod:`.tensor`), and the compute control."""

from .tensor import TensorCore

__all__ = ["TensorCore"]
