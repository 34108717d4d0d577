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

import time

import numpy as np

from hw.config import VTAConfig
from hw.isa import Opcode, MemType, AluOp, decode_insn, layouts, TOKEN_QUEUES, illegal_reason
from hw.regs import ErrorCode, FSIM_COUNTERS, STALL_BITS
from sw.program import LOAD_REGIONS, Program
from sw.schedule import DEADLOCK, NO_FINISH, Scheduler
from .result import RunResult, VTARunError
from .errors import illegal_message, no_finish_message, deadlock_message

__all__ = ["FunctionalModel", "run", "COUNTER_NAMES"]

#: Counters the functional model reports: VTA fsim's seven and the accumulator-write count.
COUNTER_NAMES = FSIM_COUNTERS + ("acc_wr_count",)

_CHUNK = 8192          # micro-op iterations per vectorised GEMM step (bounds temporary memory)


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

    def run(self, program: Program, *, max_cycles=None, progress=False, vcd=None, **opts) -> RunResult:
        """Run ``program`` to completion.

        Parameters
        ----------
        program : Program
            The program; its configuration must equal this model's.
        max_cycles, progress, vcd, **opts
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
            instruction index; its ``result`` holds the state reached.
        ValueError
            If the program's configuration differs from the model's.
        """
        if not isinstance(program, Program):
            raise TypeError(f"program must be a Program, not {type(program).__name__}")
        if program.config != self.cfg:
            raise ValueError(f"program configuration {program.config.name} differs from the model's "
                             f"{self.cfg.name}")
        t0 = time.perf_counter()
        r = _Run(self, program)
        try:
            r.execute()
        except VTARunError as e:
            e.result = r.result(time.perf_counter() - t0)
            raise
        return r.result(time.perf_counter() - t0)


class _Run:
    """The state of one run of a program on a :class:`FunctionalModel`."""

    def __init__(self, model: FunctionalModel, program: Program):
        cfg = model.cfg
        self.m, self.cfg, self.program = model, cfg, program
        self.n_insns = program.n_insns
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

    # -- execution ---------------------------------------------------------------------------------

    def _exec(self, i: int, insn) -> None:
        op = insn.opcode
        if op == Opcode.LOAD:
            self._load(i, insn)
        elif op == Opcode.STORE:
            self._store(i, insn)
        elif op == Opcode.GEMM:
            self._gemm(insn)
        elif op == Opcode.ALU:
            self._alu(insn)
        # FINISH: nothing to execute

    def _dram_rows(self, i: int, insn, region: str, n_elems: int, write: bool) -> np.ndarray:
        """DRAM element indices (y_size, x_size) of a 2-D access, checked against the region."""
        y, x, d, stride = insn.y_size, insn.x_size, insn.dram_base, insn.x_stride
        idx = d + np.arange(y, dtype=np.int64)[:, None] * stride + np.arange(x, dtype=np.int64)[None, :]
        if y:
            hi = d + (y - 1) * stride + x - 1
            if hi >= n_elems:
                kind = "STORE writes" if write else f"LOAD {MemType(insn.memory_type).name} reads"
                raise VTARunError(
                    ErrorCode.AXI_WRITE if write else ErrorCode.AXI_READ,
                    f"instruction {i}: {kind} {region} elements {d}..{hi} (dram_base {d}, y_size {y}, "
                    f"x_size {x}, x_stride {stride}) outside the {region} region of {n_elems} elements",
                    index=i)
        return idx

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
        rows = self._dram_rows(i, insn, name, len(region), write=False)
        sram = {MemType.INP: m.inp, MemType.WGT: m.wgt, MemType.ACC: m.acc}[mt]
        yp0, yp1, xp0, xp1 = insn.y_pad_0, insn.y_pad_1, insn.x_pad_0, insn.x_pad_1
        y, x = insn.y_size, insn.x_size
        h, w = yp0 + y + yp1, xp0 + x + xp1
        block = np.zeros((h, w) + sram.shape[1:], sram.dtype)
        block[yp0:yp0 + y, xp0:xp0 + x] = region[rows]
        slots = (insn.sram_base + np.arange(h * w)) % len(sram)
        sram[slots] = block.reshape((h * w,) + sram.shape[1:])
        self.counters[f"{name}_load_nbytes"] += x * y * cfg.elem_bytes(name)
        if mt == MemType.ACC:
            self.counters["acc_wr_count"] += h * w

    def _store(self, i: int, insn) -> None:
        if insn.x_size == 0:
            return
        cfg, m = self.cfg, self.m
        y, x = insn.y_size, insn.x_size
        rows = self._dram_rows(i, insn, "out", len(self.out_region), write=True)
        slots = (insn.sram_base + np.arange(y * x)) % cfg.out_depth
        self.out_region[rows.reshape(-1)] = m.out[slots]
        self.counters["out_store_nbytes"] += x * y * cfg.out_elem_bytes

    def _indices(self, insn, uop_field: np.ndarray, f_out: int, f_in: int, depth: int) -> np.ndarray:
        """Flattened SRAM indices of the loop nest (i_out, i_in, k), wrapped modulo ``depth``."""
        ks = np.arange(insn.uop_bgn, insn.uop_end) % self.cfg.uop_depth
        idx = (uop_field[ks][None, None, :]
               + np.arange(insn.iter_out, dtype=np.int64)[:, None, None] * f_out
               + np.arange(insn.iter_in, dtype=np.int64)[None, :, None] * f_in)
        return (idx % depth).reshape(-1)

    def _gemm(self, insn) -> None:
        n = insn.n_uop_iters
        if n == 0:
            return
        cfg, m = self.cfg, self.m
        dst = self._indices(insn, m.uop_dst, insn.dst_factor_out, insn.dst_factor_in, cfg.acc_depth)
        self.counters["acc_wr_count"] += n
        if insn.reset_reg:           # acc <- 0; the out buffer is not written
            m.acc[dst] = 0
            return
        src = self._indices(insn, m.uop_src, insn.src_factor_out, insn.src_factor_in, cfg.inp_depth)
        wgt = self._indices(insn, m.uop_wgt, insn.wgt_factor_out, insn.wgt_factor_in, cfg.wgt_depth)
        for c in range(0, n, _CHUNK):
            d, s, w = dst[c:c + _CHUNK], src[c:c + _CHUNK], wgt[c:c + _CHUNK]
            prod = np.matmul(m.inp[s].astype(np.int32), m.wgt[w].astype(np.int32).transpose(0, 2, 1))
            np.add.at(m.acc, d, prod)      # int32 arithmetic wraps; repeated dst accumulate in order
        touched = np.unique(dst)
        m.out[touched] = m.acc[touched].astype(np.int8)
        self.counters["gemm_counter"] += n

    def _alu(self, insn) -> None:
        n = insn.n_uop_iters
        self.counters["alu_counter"] += n
        self.counters["acc_wr_count"] += n
        if n == 0:
            return
        cfg, m = self.cfg, self.m
        dst = self._indices(insn, m.uop_dst, insn.dst_factor_out, insn.dst_factor_in, cfg.acc_depth)
        src = None if insn.use_imm else self._indices(
            insn, m.uop_src, insn.src_factor_out, insn.src_factor_in, cfg.acc_depth)
        op, imm = insn.alu_opcode, np.int64(insn.imm)
        # Vectorised when no iteration reads an acc entry an earlier iteration of this instruction wrote.
        order = np.arange(n)
        first_write = np.full(cfg.acc_depth, n, np.int64)
        np.minimum.at(first_write, dst, order)
        hazard = len(np.unique(dst)) != n
        if src is not None and not hazard:
            hazard = bool(np.any(first_write[src] < order))
        if not hazard:
            x = m.acc[dst].astype(np.int64)
            y = imm if src is None else m.acc[src].astype(np.int64)
            res = _wrap32(_alu_op(op, x, y))
            m.acc[dst] = res
            m.out[dst] = res.astype(np.int8)
            return
        for k in range(n):           # sequential: each iteration sees the previous ones' writes
            a = dst[k]
            x = m.acc[a].astype(np.int64)
            y = imm if src is None else m.acc[src[k]].astype(np.int64)
            res = _wrap32(_alu_op(op, x, y))
            m.acc[a] = res
            m.out[a] = res.astype(np.int8)


def run(program: Program, *, max_cycles=None, progress=False, vcd=None, **opts) -> RunResult:
    """Run ``program`` on a fresh functional model (the ``fsim`` backend).

    Parameters
    ----------
    program : Program
    max_cycles, progress, vcd, **opts
        Options of the cycle-level backends; accepted and ignored.

    Returns
    -------
    RunResult

    Raises
    ------
    VTARunError
        On an illegal instruction, a deadlock, a missing FINISH or a DRAM access outside its region.
    """
    return FunctionalModel(program.config).run(program, max_cycles=max_cycles, progress=progress,
                                               vcd=vcd, **opts)
