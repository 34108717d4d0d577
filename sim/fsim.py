"""The functional model (backend ``fsim``): the golden reference every other backend is compared with.

It executes a :class:`~sw.program.Program` with the semantics of ``docs/semantics.md`` §3, instruction
by instruction, with the data work vectorised in numpy, and with the dispatch and dependency-token model
of the hardware, so that it stops with the same error where the hardware would:

fetch, the command queues and the token queues are :class:`sw.schedule.Scheduler` (the one model of the
protocol, README "Decisions"), which calls back here to execute each instruction between its pops and
its pushes.  A run stops with ``ILLEGAL_INSN`` when fetch reaches an illegal instruction, and with
``NO_FINISH`` or ``DEADLOCK`` (naming each stalled module, what it waits on and the instruction index)
when nothing can move any more.  For a correctly synchronised program the data results do not depend on
the order in which the scheduler steps the modules; for a racy one they are the results of one legal
schedule (fetch first, then load, compute, store, each until it blocks).

:class:`FunctionalModel` keeps its state (token counts, SRAM contents) across runs, as the hardware does
across launches; :meth:`FunctionalModel.reset` clears it.  :func:`run` uses a fresh model.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from hw.config import VTAConfig
from hw.isa import Opcode, MemType, AluOp, decode_insn, layouts, TOKEN_QUEUES, illegal_reason
from hw.regs import ErrorCode, FSIM_COUNTERS, STALL_BITS
from sw.program import LOAD_REGIONS, Program
from sw.check import UOP_BUDGET
from sw.schedule import DEADLOCK, NO_FINISH, Scheduler
from .result import RunResult, VTARunError
from .errors import illegal_message, no_finish_message, deadlock_message

__all__ = ["FunctionalModel", "run", "COUNTER_NAMES"]

#: Counters the functional model reports: VTA fsim's seven and the accumulator-write count.
COUNTER_NAMES = FSIM_COUNTERS + ("acc_wr_count",)

_CHUNK = 8192          # micro-op iterations per vectorised GEMM/ALU step, and STORE elements per step
                       # (bounds temporary memory whatever the sizes)
PROGRESS_SECONDS = 2.0  # a progress line on stderr at most this often (with progress=True)


def _wrap32(v: np.ndarray) -> np.ndarray:
    """int64 values reduced to signed 32 bits (two's complement wrap), as int32."""
    return (((v + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)).astype(np.int32)


def _alu_op(op: int, x: np.ndarray, y) -> np.ndarray:
    """The ALU operation ``op`` on int64 operands; the result is int64 before the 32-bit wrap."""
    if op == AluOp.MIN:
        return np.minimum(x, y)
    if op == AluOp.MAX:
        return np.maximum(x, y)
    if op == AluOp.ADD:
        return x + y
    if op == AluOp.SHR:
        # The amount is the low 5 bits of y read as signed (-16..15); a negative amount shifts left.
        s = ((np.asarray(y, dtype=np.int64) & 31) ^ 16) - 16
        return np.where(s >= 0, x >> np.maximum(s, 0), x << np.maximum(-s, 0))
    if op == AluOp.MUL:
        return x * y
    raise ValueError(f"ALU opcode {op} is not one of MIN, MAX, ADD, SHR, MUL")


class FunctionalModel:
    """The functional model of one VTA core.

    Parameters
    ----------
    cfg : VTAConfig
        The configuration; programs run on this model must have an equal configuration.

    Members
    -------
    tokens : dict[str, int]
        The count of each dependency-token queue (``l2g``, ``g2l``, ``g2s``, ``s2g``); kept across runs.
    inp, wgt, acc, out : numpy.ndarray
        The SRAMs: ``inp`` (depth, batch, block_in) int8, ``wgt`` (depth, block_out, block_in) int8,
        ``acc`` (depth, batch, block_out) int32, ``out`` (acc depth, batch, block_out) int8.
    uop_dst, uop_src, uop_wgt : numpy.ndarray
        The micro-op SRAM, one array per field.
    """

    def __init__(self, cfg: VTAConfig):
        if not isinstance(cfg, VTAConfig):
            raise TypeError(f"cfg must be a VTAConfig, not {cfg!r}")
        self.cfg = cfg
        fmt = layouts(cfg)["uop"]
        self._uop_fields = [(fmt[n].offset, fmt[n].mask) for n in ("dst_idx", "src_idx", "wgt_idx")]
        self.reset()

    def reset(self) -> None:
        """Clear the token queues and the SRAMs, as a hardware reset does (SRAMs read as zero)."""
        cfg = self.cfg
        self.tokens = dict.fromkeys(TOKEN_QUEUES, 0)
        self.inp = np.zeros((cfg.inp_depth, cfg.batch, cfg.block_in), np.int8)
        self.wgt = np.zeros((cfg.wgt_depth, cfg.block_out, cfg.block_in), np.int8)
        self.acc = np.zeros((cfg.acc_depth, cfg.batch, cfg.block_out), np.int32)
        self.out = np.zeros((cfg.out_depth, cfg.batch, cfg.block_out), np.int8)
        self.uop_dst = np.zeros(cfg.uop_depth, np.int64)
        self.uop_src = np.zeros(cfg.uop_depth, np.int64)
        self.uop_wgt = np.zeros(cfg.uop_depth, np.int64)

    # -- running -----------------------------------------------------------------------------------

    def run(self, program: Program, *, max_cycles=None, max_uops=None, progress=False, vcd=None,
            **opts) -> RunResult:
        """Run ``program`` to completion.

        Parameters
        ----------
        program : Program
            The program; its configuration must equal this model's.
        max_cycles : int, optional
            The cycle bound of the cycle-level backends; here it bounds the micro-ops (the core issues
            at most one per cycle, so a run of more micro-ops cannot finish within it).
        max_uops : int, optional
            The micro-op budget (default ``sw.check.UOP_BUDGET``).  A GEMM or ALU instruction that
            would take the run past either bound stops it, before it executes, with ``TIMEOUT``.
        progress : bool
            Print a line on stderr every ``PROGRESS_SECONDS`` or so while the run goes on.
        vcd, **opts
            Options of the cycle-level backends (``mem_latency``, ...): accepted and ignored.

        Returns
        -------
        RunResult
            ``out`` is the whole out region after the run, ``counters`` the seven fsim counters and
            ``acc_wr_count``, ``cycles`` None.  ``extra["tokens"]`` holds the token counts after the run,
            ``extra["stall"]`` the ``hw.regs.STALL_BITS`` mask of a deadlock (0 otherwise).

        Raises
        ------
        VTARunError
            ``ILLEGAL_INSN``, ``DEADLOCK``, ``NO_FINISH``, ``AXI_READ`` or ``AXI_WRITE``, with the
            instruction index, or ``TIMEOUT`` past a bound; its ``result`` holds the state reached.
        ValueError
            If the program's configuration differs from the model's.
        """
        if not isinstance(program, Program):
            raise TypeError(f"program must be a Program, not {type(program).__name__}")
        if program.config != self.cfg:
            raise ValueError(f"program configuration {program.config.name} differs from the model's "
                             f"{self.cfg.name}")
        for name, v in (("max_cycles", max_cycles), ("max_uops", max_uops)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0):
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        t0 = time.perf_counter()
        r = _Run(self, program, max_cycles=max_cycles, max_uops=max_uops, progress=progress)
        try:
            r.execute()
        except VTARunError as e:
            e.result = r.result(time.perf_counter() - t0)
            raise
        return r.result(time.perf_counter() - t0)


class _Run:
    """The state of one run of a program on a :class:`FunctionalModel`."""

    def __init__(self, model: FunctionalModel, program: Program, *, max_cycles=None, max_uops=None,
                 progress=False):
        cfg = model.cfg
        self.m, self.cfg, self.program = model, cfg, program
        self.n_insns = program.n_insns
        self.max_cycles = max_cycles
        self.max_uops = UOP_BUDGET if max_uops is None else max_uops
        self.uops_done = 0           # GEMM / ALU micro-op iterations executed so far
        self.progress = progress
        self.t_start = self.t_shown = time.perf_counter()
        self.counters = {k: 0 for k in COUNTER_NAMES}
        self.stall = 0               # STALL_BITS mask of a deadlock
        # DRAM regions, one buffer each; dram_base is an element index inside its region.
        self.regions = {
            "uop": np.frombuffer(program.uop, "<u4").astype(np.int64),
            "inp": np.frombuffer(program.inp, np.int8).reshape(-1, cfg.batch, cfg.block_in),
            "wgt": np.frombuffer(program.wgt, np.int8).reshape(-1, cfg.block_out, cfg.block_in),
            "acc": np.frombuffer(program.acc, "<i4").astype(np.int32).reshape(-1, cfg.batch,
                                                                             cfg.block_out),
        }
        self.out_region = np.frombuffer(program.region("out"), np.int8).reshape(
            -1, cfg.batch, cfg.block_out).copy()

    def result(self, wall: float) -> RunResult:
        return RunResult(backend="fsim", out=self.out_region.tobytes(), counters=dict(self.counters),
                         cycles=None, instructions=self.n_insns, uops=self.program.n_uops,
                         wall_time=wall, extra={"tokens": dict(self.m.tokens), "stall": self.stall})

    # -- scheduling (sw.schedule) --------------------------------------------------------------------

    def _decode(self, i: int):
        """Fetch reaches instruction ``i``: decode it; an illegal one stops the run here."""
        insn = decode_insn(int.from_bytes(self.program.insns[16 * i:16 * i + 16], "little"), self.cfg)
        why = illegal_reason(insn)
        if why is not None:
            raise VTARunError(ErrorCode.ILLEGAL_INSN, illegal_message(i, why), index=i)
        return insn

    def execute(self) -> None:
        """Run the program through the dispatch and token protocol, executing each instruction.

        When nothing can move any more, raise ``NO_FINISH`` or ``DEADLOCK`` with the hardware's
        ``error_index`` (:meth:`sw.schedule.Scheduler.error_index`); ``result.extra["stall"]`` holds the
        waits as the ``hw.regs.STALL_BITS`` mask.
        """
        sched = Scheduler(self.cfg, self.n_insns, self._decode, self._exec, tokens=self.m.tokens)
        outcome = sched.run()
        if outcome == NO_FINISH:
            raise VTARunError(ErrorCode.NO_FINISH, no_finish_message(self.n_insns),
                              index=sched.error_index())
        if outcome == DEADLOCK:
            waits = sched.waits()
            for w, _ in waits:
                self.stall |= 1 << STALL_BITS[w]
            raise VTARunError(ErrorCode.DEADLOCK, deadlock_message(waits), index=sched.error_index())

    # -- bounds and progress --------------------------------------------------------------------------

    def _charge(self, i: int, insn) -> None:
        """Count the micro-ops GEMM / ALU instruction ``i`` runs; stop with ``TIMEOUT`` before it runs if
        they take the run past the micro-op budget or ``max_cycles``."""
        n = insn.n_uop_iters
        total = self.uops_done + n
        kind = Opcode(insn.opcode).name
        if total > self.max_uops:
            raise VTARunError(ErrorCode.TIMEOUT,
                              f"micro-op budget: instruction {i} ({kind}, {n:,} micro-ops) takes the run "
                              f"to {total:,} micro-ops, past the budget of {self.max_uops:,} (--max-uops)",
                              index=i)
        if self.max_cycles is not None and total > self.max_cycles:
            raise VTARunError(ErrorCode.TIMEOUT,
                              f"no finish within {self.max_cycles} cycles: instruction {i} ({kind}) takes "
                              f"the run to {total:,} micro-ops, and the core issues at most one per cycle",
                              index=i)
        self.uops_done = total

    def _tick(self, i: int, done: int = 0) -> None:
        """A progress line on stderr if ``progress`` and ``PROGRESS_SECONDS`` have passed since the
        last (``done``: micro-ops of the current instruction executed so far)."""
        if not self.progress:
            return
        now = time.perf_counter()
        if now - self.t_shown >= PROGRESS_SECONDS:
            self.t_shown = now
            print(f"fsim: instruction {i} of {self.n_insns}, {self.uops_done - self._pending + done:,} "
                  f"micro-ops, {now - self.t_start:.0f} s", file=sys.stderr, flush=True)

    _pending = 0                     # micro-ops charged for the current instruction, not yet executed

    # -- execution ---------------------------------------------------------------------------------

    def _exec(self, i: int, insn) -> None:
        op = insn.opcode
        if op == Opcode.LOAD:
            self._load(i, insn)
        elif op == Opcode.STORE:
            self._store(i, insn)
        elif op in (Opcode.GEMM, Opcode.ALU):
            self._charge(i, insn)
            self._pending = insn.n_uop_iters
            (self._gemm if op == Opcode.GEMM else self._alu)(i, insn)
            self._pending = 0
        self._tick(i)
        # FINISH: nothing to execute

    def _check_dram(self, i: int, insn, region: str, n_elems: int, write: bool) -> None:
        """Stop with ``AXI_READ`` / ``AXI_WRITE`` if the 2-D access reaches past the region."""
        y, x, d, stride = insn.y_size, insn.x_size, insn.dram_base, insn.x_stride
        if y:
            hi = d + (y - 1) * stride + x - 1
            if hi >= n_elems:
                kind = "STORE writes" if write else f"LOAD {MemType(insn.memory_type).name} reads"
                raise VTARunError(
                    ErrorCode.AXI_WRITE if write else ErrorCode.AXI_READ,
                    f"instruction {i}: {kind} {region} elements {d}..{hi} (dram_base {d}, y_size {y}, "
                    f"x_size {x}, x_stride {stride}) outside the {region} region of {n_elems} elements",
                    index=i)

    def _load(self, i: int, insn) -> None:
        if insn.x_size == 0:          # a "sync": flags only
            return
        cfg, m = self.cfg, self.m
        mt = MemType(insn.memory_type)
        name = LOAD_REGIONS[mt]
        region = self.regions[name]
        if mt == MemType.UOP:        # 1-D: x_size micro-ops; the other size fields are ignored
            x, d = insn.x_size, insn.dram_base
            if d + x > len(region):
                raise VTARunError(
                    ErrorCode.AXI_READ,
                    f"instruction {i}: LOAD UOP reads uop elements {d}..{d + x - 1} (dram_base {d}, "
                    f"x_size {x}) outside the uop region of {len(region)} elements", index=i)
            words = region[d:d + x]
            slots = (insn.sram_base + np.arange(x)) % cfg.uop_depth
            for arr, (off, mask) in zip((m.uop_dst, m.uop_src, m.uop_wgt), m._uop_fields):
                arr[slots] = (words >> off) & mask
            # fsim's definition (vta-reference §8.1): x_size * y_size * 4, though only x_size move
            self.counters["uop_load_nbytes"] += x * insn.y_size * cfg.uop_elem_bytes
            return
        self._check_dram(i, insn, name, len(region), write=False)
        sram = {MemType.INP: m.inp, MemType.WGT: m.wgt, MemType.ACC: m.acc}[mt]
        yp0, yp1, xp0, xp1 = insn.y_pad_0, insn.y_pad_1, insn.x_pad_0, insn.x_pad_1
        y, x = insn.y_size, insn.x_size
        h, w = yp0 + y + yp1, xp0 + x + xp1
        # The footprint's element k goes to slot (sram_base + k) mod depth, in order, so only its last
        # `depth` elements are left in the SRAM: only those are computed (memory bounded by the depth).
        k = np.arange(max(h * w - len(sram), 0), h * w, dtype=np.int64)
        ry, cx = k // w - yp0, k % w - xp0
        inside = (ry >= 0) & (ry < y) & (cx >= 0) & (cx < x)
        block = np.zeros((len(k),) + sram.shape[1:], sram.dtype)
        block[inside] = region[insn.dram_base + ry[inside] * insn.x_stride + cx[inside]]
        sram[(insn.sram_base + k) % len(sram)] = block
        self.counters[f"{name}_load_nbytes"] += x * y * cfg.elem_bytes(name)
        if mt == MemType.ACC:
            self.counters["acc_wr_count"] += h * w

    def _store(self, i: int, insn) -> None:
        if insn.x_size == 0:
            return
        cfg, m = self.cfg, self.m
        y, x, d, stride = insn.y_size, insn.x_size, insn.dram_base, insn.x_stride
        self._check_dram(i, insn, "out", len(self.out_region), write=True)
        step = max(_CHUNK // x, 1)           # rows per step, in order (a later row's write wins)
        for r0 in range(0, y, step):
            r = np.arange(r0, min(r0 + step, y), dtype=np.int64)[:, None]
            c = np.arange(x, dtype=np.int64)[None, :]
            slots = (insn.sram_base + r * x + c) % cfg.out_depth
            self.out_region[(d + r * stride + c).reshape(-1)] = m.out[slots.reshape(-1)]
        self.counters["out_store_nbytes"] += x * y * cfg.out_elem_bytes

    def _chunks(self, i: int, insn):
        """The loop nest (i_out, i_in, k) of a GEMM / ALU in steps of at most ``_CHUNK`` iterations, in
        order: yields ``(done, index)`` where ``index(uop_field, factor_out, factor_in, depth)`` gives
        the step's SRAM indices, wrapped modulo ``depth``."""
        nk = max(insn.uop_end - insn.uop_bgn, 0)
        n = insn.n_uop_iters
        for c in range(0, n, _CHUNK):
            t = np.arange(c, min(c + _CHUNK, n), dtype=np.int64)
            i_out, rest = np.divmod(t, insn.iter_in * nk)
            i_in, kk = np.divmod(rest, nk)
            ks = (insn.uop_bgn + kk) % self.cfg.uop_depth

            def index(field, f_out, f_in, depth, ks=ks, i_out=i_out, i_in=i_in):
                return (field[ks] + i_out * f_out + i_in * f_in) % depth
            yield c, index
            self._tick(i, c + len(t))

    def _gemm(self, i: int, insn) -> None:
        n = insn.n_uop_iters
        if n == 0:
            return
        cfg, m = self.cfg, self.m
        self.counters["acc_wr_count"] += n
        touched = np.zeros(cfg.acc_depth, bool)
        for _, index in self._chunks(i, insn):
            d = index(m.uop_dst, insn.dst_factor_out, insn.dst_factor_in, cfg.acc_depth)
            if insn.reset_reg:       # acc <- 0; the out buffer is not written
                m.acc[d] = 0
                continue
            s = index(m.uop_src, insn.src_factor_out, insn.src_factor_in, cfg.inp_depth)
            w = index(m.uop_wgt, insn.wgt_factor_out, insn.wgt_factor_in, cfg.wgt_depth)
            prod = np.matmul(m.inp[s].astype(np.int32), m.wgt[w].astype(np.int32).transpose(0, 2, 1))
            np.add.at(m.acc, d, prod)      # int32 arithmetic wraps; repeated dst accumulate in order
            touched[d] = True
        if not insn.reset_reg:
            m.out[touched] = m.acc[touched].astype(np.int8)
            self.counters["gemm_counter"] += n

    def _alu(self, i: int, insn) -> None:
        n = insn.n_uop_iters
        self.counters["alu_counter"] += n
        self.counters["acc_wr_count"] += n
        cfg, m = self.cfg, self.m
        op, imm = insn.alu_opcode, np.int64(insn.imm)
        for _, index in self._chunks(i, insn):
            dst = index(m.uop_dst, insn.dst_factor_out, insn.dst_factor_in, cfg.acc_depth)
            src = None if insn.use_imm else index(m.uop_src, insn.src_factor_out, insn.src_factor_in,
                                                  cfg.acc_depth)
            # Earlier steps are already in the SRAM; within a step, vectorised when no iteration
            # reads an acc entry an earlier iteration of the step wrote.
            k = len(dst)
            order = np.arange(k)
            first_write = np.full(cfg.acc_depth, k, np.int64)
            np.minimum.at(first_write, dst, order)
            hazard = len(np.unique(dst)) != k
            if src is not None and not hazard:
                hazard = bool(np.any(first_write[src] < order))
            if not hazard:
                x = m.acc[dst].astype(np.int64)
                y = imm if src is None else m.acc[src].astype(np.int64)
                res = _wrap32(_alu_op(op, x, y))
                m.acc[dst] = res
                m.out[dst] = res.astype(np.int8)
                continue
            for j in range(k):       # sequential: each iteration sees the previous ones' writes
                a = dst[j]
                x = m.acc[a].astype(np.int64)
                y = imm if src is None else m.acc[src[j]].astype(np.int64)
                res = _wrap32(_alu_op(op, x, y))
                m.acc[a] = res
                m.out[a] = res.astype(np.int8)


def run(program: Program, *, max_cycles=None, max_uops=None, progress=False, vcd=None,
        **opts) -> RunResult:
    """Run ``program`` on a fresh functional model (the ``fsim`` backend).

    Parameters
    ----------
    program : Program
    max_cycles, max_uops, progress, vcd, **opts
        As :meth:`FunctionalModel.run`.

    Returns
    -------
    RunResult

    Raises
    ------
    VTARunError
        On an illegal instruction, a deadlock, a missing FINISH, a DRAM access outside its region, or
        past a bound (``TIMEOUT``).
    """
    return FunctionalModel(program.config).run(program, max_cycles=max_cycles, max_uops=max_uops,
                                               progress=progress, vcd=vcd, **opts)
