"""The VTA core: fetch, load, compute and store, their queues and SRAMs, the AXI4 memory master and the
AXI4-Lite control block, parameterised by a ``VTAConfig``.

Ports (flat names, as FPGA tools and cocotbext-axi expect): ``m_axi_*`` (AXI4 master, data width
``cfg.bus_bits``), ``s_axil_*`` (AXI4-Lite slave, 32-bit registers of ``hw/regs.py``), ``irq`` (the
control register's finished bit), and the ``sync`` domain's ``clk`` and ``rst``; with ``trace=True`` also
``trace``, the observation port of ``hw/observe.py``.

A run: the host writes the base registers and ``insn_count``, then 1 to ``control``.  The core finishes
when FINISH has retired in compute and the load and store queues have drained (``status`` done), or
stops on an error (``status`` error, ``error_code``, ``error_index``, ``stall``).  After an error the
core must be reset before the next launch.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring, memory
from amaranth.lib.wiring import Out

from .config import VTAConfig
from .interfaces import AXI4_MEMBERS, AXIL_MEMBERS
from .queues import DEFAULT_QUEUE_RAM_STYLE, CommandQueue, TokenQueue
from .glue import glue
from .isa import TOKEN_QUEUES
from .observe import MEM_CLIENTS, QUEUES, TRACE_FIELDS, field, trace_width
from .control import ControlBlock
from .supervisor import Supervisor, SUPERVISOR_COUNTERS
from .axi import MemArbiter
from .fetch import Fetch
from .load import Load, LOAD_COUNTERS
from .compute import Compute, COMPUTE_COUNTERS
from .store import Store, STORE_COUNTERS

__all__ = ["VTACore", "config_id"]


def config_id(cfg: VTAConfig) -> int:
    """The ``config_id`` register: LOG_BATCH | LOG_BLOCK<<4 | LOG_BUS_WIDTH<<8 | LOG_UOP_BUFF_SIZE<<12 |
    LOG_INP_BUFF_SIZE<<17 | LOG_WGT_BUFF_SIZE<<22 | LOG_ACC_BUFF_SIZE<<27 (5 bits each but the first three)."""
    return (cfg.log_batch | cfg.log_block << 4 | cfg.log_bus_width << 8 | cfg.log_uop_buff_size << 12
            | cfg.log_inp_buff_size << 17 | cfg.log_wgt_buff_size << 22 | (cfg.log_acc_buff_size & 31) << 27)


class VTACore(wiring.Component):
    """The VTA accelerator.

    Parameters
    ----------
    cfg : VTAConfig
    trace : bool
        Build the ``trace`` port and its logic (default off: the port does not exist, so a design
        without it simulates and synthesises exactly as before).
    queue_ram_style : "distributed" or None
        The command queues' ``ram_style`` (``hw.queues.CommandQueue``): LUT RAM by default, the tools'
        choice with None (the FPGA part says which: ``bitstreams.parts.Part.queue_ram_style``).
    pack_products : bool
        Two int8 GEMM products per multiplier (default) or one (``hw.compute.tensor.TensorCore``; the
        part says which: ``bitstreams.parts.Part.pack_products``).  Neither changes a result or a cycle.

    Members
    -------
    m_axi_* : AXI4 master (``hw.interfaces.AXI4_MEMBERS``)
    s_axil_* : AXI4-Lite slave (``hw.interfaces.AXIL_MEMBERS``, flipped)
    irq : Out(1)   the run finished (done or error)
    trace : Out(hw.observe.trace_width())   only with ``trace=True``: the fields of
                   ``hw.observe.TRACE_FIELDS``, read only, no effect on the core (as the top of a
                   Verilator model, rename it: Verilator's model class has a ``trace()`` method)
    """

    def __init__(self, cfg: VTAConfig, *, trace: bool = False,
                 queue_ram_style: str | None = DEFAULT_QUEUE_RAM_STYLE, pack_products: bool = True):
        self.cfg = cfg
        self.traced = bool(trace)
        self.queue_ram_style = queue_ram_style
        self.pack_products = bool(pack_products)
        members = {"m_axi_" + n: d(w) for n, w, d in AXI4_MEMBERS(cfg.bus_bits)}
        members.update({"s_axil_" + n: d(w).flip() for n, w, d in AXIL_MEMBERS})
        members["irq"] = Out(1)
        if self.traced:
            members["trace"] = Out(trace_width())
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg

        m.submodules.control = ctl = ControlBlock(config_id(cfg), inc_groups={
            "load": LOAD_COUNTERS, "compute": COMPUTE_COUNTERS, "store": STORE_COUNTERS,
            "core": SUPERVISOR_COUNTERS})
        m.submodules.supervisor = sup = Supervisor()
        m.submodules.arbiter = arb = MemArbiter(cfg.bus_bits, n_read=5, n_write=1)
        m.submodules.fetch = fetch = Fetch(cfg)
        m.submodules.load = load = Load(cfg)
        m.submodules.compute = comp = Compute(cfg, pack_products=self.pack_products)
        m.submodules.store = store = Store(cfg)

        # -- the top level's flat ports ---------------------------------------------------------------
        g = glue(m, "axil_glue")
        for n, _, d in AXIL_MEMBERS:
            port, inner = getattr(self, "s_axil_" + n), getattr(ctl, "s_axil_" + n)
            # Direction from the master's side: Out members are driven by the host.
            g.d.comb += (inner.eq(port) if d is Out else port.eq(inner))
        g.d.comb += self.irq.eq(ctl.irq)
        g = glue(m, "axi_glue")
        for n, _, d in AXI4_MEMBERS(cfg.bus_bits):
            port, inner = getattr(self, "m_axi_" + n), getattr(arb.bus, n)
            g.d.comb += (port.eq(inner) if d is Out else inner.eq(port))

        # -- memory clients -------------------------------------------------------------------------
        for i, client in enumerate((fetch.mem, comp.mem_uop, load.mem_inp, load.mem_wgt, comp.mem_acc)):
            wiring.connect(glue(m, f"rd{i}_glue"), client, arb.rd[i])
        wiring.connect(glue(m, "wr_glue"), store.mem, arb.wr[0])

        # -- SRAMs shared between units: one write port, one read port each --------------------------
        for name, writer, reader in (("inp", load.inp_wr, comp.inp_rd), ("wgt", load.wgt_wr, comp.wgt_rd),
                                     ("out", comp.out_wr, store.out_rd)):
            mem = m.submodules[f"{name}_mem"] = memory.Memory(
                shape=getattr(cfg, f"{name}_elem_bits"), depth=cfg.depth(name), init=[])
            wiring.connect(glue(m, f"{name}_wr_glue"), writer, mem.write_port())
            wiring.connect(glue(m, f"{name}_rd_glue"), reader, mem.read_port())

        # -- command queues ----------------------------------------------------------------------------
        cmd_q = {}
        for name, unit in (("load", load), ("compute", comp), ("store", store)):
            q = cmd_q[name] = m.submodules[f"{name}_q"] = CommandQueue(cfg.cmd_queue_depth,
                                                                             self.queue_ram_style)
            wiring.connect(glue(m, f"{name}_qw_glue"), getattr(fetch, f"{name}_q"), q.w)
            wiring.connect(glue(m, f"{name}_qr_glue"), q.r, unit.q)

        # -- token queues: each from the unit that pushes it to the unit that pops it -------------------
        tok = {q: TokenQueue(cfg.token_queue_depth) for q in TOKEN_QUEUES}
        for q in TOKEN_QUEUES:
            m.submodules[f"tok_{q}"] = tok[q]
        for q, pusher, popper in (("l2g", load, comp), ("g2l", comp, load), ("g2s", comp, store),
                                  ("s2g", store, comp)):
            wiring.connect(glue(m, f"{q}_push_glue"), getattr(pusher, q), tok[q].w)
            wiring.connect(glue(m, f"{q}_pop_glue"), getattr(popper, q), tok[q].r)

        # -- supervision and counters ------------------------------------------------------------------
        g = glue(m, "status_glue")
        wiring.connect(g, fetch.status, sup.fetch)
        for name, unit in (("load", load), ("compute", comp), ("store", store)):
            wiring.connect(g, unit.status, getattr(sup, name))
        wiring.connect(g, sup.run, ctl.run)
        g.d.comb += [sup.finish.eq(comp.finish), sup.load_q_empty.eq(cmd_q["load"].level == 0),
                     sup.store_q_empty.eq(cmd_q["store"].level == 0),
                     sup.rd_beat.eq(arb.rd_beat), sup.wr_beat.eq(arb.wr_beat)]
        g = glue(m, "counter_glue")
        for group, src in (("load", load.inc), ("compute", comp.inc), ("store", store.inc), ("core", sup.inc)):
            wiring.connect(g, src, getattr(ctl.inc, group))

        # -- launch, base registers, halt ---------------------------------------------------------------
        glue(m, "reg_glue").d.comb += [
            fetch.start.eq(ctl.run.launch), fetch.insn_base.eq(ctl.insn_base),
            fetch.insn_count.eq(ctl.insn_count),
            load.inp_base.eq(ctl.inp_base), load.wgt_base.eq(ctl.wgt_base),
            comp.uop_base.eq(ctl.uop_base), comp.acc_base.eq(ctl.acc_base), comp.clear.eq(ctl.run.launch),
            store.out_base.eq(ctl.out_base),
            *(u.halt.eq(sup.halt) for u in (fetch, load, comp, store)),
        ]

        if self.traced:
            rd_clients = dict(zip(MEM_CLIENTS, (fetch.mem, comp.mem_uop, load.mem_inp, load.mem_wgt,
                                                comp.mem_acc)))
            self._trace_port(glue(m, "trace_glue"), sup, arb, fetch,
                             {"load": load, "compute": comp, "store": store}, rd_clients,
                             {"out": store.mem}, cmd_q, tok)
        return m

    def _trace_port(self, m, sup, arb, fetch, units, rd_clients, wr_clients, cmd_q, tok):
        """Drive ``self.trace`` (``hw.observe.TRACE_FIELDS``) from signals the core has: plain wires, a
        cycle counter and a count of bursts in flight per memory client; nothing here drives the core."""
        run = sup.run
        src = {}
        # The cycle counter as the control block counts it: zero at launch, one more each running cycle.
        cycle = Signal(32, name="trace_cycle")
        with m.If(run.launch | ~run.running):
            m.d.sync += cycle.eq(0)
        with m.Else():
            m.d.sync += cycle.eq(cycle + 1)
        src["cycle"] = cycle
        src["running"] = run.running
        # Fetch holds an instruction while it offers it to a command queue (until it is dispatched).
        src["fetch_active"] = Cat(fetch.load_q.valid, fetch.compute_q.valid, fetch.store_q.valid).any()
        src["fetch_index"] = fetch.status.index
        for name, unit in units.items():
            # From taking the instruction to pushing its tokens (token waits included).
            src[f"{name}_active"] = unit.status.busy
            src[f"{name}_index"] = unit.status.index
        src["stall"] = run.stall
        # A burst is in flight from its request's handshake to its last read beat / its write response.
        clients = {**{c: (p.req, p.resp, p.resp.payload.last) for c, p in rd_clients.items()},
                   **{c: (p.req, p.resp, 1) for c, p in wr_clients.items()}}
        for c, (req, resp, last) in clients.items():
            n = Signal(range(arb.max_outstanding + 2), name=f"trace_bursts_{c}")
            issued, retired = req.valid & req.ready, resp.valid & resp.ready & last
            with m.If(issued & ~retired):
                m.d.sync += n.eq(n + 1)
            with m.Elif(retired & ~issued):
                m.d.sync += n.eq(n - 1)
            src[f"mem_{c}"] = n != 0
        levels = {f"{q}_q": cmd_q[q].level for q in cmd_q}
        levels.update({q: t.count for q, t in tok.items()})
        for q in QUEUES:
            v = levels[q]
            width = field(f"level_{q}").width
            src[f"level_{q}"] = Mux(v >= (1 << width) - 1, (1 << width) - 1, v) if len(v) > width else v
        assert set(src) == {f.name for f in TRACE_FIELDS}, set(src) ^ {f.name for f in TRACE_FIELDS}
        for f in TRACE_FIELDS:
            m.d.comb += self.trace[f.offset:f.offset + f.width].eq(src[f.name])
