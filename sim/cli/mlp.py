"""``vta run mlp``: the int8 digits MLP on the core, checked against the int8 numpy model.

The lead hooks it under ``vta run`` with :func:`register_run` (``run_subparsers`` is the subparsers
object of ``vta run``); the parser's default ``func`` is :func:`cmd_run_mlp`, which returns the exit
status (0: the core's logits equal the int8 model's bit for bit; 1: they do not) and raises
``sim.cli.CliError`` for input it refuses.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..report import report
from ..result import VTARunError
from .common import CliError, add_backend, add_config, backend_opts, one_line, run_error, write_trace_outputs

__all__ = ["register", "cmd_run_mlp", "mlp_report"]


def register(run_subparsers) -> argparse.ArgumentParser:
    """Add ``mlp`` to the subparsers of ``vta run``; returns its parser."""
    from sw.mlp import DATASETS
    p = run_subparsers.add_parser(
        "mlp", help="run the int8 digits MLP on the core and check it against the int8 numpy model",
        description="Run the test split of a dataset through the quantised MLP on the core, one FC "
                    "program per layer, each layer's out region fed as it is to the next layer.  "
                    "Prints the accuracy of the float model, the int8 numpy model and the core, whether "
                    "the core's logits equal the int8 model's bit for bit, and each layer's cycles "
                    "against its bounds.")
    p.add_argument("--dataset", default="digits", choices=sorted(DATASETS),
                   help="dataset and its shipped model (default digits)")
    p.add_argument("--model", metavar="FILE", help="a model file written by python -m sw.mlp.train "
                                                   "(default: the dataset's shipped model)")
    p.add_argument("--batch", type=int, default=64, metavar="B",
                   help="images per program (default 64); the last batch may be shorter")
    p.add_argument("--images", type=int, metavar="N",
                   help="run only the first N images of the test split (default: all)")
    p.add_argument("--schedule", default="default", help="FC schedule (default: default)")
    add_config(p)
    add_backend(p)
    p.set_defaults(func=cmd_run_mlp)
    return p


def mlp_report(model, pixels, labels, run) -> dict:
    """The figures of an MLP run on ``pixels``: accuracies, bit-exactness, each layer's cycles and
    bounds."""
    import numpy as np
    from sw.mlp import accuracy
    x = model.input_int8(pixels)
    ref = model.forward_int8(x)
    mism = int(np.count_nonzero(np.any(run.logits != ref, axis=1)))
    layers = []
    for i, (layer, lr) in enumerate(zip(model.layers, run.layers)):
        layers.append({
            "layer": i, "in_features": layer.in_features, "out_features": layer.out_features,
            "shift": layer.shift, "clip": list(layer.clip), "cycles": lr.cycles,
            "bus_bound_cycles": round(lr.bus_bound, 1), "compute_bound_cycles": lr.compute_bound,
            "bound_cycles": round(lr.bound, 1),
            "cycles_over_bound": None if lr.cycles is None else round(lr.cycles / lr.bound, 4),
            "out_region_exact": lr.exact, "instructions": lr.instructions, "counters": lr.counters})
    return {"images": int(len(x)),
            "float_accuracy": accuracy(model.forward_float(pixels), labels),
            "int8_accuracy": accuracy(ref, labels), "core_accuracy": accuracy(run.logits, labels),
            "logits_equal": mism == 0, "mismatched_images": mism, "cycles": run.cycles,
            "layers": layers, "wall_time": round(run.wall_time, 3)}


def cmd_run_mlp(args) -> int:
    """The handler of ``vta run mlp``: 0 if the core's logits equal the int8 model's, else 1."""
    from hw.config import ConfigError, VTAConfig
    from sim.backends import BackendUnavailable
    from sw.check import CheckError
    from sw.mlp import DATASETS, QuantMLP, compile_mlp
    try:
        cfg = VTAConfig.load(args.config)
    except ConfigError as e:
        raise CliError(one_line(e)) from None
    try:
        model = QuantMLP.load(args.model or DATASETS[args.dataset])
    except ValueError as e:
        raise CliError(one_line(e)) from None
    n = len(model.x_test) if args.images is None else args.images
    if not 1 <= n <= len(model.x_test):
        raise CliError(f"--images {args.images} must be 1..{len(model.x_test)} (the test split)")
    if args.batch < 1:
        raise CliError(f"--batch {args.batch} must be at least 1")
    pixels, labels = model.x_test[:n], model.y_test[:n]
    x = model.input_int8(pixels)
    try:
        compiled = compile_mlp(model, min(args.batch, n), cfg, args.schedule)
    except (ValueError, TypeError) as e:
        raise CliError(f"cannot compile the MLP: {one_line(e)}") from None
    opts = backend_opts(args)
    meta = {"workload": f"mlp {args.dataset}"}
    try:
        run = compiled.run(x, args.backend, **opts)
    except (BackendUnavailable, ValueError) as e:
        raise CliError(one_line(e)) from None
    except CheckError as e:
        raise CliError(f"program refused by the checker: {one_line(e)}") from None
    except VTARunError as e:
        write_trace_outputs(args, opts, meta)
        raise run_error(e, args.backend) from None
    write_trace_outputs(args, opts, meta)
    rep = mlp_report(model, pixels, labels, run)
    rep = {"workload": "mlp", "dataset": args.dataset, "backend": args.backend, "batch": compiled.batch,
           "config": cfg.to_json(), "shape": list(model.shape), **rep}
    if args.json:
        print(json.dumps(rep))
    else:
        print(_text(rep, cfg.name, cfg.bus_bytes))
    return 0 if rep["logits_equal"] else 1


def _text(rep: dict, cfg_name: str, bus_bytes: int) -> str:
    shape = "-".join(str(s) for s in rep["shape"])
    lines = [f"MLP {shape} on {rep['dataset']}: {rep['images']} test images in batches of {rep['batch']}, "
             f"backend {rep['backend']}, configuration {cfg_name}",
             f"accuracy: float {rep['float_accuracy']:.4f}, int8 numpy {rep['int8_accuracy']:.4f}, "
             f"core {rep['core_accuracy']:.4f}",
             "core logits equal the int8 model's: " + (
                 "yes" if rep["logits_equal"] else f"NO ({rep['mismatched_images']} images differ)"),
             f"{'layer':>5} {'shape':>9} {'shift':>5} {'cycles':>9} {'bus bound':>10} "
             f"{'compute':>8} {'bound':>8} {'ratio':>6} exact"]
    for l in rep["layers"]:
        cyc = "n/a" if l["cycles"] is None else str(l["cycles"])
        ratio = "n/a" if l["cycles_over_bound"] is None else f"{l['cycles_over_bound']:.2f}"
        lines.append(f"{l['layer']:>5} {l['in_features']:>4}x{l['out_features']:<4} {l['shift']:>5} "
                     f"{cyc:>9} {l['bus_bound_cycles']:>10.0f} {l['compute_bound_cycles']:>8} "
                     f"{l['bound_cycles']:>8.0f} "
                     f"{ratio:>6} {'yes' if l['out_region_exact'] else 'NO'}")
    if rep["cycles"] is not None:
        lines.append(f"total {rep['cycles']} cycles, {rep['wall_time']:.1f} s")
    total = {}
    for l in rep["layers"]:
        for k, v in l["counters"].items():
            total[k] = total.get(k, 0) + v
    lines.append("All layers and batches together:")
    lines.append(report(total, rep["cycles"], sum(l["instructions"] for l in rep["layers"]), bus_bytes))
    return "\n".join(lines)
