"""The control port's register map, the performance counters and the error codes: one table each.

The AXI4-Lite register block (``hw/control.py``), the simulator backends (``sim/``) and the documentation
read these tables; nothing else spells an offset, a counter name or an error code.

The first ten registers keep the layout of VTA's Chisel control block (VCR) so its drivers work.
Counters are 64 bits wide, as two 32-bit registers (low word first); ``cycle_count`` and ``acc_wr_count``
also appear as 32-bit registers at VCR offsets 0x04 and 0x24 (their low words).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Reg", "REGS", "REG_BY_NAME", "COUNTERS", "Counter", "COUNTER_TABLE", "COUNTER_BY_NAME",
           "FSIM_COUNTERS", "COUNTER_BASE", "counter_offset",
           "ErrorCode", "STALL_BITS", "UNIT_INDEX_REGS", "CONTROL_LAUNCH", "CONTROL_FINISHED",
           "STATUS_RUNNING", "STATUS_DONE", "STATUS_ERROR", "COUNTER_INC_WIDTH", "ERROR_WIDTH",
           "STALL_WIDTH"]


@dataclass(frozen=True)
class Reg:
    name: str
    offset: int
    access: str          # "rw" (host writes, core reads) or "ro"
    doc: str


#: Bits of the control register (0x00).
CONTROL_LAUNCH = 1 << 0      # host writes 1 to launch; reads 1 while running
CONTROL_FINISHED = 1 << 1    # set by the core when the run ends (done or error); cleared by a launch

#: Bits of the status register (0x28).
STATUS_RUNNING = 1 << 0
STATUS_DONE = 1 << 1         # FINISH retired and the load and store queues drained
STATUS_ERROR = 1 << 2        # the run stopped on an error; see error_code and error_index


REGS: tuple[Reg, ...] = (
    Reg("control",      0x00, "rw", "bit 0 launch (write 1 to start a run), bit 1 finished"),
    Reg("cycle_count",  0x04, "ro", "cycles from launch to finish (low 32 bits of counter cycle_count)"),
    Reg("insn_count",   0x08, "rw", "number of instructions to fetch"),
    Reg("insn_base",    0x0C, "rw", "byte address of the first instruction"),
    Reg("uop_base",     0x10, "rw", "byte address of the micro-op region (LOAD UOP dram_base 0)"),
    Reg("inp_base",     0x14, "rw", "byte address of the input region"),
    Reg("wgt_base",     0x18, "rw", "byte address of the weight region"),
    Reg("acc_base",     0x1C, "rw", "byte address of the accumulator region"),
    Reg("out_base",     0x20, "rw", "byte address of the output region"),
    Reg("acc_wr_count", 0x24, "ro", "accumulator element writes (low 32 bits of counter acc_wr_count)"),
    Reg("status",       0x28, "ro", "bit 0 running, bit 1 done, bit 2 error"),
    Reg("error_code",   0x2C, "ro", "why the run stopped on an error (ErrorCode); 0 if none"),
    Reg("error_index",  0x30, "ro", "index of the instruction the error names"),
    Reg("stall",        0x34, "ro", "at an error: what each module was waiting on (STALL_BITS)"),
    Reg("config_id",    0x38, "ro", "the configuration: LOG_BATCH in bits 3:0, LOG_BLOCK 7:4, LOG_BUS_WIDTH 11:8, "
                                    "LOG_UOP/INP/WGT/ACC_BUFF_SIZE in 16:12, 21:17, 26:22, 31:27"),
    Reg("load_index",   0x3C, "ro", "at an error: the load module's current instruction (the oldest unfinished one: loads overlap)"),
    Reg("compute_index", 0x40, "ro", "at an error: the compute module's current instruction"),
    Reg("store_index",  0x44, "ro", "at an error: the store module's current instruction"),
    Reg("fetch_index",  0x48, "ro", "at an error: the next instruction fetch dispatches"),
)

#: The units whose current instruction index the registers above hold, in register order.
UNIT_INDEX_REGS = ("load_index", "compute_index", "store_index", "fetch_index")

REG_BY_NAME = {r.name: r for r in REGS}

#: The seven counters of VTA's functional simulator, with its definitions (semantics.md §5).
FSIM_COUNTERS: tuple[str, ...] = (
    "inp_load_nbytes", "wgt_load_nbytes", "acc_load_nbytes", "uop_load_nbytes",
    "out_store_nbytes", "gemm_counter", "alu_counter",
)


@dataclass(frozen=True)
class Counter:
    """One 64-bit performance counter: its register ``offset`` (low word; the high word follows at +4),
    the ``unit`` it counts, a one-line meaning, and ``per_cycle``: at most one per cycle, so the report
    shows it as a share of ``cycle_count``."""
    name: str
    offset: int
    unit: str
    doc: str
    per_cycle: bool = False


COUNTER_BASE = 0x100

#: Every hardware counter, in register order (each 8 bytes from ``COUNTER_BASE``), with its unit and
#: meaning: the one definition of the counters.  The functional model computes the first eight
#: (``FSIM_COUNTERS`` and ``acc_wr_count``); ``cycle_count`` and the rest only cycle-level backends.
COUNTER_TABLE: tuple[Counter, ...] = tuple(
    Counter(name, COUNTER_BASE + 8 * i, unit, doc, per_cycle) for i, (name, unit, per_cycle, doc) in enumerate((
        ("inp_load_nbytes",  "bytes", False, "bytes of INP loaded: x_size*y_size*elem bytes per LOAD (padding not counted)"),
        ("wgt_load_nbytes",  "bytes", False, "bytes of WGT loaded, likewise"),
        ("acc_load_nbytes",  "bytes", False, "bytes of ACC loaded, likewise"),
        ("uop_load_nbytes",  "bytes", False, "bytes of micro-ops loaded, likewise"),
        ("out_store_nbytes", "bytes", False, "bytes stored: x_size*y_size*out elem bytes per STORE"),
        ("gemm_counter",     "micro-ops", False, "micro-op iterations of non-reset GEMMs: iter_out*iter_in*(uop_end-uop_bgn)"),
        ("alu_counter",      "micro-ops", False, "micro-op iterations of ALU instructions, likewise"),
        ("acc_wr_count",     "writes", False, "accumulator element writes (GEMM incl. reset, ALU, LOAD ACC incl. padding)"),
        ("cycle_count",      "cycles", False, "cycles from launch to finish"),
        ("fetch_busy",       "cycles", True, "cycles fetch has instructions left to fetch or dispatch"),
        ("load_busy",        "cycles", True, "cycles the load module executes an instruction (token waits excluded)"),
        ("compute_busy",     "cycles", True, "cycles the compute module executes an instruction (token waits excluded)"),
        ("store_busy",       "cycles", True, "cycles the store module executes an instruction (token waits excluded)"),
        ("overlap_load_compute",  "cycles", True, "cycles load and compute are both busy"),
        ("overlap_compute_store", "cycles", True, "cycles compute and store are both busy"),
        ("overlap_all",      "cycles", True, "cycles load, compute and store are all busy"),
        ("load_wait_g2l",    "cycles", True, "cycles load waits to pop a g2l token"),
        ("load_wait_l2g",    "cycles", True, "cycles load waits to push an l2g token (queue full)"),
        ("compute_wait_l2g", "cycles", True, "cycles compute waits to pop an l2g token"),
        ("compute_wait_s2g", "cycles", True, "cycles compute waits to pop an s2g token"),
        ("compute_wait_g2l", "cycles", True, "cycles compute waits to push a g2l token (queue full)"),
        ("compute_wait_g2s", "cycles", True, "cycles compute waits to push a g2s token (queue full)"),
        ("store_wait_g2s",   "cycles", True, "cycles store waits to pop a g2s token"),
        ("store_wait_s2g",   "cycles", True, "cycles store waits to push an s2g token (queue full)"),
        ("axi_read_beats",   "beats", True, "data beats read on the memory bus (R handshakes)"),
        ("axi_write_beats",  "beats", True, "data beats written on the memory bus (W handshakes)"),
        ("gemm_active",      "cycles", True, "cycles the GEMM core issues a micro-op"),
        ("alu_active",       "cycles", True, "cycles the tensor ALU issues a micro-op"),
    )))

COUNTER_BY_NAME: dict[str, Counter] = {c.name: c for c in COUNTER_TABLE}

#: Every counter's name and meaning, in register order (a view of ``COUNTER_TABLE``).
COUNTERS: dict[str, str] = {c.name: c.doc for c in COUNTER_TABLE}
#: Width of each counter's per-cycle increment in the hardware (1 = a strobe); ``cycle_count`` counts
#: every cycle of a run and has none.
COUNTER_INC_WIDTH: dict[str, int] = {
    name: (40 if name.endswith("_nbytes") or name in ("gemm_counter", "alu_counter")
           else 2 if name == "acc_wr_count" else 1)
    for name in COUNTERS if name != "cycle_count"}


def counter_offset(name: str) -> int:
    """Byte offset of the low word of counter ``name`` (the high word follows at +4)."""
    return COUNTER_BY_NAME[name].offset


#: Width of the error code in the hardware.
ERROR_WIDTH = 4


class ErrorCode(enum.IntEnum):
    NONE = 0
    ILLEGAL_INSN = 1      # opcode 5-7, ALU opcode 5-7, or a LOAD memory type not UOP/WGT/INP/ACC
    DEADLOCK = 2          # every module waits on a token that can never come
    NO_FINISH = 3         # the instructions ran out before a FINISH
    AXI_READ = 4          # SLVERR or DECERR on a read
    AXI_WRITE = 5         # SLVERR or DECERR on a write
    TIMEOUT = 6           # a backend's cycle bound was reached (reported by the backend, not the core)


#: Bits of the stall register: what each module (and fetch) is waiting on.  Each module owns a
#: contiguous group of bits; these names are used in deadlock messages.
STALL_BITS: dict[str, int] = {
    "load pops g2l":     0,
    "load pushes l2g":   1,
    "compute pops l2g":  2,
    "compute pops s2g":  3,
    "compute pushes g2l": 4,
    "compute pushes g2s": 5,
    "store pops g2s":    6,
    "store pushes s2g":  7,
    "fetch waits on full load queue":    8,
    "fetch waits on full compute queue": 9,
    "fetch waits on full store queue":   10,
}

#: Width of the stall register's value.
STALL_WIDTH = 16


def markdown() -> str:
    """The register map, counters, error codes and stall bits as Markdown: ``docs/registers.md`` is
    this text (``python -m hw.regs > docs/registers.md``; a test keeps them equal)."""
    lines = ["# Control registers of the VTA core", "",
             "Generated from `hw/regs.py` by `python -m hw.regs`; do not edit by hand.", "",
             "AXI4-Lite, 32-bit registers. The first ten keep the layout of VTA's Chisel control block.", "",
             "| offset | name | access | meaning |", "|---|---|---|---|"]
    lines += [f"| 0x{r.offset:02X} | `{r.name}` | {r.access} | {r.doc} |" for r in REGS]
    lines += ["", "## Counters", "",
              f"64 bits each, low word at the offset, high word at offset + 4; counted from launch to finish "
              f"and cleared by a launch.", "",
              "| offset | counter | definition |", "|---|---|---|"]
    lines += [f"| 0x{counter_offset(n):03X} | `{n}` | {d} |" for n, d in COUNTERS.items()]
    lines += ["", "## Error codes (`error_code`)", "", "| code | name |", "|---|---|"]
    lines += [f"| {c.value} | `{c.name}` |" for c in ErrorCode]
    lines += ["", "## Stall bits (`stall`)", "", "| bit | the unit waits on |", "|---|---|"]
    lines += [f"| {b} | {n} |" for n, b in STALL_BITS.items()]
    lines += ["", "## Bits", "",
              f"- `control`: bit 0 launch (write 1 to start; reads 1 while running), bit 1 finished.",
              f"- `status`: bit 0 running, bit 1 done, bit 2 error.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
