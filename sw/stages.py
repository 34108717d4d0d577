"""TVM runtime's pipeline stages and the static token accounting of an instruction stream
(vta-reference §9.1, §3).

:func:`insn_stage` is the runtime's ``GetPipelineStage`` (which stage an instruction belongs to when a
push is merged into it); :func:`token_balance` counts pushes minus pops per token queue.  Whether a
stream actually runs is :func:`sw.schedule.simulate_tokens`.
"""

from __future__ import annotations

from typing import Iterable

from hw import isa
from hw.isa import Insn, MemInsn, MemType, Opcode, TOKEN_QUEUES, token_effects

__all__ = ["STAGE_NONE", "STAGE_LOAD", "STAGE_COMPUTE", "STAGE_STORE", "STAGE_NAMES", "StreamError",
           "insn_module", "insn_stage", "token_effects", "token_balance", "TOKEN_QUEUES"]

#: Pipeline stages, numbered as TVM's runtime numbers them (``VTADepPush(from, to)`` uses these).
STAGE_NONE, STAGE_LOAD, STAGE_COMPUTE, STAGE_STORE = 0, 1, 2, 3
STAGE_NAMES = {STAGE_LOAD: "load", STAGE_COMPUTE: "compute", STAGE_STORE: "store"}


class StreamError(ValueError):
    """An instruction stream that cannot be built or would not run; the message names the value."""


#: The module fetch dispatches an instruction to (one definition: ``hw.isa.module_of``).
insn_module = isa.module_of


def insn_stage(insn: Insn) -> int:
    """TVM runtime's ``GetPipelineStage``: the stage of an instruction for push merging, with LOADs of
    ``x_size`` 0 (the runtime's no-ops) in :data:`STAGE_NONE` (vta-reference §9.1)."""
    if isinstance(insn, MemInsn):
        if insn.opcode == Opcode.STORE:
            return STAGE_STORE
        if insn.x_size == 0:
            return STAGE_NONE
        if insn.memory_type in (MemType.ACC, MemType.ACC_8BIT, MemType.UOP):
            return STAGE_COMPUTE
        return STAGE_LOAD
    return STAGE_COMPUTE


def token_balance(insns: Iterable[Insn]) -> dict[str, int]:
    """Pushes minus pops of each token queue over a whole stream (a static count)."""
    bal = dict.fromkeys(TOKEN_QUEUES, 0)
    for insn in insns:
        pops, pushes = token_effects(insn)
        for q in pops:
            bal[q] -= 1
        for q in pushes:
            bal[q] += 1
    return bal
