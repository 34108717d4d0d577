"""The run-time settings of the simulated memory (``sim/axi_mem.py``), in one table.

Every setting is an input port of ``sim.axi_mem.AxiMemory`` and of ``sim.simtop.SimTop`` (same name,
width and reset value), so a backend changes latency, fault injection or back-pressure by driving
ports, never by rebuilding the design.  :data:`PORTS` lists them; :class:`MemSettings` holds one run's
values, checks them, and gives the value of every port (:meth:`MemSettings.port_values`), so every
backend drives the same ports from the same table.

Settings
--------
read_latency, write_latency
    Cycles from an AR handshake to its first R beat (>= 2), and from a burst's last W beat to its B
    response (>= 1); below 2^31.
read_fault, write_fault : :class:`Fault` or None
    An error response on one beat of one burst: the ``nth`` (from 0) read (write) burst whose start
    address lies in ``[addr_lo, addr_hi]`` and that has more than ``beat`` beats gets ``resp``
    (SLVERR or DECERR) on its beat ``beat`` (from 0): RRESP of that R beat (its data reads as zero), or
    BRESP of that burst (that beat is not written; the other beats are).  One fault per direction and
    run; counting starts at reset.
back_pressure : :class:`BackPressure` or None
    The memory withholds ARREADY, RVALID, AWREADY, WREADY and BVALID (the channels chosen) on a
    deterministic pseudo-random pattern (module ``sim.axi_mem``'s docstring gives the formula): each
    *decision* of a channel stalls with probability ``rate``/256, the decisions numbered from reset and
    mixed with ``seed``.  A VALID once shown stays up until its handshake, as AXI requires.
"""

from __future__ import annotations

from dataclasses import dataclass

from hw.axicodes import AXI_RESP_DECERR, AXI_RESP_SLVERR

__all__ = ["PORTS", "PORT_BY_NAME", "MemSettings", "Fault", "BackPressure", "BP_CHANNELS", "RESPONSES",
           "DEFAULT_READ_LATENCY", "DEFAULT_WRITE_LATENCY", "MAX_LATENCY", "MIN_READ_LATENCY",
           "MIN_WRITE_LATENCY", "FAULT_REGIONS",
           "parse_fault", "parse_back_pressure", "region_range", "bound_factor", "latencies",
           "from_options"]

#: Latencies (cycles) of a run that does not choose its own.
DEFAULT_READ_LATENCY = 16
DEFAULT_WRITE_LATENCY = 16
#: Latencies must stay below this (the memory compares cycle stamps modulo 2^32).
MAX_LATENCY = 1 << 31
#: The least latency of each kind the memory model supports.
MIN_READ_LATENCY, MIN_WRITE_LATENCY = 2, 1
#: Error responses a fault can give, by name.
RESPONSES = {"SLVERR": AXI_RESP_SLVERR, "DECERR": AXI_RESP_DECERR}
#: The channels back-pressure can stall, in the bit order of port ``bp_channels``.
BP_CHANNELS = ("ar", "r", "aw", "w", "b")
#: The regions of a program's memory image a fault may name (``sim.memimage.MemImage``), and
#: whether they are read or written.
FAULT_REGIONS = {"insn": "read", "uop": "read", "inp": "read", "wgt": "read", "acc": "read",
                 "out": "write"}

#: (port name, width in bits, reset value): the memory's run-time inputs.
PORTS: tuple[tuple[str, int, int], ...] = (
    ("mem_read_latency", 32, DEFAULT_READ_LATENCY),
    ("mem_write_latency", 32, DEFAULT_WRITE_LATENCY),
    *((f"fault_{d}_{f}", w, v) for d in ("rd", "wr")
      for f, w, v in (("en", 1, 0), ("lo", 32, 0), ("hi", 32, 0xFFFF_FFFF), ("nth", 32, 0),
                      ("beat", 8, 0), ("resp", 2, AXI_RESP_SLVERR))),
    ("bp_rate", 8, 0),
    ("bp_seed", 32, 0),
    ("bp_channels", len(BP_CHANNELS), (1 << len(BP_CHANNELS)) - 1),
)
PORT_BY_NAME = {name: (width, init) for name, width, init in PORTS}


def _int(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], not {value!r}")
    return value


@dataclass(frozen=True)
class Fault:
    """An error response on beat ``beat`` of the ``nth`` burst starting in ``[addr_lo, addr_hi]``
    with more than ``beat`` beats (module docstring)."""
    resp: str = "SLVERR"
    beat: int = 0
    nth: int = 0
    addr_lo: int = 0
    addr_hi: int = 0xFFFF_FFFF
    #: A region of the memory image (:data:`FAULT_REGIONS`) instead of the addresses: the backend
    #: resolves it (:meth:`resolve`) with the image it runs.
    region: str | None = None

    def __post_init__(self):
        if self.region is not None and self.region not in FAULT_REGIONS:
            raise ValueError(f"unknown region {self.region!r} (known: {', '.join(FAULT_REGIONS)})")
        if self.resp not in RESPONSES:
            raise ValueError(f"fault resp must be one of {', '.join(RESPONSES)}, not {self.resp!r}")
        _int("fault beat", self.beat, 0, 255)
        _int("fault burst", self.nth, 0, 0xFFFF_FFFF)
        _int("fault addr_lo", self.addr_lo, 0, 0xFFFF_FFFF)
        _int("fault addr_hi", self.addr_hi, self.addr_lo, 0xFFFF_FFFF)

    def resolve(self, layout) -> "Fault":
        """This fault with ``region`` turned into its addresses in ``layout`` (``sim.memimage.MemImage``)."""
        if self.region is None:
            return self
        lo, hi = region_range(layout, self.region)
        return Fault(self.resp, self.beat, self.nth, lo, hi)


@dataclass(frozen=True)
class BackPressure:
    """Stall each decision of the chosen ``channels`` with probability ``rate``/256 (module docstring)."""
    rate: int = 64
    seed: int = 0
    channels: tuple[str, ...] = BP_CHANNELS

    def __post_init__(self):
        _int("back-pressure rate", self.rate, 0, 255)
        _int("back-pressure seed", self.seed, 0, 0xFFFF_FFFF)
        bad = [c for c in self.channels if c not in BP_CHANNELS]
        if bad or not self.channels:
            raise ValueError(f"back-pressure channels must be some of {', '.join(BP_CHANNELS)}, "
                             f"not {','.join(self.channels) or 'none'}")


@dataclass(frozen=True)
class MemSettings:
    """One run's settings of the memory model (module docstring)."""
    read_latency: int = DEFAULT_READ_LATENCY
    write_latency: int = DEFAULT_WRITE_LATENCY
    read_fault: Fault | None = None
    write_fault: Fault | None = None
    back_pressure: BackPressure | None = None

    def __post_init__(self):
        for name, lo in (("read_latency", MIN_READ_LATENCY), ("write_latency", MIN_WRITE_LATENCY)):
            _int(name, getattr(self, name), lo, MAX_LATENCY - 1)
        for name, cls in (("read_fault", Fault), ("write_fault", Fault), ("back_pressure", BackPressure)):
            v = getattr(self, name)
            if v is not None and not isinstance(v, cls):
                raise ValueError(f"{name} must be a {cls.__name__} or None, not {v!r}")

    def port_values(self) -> dict[str, int]:
        """The value of every port of :data:`PORTS` for these settings."""
        v = {name: init for name, _, init in PORTS}
        v["mem_read_latency"], v["mem_write_latency"] = self.read_latency, self.write_latency
        for d, f in (("rd", self.read_fault), ("wr", self.write_fault)):
            if f is not None:
                v.update({f"fault_{d}_en": 1, f"fault_{d}_lo": f.addr_lo, f"fault_{d}_hi": f.addr_hi,
                          f"fault_{d}_nth": f.nth, f"fault_{d}_beat": f.beat,
                          f"fault_{d}_resp": RESPONSES[f.resp]})
        bp = self.back_pressure
        if bp is not None:
            v["bp_rate"], v["bp_seed"] = bp.rate, bp.seed
            v["bp_channels"] = sum(1 << BP_CHANNELS.index(c) for c in set(bp.channels))
        return v

    def without_faults(self) -> "MemSettings":
        """The same latencies and back-pressure, no fault."""
        return MemSettings(self.read_latency, self.write_latency, None, None, self.back_pressure)

    def to_json(self) -> dict:
        return {"read_latency": self.read_latency, "write_latency": self.write_latency,
                "read_fault": None if self.read_fault is None else dict(vars(self.read_fault)),
                "write_fault": None if self.write_fault is None else dict(vars(self.write_fault)),
                "back_pressure": None if self.back_pressure is None else
                {**vars(self.back_pressure), "channels": list(self.back_pressure.channels)}}


def latencies(mem_latency: int | None = None, read_latency: int | None = None,
              write_latency: int | None = None) -> tuple[int, int]:
    """The (read, write) latency of a run's memory model: ``read_latency`` / ``write_latency`` if given,
    else ``mem_latency`` for both, else the defaults above.

    Raises
    ------
    ValueError
        If a latency is not an integer.
    """
    both = mem_latency
    rl = read_latency if read_latency is not None else both if both is not None else DEFAULT_READ_LATENCY
    wl = write_latency if write_latency is not None else both if both is not None else DEFAULT_WRITE_LATENCY
    for name, v in (("read_latency", rl), ("write_latency", wl)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{name} must be an integer number of cycles, got {v!r}")
    return rl, wl


def from_options(mem_latency=None, read_latency=None, write_latency=None, read_fault=None,
                 write_fault=None, back_pressure=None, layout=None) -> MemSettings:
    """The settings of a run from a backend's options (as ``sim.backends`` passes them); a fault
    naming a region is resolved in the memory image ``layout``."""
    if layout is not None:
        read_fault = read_fault and read_fault.resolve(layout)
        write_fault = write_fault and write_fault.resolve(layout)
    for name, f in (("read_fault", read_fault), ("write_fault", write_fault)):
        if f is not None and getattr(f, "region", None) is not None:
            raise ValueError(f"{name} names region {f.region}: give the memory image to resolve it")
    return MemSettings(*latencies(mem_latency, read_latency, write_latency), read_fault=read_fault,
                       write_fault=write_fault, back_pressure=back_pressure)


def bound_factor(settings: MemSettings | None) -> int:
    """How many times longer than without back-pressure a run may take under ``settings`` (for the
    automatic cycle bound): each handshake waits 1/(1 - rate/256) decisions on average; twice that,
    rounded up, on the two channels of a beat."""
    if settings is None or settings.back_pressure is None or not settings.back_pressure.rate:
        return 1
    return 2 * -(-256 // (256 - settings.back_pressure.rate)) + 1


def region_range(layout, region: str) -> tuple[int, int]:
    """The first and last byte address of ``region`` (a key of :data:`FAULT_REGIONS`) in the memory
    image ``layout`` (``sim.memimage.MemImage``: each region runs up to the next one's base, the out
    region over its ``out_bytes``); ValueError if it is empty."""
    order = list(FAULT_REGIONS)
    if region not in FAULT_REGIONS:
        raise ValueError(f"unknown region {region!r} (known: {', '.join(order)})")
    lo = layout.bases[f"{region}_base"]
    if region == order[-1]:
        hi = lo + layout.out_bytes - 1
    else:
        hi = layout.bases[f"{order[order.index(region) + 1]}_base"] - 1
    if hi < lo:
        raise ValueError(f"region {region} is empty in this program: no access can fault there")
    return lo, hi


def _parse_int(key: str, text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise ValueError(f"{key}={text!r} is not an integer") from None


def parse_fault(spec: str, layout=None) -> tuple[str, Fault]:
    """Parse a ``--fault`` spec: ``read|write`` then ``:key=value`` items, of ``region=NAME`` (an image
    region: resolved now with ``layout``, else kept in the fault for the backend to resolve) or
    ``addr=LO-HI`` (byte addresses, inclusive), ``burst=N`` (the ordinal among matching bursts, from
    0; default 0), ``beat=N`` (default 1: mid-burst) and ``resp=SLVERR|DECERR`` (default SLVERR).

    Returns ``("read" | "write", Fault)``; raises ValueError ``fault 'SPEC': why`` on any mistake.
    """
    try:
        return _parse_fault(str(spec), layout)
    except ValueError as e:
        raise ValueError(f"fault {spec!r}: {e}") from None


def _parse_fault(spec: str, layout) -> tuple[str, Fault]:
    parts = spec.split(":")
    kind = parts[0]
    if kind not in ("read", "write"):
        raise ValueError(f"must start with read or write, not {kind!r}")
    items: dict[str, str] = {}
    for p in parts[1:]:
        key, sep, val = p.partition("=")
        if not sep or key not in ("region", "addr", "burst", "beat", "resp") or key in items:
            raise ValueError(f"{p!r} is not one of region=, addr=, burst=, beat=, resp= (each at most once)")
        items[key] = val
    lo, hi, region = 0, 0xFFFF_FFFF, None
    if "region" in items and "addr" in items:
        raise ValueError("give region= or addr=, not both")
    if "region" in items:
        region = items["region"]
        if region not in FAULT_REGIONS:
            raise ValueError(f"unknown region {region!r} (known: {', '.join(FAULT_REGIONS)})")
        if FAULT_REGIONS[region] != kind:
            raise ValueError(f"region {region} is {FAULT_REGIONS[region]}, not {kind}")
        if layout is not None:
            lo, hi = region_range(layout, region)
            region = None
    if "addr" in items:
        a, sep, b = items["addr"].partition("-")
        if not sep:
            raise ValueError(f"addr= takes LO-HI, not {items['addr']!r}")
        lo, hi = _parse_int("addr", a), _parse_int("addr", b)
    return kind, Fault(resp=items.get("resp", "SLVERR").upper(),
                       beat=_parse_int("beat", items.get("beat", "1")),
                       nth=_parse_int("burst", items.get("burst", "0")), addr_lo=lo, addr_hi=hi,
                       region=region)


def parse_back_pressure(spec: str) -> BackPressure | None:
    """Parse a ``--back-pressure`` spec: ``off``, ``on`` (the defaults), or ``:``-separated
    ``rate=N`` (stalls per 256 decisions, default 64), ``seed=N`` (default 0),
    ``channels=ar,r,aw,w,b`` (default all).  Raises ValueError ``back-pressure 'SPEC': why``."""
    spec = str(spec)
    if spec == "off":
        return None
    try:
        items: dict[str, str] = {}
        for p in spec.split(":") if spec != "on" else ():
            key, sep, val = p.partition("=")
            if not sep or key not in ("rate", "seed", "channels") or key in items:
                raise ValueError(f"{p!r} is not one of rate=, seed=, channels= (each at most once), "
                                 "on or off")
            items[key] = val
        return BackPressure(rate=_parse_int("rate", items.get("rate", "64")),
                            seed=_parse_int("seed", items.get("seed", "0")),
                            channels=tuple(items["channels"].split(",")) if "channels" in items
                            else BP_CHANNELS)
    except ValueError as e:
        raise ValueError(f"back-pressure {spec!r}: {e}") from None
