"""Bad programs: illegal instructions, deadlocks, full queues, no FINISH, DRAM outside its region;
each returned with the :class:`ExpectedError` a backend must report."""

from __future__ import annotations

import numpy as np

from hw.config import VTAConfig
from hw.isa import AluInsn, AluOp, MemType, layouts
from hw.regs import ErrorCode
from .build import Builder, ExpectedError


# -- bad programs ------------------------------------------------------------------------------------

def _tiny_prefix(b: Builder):
    """LOAD UOP + ALU over 1 acc entry: a harmless start for bad programs."""
    b.uop(0, 0, 0)
    b.load_uop(0, 0, 1)
    b.alu(AluOp.ADD, 0, 1, imm=1)


#: Kinds of illegal instruction :func:`illegal_program` builds.
ILLEGAL_KINDS = ("opcode5", "opcode6", "opcode7", "alu_opcode5", "alu_opcode6", "alu_opcode7",
                 "load_out", "load_acc8bit", "load_mem6", "load_mem7")


def illegal_program(cfg: VTAConfig, kind: str = "opcode7"):
    """A program whose instruction 2 is illegal (semantics.md §3), followed by a FINISH.

    Returns
    -------
    (Program, ExpectedError)
    """
    b = Builder(cfg)
    _tiny_prefix(b)
    if kind.startswith("opcode"):
        op = int(kind[-1])
        i = b.add_raw(layouts(cfg)["generic"].encode(opcode=op))
        frag = f"opcode {op}"
    elif kind.startswith("alu_opcode"):
        op = int(kind[-1])
        i = b.add(AluInsn(alu_opcode=op, uop_bgn=0, uop_end=1, iter_out=1, iter_in=1))
        frag = f"alu_opcode {op}"
    else:
        mt = {"load_out": 4, "load_acc8bit": 5, "load_mem6": 6, "load_mem7": 7}[kind]
        i = b.load(mt, 0, 0, 1, 1)
        frag = f"memory_type {mt}"
    b.finish()
    return (b.program(name=f"illegal_{kind}"),
            ExpectedError(ErrorCode.ILLEGAL_INSN, i, fsim_fragments=(f"illegal instruction {i}", frag)))


def deadlock_program(cfg: VTAConfig, kind: str = "compute"):
    """A program whose tokens can never be satisfied.

    ``kind``:
      * ``"compute"``: an ALU pops l2g that no load ever pushes;
      * ``"store"``: a STORE pops g2s that compute never pushes, and the FINISH waits for the store's s2g.

    Returns
    -------
    (Program, ExpectedError)
    """
    b = Builder(cfg)
    b.uop(0, 0, 0)
    b.load_uop(0, 0, 1)
    if kind == "compute":
        i = b.alu(AluOp.ADD, 0, 1, imm=1, pop_prev=True)
        b.finish()
        return b.program(name="deadlock_compute"), ExpectedError(
            ErrorCode.DEADLOCK, i, ("compute pops l2g",),
            (f"deadlock: compute pops l2g at instruction {i}",))
    if kind == "store":
        b.alu(AluOp.ADD, 0, 1, imm=1)
        s = b.store(0, 0, 1, 1, pop_prev=True, push_prev=True)
        f = b.finish(pop_next=True)
        return b.program(out_elems=1, name="deadlock_store"), ExpectedError(
            ErrorCode.DEADLOCK, f, ("compute pops s2g", "store pops g2s"),
            (f"deadlock: compute pops s2g at instruction {f}; store pops g2s at instruction {s}",))
    raise ValueError(f"kind = {kind!r}: 'compute' or 'store'")


def queue_full_program(cfg: VTAConfig, n_stores: int | None = None):
    """``n_stores`` STORE no-ops, the first popping g2s, followed (in program order) by the compute
    no-op that pushes it.  The store module holds the first, its queue takes ``cmd_queue_depth`` more;
    with ``n_stores >= cmd_queue_depth + 2`` fetch blocks on the full store queue before it reaches the
    push, a deadlock; with fewer the program finishes.

    Returns
    -------
    (Program, bytes | ExpectedError)
    """
    depth = cfg.cmd_queue_depth
    n = depth + 2 if n_stores is None else n_stores
    b = Builder(cfg)
    b.nop("store", pop_prev=True)
    for _ in range(n - 1):
        b.nop("store")
    b.nop("compute", push_next=True)
    b.finish()
    prog = b.program(name=f"queue_full_{n}")
    if n >= depth + 2:
        return prog, ExpectedError(
            ErrorCode.DEADLOCK, 0, ("store pops g2s", "fetch waits on full store queue"),
            ("deadlock: store pops g2s at instruction 0; "
             f"fetch waits on full store queue at instruction {depth + 1}",))
    return prog, b""


def token_full_program(cfg: VTAConfig):
    """Compute pushes g2s twice before it pops s2g; store pushes s2g twice before it pops g2s.  With a
    token queue depth of 1 both block on a full token queue (a deadlock); with 2 or more it finishes.

    Returns
    -------
    (Program, bytes | ExpectedError)
    """
    b = Builder(cfg)
    s0 = b.nop("store", push_prev=True)
    s1 = b.nop("store", push_prev=True)
    b.nop("store", pop_prev=True)
    b.nop("store", pop_prev=True)
    b.nop("compute", push_next=True)
    c1 = b.nop("compute", push_next=True)
    b.nop("compute", pop_next=True)
    b.nop("compute", pop_next=True)
    b.finish()
    prog = b.program(name="token_full")
    if cfg.token_queue_depth < 2:
        return prog, ExpectedError(
            ErrorCode.DEADLOCK, c1, ("compute pushes g2s", "store pushes s2g"),
            (f"deadlock: compute pushes g2s at instruction {c1}; store pushes s2g at instruction {s1}",))
    return prog, b""


def no_finish_program(cfg: VTAConfig):
    """Correctly synchronised instructions that run out before a FINISH.

    Returns
    -------
    (Program, ExpectedError)
    """
    b = Builder(cfg)
    _tiny_prefix(b)
    b.nop("compute", push_next=True)
    b.store(0, 0, 1, 1, pop_prev=True)
    prog = b.program(out_elems=1, name="no_finish")
    return prog, ExpectedError(ErrorCode.NO_FINISH, prog.n_insns, fsim_fragments=("no FINISH",))


#: Kinds of DRAM access :func:`dram_out_of_range_program` builds.
DRAM_KINDS = ("inp", "wgt", "acc", "uop", "out")


def dram_out_of_range_program(cfg: VTAConfig, kind: str = "inp"):
    """A LOAD (``kind`` inp / wgt / acc / uop) reading, or a STORE (``kind`` out) writing, one element
    past the end of its DRAM region (4 elements, rows of 2 with stride 3: elements 0..4, 1..5 hit).

    The functional model keeps each region in its own buffer and raises AXI_READ / AXI_WRITE; the
    cycle-level backends place the regions in one memory image (``sim/memimage.py``, 4 KiB-aligned),
    so there the access lands in padding and the run completes (``ExpectedError.fsim_only``).  The
    static checker refuses all of them.

    Returns
    -------
    (Program, ExpectedError)
    """
    B, BI, BO = cfg.batch, cfg.block_in, cfg.block_out
    b = Builder(cfg)
    data = {}
    b.uop(0, 0, 0)
    b.uop(0, 0, 0)
    b.uop(0, 0, 0)
    b.uop(0, 0, 0)
    b.load_uop(0, 0, 1)
    if kind == "uop":
        i = b.load_uop(0, 1, 4)
        code, frag = ErrorCode.AXI_READ, "uop elements 1..4"
    elif kind in ("inp", "wgt", "acc"):
        mt = {"inp": MemType.INP, "wgt": MemType.WGT, "acc": MemType.ACC}[kind]
        shape = {"inp": (B, BI), "wgt": (BO, BI), "acc": (B, BO)}[kind]
        data[kind] = np.ones((4,) + shape, np.int64)
        i = b.load(mt, 0, 0, 2, 2, 3, push_next=kind != "acc")
        code, frag = ErrorCode.AXI_READ, f"{kind} elements 0..4"
    elif kind == "out":
        b.alu(AluOp.ADD, 0, 1, imm=1, push_next=True)
        i = b.store(0, 1, 2, 2, 2, pop_prev=True)
        code, frag = ErrorCode.AXI_WRITE, "out elements 1..4"
    else:
        raise ValueError(f"kind = {kind!r}: one of {DRAM_KINDS}")
    b.finish()
    prog = b.program(out_elems=4, name=f"dram_{kind}", **data)
    return prog, ExpectedError(code, i, fsim_fragments=(f"instruction {i}", frag), fsim_only=True)
