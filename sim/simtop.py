"""The simulated system: the VTA core and the AXI memory model, one design for every cycle-level backend.

Amaranth's simulator runs ``SimTop`` directly; the Verilator fast path runs its generated Verilog.  Both
therefore count the same cycles for the same program and memory latencies: the timing belongs to the
design, not to the test bench.
"""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.config import VTAConfig
from hw.interfaces import AXI4_MEMBERS, AXIL_MEMBERS
from hw.glue import glue
from hw.top import VTACore
from hw.isa import MemType, Opcode
from sw.program import Program
from .axi_mem import AxiMemory
from .memimage import MemImage

__all__ = ["SimTop", "DEFAULT_READ_LATENCY", "DEFAULT_WRITE_LATENCY", "cycle_bound"]

#: Memory model latencies (cycles) used when a run does not choose its own; see ``AxiMemory``.
DEFAULT_READ_LATENCY = 16
DEFAULT_WRITE_LATENCY = 16


class SimTop(wiring.Component):
    """VTACore with its ``m_axi`` port on an ``AxiMemory``.

    Members
    -------
    s_axil_* : the core's AXI4-Lite slave
    irq : Out(1)
    bd_addr, bd_wdata, bd_we, bd_rdata : the memory's backdoor port (bus-width words)
    """

    def __init__(self, cfg: VTAConfig, mem_bytes: int, *, read_latency: int = DEFAULT_READ_LATENCY,
                 write_latency: int = DEFAULT_WRITE_LATENCY, init: bytes = b""):
        self.cfg = cfg
        self.core = VTACore(cfg)
        self.mem = AxiMemory(cfg.bus_bits, mem_bytes, read_latency=read_latency,
                             write_latency=write_latency, init=init)
        members = {"s_axil_" + n: d(w).flip() for n, w, d in AXIL_MEMBERS}
        members["irq"] = Out(1)
        for name in ("bd_addr", "bd_wdata", "bd_we", "bd_rdata"):
            port = getattr(self.mem, name)
            members[name] = In(len(port)) if name != "bd_rdata" else Out(len(port))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.core
        m.submodules.mem = mem = self.mem
        g = glue(m, "axi_glue")
        for n, _, d in AXI4_MEMBERS(self.cfg.bus_bits):
            src, dst = getattr(core, "m_axi_" + n), getattr(mem.bus, n)
            g.d.comb += (dst.eq(src) if d is Out else src.eq(dst))
        g = glue(m, "axil_glue")
        for n, _, d in AXIL_MEMBERS:
            outer, inner = getattr(self, "s_axil_" + n), getattr(core, "s_axil_" + n)
            g.d.comb += (inner.eq(outer) if d is Out else outer.eq(inner))
        g.d.comb += self.irq.eq(core.irq)
        m.d.comb += [mem.bd_addr.eq(self.bd_addr), mem.bd_wdata.eq(self.bd_wdata),
                     mem.bd_we.eq(self.bd_we), self.bd_rdata.eq(mem.bd_rdata)]
        return m


_LOAD_MEM = {MemType.UOP: "uop", MemType.WGT: "wgt", MemType.INP: "inp", MemType.ACC: "acc"}


def cycle_bound(program: Program) -> int:
    """A generous bound on the cycles a correct run of ``program`` can take, so that no run hangs:
    four times the sum of each instruction's data beats and micro-op iterations, plus fixed costs."""
    cfg = program.config
    total = 0
    for insn in program.decoded():
        if hasattr(insn, "x_size"):
            w = insn.x_pad_0 + insn.x_size + insn.x_pad_1
            h = insn.y_pad_0 + insn.y_size + insn.y_pad_1
            mem = "out" if insn.opcode == Opcode.STORE else _LOAD_MEM.get(insn.memory_type, "out")
            eb = cfg.elem_bytes(mem)
            total += w * h * max(eb // cfg.bus_bytes, 1) + 64
        elif hasattr(insn, "iter_out"):
            total += insn.n_uop_iters + 32
        else:
            total += 32
    return 4 * total + 20000
