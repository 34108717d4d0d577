"""A test bench for one unit of the core (load, compute or store) in Amaranth's simulator.

The unit's memory clients go through a ``MemArbiter`` to the AXI4 memory model of ``sim/axi_mem.py``
(holding ``dram``); its SRAM ports are wired to SRAMs of their own; its command queue and token queues
are driven by the test bench (``UnitBench.run``), which offers instructions one by one, gives tokens,
counts the pops and pushes, and records what the unit reports each cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator

from hw.axi import MemArbiter
from hw.isa import FLAG_QUEUES
from sim.axi_mem import AxiMemory

__all__ = ["UnitBench", "Trace"]


@dataclass
class Trace:
    """What a run of the bench saw, cycle by cycle from the first offer."""
    taken: list = field(default_factory=list)       # cycle each instruction left the command queue
    pops: dict = field(default_factory=dict)         # queue -> cycles of its pop pulses
    pushes: dict = field(default_factory=dict)       # queue -> cycles of its push pulses
    writes: dict = field(default_factory=dict)       # SRAM write port -> cycles of its writes (en)
    inc: dict = field(default_factory=dict)          # counter -> sum of its increments
    busy: int = 0                                    # cycles status.busy
    active: int = 0                                  # cycles status.active
    waits: dict = field(default_factory=dict)        # queue -> cycles status.wait_<queue>
    cycles: int = 0                                  # cycles until the unit was idle with nothing left
    watch: dict = field(default_factory=dict)        # output name -> sum of its values
    err: bool = False
    index: int = 0


class UnitBench:
    """``unit`` (a Load, Compute or Store of ``cfg``) with ``dram`` behind its memory clients.

    Parameters
    ----------
    unit_name : "load", "compute" or "store"
    read_clients, write_clients : names of the unit's memory client ports
    srams : dict port name -> (element bits, depth, initial elements); a port with ``data`` as an input
        of the unit is a read port
    """

    def __init__(self, unit, unit_name, cfg, dram: bytes, *, read_clients=(), write_clients=(), srams=None,
                 read_latency=4, write_latency=2):
        self.unit, self.name, self.cfg = unit, unit_name, cfg
        m = self.m = Module()
        m.submodules.unit = unit
        m.submodules.arb = arb = MemArbiter(cfg.bus_bits, n_read=max(len(read_clients), 1),
                                            n_write=max(len(write_clients), 1))
        for i, n in enumerate(read_clients):
            wiring.connect(m, getattr(unit, n), arb.rd[i])
        for i, n in enumerate(write_clients):
            wiring.connect(m, getattr(unit, n), arb.wr[i])
        self.mem = m.submodules.mem = AxiMemory(cfg.bus_bits, len(dram), read_latency=read_latency,
                                                write_latency=write_latency, init=dram)
        wiring.connect(m, arb.bus, self.mem.bus)
        self.srams = {}
        self.write_ports = []
        for port_name, (bits, depth, init) in (srams or {}).items():
            mem = m.submodules[f"sram_{port_name}"] = Memory(shape=bits, depth=depth, init=init)
            port = getattr(unit, port_name)
            reads = port.signature.members["data"].flow == wiring.In
            wiring.connect(m, port, mem.read_port() if reads else mem.write_port())
            self.srams[port_name] = mem
            if not reads:
                self.write_ports.append(port_name)

    def run(self, insns, tokens=None, space=None, max_cycles=20000, sram_reads=None, halt_at=None,
            dram_bytes=0, constants=None, stop_after=None, watch=()):
        """Offer the encoded instructions ``insns`` (list of (word, index)) in order and run until the
        unit is idle with none left.  ``tokens``: queue -> tokens available at the start (default 0);
        ``space``: queue -> pushes that fit (default unlimited).  Each pop takes a token and each push
        uses up space.  ``sram_reads``: port name -> addresses to read back from that SRAM after the
        run (its contents by element), or any name -> (``MemoryData``, addresses) for a unit's own SRAM; ``dram_bytes``: read back that many bytes of memory
        from address 0 (as ``"dram"``).  ``halt_at``: raise ``halt`` from that cycle on.  ``constants``: input port name -> value,
        set before the first cycle (the base registers).  ``stop_after``: end the run after that many cycles
        whatever the unit does (to watch it wait).  ``watch``: names of
        other outputs of the unit whose per-cycle values are summed into ``Trace.watch``.  Returns
        (Trace, {port name: [elements], "dram": bytes})."""
        unit, fq = self.unit, FLAG_QUEUES[self.name]
        tokens = dict(tokens or {})
        space = dict(space or {})
        trace = Trace(pops={q: [] for q in fq["pop"].values()}, pushes={q: [] for q in fq["push"].values()},
                      waits={q: 0 for q in (*fq["pop"].values(), *fq["push"].values())},
                      inc={n: 0 for n in unit.inc.signature.members})
        read_back = {}

        async def bench(ctx):
            pending = list(insns)
            idle_for = 0
            for port_name, value in (constants or {}).items():
                ctx.set(getattr(unit, port_name), value)
            for cycle in range(max_cycles):
                for q in fq["pop"].values():
                    ctx.set(getattr(unit, q).avail, tokens.get(q, 0) > 0)
                for q in fq["push"].values():
                    ctx.set(getattr(unit, q).full, space.get(q, 1 << 30) <= 0)
                ctx.set(unit.halt, halt_at is not None and cycle >= halt_at)
                if pending:
                    word, index = pending[0]
                    ctx.set(unit.q.payload.insn, word)
                    ctx.set(unit.q.payload.index, index)
                ctx.set(unit.q.valid, bool(pending))
                if ctx.get(unit.q.valid) and ctx.get(unit.q.ready):
                    trace.taken.append(cycle)
                    pending.pop(0)
                for q in fq["pop"].values():
                    if ctx.get(getattr(unit, q).pop):
                        trace.pops[q].append(cycle)
                        tokens[q] = tokens.get(q, 0) - 1
                for q in fq["push"].values():
                    if ctx.get(getattr(unit, q).push):
                        trace.pushes[q].append(cycle)
                        space[q] = space.get(q, 1 << 30) - 1
                for name in self.write_ports:
                    if ctx.get(getattr(unit, name).en):
                        trace.writes.setdefault(name, []).append(cycle)
                for n in trace.inc:
                    trace.inc[n] += ctx.get(getattr(unit.inc, n))
                for n in watch:
                    trace.watch[n] = trace.watch.get(n, 0) + ctx.get(getattr(unit, n))
                st = unit.status
                trace.busy += ctx.get(st.busy)
                trace.active += ctx.get(st.active)
                for q in trace.waits:
                    trace.waits[q] += ctx.get(getattr(st, f"wait_{q}"))
                await ctx.tick()
                idle_for = idle_for + 1 if not pending and not ctx.get(st.busy) else 0
                if idle_for > 4 or (stop_after is not None and cycle + 1 >= stop_after):
                    break
            else:
                raise AssertionError(f"the {self.name} unit did not finish within {max_cycles} cycles")
            trace.cycles = cycle
            trace.err = bool(ctx.get(unit.status.err))
            trace.index = ctx.get(unit.status.index)
            for name, what in (sram_reads or {}).items():
                data, addrs = what if isinstance(what, tuple) else (self.srams[name].data, what)
                read_back[name] = [ctx.get(data[a]) for a in addrs]
            read_back["dram"] = self.mem.peek(ctx, 0, dram_bytes)

        sim = Simulator(self.m)
        sim.add_clock(1e-8)
        sim.add_testbench(bench)
        sim.run()
        return trace, read_back

