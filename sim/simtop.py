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
from hw.observe import CHANGE_SHIFT, trace_width
from hw.top import VTACore
from .axi_mem import AxiMemory
from .memsettings import DEFAULT_READ_LATENCY, DEFAULT_WRITE_LATENCY, PORTS, latencies

__all__ = ["SimTop", "DEFAULT_READ_LATENCY", "DEFAULT_WRITE_LATENCY", "latencies"]


class SimTop(wiring.Component):
    """VTACore with its ``m_axi`` port on an ``AxiMemory``.

    Members
    -------
    s_axil_* : the core's AXI4-Lite slave
    irq : Out(1)
    bd_addr, bd_wdata, bd_we, bd_rdata : the memory's backdoor port (bus-width words)
    mem_read_latency, ..., bp_channels : the memory's run-time settings (``sim.memsettings.PORTS``),
        passed through; ``read_latency`` and ``write_latency`` give the reset values of the first two.
    trace_word : Out(hw.observe.trace_width())   with ``trace=True``: the core's ``trace`` port (not
                called ``trace`` here: Verilator's model class has a ``trace()`` method, and a top-level
                port of that name does not compile)
    trace_key : Out(trace_width() - CHANGE_SHIFT)   its bits above the timestamp, to wait on: it changes
                only when a field other than the cycle counter does (``sim.trace``)

    ``storage`` is the memory's (``sim.axi_mem.AxiMemory``): ``"verilog"`` for the generated Verilog.
    ``trace`` builds the core's trace port (``VTACore(trace=True)``); on by default (the generated Verilog
    always has it), off in the ``amaranth`` backend unless a run asks for a trace.
    """

    def __init__(self, cfg: VTAConfig, mem_bytes: int, *, read_latency: int = DEFAULT_READ_LATENCY,
                 write_latency: int = DEFAULT_WRITE_LATENCY, init: bytes = b"", storage: str = "amaranth",
                 trace: bool = True):
        self.cfg = cfg
        self.core = VTACore(cfg, trace=trace)
        self.mem = AxiMemory(cfg.bus_bits, mem_bytes, read_latency=read_latency,
                             write_latency=write_latency, init=init, storage=storage)
        members = {"s_axil_" + n: d(w).flip() for n, w, d in AXIL_MEMBERS}
        members["irq"] = Out(1)
        for name in ("bd_addr", "bd_wdata", "bd_we", "bd_rdata"):
            port = getattr(self.mem, name)
            members[name] = In(len(port)) if name != "bd_rdata" else Out(len(port))
        latency = {"mem_read_latency": read_latency, "mem_write_latency": write_latency}
        for name, width, init in PORTS:
            members[name] = In(width, init=latency.get(name, init))
        if trace:
            members["trace_word"] = Out(trace_width())
            members["trace_key"] = Out(trace_width() - CHANGE_SHIFT)
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
                     mem.bd_we.eq(self.bd_we), self.bd_rdata.eq(mem.bd_rdata),
                     *(getattr(mem, name).eq(getattr(self, name)) for name, _, _ in PORTS)]
        if self.core.traced:
            glue(m, "trace_glue").d.comb += [self.trace_word.eq(core.trace),
                                             self.trace_key.eq(core.trace[CHANGE_SHIFT:])]
        return m
