"""Design-space sweeps: a grid of configurations × workloads, each point a task on Ray.

A **point** is one configuration (VTA's ``vta_config.json`` keys), one workload and one backend:

``fc:BxKxN``          an FC layer of batch B, K inputs, N outputs on random int8 data, generated and
                      compiled exactly as ``vta run fc`` does (same seed, epilogue, schedule), so its
                      cycles are those of a single ``vta run fc`` of that point
``mlp:digits[:M]``    the shipped int8 digits MLP (:mod:`sw.mlp`) on the first M test images (default
                      64) in one batch, every layer summed

Each point gives its cycles, the bus bound (the busier AXI channel's bytes over the bus width, as
``sim.bench.bus_bound_cycles``), the compute bound (GEMM and ALU micro-ops at one per cycle), the
bound (the larger of the two; for the MLP the sum over its runs of each run's larger one), the ratio of
cycles to bound, the GEMM utilisation (cycles issuing a GEMM micro-op over all cycles), the MACs and the
arithmetic intensity (MACs per byte moved) behind the roofline, every counter, and whether the result
equals numpy.  A point that fails (a configuration the hardware refuses, a shape that does not fit, a
run error) is recorded with its error; the sweep goes on.

:func:`run_sweep` runs the points as Ray tasks (a local Ray unless ``address`` is given).  On the
Verilator and Icarus backends the simulator model of each configuration is built once: the first point
of each configuration runs first (building the model, under ``sim.cocotb_backend``'s lock), and only
when it is done are that configuration's other points submitted, so no two workers build one model and
no worker waits on another's build.  Results are written after every point (:func:`write_results`), so
an interrupted sweep resumes from its JSON file: points already recorded as ``ok`` are not run again.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import sys
import time
from dataclasses import dataclass, field

from sw.jsonfile import read_json

from .backends import MEMORY_MODEL

__all__ = ["Point", "parse_grid", "parse_workload", "make_points", "run_point", "run_sweep",
           "write_results", "load_results", "plot_roofline", "CYCLE_BACKENDS", "BUILT_BACKENDS"]

#: The cycle-level backends a sweep runs on: those with the simulated memory (one list, sim.backends).
CYCLE_BACKENDS = MEMORY_MODEL
#: Backends that compile a simulator model per configuration.
BUILT_BACKENDS = ("verilator", "icarus", "cocotb-verilator")

#: The epilogue and schedule of an FC point (those of ``vta run fc`` unless the sweep says otherwise).
FC_DEFAULTS = {"shift": 0, "clip": None, "relu": False, "schedule": "default", "seed": 0}


@dataclass(frozen=True)
class Point:
    """One point of a sweep.

    Members
    -------
    config : dict        the full ``vta_config.json`` object of the configuration
    workload : str       ``fc:BxKxN`` or ``mlp:digits[:M]``
    backend : str
    options : dict       FC epilogue and schedule (:data:`FC_DEFAULTS` keys), ``mem_latency``
    """
    config: dict
    workload: str
    backend: str
    options: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        """What identifies the point in a results file."""
        return json.dumps([self.config, self.workload, self.backend, self.options], sort_keys=True)


def parse_grid(items) -> dict[str, list[int]]:
    """``["LOG_BLOCK=4,5", "LOG_BUS_WIDTH=6,7"]`` → ``{"LOG_BLOCK": [4, 5], ...}``.

    Raises
    ------
    ValueError
        For an item that is not ``KEY=V1,V2,...`` of integers, or a key given twice.
    """
    grid: dict[str, list[int]] = {}
    for item in items or ():
        key, sep, values = str(item).partition("=")
        key = key.strip().upper()
        if not sep or not key or not values.strip():
            raise ValueError(f"grid item {item!r} is not KEY=V1,V2,... (e.g. LOG_BLOCK=4,5)")
        try:
            vals = [int(v) for v in values.split(",")]
        except ValueError:
            raise ValueError(f"grid item {item!r}: the values must be integers") from None
        if key in grid:
            raise ValueError(f"grid key {key} is given twice")
        grid[key] = vals
    return grid


def parse_workload(spec: str) -> tuple[str, tuple]:
    """``"fc:1x256x256"`` → ``("fc", (1, 256, 256))``; ``"mlp:digits:64"`` → ``("mlp", ("digits", 64))``.

    Raises
    ------
    ValueError
        For anything else; the message shows the accepted forms.
    """
    kind, _, rest = str(spec).partition(":")
    if kind == "fc":
        try:
            dims = tuple(int(v) for v in rest.lower().split("x"))
        except ValueError:
            dims = ()
        if len(dims) != 3 or min(dims) < 1:
            raise ValueError(f"workload {spec!r}: an FC is fc:BxKxN with positive B, K, N")
        return "fc", dims
    if kind == "mlp":
        from sw.mlp import DATASETS
        name, _, images = rest.partition(":")
        if name not in DATASETS:
            raise ValueError(f"workload {spec!r}: unknown dataset {name!r} (known: {', '.join(DATASETS)})")
        try:
            m = int(images) if images else 64
        except ValueError:
            m = 0
        if m < 1:
            raise ValueError(f"workload {spec!r}: the image count must be a positive integer")
        return "mlp", (name, m)
    raise ValueError(f"workload {spec!r} is not fc:BxKxN or mlp:DATASET[:IMAGES]")


def make_points(base_config, grid: dict, workloads, backend: str, options: dict | None = None
                ) -> list[Point]:
    """Every configuration of ``grid`` over ``base_config`` (a VTAConfig) × every workload, in order.

    Configurations are not validated here: one the hardware refuses becomes a failed point.

    Raises
    ------
    ValueError
        For an unknown grid key or a malformed workload.
    """
    base = base_config.to_json()
    for key in grid:
        if key not in base:
            raise ValueError(f"grid key {key!r} is not a configuration key (known: {', '.join(base)})")
    for w in workloads:
        parse_workload(w)
    opts = {**FC_DEFAULTS, **(options or {})}
    keys = list(grid)
    points = []
    for values in itertools.product(*(grid[k] for k in keys)):
        cfg = {**base, **dict(zip(keys, values))}
        points.extend(Point(cfg, w, backend, opts) for w in workloads)
    return points


# -- one point ------------------------------------------------------------------------------------------

def _fc_program(cfg, dims, opts):
    """The FC of ``vta run fc``: x then w drawn from ``default_rng(seed)``, compiled by build_fc."""
    import numpy as np
    from sw.fc import build_fc
    b, k, n = dims
    rng = np.random.default_rng(opts["seed"])
    x = rng.integers(-128, 128, (b, k), dtype=np.int8)
    w = rng.integers(-128, 128, (n, k), dtype=np.int8)
    clip = tuple(opts["clip"]) if opts["clip"] else None
    return build_fc(x, w, shift=opts["shift"], clip=clip, relu=opts["relu"], schedule=opts["schedule"],
                    config=cfg)


def _figures(cfg, macs: int, cycles, bus: float, compute: int, counters: dict, bound=None) -> dict:
    """The figures of a point; ``bound`` defaults to the larger of the two (one run)."""
    peak = cfg.batch * cfg.block_in * cfg.block_out
    moved = bus * cfg.bus_bytes
    bound = max(bus, compute) if bound is None else bound
    return {"cycles": cycles, "bus_bound_cycles": round(bus, 2), "compute_bound_cycles": compute,
            "bound_cycles": round(bound, 2),
            "cycles_over_bound": None if cycles is None else round(cycles / bound, 4),
            "macs": macs, "bytes_moved": round(moved), "intensity": macs / moved,
            "mac_per_cycle": None if not cycles else macs / cycles, "peak_mac_per_cycle": peak,
            "bus_bytes_per_cycle": cfg.bus_bytes,
            "gemm_utilisation": None if not cycles else counters["gemm_counter"] / cycles,
            "counters": counters}


def run_point(point: Point) -> dict:
    """Run one point; never raises: a failure is ``{"status": "error", "error": "..."}``."""
    t0 = time.perf_counter()
    rec = {"key": point.key, "workload": point.workload, "backend": point.backend,
           "config": point.config, "options": point.options}
    try:
        rec.update(_run_point(point))
        rec["status"] = "ok"
    except Exception as e:                      # recorded, the sweep goes on
        text = "; ".join(s.strip() for s in str(e).splitlines() if s.strip())
        rec.update(status="error", error=f"{type(e).__name__}: {text}")
    rec["wall_time"] = round(time.perf_counter() - t0, 3)
    return rec


def _run_point(point: Point) -> dict:
    import numpy as np
    from hw.config import VTAConfig
    from sim import backends
    from sw.check import check_program
    from sw.mlp.core import layer_bounds
    cfg = VTAConfig.from_json(point.config, source="sweep point")
    opts = {}
    if point.options.get("mem_latency") is not None:
        opts["mem_latency"] = point.options["mem_latency"]
    kind, args = parse_workload(point.workload)
    out = {"config_name": cfg.name}
    if kind == "fc":
        fc = _fc_program(cfg, args, point.options)
        check_program(fc.program)
        res = backends.run(fc.program, point.backend, **opts)
        out["verified"] = bool(np.array_equal(fc.unpack(res.out), fc.reference()))
        out.update(_figures(cfg, int(np.prod(args)), res.cycles, *layer_bounds(res, cfg),
                            dict(res.counters)))
        out["instructions"] = res.instructions
        out["build_seconds"] = res.extra.get("build_seconds")
        return out
    from sw.mlp import DATASETS, QuantMLP, compile_mlp
    model = QuantMLP.load(DATASETS[args[0]])
    m = min(args[1], len(model.x_test))
    x = model.input_int8(model.x_test[:m])
    run = compile_mlp(model, m, cfg, point.options["schedule"]).run(x, point.backend, **opts)
    counters: dict = {}
    for lr in run.layers:
        for k, v in lr.counters.items():
            counters[k] = counters.get(k, 0) + v
    macs = m * sum(l.in_features * l.out_features for l in model.layers)
    out["verified"] = bool(np.array_equal(run.logits, model.forward_int8(x))
                           and all(lr.exact for lr in run.layers))
    out.update(_figures(cfg, macs, run.cycles, sum(lr.bus_bound for lr in run.layers),
                        sum(lr.compute_bound for lr in run.layers), counters,
                        bound=sum(lr.bound for lr in run.layers)))
    out["instructions"] = sum(lr.instructions for lr in run.layers)
    out["layer_cycles"] = [lr.cycles for lr in run.layers]
    return out


# -- results --------------------------------------------------------------------------------------------

def load_results(path) -> list[dict]:
    """The point records of a results JSON written by :func:`write_results`.

    Raises
    ------
    ValueError
        If the file cannot be read or is not a sweep's results.
    """
    obj = read_json(path, ValueError, "the results")
    if not isinstance(obj, dict) or not isinstance(obj.get("points"), list):
        raise ValueError(f"{path}: not the results of a sweep (no 'points' list)")
    return obj["points"]


_CSV_COLUMNS = ["status", "workload", "backend", "config_name", "cycles", "bus_bound_cycles",
                "compute_bound_cycles", "bound_cycles", "cycles_over_bound", "gemm_utilisation", "macs",
                "bytes_moved", "intensity", "mac_per_cycle", "peak_mac_per_cycle",
                "bus_bytes_per_cycle", "verified", "instructions", "wall_time", "error"]


def _atomic_write(path: str, write) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", newline="") as f:
        write(f)
    os.replace(tmp, path)


def write_results(records: list[dict], prefix: str, grid_keys=(), meta: dict | None = None) -> dict:
    """Write ``PREFIX.json`` (everything) and ``PREFIX.csv`` (one row a point: the grid's configuration
    keys, the figures, then every counter); returns the paths."""
    paths = {"json": f"{prefix}.json", "csv": f"{prefix}.csv"}
    _atomic_write(paths["json"], lambda f: json.dump({**(meta or {}), "points": records}, f, indent=1))
    counters = sorted({k for r in records for k in r.get("counters", {})})
    cols = list(grid_keys) + _CSV_COLUMNS + counters

    def write(f):
        w = csv.writer(f)
        w.writerow(cols)
        for r in records:
            row = {**{k: r["config"].get(k) for k in grid_keys}, **r, **r.get("counters", {})}
            w.writerow(["" if row.get(c) is None else row.get(c) for c in cols])
    _atomic_write(paths["csv"], write)
    return paths


def plot_roofline(records: list[dict], path: str) -> str:
    """A roofline PNG: achieved MAC/cycle against MACs per byte moved, one colour a configuration, with
    its compute roof (BATCH·BLOCK² MAC/cycle) and bus roof (bus bytes per cycle × intensity)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ok = [r for r in records if r.get("status") == "ok" and r.get("mac_per_cycle")]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    names = sorted({r["config_name"] for r in ok})
    # A configuration is labelled by the keys that differ between the plotted ones.
    varying = sorted({k for r in ok for k, v in r["config"].items() if v != ok[0]["config"][k]}) if ok else []
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ["-", "--", ":", "-."]
    markers = "osD^v<>px*"
    workloads = sorted({r["workload"] for r in ok})
    if ok:
        xs = [r["intensity"] for r in ok]
        lo, hi = min(xs) / 4, max(xs) * 4
        for i, name in enumerate(names):
            c = colours[i % len(colours)]
            mine = [r for r in ok if r["config_name"] == name]
            peak, bus = mine[0]["peak_mac_per_cycle"], mine[0]["bus_bytes_per_cycle"]
            knee = peak / bus
            label = " ".join(f"{k}={mine[0]['config'][k]}" for k in varying) or name
            ax.plot([lo, knee, max(hi, knee * 2)], [lo * bus, peak, peak], color=c, lw=1.2,
                    ls=styles[i % len(styles)], alpha=0.8,
                    label=f"{label}: roofs {bus} B/cycle, {peak} MAC/cycle")
            for r in mine:
                ax.scatter(r["intensity"], r["mac_per_cycle"], facecolors="none", edgecolors=c, s=60,
                           linewidths=1.5, marker=markers[workloads.index(r["workload"]) % len(markers)],
                           zorder=3)
        for j, w in enumerate(workloads):
            ax.scatter([], [], facecolors="none", edgecolors="grey",
                       marker=markers[j % len(markers)], label=w)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend(fontsize=7, loc="lower right")
    else:
        ax.text(0.5, 0.5, "no successful point", ha="center", transform=ax.transAxes)
    ax.set_xlabel("arithmetic intensity (MAC per byte moved)")
    ax.set_ylabel("achieved MAC per cycle")
    ax.set_title("VTA sweep: achieved throughput against the bus and compute roofs")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# -- the sweep ------------------------------------------------------------------------------------------

def _progress(done: int, total: int, rec: dict, stream) -> None:
    if rec["status"] == "ok":
        cyc = "no cycles" if rec["cycles"] is None else f"{rec['cycles']} cycles"
        ratio = "" if rec["cycles_over_bound"] is None else f", {rec['cycles_over_bound']:.2f}x bound"
        what = f"{cyc}{ratio}, verified {rec['verified']}"
    else:
        what = f"FAILED: {rec['error']}"
    print(f"[{done}/{total}] {rec.get('config_name') or _cfg_label(rec['config'])} {rec['workload']}: "
          f"{what} ({rec['wall_time']:.1f} s)", file=stream, flush=True)


def _cfg_label(cfg: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in cfg.items() if k.startswith("LOG_B"))


def run_sweep(points: list[Point], prefix: str, *, previous: list[dict] | None = None,
              address: str | None = None, num_cpus: int = 2, grid_keys=(), plot: bool = True,
              stream=sys.stderr, meta: dict | None = None) -> list[dict]:
    """Run ``points`` as Ray tasks and write ``PREFIX.json``, ``PREFIX.csv`` and ``PREFIX.png``.

    Parameters
    ----------
    points : list of Point
    prefix : str               where the results go
    previous : list of dict    records of an earlier run (``--resume``): its ``ok`` points are kept
                               and not run again
    address : str, optional    a Ray cluster to join (``ray.init(address=...)``); default: a local Ray
                               of ``num_cpus`` workers
    grid_keys                  configuration keys that become CSV columns
    stream                     where progress goes (one line a finished point)

    Returns
    -------
    list of dict               every record, in the order of ``points`` (then older ones not in it)
    """
    import ray
    done = {r["key"]: r for r in (previous or []) if r.get("status") == "ok"}
    todo = [p for p in points if p.key not in done]
    records = dict(done)
    order = [p.key for p in points] + [k for k in done if k not in {p.key for p in points}]

    def save():
        write_results([records[k] for k in order if k in records], prefix, grid_keys, meta)

    print(f"sweep: {len(points)} points, {len(points) - len(todo)} already done, {len(todo)} to run",
          file=stream, flush=True)
    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1)(run_point)
        # Built backends: one point per configuration first (it builds the model), then the rest.
        waiting: dict[str, list[Point]] = {}
        first: list[Point] = []
        for p in todo:
            ck = json.dumps(p.config, sort_keys=True) if p.backend in BUILT_BACKENDS else p.key
            if ck in waiting:
                waiting[ck].append(p)
            else:
                waiting[ck] = []
                first.append(p)
        inflight = {}
        for p in first:
            ck = json.dumps(p.config, sort_keys=True) if p.backend in BUILT_BACKENDS else p.key
            inflight[task.remote(p)] = (p, ck)
        n_done = 0
        while inflight:
            ready, _ = ray.wait(list(inflight), num_returns=1)
            ref = ready[0]
            p, ck = inflight.pop(ref)
            try:
                rec = ray.get(ref)
            except Exception as e:              # the worker itself died
                rec = {"key": p.key, "workload": p.workload, "backend": p.backend, "config": p.config,
                       "options": p.options, "status": "error", "wall_time": 0.0,
                       "error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"}
            records[p.key] = rec
            n_done += 1
            _progress(n_done, len(todo), rec, stream)
            save()
            for q in waiting.pop(ck, []):
                inflight[task.remote(q)] = (q, None)
    finally:
        if started_here:
            ray.shutdown()
    save()
    out = [records[k] for k in order if k in records]
    if plot:
        plot_roofline(out, f"{prefix}.png")
    return out
