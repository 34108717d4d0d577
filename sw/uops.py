"""Micro-op kernels as TVM's runtime records them, and its micro-op cache (vta-reference §9.4).

A :class:`UopKernel` is at most two loops and a list of micro-ops (``VTAUopLoopBegin``, ``VTAUopPush``,
``VTAUopLoopEnd``); :class:`UopCache` is the runtime's ``UopQueue``: which kernels are resident in uop
SRAM, appended in order and wrapping to 0 (evicting what the new kernel overlaps) when the SRAM is full.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hw.isa import LOOP_ITER_WIDTH
from hw.isa import AluOp, Uop
from sw.stages import StreamError

__all__ = ["MAX_LOOP_EXTENT", "LoopEntry", "UopKernel", "UopCache"]

#: Largest micro-op loop extent a GEMM/ALU instruction can hold (14-bit field, vta-reference §2).
MAX_LOOP_EXTENT = (1 << LOOP_ITER_WIDTH) - 1


@dataclass(frozen=True)
class LoopEntry:
    """One micro-op loop: ``extent`` iterations, index factors of acc (dst), inp/acc (src) and wgt."""
    extent: int
    dst_factor: int
    src_factor: int
    wgt_factor: int = 0


@dataclass
class UopKernel:
    """A micro-op kernel as TVM's runtime records it: at most two loops, then the micro-ops.

    Build it with :meth:`loop_begin` / :meth:`push` / :meth:`loop_end` (``VTAUopLoopBegin``,
    ``VTAUopPush``, ``VTAUopLoopEnd``) or by giving ``loops`` and ``uops`` directly.

    Members
    -------
    mode : str          ``"gemm"`` or ``"alu"``
    reset : bool        GEMM ``reset_reg``
    loops : list[LoopEntry]   loop[0] is the outer loop
    uops : list[Uop]
    alu_opcode, use_imm, imm : ALU fields (all micro-ops of a kernel share them)
    """
    mode: str = "gemm"
    reset: bool = False
    loops: list = field(default_factory=list)
    uops: list = field(default_factory=list)
    alu_opcode: int = AluOp.ADD
    use_imm: bool = False
    imm: int = 0

    def __post_init__(self):
        if self.mode not in ("gemm", "alu"):
            raise StreamError(f"micro-op kernel mode {self.mode!r} is not 'gemm' or 'alu'")
        self.loops = [le if isinstance(le, LoopEntry) else LoopEntry(*le) for le in self.loops]
        if len(self.loops) > 2:
            raise StreamError(f"a micro-op kernel has at most 2 loops, got {len(self.loops)}")
        uops, self.uops = list(self.uops), []
        for u in uops:
            self._append(u if isinstance(u, Uop) else Uop(*u))
        self._open = 0

    # TVM's recording interface
    def loop_begin(self, extent: int, dst_factor: int, src_factor: int, wgt_factor: int = 0) -> None:
        """``VTAUopLoopBegin``: declare a loop (at most two, before any micro-op)."""
        if self.uops:
            raise StreamError("VTAUopLoopBegin after a micro-op: loops come before the micro-ops")
        if len(self.loops) >= 2:
            raise StreamError("a micro-op kernel has at most 2 loops; a third VTAUopLoopBegin")
        self.loops.append(LoopEntry(extent, dst_factor, src_factor, wgt_factor))
        self._open += 1

    @property
    def closed(self) -> bool:
        """Every ``VTAUopLoopBegin`` has had its ``VTAUopLoopEnd``."""
        return self._open == 0

    def loop_end(self) -> None:
        """``VTAUopLoopEnd``."""
        if self._open == 0:
            raise StreamError("VTAUopLoopEnd without a matching VTAUopLoopBegin")
        self._open -= 1

    def push(self, dst: int, src: int, wgt: int = 0) -> None:
        """``VTAUopPush`` of one micro-op (mode, reset and ALU fields are the kernel's)."""
        self._append(Uop(dst, src, wgt))

    def _append(self, u: Uop) -> None:
        # TVM's VerifyDep: no two micro-ops within 2 of each other write the same acc index.
        for prev in self.uops[-2:]:
            if prev.dst_idx == u.dst_idx:
                raise StreamError(f"micro-op {len(self.uops)} writes acc index {u.dst_idx} like one of "
                                  f"the two micro-ops before it (TVM's VerifyDep)")
        self.uops.append(u)

    def key(self) -> tuple:
        """What identifies the kernel in the micro-op cache."""
        return (self.mode, bool(self.reset), tuple(self.loops),
                tuple((u.dst_idx, u.src_idx, u.wgt_idx) for u in self.uops),
                int(self.alu_opcode) if self.mode == "alu" else None,
                bool(self.use_imm) if self.mode == "alu" else None,
                int(self.imm) if self.mode == "alu" else None)

    def loop_fields(self) -> dict[str, int]:
        """Loop fields of the GEMM/ALU instruction (vta-reference §9.4 loop mapping)."""
        loops = list(self.loops)
        if self.mode == "alu" and len(loops) == 1:
            loops = [LoopEntry(1, 0, 0, 0), loops[0]]      # one ALU loop goes to iter_in
        while len(loops) < 2:
            loops.append(LoopEntry(1, 0, 0, 0))
        out, inn = loops
        f = {"iter_out": out.extent, "iter_in": inn.extent,
             "dst_factor_out": out.dst_factor, "dst_factor_in": inn.dst_factor,
             "src_factor_out": out.src_factor, "src_factor_in": inn.src_factor}
        if self.mode == "gemm":
            f.update(wgt_factor_out=out.wgt_factor, wgt_factor_in=inn.wgt_factor)
        return f


class UopCache:
    """TVM's ``UopQueue``: which kernels are resident in uop SRAM, and where.

    A kernel is appended at the end of what is loaded; when it would run past the SRAM's depth the
    cache wraps to 0 and evicts the kernels the new one overlaps (TVM's simple eviction policy).
    """

    def __init__(self, depth: int):
        self.depth = depth
        self.ring: list[list] = []        # [key, begin, end], sorted by begin
        self.where: dict[tuple, tuple[int, int]] = {}
        self.sram_end = 0
        self.idx = 0                      # TVM's cache_idx_: insertion point

    def lookup(self, key: tuple) -> tuple[int, int] | None:
        return self.where.get(key)

    def insert(self, key: tuple, n: int) -> tuple[int, int]:
        """Place a kernel of ``n`` micro-ops; returns its SRAM range [begin, end)."""
        if n > self.depth:
            raise StreamError(f"a micro-op kernel of {n} micro-ops is larger than the uop SRAM "
                              f"({self.depth} micro-ops)")
        if self.sram_end + n > self.depth:
            self.idx, begin, self.sram_end = 0, 0, n
        else:
            begin, self.sram_end = self.sram_end, self.sram_end + n
        evict_begin = self.idx
        while self.idx < len(self.ring) and self.ring[self.idx][1] < self.sram_end:
            self.where.pop(self.ring[self.idx][0], None)
            self.idx += 1
        self.ring[evict_begin:self.idx] = [[key, begin, self.sram_end]]
        self.idx = evict_begin + 1
        self.where[key] = (begin, self.sram_end)
        return begin, self.sram_end
