"""What a run's counters mean: the report ``vta run`` and ``vta exec`` print, the memory-bus bound, a
cycle estimate for progress lines, and ``docs/counters.md`` (``python -m sim.report > docs/counters.md``;
a test keeps them equal).

Every counter, its unit and its meaning come from ``hw.regs.COUNTER_TABLE``; this module only derives
figures from them: each per-cycle counter as a share of ``cycle_count``, the cycles each token queue
held a unit up, and the ratio of the cycles to the bus bound.
"""

from __future__ import annotations

from hw.regs import COUNTER_TABLE

__all__ = ["MOVED_BYTES", "TOKEN_QUEUES", "HEADLINE", "bus_bound_cycles", "bus_bound", "bus_channels", "estimate_cycles",
           "queue_waits", "report", "markdown"]

#: The counters of the bytes a run moves between memory and the SRAMs.
MOVED_BYTES = ("inp_load_nbytes", "wgt_load_nbytes", "acc_load_nbytes", "uop_load_nbytes", "out_store_nbytes")

#: The four token queues (producer to consumer, as in VTA): the counters of the cycles a unit waits to
#: push a token into it (the queue is full) and to pop one (the queue is empty).
TOKEN_QUEUES: dict[str, tuple[str, str]] = {
    "l2g": ("load_wait_l2g", "compute_wait_l2g"),
    "g2l": ("compute_wait_g2l", "load_wait_g2l"),
    "g2s": ("compute_wait_g2s", "store_wait_g2s"),
    "s2g": ("store_wait_s2g", "compute_wait_s2g"),
}


#: The per-cycle counters the report sums up in one line, with what their share of the cycles means.
HEADLINE = (("gemm_active", "GEMM utilisation"), ("overlap_load_compute", "load/compute overlap"),
            ("axi_read_beats", "read bus busy"), ("axi_write_beats", "write bus busy"))


def bus_channels(counters: dict, instructions: int) -> tuple[int, int]:
    """Bytes a run moved on each channel of the core's AXI4 port: (read, write).  Reads are every byte
    it loaded (``*_load_nbytes``) plus its instructions (16 bytes each, fetched over the same port);
    writes are the bytes it stored."""
    write = counters["out_store_nbytes"]
    read = sum(counters[c] for c in MOVED_BYTES) - write + 16 * instructions
    return read, write


def bus_bound(counters: dict, instructions: int, bus_bytes: int) -> float:
    """The memory-bus bound in cycles: the busier channel's bytes over the bus width in bytes.  The core
    reaches memory through one AXI4 port, whose read and write channels each move one beat of
    ``bus_bytes`` per cycle, independently; so no run is shorter than its reads (loads and
    instruction fetch) or its writes (stores) take on their own channel (:func:`bus_channels`)."""
    return max(bus_channels(counters, instructions)) / bus_bytes


def bus_bound_cycles(result, cfg) -> float:
    """:func:`bus_bound` of a ``RunResult`` on configuration ``cfg``."""
    return bus_bound(result.counters, result.instructions, cfg.bus_bytes)


def estimate_cycles(program) -> int:
    """A quick estimate of the cycles ``program`` takes, for progress lines: the larger of its bus bound
    (bytes its LOADs and STOREs move, padding excluded, and its instructions) and the cycles its
    micro-op iterations issue in (``MUL_CYCLES`` each for ALU MUL, one for the others).  A lower bound,
    usually within a few tens of percent of the real count."""
    from hw.isa import MUL_CYCLES, AluOp
    from .memimage import insn_region
    cfg = program.config
    moved, iters = 16 * program.n_insns, 0
    for insn in program.decoded():
        if hasattr(insn, "x_size"):
            moved += insn.x_size * insn.y_size * cfg.elem_bytes(insn_region(insn) or "out")
        elif hasattr(insn, "iter_out"):
            mul = getattr(insn, "alu_opcode", None) == AluOp.MUL
            iters += insn.n_uop_iters * (MUL_CYCLES if mul else 1)
    return max(int(moved / cfg.bus_bytes), iters, 1)


def queue_waits(counters: dict) -> dict[str, tuple[int, int]]:
    """Per token queue, (cycles a unit waited to push into it, cycles a unit waited to pop from it)."""
    return {q: (counters[push], counters[pop]) for q, (push, pop) in TOKEN_QUEUES.items()}


def _share(n: int, cycles) -> str:
    return f"{100 * n / cycles:5.1f}%" if cycles else ""


def report(counters: dict, cycles: int | None, instructions: int, bus_bytes: int) -> str:
    """The explained counter report: every counter of ``counters`` with its unit and meaning (the
    per-cycle ones also as a share of ``cycles``), the waits per token queue, and the bus bound with
    the ratio of ``cycles`` to it.  ``cycles`` is None for the functional model (no shares, no ratio)."""
    lines = ["Counters" + (f" (shares are of the {cycles} cycles):" if cycles else ":")]
    for c in COUNTER_TABLE:
        if c.name not in counters:
            continue
        share = _share(counters[c.name], cycles) if c.per_cycle else ""
        lines.append(f"  {c.name:<22}{counters[c.name]:>12} {c.unit:<9} {share:>6}  {c.doc}")
    if all(n in counters for pair in TOKEN_QUEUES.values() for n in pair):
        lines.append("Token queue waits (cycles a unit waited to push into / pop from each queue):")
        for q, (push, pop) in queue_waits(counters).items():
            pusher, popper = (n.split("_")[0] for n in TOKEN_QUEUES[q])
            lines.append(f"  {q}  {pusher + ' pushes':<15}{push:>10} {_share(push, cycles):>6}   "
                         f"{popper + ' pops':<13}{pop:>10} {_share(pop, cycles):>6}")
    if cycles and all(n in counters for n, _ in HEADLINE):
        lines.append("In short: " + ", ".join(f"{label} {_share(counters[n], cycles).strip()}"
                                              for n, label in HEADLINE))
    bound = bus_bound(counters, instructions, bus_bytes)
    read, write = bus_channels(counters, instructions)
    ratio = f"; cycles / bound = {cycles / bound:.3f}" if cycles and bound else ""
    lines.append(f"Bus bound: {bound:.0f} cycles (the busier AXI channel over the {bus_bytes}-byte bus: "
                 f"{read} bytes read, loads and {instructions} instructions x 16; {write} bytes "
                 f"written){ratio}")
    return "\n".join(lines)


def markdown() -> str:
    """``docs/counters.md``: every counter with its unit and meaning, and the figures the report
    derives from them."""
    lines = ["# Performance counters", "",
             "Generated from `hw/regs.py` (the counter table) and `sim/report.py` by `python -m sim.report`; "
             "do not edit by hand.", "",
             "The core counts these from launch to finish; a launch clears them. Each is 64 bits wide, as "
             "two 32-bit registers at the offset shown (low word first; see [registers.md](registers.md)). "
             "The functional model (`fsim`) computes the first eight; `cycle_count` and the rest come only "
             "from the cycle-level backends. `vta run` and `vta exec` print them all with their meaning; "
             "`--json` gives them under `counters`.", "",
             "| offset | counter | unit | share of cycles | meaning |", "|---|---|---|---|---|"]
    lines += [f"| 0x{c.offset:03X} | `{c.name}` | {c.unit} | {'yes' if c.per_cycle else ''} | {c.doc} |"
              for c in COUNTER_TABLE]
    lines += ["", "## What the report derives", "",
              "- **Shares of the cycles.** A counter marked *share of cycles* grows by at most one per "
              "cycle, so the report also shows it as a percentage of `cycle_count`. `gemm_active` as a "
              "share is the GEMM core's utilisation; `overlap_load_compute` is how much of the run "
              "loading and computing went on at once; `axi_read_beats` is how busy the read bus was. "
              "`gemm_active` and `alu_active` count issue cycles, one per micro-op, but an ALU MUL "
              "micro-op holds the ALU for three cycles ([architecture.md](architecture.md)), so a MUL "
              "instruction keeps compute busy about three times its `alu_active`.",
              "- **Token queue waits.** For each of the four token queues, the cycles its producer waited "
              "to push (the queue was full) and its consumer waited to pop (it was empty):", ""]
    lines += [f"  - `{q}`: push `{push}`, pop `{pop}`" for q, (push, pop) in TOKEN_QUEUES.items()]
    lines += ["",
              "- **Bus bound.** The core reaches memory through one AXI4 port whose read and write "
              "channels each move one beat (the bus width, 8 bytes by default) per cycle, independently. "
              "A run must read every byte it loads (`" + "`, `".join(MOVED_BYTES[:-1]) + "`) and its "
              "instructions (16 bytes each), and write every byte it stores (`" + MOVED_BYTES[-1] + "`), "
              "so the bound is max(bytes read, bytes written) / bus bytes cycles: no run can be shorter. "
              "The report prints this bound and "
              "`cycle_count` divided by it: 1.0 would be a bus busy on every cycle; the seed FC "
              "(`vta bench`) runs at about 1.05.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
