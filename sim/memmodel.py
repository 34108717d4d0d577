"""Wide memories as behavioural models in Amaranth's simulator: the contents in Python, the ports' timing
Amaranth's own.

Amaranth's simulator (``pysim``) compiles a memory write port's enable replicated bit by bit, one term per
data bit, and evaluates it at every clock edge whether or not the port writes: for the SRAMs of the seed
configuration (2048, 512, 128 and 128 bits, and 160 for each command queue) that is thousands of terms
a cycle: without these models a 1x512x512 FC takes 1.53x the CPU time (median of 4).

:class:`MemoryModelPlatform` is the platform the ``amaranth`` backend gives the simulator (through
:class:`Elaborated`, since the simulator elaborates its design without one): its
:meth:`~MemoryModelPlatform.get_memory` (Amaranth's documented override of
``amaranth.lib.memory.Memory``) leaves each memory at least ``min_width`` bits wide out of the design (its
ports' ``addr``, ``data`` and ``en`` stay plain signals) and keeps it as a :class:`MemoryModel`.
:class:`Elaborated` concatenates the port inputs of a domain's models into one signal, and
:meth:`~MemoryModelPlatform.add_processes` adds one simulator process per clock domain
(``Simulator.add_process``, Amaranth's way to model hardware: a process's ``ctx.set`` at a clock edge
takes effect with the design's registers) that samples that signal at each active edge (the values before
the edge) and performs every model's writes and synchronous reads.  One sampled value an edge, not one
per port input: the simulator evaluates each sampled value by interpretation.

The models have the semantics of Amaranth 0.5's simulator, bit for bit:

* at an active edge, a synchronous read port with ``en`` high takes ``mem[addr]`` as it was before the
  edge's writes, except the lanes written at that edge by a write port it is ``transparent_for`` (at the
  same address, even one at or beyond the depth); an address at or beyond the depth reads as 0;
* a write port writes each ``granularity``-bit lane whose ``en`` bit is high; write ports are applied in
  the order they were made (a later one wins a lane both write); an address at or beyond the depth is
  not written;
* a read port's data holds while ``en`` is low, and is set to its initial value while the domain's own
  reset is high and ``en`` low.  ``ResetInserter`` does not touch memory ports (Amaranth resets the
  signals its statements drive, and a memory has none), so the ``amaranth`` backend's reset leaves the
  read data and the contents as they are, as with ``amaranth.lib.memory.Memory``;
* the contents start as the memory's ``init``.

Only memories of an unsigned shape whose read ports are all synchronous and in the write ports' domains
are modelled; any other memory (and every narrower one) is elaborated as Amaranth elaborates it without
a platform (:func:`memory_instance`).
"""

from __future__ import annotations

from amaranth.hdl import (Cat, Elaboratable, Fragment, MemoryInstance, Module, Shape, ShapeCastable,
                          Signal, Value)

__all__ = ["memory_instance", "MemoryModel", "MemoryModelPlatform", "Elaborated"]


def memory_instance(memory) -> MemoryInstance:
    """``memory`` (an ``amaranth.lib.memory.Memory``) as the ``MemoryInstance`` Amaranth makes of it
    when the platform does not override it: what a ``get_memory`` returns for a memory it leaves alone."""
    instance = MemoryInstance(data=memory.data, attrs=memory.attrs)
    writes = {port: instance.write_port(domain=port.domain, addr=port.addr, data=port.data, en=port.en)
              for port in memory.write_ports}
    for port in memory.read_ports:
        instance.read_port(domain=port.domain, data=port.data, addr=port.addr, en=port.en,
                           transparent_for=tuple(writes[w] for w in port.transparent_for))
    return instance


class MemoryModel:
    """One memory's contents (``contents``, a list of ints) and ports, stepped by the platform's process.

    Members
    -------
    memory : amaranth.lib.memory.Memory
    contents : list[int]   the current contents, row by row
    data_init : list[int]   each read port's initial data
    any_en : int   after :meth:`place`, the bits of the sampled value that are port enables
    """

    def __init__(self, memory):
        self.memory = memory
        self.depth = memory.depth
        self.width = Shape.cast(memory.shape).width
        self.contents = list(memory.init)
        self.writes = list(memory.write_ports)
        self.reads = list(memory.read_ports)
        full = (1 << self.width) - 1
        self._lanes = [_LaneMasks(port.signature.granularity or self.width, len(port.en), full)
                       for port in self.writes]            # per write port: {en value: bit mask}
        self._transparent = [[self.writes.index(w) for w in port.transparent_for] for port in self.reads]
        self.data_init = [Value.cast(port.data).init for port in self.reads]

    @staticmethod
    def accepts(memory) -> bool:
        """Whether ``memory`` can be modelled: an unsigned shape, every read port synchronous and in
        the domain of the write ports."""
        if isinstance(memory.shape, ShapeCastable) or Shape.cast(memory.shape).signed:
            return False
        domains = {port.domain for port in (*memory.write_ports, *memory.read_ports)}
        return "comb" not in domains and len(domains) <= 1

    @property
    def domain(self) -> str:
        ports = (*self.writes, *self.reads)
        return ports[0].domain if ports else "sync"

    def fields(self) -> list:
        """The port inputs the process samples at each edge: each write port's ``addr``, ``data`` and
        ``en``, then each read port's ``addr`` and ``en``."""
        out = []
        for port in self.writes:
            out += [port.addr, port.data, port.en]
        for port in self.reads:
            out += [port.addr, port.en]
        return out

    def place(self, shift: int) -> int:
        """Place :meth:`fields` from bit ``shift`` of the sampled value; return the bit after them."""
        self._fields = []           # (shift, mask) of each field
        for value in self.fields():
            width = len(Value.cast(value))
            self._fields.append((shift, (1 << width) - 1))
            shift += width
        n = 3 * len(self.writes)
        ens = self._fields[2:n:3] + self._fields[n + 1::2]
        self.any_en = sum(mask << at for at, mask in ens)
        return shift

    def step(self, rst: bool, inputs: int) -> list:
        """One active edge, ``inputs`` (with :meth:`fields` where :meth:`place` put them) sampled at it:
        perform the writes, and return ``(read port index, new data)`` for each read port whose data is
        set."""
        if not (inputs & self.any_en or rst):
            return ()
        contents, depth = self.contents, self.depth
        fields = iter(self._fields)
        writes = []
        for k in range(len(self.writes)):
            (sa, ma), (sd, md), (se, me) = next(fields), next(fields), next(fields)
            en = inputs >> se & me
            writes.append((inputs >> sa & ma, inputs >> sd & md, self._lanes[k][en]) if en else None)
        out = []
        for j in range(len(self.reads)):
            (sa, ma), (se, me) = next(fields), next(fields)
            if inputs >> se & me:
                addr = inputs >> sa & ma
                data = contents[addr] if addr < depth else 0
                for k in self._transparent[j]:
                    w = writes[k]
                    if w is not None and w[0] == addr:
                        data = (data & ~w[2]) | (w[1] & w[2])
                out.append((j, data))
            elif rst:
                out.append((j, self.data_init[j]))
        for w in writes:
            if w is not None and w[0] < depth:
                addr, data, mask = w
                contents[addr] = (contents[addr] & ~mask) | (data & mask)
        return out


class _LaneMasks(dict):
    """``en`` value -> the bit mask of its lanes, computed once per value."""

    def __init__(self, granularity: int, n: int, full: int):
        super().__init__({(1 << n) - 1: full})
        self.granularity, self.n = granularity, n

    def __missing__(self, en: int) -> int:
        lane = (1 << self.granularity) - 1
        mask = 0
        for b in range(self.n):
            if en >> b & 1:
                mask |= lane << (b * self.granularity)
        self[en] = mask
        return mask


class MemoryModelPlatform:
    """The platform of a simulation with the memories at least ``min_width`` bits wide as
    :class:`MemoryModel`\\ s (module docstring).

    Members
    -------
    models : list[MemoryModel]   the memories modelled so far (in the order they were elaborated)
    """

    def __init__(self, min_width: int):
        self.min_width = min_width
        self.models: list[MemoryModel] = []
        self._inputs = {}           # domain: (the signal sampled, its models)

    def get_memory(self, memory):
        if Shape.cast(memory.shape).width < self.min_width or not MemoryModel.accepts(memory):
            return memory_instance(memory)
        self.models.append(MemoryModel(memory))
        return Module()

    def gather(self, m: Module) -> None:
        """Add to ``m`` (a module of the design, elaborated after every memory) one signal per clock
        domain that its process samples at each edge (one value, not one per port input): the
        :meth:`MemoryModel.fields` of its models, concatenated."""
        by_domain: dict[str, list[MemoryModel]] = {}
        for model in self.models:
            by_domain.setdefault(model.domain, []).append(model)
        for domain, models in by_domain.items():
            shift = 0
            for model in models:
                shift = model.place(shift)
            inputs = Signal(shift, name=f"memmodel_{domain}_inputs")
            m.d.comb += inputs.eq(Cat(*(f for model in models for f in model.fields())))
            self._inputs[domain] = inputs, models

    def add_processes(self, sim) -> None:
        """Add to ``sim`` (an ``amaranth.sim.Simulator`` of :class:`Elaborated` with this platform)
        one process per clock domain that steps the models of that domain at each of its active edges.
        """
        for domain, (inputs, models) in self._inputs.items():
            sim.add_process(_stepper(domain, inputs, models))


def _stepper(domain: str, inputs, models: list[MemoryModel]):
    # (model, its read ports' data signals, the values they hold: their initial values at first)
    plan = [(model, [port.data for port in model.reads], list(model.data_init)) for model in models]

    any_en = 0
    for model in models:
        any_en |= model.any_en

    async def process(ctx):
        async for _, rst, value in ctx.tick(domain).sample(inputs):
            if not (value & any_en or rst):
                continue                        # no port enabled: nothing changes
            for model, datas, last in plan:
                for j, data in model.step(rst, value):
                    if last[j] != data:         # the signal holds its value: set only a change
                        ctx.set(datas[j], data)
                        last[j] = data

    return process


class Elaborated(Elaboratable):
    """``dut`` elaborated with ``platform`` (a :class:`MemoryModelPlatform`), and the signals its
    processes sample: what to give Amaranth's simulator, which elaborates its design without a platform.
    """

    def __init__(self, dut, platform: MemoryModelPlatform):
        self.dut, self.platform = dut, platform

    def elaborate(self, platform):
        m = Module()
        m.submodules.design = _Elaborated(Fragment.get(self.dut, self.platform))
        self.platform.gather(m)
        return m


class _Elaborated(Elaboratable):
    """A fragment already elaborated (``amaranth.hdl.Fragment.get``), as an elaboratable."""

    def __init__(self, fragment):
        self.fragment = fragment

    def elaborate(self, platform):
        return self.fragment
