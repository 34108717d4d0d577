"""VTA-style test programs written instruction by instruction, with expected results from numpy.

In the style of VTA's own hardware tests (vta-reference §11): each function builds a small
:class:`~sw.program.Program` for any :class:`~hw.config.VTAConfig` and returns it with what a correct
backend must produce:

* good programs return ``(program, expected_out_bytes)``, the expected bytes computed here with numpy
  directly from the test data (never by running a model);
* bad programs return ``(program, ExpectedError)``: the error code, the instruction index and fragments
  the one-line message must contain.

Sizes are small by default so that the cycle-level backends (a few thousand cycles per second) can run
them too.  :func:`suite` lists a representative set of good programs for cross-backend tests.

Token protocol used throughout (vta-reference §3): load pushes l2g / pops g2l (its ``*_next`` flags);
compute pops l2g (``pop_prev``) and s2g (``pop_next``), pushes g2l (``push_prev``) and g2s
(``push_next``); store pops g2s (``pop_prev``) and pushes s2g (``push_prev``).
"""

from __future__ import annotations

from hw.config import VTAConfig
from hw.isa import AluOp

from .build import Builder, ExpectedError, alu_ref
from .alu import alu_chain_program, alu_program
from .gemm import blocked_gemm_program, gemm_same_acc_program
from .loads import PAD_COMBINATIONS, padded_load_program
from .tutorial import TUTORIAL_COUNTERS, tutorial_fc_program
from .errors import (DRAM_KINDS, ILLEGAL_KINDS, deadlock_program, dram_out_of_range_program,
                     illegal_program, no_finish_program, queue_full_program, token_full_program)

__all__ = [
    "ExpectedError", "Builder", "alu_ref",
    "alu_program", "alu_chain_program", "blocked_gemm_program", "padded_load_program",
    "gemm_same_acc_program", "tutorial_fc_program", "TUTORIAL_COUNTERS",
    "illegal_program", "ILLEGAL_KINDS", "deadlock_program", "queue_full_program",
    "token_full_program", "no_finish_program", "dram_out_of_range_program", "DRAM_KINDS",
    "suite", "PAD_COMBINATIONS",
]


# -- a suite for cross-backend tests ----------------------------------------------------------------

def suite(cfg: VTAConfig):
    """A representative set of small good programs for ``cfg``: list of (name, Program, expected bytes).

    Sized for the cycle-level backends (each a few thousand cycles or less).
    """
    out = []
    for op in AluOp:
        p, e = alu_program(cfg, op, use_imm=True, compressed=True, rows=1, vector=4)
        out.append((p.meta["name"], p, e))
    p, e = alu_program(cfg, AluOp.ADD, use_imm=False, compressed=False, rows=2, vector=4, wide=True)
    out.append((p.meta["name"] + "_wide", p, e))
    p, e = alu_chain_program(cfg, [(AluOp.ADD, 30000), (AluOp.SHR, 15), (AluOp.SHR, 15)], vector=4)
    out.append(("alu_chain_wrap", p, e))
    for vt in (1, 2):
        p, e = blocked_gemm_program(cfg, m_blocks=1, k_blocks=2, n_blocks=2, tile_n=1, tile_k=1,
                                    virtual_threads=vt)
        out.append((p.meta["name"], p, e))
    p, e = blocked_gemm_program(cfg, m_blocks=2, k_blocks=2, n_blocks=2, tile_n=1, tile_k=2,
                                compressed=False)
    out.append((p.meta["name"], p, e))
    p, e = gemm_same_acc_program(cfg)
    out.append((p.meta["name"], p, e))
    for mem in ("inp", "wgt", "acc"):
        p, e = padded_load_program(cfg, mem, (1, 1, 1, 1), y_size=1, x_size=2)
        out.append((p.meta["name"], p, e))
    p, e = tutorial_fc_program(cfg, in_blocks=2, out_blocks=2, tile_in=1, tile_out=1)
    out.append(("tutorial_fc_small", p, e))
    return out
