"""A VTA instruction-stream builder with the behaviour of TVM's VTA runtime (vta-reference §9).

:class:`StreamBuilder` replays what TVM's ``vta/runtime/runtime.cc`` does when a lowered program calls
``VTALoadBuffer2D``, ``VTAStoreBuffer2D``, ``VTAPushGEMMOp``/``VTAPushALUOp`` (with ``VTAUopLoopBegin``,
``VTAUopPush``, ``VTAUopLoopEnd``), ``VTADepPush``/``VTADepPop`` and ``VTASynchronize``:

* every new instruction takes the pending pops of its stage; a pop that is already pending is first
  committed as a no-op; a push is merged into the previous instruction when it belongs to the pushing
  stage and the flag is still clear, otherwise a no-op carries it (§9.3);
* micro-op kernels live in a cache in uop SRAM: a resident kernel is not loaded again, a new one is
  appended (wrapping to 0 and evicting what it overlaps when the SRAM is full) and one LOAD UOP of the
  pending micro-ops precedes the GEMM/ALU that uses it (§9.4).

One deliberate difference from TVM: :meth:`StreamBuilder.finish` leaves **no token in any queue**.  It
counts the tokens of the four queues statically and, around TVM's synchronisation sequence, emits the
no-ops that pop whatever would be left (TVM leaves one s2g token per run, §9.5), then the FINISH.

Also different, and invisible to the hardware: kernels are cached by content (TVM keys them by call
site), and the uop DRAM region is the log of every kernel load in order (TVM copies the cache list at
sync time), so a kernel evicted and loaded again simply appears twice.

The micro-op kernels and their cache are :mod:`sw.uops`; stages and token counts :mod:`sw.stages`.
"""

from __future__ import annotations

import numpy as np

from hw import isa
from hw.config import VTAConfig
from hw.isa import AluInsn, FinishInsn, GemmInsn, Insn, MemInsn, MemType, Opcode, Uop
from sw.program import LOAD_REGIONS, Program
from sw.stages import (STAGE_COMPUTE, STAGE_LOAD, STAGE_NAMES, STAGE_STORE, StreamError, insn_stage,
                       token_balance)
from sw.uops import MAX_LOOP_EXTENT, UopCache, UopKernel

__all__ = ["StreamBuilder"]


class StreamBuilder:
    """Build a VTA program the way TVM's runtime builds its instruction stream.

    Parameters
    ----------
    cfg : VTAConfig
        The configuration; every size, depth and field width comes from it.

    Members
    -------
    insns : list[Insn]     instructions so far (encoded by :meth:`program`)
    uops : list[Uop]       the uop DRAM region: every kernel load, in order
    finished : bool        :meth:`finish` was called

    Stage numbers for :meth:`dep_push` / :meth:`dep_pop` are TVM's: 1 load, 2 compute, 3 store
    (:data:`STAGE_LOAD`, :data:`STAGE_COMPUTE`, :data:`STAGE_STORE`).

    Every instruction is range-checked when it is made (field widths by ``encode(check=True)``, SRAM
    indices against the buffer depths), so a stream that this builder returns never leaves an SRAM.
    """

    def __init__(self, cfg: VTAConfig | None = None):
        self.cfg = cfg or VTAConfig()
        self.insns: list[Insn] = []
        self.uops: list[Uop] = []
        self._words: list[int] = []          # encoded self.insns (flags kept up to date)
        self.finished = False
        self._pending_prev = [False] * 4
        self._pending_next = [False] * 4
        self._cache = UopCache(self.cfg.uop_depth)
        self._recording: UopKernel | None = None

    # -- instruction creation ------------------------------------------------------------------------

    def _check_open(self):
        if self.finished:
            raise StreamError("the stream is finished: no instruction can follow the FINISH")

    def _add(self, insn: Insn) -> Insn:
        word = insn.encode(self.cfg, check=True)    # field widths; raises ValueError naming the field
        self.insns.append(insn)
        self._words.append(word)
        return insn

    def _create(self, stage: int, insn: Insn) -> Insn:
        """TVM's ``Create``: the new instruction takes its stage's pending pops."""
        self._check_open()
        insn.pop_prev_dep = self._pending_prev[stage]
        insn.pop_next_dep = self._pending_next[stage]
        insn.push_prev_dep = insn.push_next_dep = False
        self._add(insn)
        self._pending_prev[stage] = self._pending_next[stage] = False
        return insn

    def _noop(self, stage: int, push_prev=False, push_next=False, pop_prev=False, pop_next=False):
        """TVM's ``PushNoop``: STORE (memory type 0) for the store stage, otherwise LOAD INP (load) or
        LOAD UOP (compute), all sizes 0."""
        self._check_open()
        insn = MemInsn(opcode=Opcode.STORE if stage == STAGE_STORE else Opcode.LOAD,
                       memory_type=MemType.INP if stage == STAGE_LOAD else MemType.UOP,
                       pop_prev_dep=pop_prev, pop_next_dep=pop_next,
                       push_prev_dep=push_prev, push_next_dep=push_next)
        return self._add(insn)

    @staticmethod
    def _check_stage(name: str, stage: int):
        if stage not in STAGE_NAMES:
            raise StreamError(f"{name} = {stage} is not a pipeline stage (1 load, 2 compute, 3 store)")

    # -- dependencies (vta-reference §9.3) ---------------------------------------------------------------

    def dep_pop(self, from_stage: int, to_stage: int) -> None:
        """``VTADepPop(from, to)``: stage ``to`` will wait for a token from ``from``."""
        self._check_stage("from_stage", from_stage)
        self._check_stage("to_stage", to_stage)
        if abs(from_stage - to_stage) != 1:
            raise StreamError(f"no token queue from stage {from_stage} to stage {to_stage}")
        pending = self._pending_prev if from_stage < to_stage else self._pending_next
        if pending[to_stage]:
            self.commit_pending_pop(to_stage)
        pending[to_stage] = True

    def dep_push(self, from_stage: int, to_stage: int) -> None:
        """``VTADepPush(from, to)``: stage ``from`` sends a token to ``to`` after its last instruction."""
        self._check_stage("from_stage", from_stage)
        self._check_stage("to_stage", to_stage)
        if abs(from_stage - to_stage) != 1:
            raise StreamError(f"no token queue from stage {from_stage} to stage {to_stage}")
        self.commit_pending_pop(from_stage)
        flag = "push_next_dep" if from_stage < to_stage else "push_prev_dep"
        if self.insns and not isinstance(self.insns[-1], FinishInsn):
            last = self.insns[-1]
            if insn_stage(last) == from_stage and not getattr(last, flag):
                setattr(last, flag, True)
                self._words[-1] = last.encode(self.cfg, check=False)
                return
        self._noop(from_stage, **{flag.replace("_dep", ""): True})

    def commit_pending_pop(self, stage: int) -> None:
        """``CommitPendingPop``: emit a no-op carrying the pending pops of ``stage``, if any."""
        self._check_stage("stage", stage)
        if self._pending_prev[stage] or self._pending_next[stage]:
            self._noop(stage, pop_prev=self._pending_prev[stage], pop_next=self._pending_next[stage])
            self._pending_prev[stage] = self._pending_next[stage] = False

    def pending_pops(self) -> dict[str, bool]:
        """Pops recorded but not yet attached to an instruction, by token queue."""
        return {"g2l": self._pending_next[STAGE_LOAD], "l2g": self._pending_prev[STAGE_COMPUTE],
                "s2g": self._pending_next[STAGE_COMPUTE], "g2s": self._pending_prev[STAGE_STORE]}

    # -- loads and stores (vta-reference §9.2) ---------------------------------------------------------

    def load_2d(self, dram_offset: int, x_size: int, y_size: int, x_stride: int,
                x_pad_before: int, y_pad_before: int, x_pad_after: int, y_pad_after: int,
                sram_index: int, memory_type: int) -> MemInsn:
        """``VTALoadBuffer2D``: load ``y_size`` rows of ``x_size`` elements, ``x_stride`` apart, from
        element ``dram_offset`` of the region of ``memory_type`` into SRAM from ``sram_index``, with zero
        padding around.  INP and WGT go to the load stage, ACC and UOP to compute."""
        memory_type = MemType(memory_type)
        if memory_type not in LOAD_REGIONS:
            raise StreamError(f"memory_type = {memory_type.name} cannot be loaded (UOP, WGT, INP, ACC)")
        for name, v in (("dram_offset", dram_offset), ("x_size", x_size), ("y_size", y_size),
                        ("x_stride", x_stride), ("x_pad_before", x_pad_before),
                        ("y_pad_before", y_pad_before), ("x_pad_after", x_pad_after),
                        ("y_pad_after", y_pad_after), ("sram_index", sram_index)):
            if v < 0:
                raise StreamError(f"load_2d {name} = {v} is negative")
        if x_size and x_stride < x_size and y_size > 1:
            raise StreamError(f"load_2d x_stride = {x_stride} is smaller than x_size = {x_size}")
        mem = LOAD_REGIONS[memory_type]
        width = x_pad_before + x_size + x_pad_after
        footprint = (y_pad_before + y_size + y_pad_after) * width if memory_type != MemType.UOP \
            else x_size
        if x_size and sram_index + footprint > self.cfg.depth(mem):
            raise StreamError(f"load_2d into {mem} SRAM [{sram_index}, {sram_index + footprint}) runs "
                              f"past its depth {self.cfg.depth(mem)}")
        stage = STAGE_LOAD if memory_type in (MemType.INP, MemType.WGT) else STAGE_COMPUTE
        insn = MemInsn(opcode=Opcode.LOAD, memory_type=memory_type, sram_base=sram_index,
                       dram_base=dram_offset, y_size=y_size, x_size=x_size, x_stride=x_stride,
                       y_pad_0=y_pad_before, y_pad_1=y_pad_after, x_pad_0=x_pad_before,
                       x_pad_1=x_pad_after)
        return self._create(stage, insn)

    def store_2d(self, sram_index: int, memory_type: int, dram_offset: int, x_size: int, y_size: int,
                 x_stride: int) -> MemInsn:
        """``VTAStoreBuffer2D``: store ``y_size`` rows of ``x_size`` out elements (consecutive in SRAM
        from ``sram_index``) to element ``dram_offset`` of the out region, rows ``x_stride`` apart."""
        for name, v in (("sram_index", sram_index), ("dram_offset", dram_offset), ("x_size", x_size),
                        ("y_size", y_size), ("x_stride", x_stride)):
            if v < 0:
                raise StreamError(f"store_2d {name} = {v} is negative")
        if x_size and x_stride < x_size and y_size > 1:
            raise StreamError(f"store_2d x_stride = {x_stride} is smaller than x_size = {x_size}")
        if x_size and sram_index + x_size * y_size > self.cfg.out_depth:
            raise StreamError(f"store_2d from out SRAM [{sram_index}, {sram_index + x_size * y_size}) "
                              f"runs past its depth {self.cfg.out_depth}")
        insn = MemInsn(opcode=Opcode.STORE, memory_type=memory_type, sram_base=sram_index,
                       dram_base=dram_offset, y_size=y_size, x_size=x_size, x_stride=x_stride)
        return self._create(STAGE_STORE, insn)

    # -- micro-op kernels (vta-reference §9.4) ----------------------------------------------------------

    def uop_loop_begin(self, extent: int, dst_factor: int, src_factor: int, wgt_factor: int = 0):
        """``VTAUopLoopBegin`` inside a kernel being recorded (started implicitly)."""
        if self._recording is None:
            self._recording = UopKernel()
        self._recording.loop_begin(extent, dst_factor, src_factor, wgt_factor)

    def uop_push(self, mode: int, reset: int, dst: int, src: int, wgt: int = 0, alu_opcode: int = 0,
                 use_imm: int = 0, imm: int = 0):
        """``VTAUopPush(mode, reset_out, dst, src, wgt, opcode, use_imm, imm)``; mode 0 GEMM, 1 ALU.
        All micro-ops of a kernel must agree on mode, reset and the ALU fields."""
        k = self._recording
        if k is None:
            k = self._recording = UopKernel()
        kmode = "gemm" if mode == 0 else "alu" if mode == 1 else None
        if kmode is None:
            raise StreamError(f"VTAUopPush mode = {mode} is not 0 (GEMM) or 1 (ALU)")
        fields = (kmode, bool(reset), int(alu_opcode), bool(use_imm), int(imm))
        if not k.uops:
            k.mode, k.reset, k.alu_opcode, k.use_imm, k.imm = fields
        elif fields[:2] != (k.mode, k.reset) or (kmode == "alu" and fields[2:] != (
                int(k.alu_opcode), bool(k.use_imm), int(k.imm))):
            raise StreamError(f"VTAUopPush {fields} disagrees with the kernel's earlier micro-ops "
                              f"{(k.mode, k.reset, int(k.alu_opcode), k.use_imm, k.imm)}")
        k.push(dst, src, wgt)

    def uop_loop_end(self):
        """``VTAUopLoopEnd``."""
        if self._recording is None:
            raise StreamError("VTAUopLoopEnd outside a kernel")
        self._recording.loop_end()

    def push_gemm_op(self) -> GemmInsn:
        """``VTAPushGEMMOp`` of the kernel recorded since the last push."""
        k, self._recording = self._recording, None
        if k is None or k.mode != "gemm":
            raise StreamError("push_gemm_op: no GEMM kernel has been recorded")
        return self.gemm(k)

    def push_alu_op(self) -> AluInsn:
        """``VTAPushALUOp`` of the kernel recorded since the last push."""
        k, self._recording = self._recording, None
        if k is None or k.mode != "alu":
            raise StreamError("push_alu_op: no ALU kernel has been recorded")
        return self.alu(k)

    def gemm(self, kernel: UopKernel) -> GemmInsn:
        """Emit a GEMM running ``kernel`` (loading its micro-ops first unless resident)."""
        if kernel.mode != "gemm":
            raise StreamError(f"gemm() of a kernel in mode {kernel.mode!r}")
        bgn, end = self._stage_kernel(kernel)
        insn = GemmInsn(reset_reg=bool(kernel.reset), uop_bgn=bgn, uop_end=end, **kernel.loop_fields())
        return self._create(STAGE_COMPUTE, insn)

    def alu(self, kernel: UopKernel) -> AluInsn:
        """Emit an ALU instruction running ``kernel`` (loading its micro-ops first unless resident)."""
        if kernel.mode != "alu":
            raise StreamError(f"alu() of a kernel in mode {kernel.mode!r}")
        bgn, end = self._stage_kernel(kernel)
        insn = AluInsn(reset_reg=bool(kernel.reset), uop_bgn=bgn, uop_end=end,
                       alu_opcode=int(kernel.alu_opcode), use_imm=bool(kernel.use_imm),
                       imm=int(kernel.imm), **kernel.loop_fields())
        return self._create(STAGE_COMPUTE, insn)

    def _check_kernel(self, k: UopKernel) -> None:
        cfg = self.cfg
        if not k.uops:
            raise StreamError("a micro-op kernel needs at least one micro-op")
        lf = k.loop_fields()
        for name in ("iter_out", "iter_in"):
            if not 1 <= lf[name] <= MAX_LOOP_EXTENT:
                raise StreamError(f"micro-op loop {name} = {lf[name]} is outside 1..{MAX_LOOP_EXTENT}")
        span = lambda f: (lf["iter_out"] - 1) * lf[f + "_factor_out"] + (lf["iter_in"] - 1) * lf[
            f + "_factor_in"]
        src_mem = "inp" if k.mode == "gemm" else "acc"
        checks = [("dst", "acc", max(u.dst_idx for u in k.uops) + span("dst")),
                  ("src", src_mem, max(u.src_idx for u in k.uops) + span("src"))]
        if k.mode == "gemm":
            checks.append(("wgt", "wgt", max(u.wgt_idx for u in k.uops) + span("wgt")))
        for what, mem, top in checks:
            if top >= cfg.depth(mem):
                raise StreamError(f"{k.mode} kernel reaches {mem} index {top} ({what}) but the {mem} "
                                  f"SRAM has depth {cfg.depth(mem)}")
        for u in k.uops:
            u.encode(cfg, check=True)

    def _stage_kernel(self, k: UopKernel) -> tuple[int, int]:
        """Make ``k`` resident, emitting its LOAD UOP if it was not (``UopQueue::Push`` +
        ``FlushUopLoad``); returns its SRAM range."""
        self._check_open()
        if not k.closed:
            raise StreamError("a micro-op kernel has a VTAUopLoopBegin without VTAUopLoopEnd")
        key = k.key()
        where = self._cache.lookup(key)
        if where is not None:
            return where
        self._check_kernel(k)
        bgn, end = self._cache.insert(key, len(k.uops))
        dram = len(self.uops)
        self.uops.extend(Uop(u.dst_idx, u.src_idx, u.wgt_idx) for u in k.uops)
        n = end - bgn
        self._create(STAGE_COMPUTE, MemInsn(opcode=Opcode.LOAD, memory_type=MemType.UOP, sram_base=bgn,
                                            dram_base=dram, y_size=1, x_size=n, x_stride=n))
        return bgn, end

    def preload(self, kernels) -> bool:
        """Make every kernel of ``kernels`` resident with **one** LOAD UOP, ahead of the instructions
        that use them (an extension: TVM's runtime loads each kernel before its first use).

        Kernels already resident and repeats are skipped.  Returns False, loading nothing, when the new
        kernels do not fit together after what the uop SRAM already holds; the later GEMM/ALU calls
        then load them one by one as usual."""
        self._check_open()
        new: dict[tuple, UopKernel] = {}
        for k in kernels:
            if not k.closed:
                raise StreamError("a micro-op kernel has a VTAUopLoopBegin without VTAUopLoopEnd")
            key = k.key()
            if key not in new and self._cache.lookup(key) is None:
                new[key] = k
        total = sum(len(k.uops) for k in new.values())
        if not new:
            return True
        if self._cache.sram_end + total > self.cfg.uop_depth:
            return False
        for k in new.values():
            self._check_kernel(k)
        dram, bgn = len(self.uops), self._cache.sram_end
        for key, k in new.items():
            self._cache.insert(key, len(k.uops))
            self.uops.extend(Uop(u.dst_idx, u.src_idx, u.wgt_idx) for u in k.uops)
        self._create(STAGE_COMPUTE, MemInsn(opcode=Opcode.LOAD, memory_type=MemType.UOP, sram_base=bgn,
                                            dram_base=dram, y_size=1, x_size=total, x_stride=total))
        return True

    # -- the end -------------------------------------------------------------------------------------

    def finish(self) -> list[Insn]:
        """End the stream: TVM's ``VTASynchronize`` sequence, plus the no-ops that pop every token still
        in a queue, then FINISH (with no flags).  Returns the instructions.

        Tokens that load or store must pop (g2l, g2s) are popped *before* the synchronisation, so the
        FINISH still waits for them; tokens compute pops (l2g, s2g) are popped after it.

        Raises
        ------
        StreamError
            If some queue is popped more often than it is pushed (the stream would deadlock).
        """
        self._check_open()
        if self._recording is not None and self._recording.uops:
            raise StreamError("finish() with a recorded micro-op kernel that was never pushed")
        bal = self._balance_with_pending()
        bad = {q: n for q, n in bal.items() if n < 0}
        if bad:
            raise StreamError(f"the stream pops more tokens than it pushes ({bad}): it would deadlock")
        for _ in range(bal["g2l"]):
            self.dep_pop(STAGE_COMPUTE, STAGE_LOAD)
        for _ in range(bal["g2s"]):
            self.dep_pop(STAGE_COMPUTE, STAGE_STORE)
        # VTASynchronize (non-force-serial path): FINISH waits for the last store and the last load.
        self.dep_push(STAGE_STORE, STAGE_COMPUTE)
        self.dep_push(STAGE_LOAD, STAGE_COMPUTE)
        self.dep_pop(STAGE_STORE, STAGE_COMPUTE)
        self.dep_pop(STAGE_LOAD, STAGE_COMPUTE)
        self.commit_pending_pop(STAGE_COMPUTE)
        # What is left is for compute to pop.
        bal = token_balance(self.insns)
        while bal["l2g"] > 0 or bal["s2g"] > 0:
            if bal["l2g"] > 0:
                self.dep_pop(STAGE_LOAD, STAGE_COMPUTE)
                bal["l2g"] -= 1
            if bal["s2g"] > 0:
                self.dep_pop(STAGE_STORE, STAGE_COMPUTE)
                bal["s2g"] -= 1
            self.commit_pending_pop(STAGE_COMPUTE)
        self._add(FinishInsn())
        self.finished = True
        left = token_balance(self.insns)
        assert not any(left.values()), f"tokens left at the end: {left}"
        return self.insns

    def _balance_with_pending(self) -> dict[str, int]:
        bal = token_balance(self.insns)
        for q, pending in self.pending_pops().items():
            bal[q] -= int(pending)
        return bal

    # -- the program ---------------------------------------------------------------------------------

    def encoded_insns(self) -> bytes:
        """The instructions in VTA's binary format (16 little-endian bytes each)."""
        assert len(self._words) == len(self.insns), "instructions were added behind the builder's back"
        return b"".join(w.to_bytes(16, "little") for w in self._words)

    def program(self, *, inp: bytes | np.ndarray = b"", wgt: bytes | np.ndarray = b"",
                acc: bytes | np.ndarray = b"", out_init: bytes | np.ndarray = b"", out_elems: int = 0,
                meta: dict | None = None) -> Program:
        """The finished stream as a :class:`Program` with the given data regions (bytes or numpy
        arrays, taken as their raw bytes) and the uop region the builder made.

        Raises
        ------
        StreamError
            If the stream is not finished, or a LOAD or STORE reaches outside its DRAM region.
        """
        if not self.finished:
            raise StreamError("program() before finish(): the stream has no FINISH")
        blobs = {k: (v.tobytes() if isinstance(v, np.ndarray) else bytes(v))
                 for k, v in (("inp", inp), ("wgt", wgt), ("acc", acc), ("out_init", out_init))}
        uop = isa.encode_uops(self.uops, self.cfg)
        prog = Program(config=self.cfg, insns=self.encoded_insns(), uop=uop, out_elems=out_elems,
                       meta=dict(meta or {}), **blobs)
        self._check_dram(prog)
        return prog

    def _check_dram(self, prog: Program) -> None:
        cfg = self.cfg
        sizes = {name: len(prog.region(name)) // cfg.elem_bytes(name)
                 for name in ("uop", "inp", "wgt", "acc", "out")}
        for i, insn in enumerate(self.insns):
            if not isinstance(insn, MemInsn) or insn.x_size == 0:
                continue
            if insn.opcode == Opcode.STORE:
                mem = "out"
            else:
                mem = LOAD_REGIONS[MemType(insn.memory_type)]
            rows = 1 if mem == "uop" else insn.y_size
            top = insn.dram_base + (rows - 1) * insn.x_stride + insn.x_size if rows else 0
            if top > sizes[mem]:
                raise StreamError(f"instruction {i} ({insn}) reaches {mem} element {top - 1} but the "
                                  f"{mem} region has {sizes[mem]} elements")
