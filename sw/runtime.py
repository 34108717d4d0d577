"""TVM's VTA runtime, rebuilt (vta-reference §9): the names the compiler and the tests use, from the
modules that hold them.

* :mod:`sw.stream`: :class:`StreamBuilder`, the instruction-stream builder;
* :mod:`sw.uops`: :class:`UopKernel`, :class:`LoopEntry`, :class:`UopCache`, :data:`MAX_LOOP_EXTENT`;
* :mod:`sw.stages`: the pipeline stages, :class:`StreamError`, :func:`insn_stage`, :func:`token_balance`;
* :mod:`sw.schedule`: :func:`simulate_tokens` (the dispatch and token protocol without data).
"""

from sw.schedule import TokenRun, simulate_tokens
from sw.stages import (STAGE_COMPUTE, STAGE_LOAD, STAGE_NONE, STAGE_STORE, TOKEN_QUEUES, StreamError,
                       insn_module, insn_stage, token_balance, token_effects)
from sw.stream import StreamBuilder
from sw.uops import MAX_LOOP_EXTENT, LoopEntry, UopCache, UopKernel

__all__ = [
    "STAGE_NONE", "STAGE_LOAD", "STAGE_COMPUTE", "STAGE_STORE", "TOKEN_QUEUES", "MAX_LOOP_EXTENT",
    "LoopEntry", "UopKernel", "UopCache", "StreamBuilder", "StreamError",
    "insn_module", "insn_stage", "token_effects", "token_balance", "simulate_tokens", "TokenRun",
]
