"""Utilisation reports: JSON and Markdown tables of a run's primitives against its part, naming the
commit the design came from.

:func:`build` makes the report (a plain dict, the JSON form); :func:`markdown` renders it; :func:`write`
writes both as ``NAME.json`` and ``NAME.md``.  Both flows write through here: ``vta synth`` (synthesis
only) and ``vta bitstream`` (place and route), which adds the optional sections that :func:`markdown`
shows when present: ``setup`` (the board's settings), ``timing`` (:func:`timing`: the clock asked for,
nextpnr's Fmax, the critical path), ``steps`` (each step's run time) and ``attempts`` (earlier runs of
the same configuration, each with its own utilisation rows).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess

from .parts import Part

__all__ = ["commit", "build", "timing", "markdown", "write", "config_summary"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


#: What makes the design (the dirty check of :func:`commit`): the hardware, its Verilog writer, the board
#: top.
DESIGN_PATHS = ("hw", "sim/verilog.py", "bitstreams/board.py")


def commit(root: str = ROOT) -> str:
    """The git commit of the tree at ``root`` (short hash, ``+dirty`` if the files of
    :data:`DESIGN_PATHS` differ from it), or ``"unknown"`` outside git."""
    try:
        h = subprocess.run(["git", "-C", root, "rev-parse", "--short=12", "HEAD"], capture_output=True,
                           text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no",
                                "--", *DESIGN_PATHS],
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if not h:
        return "unknown"
    return h + ("+dirty" if dirty else "")


def config_summary(cfg) -> dict:
    """The configuration's keys (as in ``vta_config.json``) and its shape, for a report."""
    d = cfg.to_json() if hasattr(cfg, "to_json") else {}
    return {"source": os.path.basename(cfg.source), "gemm": f"{cfg.batch}x{cfg.block_in}x{cfg.block_out}",
            "buffers_kib": {n: (1 << getattr(cfg, f"log_{n}_buff_size")) // 1024
                            for n in ("uop", "inp", "wgt", "acc")},
            "bus_bits": cfg.bus_bits, "keys": d}


def build(part: Part, cells: dict[str, int], cfg, *, tool: str, seconds: float, flow: str,
          commit_id: str | None = None, notes: list[str] | None = None) -> dict:
    """The report of one run (the JSON form).

    Parameters
    ----------
    part : Part
    cells : dict of str to int
        Cell type -> count (Yosys ``stat``, or the packer's).
    cfg : hw.config.VTAConfig
    tool : str
        The tool's version line.
    seconds : float
        The run's wall-clock time.
    flow : str
        What was run (``"synth_xilinx -family xc7 -flatten"``).
    commit_id : str, optional
        Default: :func:`commit`.
    notes : list of str, optional
    """
    rows = part.utilisation(cells)
    return {
        "part": part.name, "device": part.device, "family": part.family, "board": part.description,
        "commit": commit_id or commit(), "date": datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%d %H:%M UTC"),
        "config": config_summary(cfg), "flow": flow, "tool": tool, "seconds": round(seconds, 1),
        "utilisation": rows, "fits": all(r["fits"] for r in rows),
        "cells": dict(sorted(cells.items())), "notes": list(notes or []),
    }


def timing(asked_mhz: float, clocks: dict, critical_path: list[str], core: str | None = None) -> dict:
    """The timing section of a place-and-route report.

    Parameters
    ----------
    asked_mhz : float
        The core clock asked for.
    clocks : dict
        nextpnr's clocks: name -> ``{"achieved_mhz", "constraint_mhz"}``.
    critical_path : list of str
        The lines of nextpnr's critical path report.
    core : str, optional
        The core clock's name in ``clocks`` (default: the first one containing ``pll_clk``, else the
        first).
    """
    name = core or next((k for k in clocks if "pll_clk" in k), next(iter(clocks), None))
    fmax = clocks[name]["achieved_mhz"] if name in clocks else None
    return {"clock_asked_mhz": asked_mhz, "fmax_mhz": fmax, "met": fmax is not None and fmax >= asked_mhz,
            "core_clock": name, "clocks": clocks, "critical_path": list(critical_path)}


def _table(rows: list[dict]) -> list[str]:
    out = ["| resource | used | available | % | fits |", "|---|---:|---:|---:|---|"]
    for r in rows:
        out.append(f"| {r['name']} | {r['used']:,} | {r['capacity']:,} | {r['percent']:.1f} | "
                   f"{'yes' if r['fits'] else '**no**'} |")
    return out


def markdown(rep: dict) -> str:
    """The report as Markdown: a heading naming part, configuration and commit, the setup if any, the
    utilisation table, the timing and step times if any, the notes, earlier attempts if any, and every
    cell type."""
    c = rep["config"]
    out = [f"# {rep['part']} ({rep['board']}): {c['gemm']} GEMM, configuration {c['source']}", "",
           f"Commit `{rep['commit']}`, {rep['date']}; {rep['flow']} with {rep['tool']}, "
           f"{rep['seconds']:.0f} s.  Buffers (KiB): "
           + ", ".join(f"{k} {v}" for k, v in c["buffers_kib"].items()) + f"; {c['bus_bits']}-bit bus.",
           ""]
    if rep.get("setup"):
        out += ["Setup: " + "; ".join(f"{k} {v}" for k, v in rep["setup"].items() if v is not None) + ".",
                ""]
    out += _table(rep["utilisation"])
    out.append("")
    out.append(f"Fits the part: **{'yes' if rep['fits'] else 'no'}**."
               + (f"  Result: {rep['result']}." if rep.get("result") else ""))
    t = rep.get("timing")
    if t:
        fmax = ("none (not routed)" if t["fmax_mhz"] is None else
                f"**{t['fmax_mhz']} MHz** ({'met' if t['met'] else 'not met'})")
        out += ["", f"Timing: clock asked for **{t['clock_asked_mhz']:g} MHz**; nextpnr's Fmax after "
                    f"routing {fmax}."]
        if t["clocks"]:
            out += ["", "| clock | constraint (MHz) | achieved (MHz) |", "|---|---:|---:|"]
            out += [f"| {n} | {v['constraint_mhz']} | {v['achieved_mhz']} |" for n, v in t["clocks"].items()]
        if t["critical_path"]:
            out += ["", "Critical path (nextpnr):", "", "```", *t["critical_path"], "```"]
    if rep.get("steps"):
        out += ["", "Run time (s): " + ", ".join(f"{k} {v}" for k, v in rep["steps"].items()) + "."]
    if rep.get("notes"):
        out += [""] + [f"* {n}" for n in rep["notes"]]
    for a in rep.get("attempts", ()):
        out += ["", f"## {a['title']}", "", f"Commit `{a['commit']}`; {a['result']}.", ""]
        out += _table(a["utilisation"])
    out += ["", "<details><summary>all cells</summary>", "", "| cell | count |", "|---|---:|"]
    out += [f"| {k} | {v:,} |" for k, v in rep["cells"].items()]
    out += ["", "</details>", ""]
    return "\n".join(out)


def write(rep: dict, directory: str, name: str) -> tuple[str, str]:
    """Write ``directory/name.json`` and ``directory/name.md``; returns both paths."""
    os.makedirs(directory, exist_ok=True)
    jp, mp = os.path.join(directory, name + ".json"), os.path.join(directory, name + ".md")
    with open(jp, "w") as f:
        json.dump(rep, f, indent=1)
        f.write("\n")
    with open(mp, "w") as f:
        f.write(markdown(rep))
    return jp, mp
