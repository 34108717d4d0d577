"""The timeline picture of a trace (``sim.trace``): ``vta plot TRACE.json -o timeline.png``.

One row per unit (fetch, load, compute, store) with a bar per instruction, coloured by what it does, and
its waits drawn over it in red; one row per memory client with its bursts; below, the occupancy of the
queues.  Needs matplotlib (``pip install -e ".[sweep]"``).
"""

from __future__ import annotations

from sim.trace import MEM_CLIENTS, QUEUES, UNITS, TraceError

__all__ = ["plot_timeline"]

#: Bar colour per opcode word of a slice's name.
_COLOURS = {"LOAD": "#4c72b0", "STORE": "#55a868", "GEMM": "#dd8452", "ALU": "#8172b2",
            "FINISH": "#937860"}
_WAIT = "#d62728"


def plot_timeline(trace: dict, path, *, title: str | None = None):
    """Draw ``trace`` (a trace-event object as ``sim.trace.build_trace`` writes) to the PNG ``path``."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError:
        raise TraceError('the timeline needs matplotlib: pip install -e ".[sweep]"') from None
    events = trace.get("traceEvents", [])
    names = {e["tid"]: e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    rows = [*UNITS, *(f"mem {c}" for c in MEM_CLIENTS)]
    row_of = {tid: rows.index(n) for tid, n in names.items() if n in rows}
    slices = {r: [] for r in range(len(rows))}
    waits = {r: [] for r in range(len(rows))}
    levels: dict[str, list[tuple[float, float]]] = {}
    end = trace.get("otherData", {}).get("cycles", 0)
    for e in events:
        if e.get("ph") == "X" and e.get("tid") in row_of:
            r = row_of[e["tid"]]
            (waits if e.get("cat") == "wait" else slices)[r].append(e)
            end = max(end, e["ts"] + e["dur"])
        elif e.get("ph") == "C":
            levels.setdefault(e["name"].removeprefix("queue "), []).append((e["ts"], e["args"]["entries"]))
    if end <= 0:
        raise TraceError("the trace holds no slices: nothing to draw")

    fig, (ax, axq) = plt.subplots(2, 1, figsize=(13, 6.5), sharex=True,
                                  gridspec_kw={"height_ratios": [3, 1.3]})
    for r in range(len(rows)):
        y = len(rows) - 1 - r
        for e in slices[r]:
            word = e["name"].split()[0]
            colour = _COLOURS.get(word, "#7f7f7f") if r < len(UNITS) else "#64b5cd"
            ax.broken_barh([(e["ts"], max(e["dur"], 0.5))], (y - 0.38, 0.76), facecolors=colour,
                           edgecolors="none")
        for e in waits[r]:
            ax.broken_barh([(e["ts"], max(e["dur"], 0.5))], (y - 0.16, 0.32), facecolors=_WAIT,
                           edgecolors="none")
    ax.set_yticks(range(len(rows)), list(reversed(rows)))
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.grid(True, axis="x", alpha=0.3)
    handles = [Patch(color=c, label=k) for k, c in _COLOURS.items()]
    handles += [Patch(color="#64b5cd", label="burst in flight"), Patch(color=_WAIT, label="waiting")]
    ax.legend(handles=handles, fontsize=7, ncol=len(handles), loc="lower center",
              bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.suptitle(title or "VTA pipeline timeline")
    for q in QUEUES:
        pts = levels.get(q)
        if not pts:
            continue
        xs, ys = [], []
        for (t, v), nxt in zip(pts, [*pts[1:], (end, None)]):
            xs += [t, nxt[0]]
            ys += [v, v]
        axq.plot(xs, ys, label=q, linewidth=1)
    axq.set_ylabel("queue entries")
    axq.set_xlabel("cycle (from launch)")
    axq.legend(fontsize=7, ncol=len(QUEUES), loc="upper right")
    axq.grid(True, alpha=0.3)
    ax.set_xlim(0, end)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
