"""``vta run WORKLOAD``: compile a workload for random data, run it on a backend, check it against numpy.

Each workload is a module with ``register(subparsers)``, listed in :data:`WORKLOADS`.
"""

from __future__ import annotations

from . import fc, mlp

__all__ = ["WORKLOADS", "register"]

#: The workload modules of ``vta run``; adding one is one line here.
WORKLOADS = [fc, mlp]


def register(subparsers) -> None:
    """Add ``vta run`` and its workloads."""
    p_run = subparsers.add_parser("run", help="compile and run a workload on random data, check it against numpy",
                                  description="Compile a workload for random int8 data, run it on a backend "
                                              "and check the result against numpy.")
    workloads = p_run.add_subparsers(dest="workload", metavar="WORKLOAD", required=True)
    for module in WORKLOADS:
        module.register(workloads)
