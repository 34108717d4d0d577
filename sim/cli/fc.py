"""``vta run fc``: compile a fully-connected layer for random int8 data, run it, check it against numpy."""

from __future__ import annotations

import json
import os

from sim.report import report
from .saved import save_results
from .common import (CliError, Formatter, add_backend, add_config, backend_opts, check, check_fits,
                     config, nonneg_int, one_line, positive_int, result_json, run_backend, stats_table)

__all__ = ["register", "run_fc", "explain_text"]


def register(subparsers) -> None:
    """Add the ``fc`` workload to ``vta run``."""
    p_fc = subparsers.add_parser(
        "fc", formatter_class=Formatter,
        help="fully-connected layer: res = epilogue(x . w^T)",
        description="Fully-connected layer res = epilogue(x . w^T) with x (B, K) and w (N, K) random int8\n"
                    "from --seed.  The epilogue runs on VTA's ALU: arithmetic shift right by --shift, clip\n"
                    "to [LO, HI] with --clip, ReLU with --relu; the result is the low 8 bits.  Prints the\n"
                    "execution statistics (the seed tutorial's table), the cycle count and whether the\n"
                    "result matches numpy; exits 1 if it does not.",
        epilog="Example (the seed tutorial): vta run fc --batch 1 --in-features 1024 --out-features 1024 "
               "--shift 8 --clip 0 127 --schedule tutorial")
    p_fc.add_argument("--batch", type=positive_int, required=True, metavar="B", help="batch size (rows of x)")
    p_fc.add_argument("--in-features", type=positive_int, required=True, metavar="K", help="input features")
    p_fc.add_argument("--out-features", type=positive_int, required=True, metavar="N", help="output features")
    p_fc.add_argument("--shift", type=int, default=0, metavar="S",
                      help="arithmetic right shift of the int32 result, 0..31 (default 0)")
    p_fc.add_argument("--clip", type=int, nargs=2, metavar=("LO", "HI"),
                      help="clip the shifted result to [LO, HI] (16-bit immediates)")
    p_fc.add_argument("--relu", action="store_true", help="apply max(., 0) after the clip")
    p_fc.add_argument("--schedule", default="default", metavar="NAME",
                      help="tiling schedule of the FC compiler: 'default' (double-buffered, sized from "
                           "the SRAMs) or 'tutorial' (the seed tutorial's 256x256 blocks)")
    p_fc.add_argument("--explain", action="store_true",
                      help="also print the chosen tiling, the bus and ISA bounds and cycles over the larger")
    p_fc.add_argument("--seed", type=nonneg_int, default=0, metavar="N", help="random seed of x and w (default 0)")
    p_fc.add_argument("--save", metavar="DIR",
                      help="also write the compiled program in DIR (insn.bin, the region files, program.json: "
                           "vta exec DIR, vta disasm DIR, vta check DIR take it back) and, after the run, "
                           "expected.npy, result.npy and out.bin (vta unpack DIR OUT.bin)")
    add_config(p_fc)
    add_backend(p_fc)
    p_fc.set_defaults(func=run_fc)


def run_fc(args) -> int:
    import time
    import numpy as np
    cfg = config(args.config)
    if args.clip and args.clip[0] > args.clip[1]:
        raise CliError(f"--clip {args.clip[0]} {args.clip[1]}: LO is greater than HI")
    b, k, n = args.batch, args.in_features, args.out_features
    check_fits(b * k + n * k + b * n, f"--batch {b} --in-features {k} --out-features {n} "
                                      f"(int8 x, w and the result)")
    opts = backend_opts(args)
    if args.save and os.path.exists(args.save) and not os.path.isdir(args.save):
        raise CliError(f"--save {args.save!r} is a file, not a directory")
    try:
        from sw import fc
    except ImportError as e:
        raise CliError(f"the FC compiler (sw.fc) is not available: {one_line(e)}") from None
    if args.schedule not in fc.SCHEDULES:
        raise CliError(f"--schedule {args.schedule!r} is not one of: {', '.join(fc.SCHEDULES)}")
    rng = np.random.default_rng(args.seed)
    x = rng.integers(-128, 128, (args.batch, args.in_features), dtype=np.int8)
    w = rng.integers(-128, 128, (args.out_features, args.in_features), dtype=np.int8)
    t0 = time.perf_counter()
    try:
        fcp = fc.build_fc(x, w, shift=args.shift, clip=tuple(args.clip) if args.clip else None,
                          relu=args.relu, schedule=args.schedule, config=cfg)
    except (ValueError, TypeError) as e:
        raise CliError(f"cannot compile the FC layer: {one_line(e)}") from None
    compile_time = time.perf_counter() - t0
    program = fcp.program
    if args.save:
        try:
            program.save(args.save)
        except OSError as e:
            raise CliError(f"cannot save the program in {args.save!r}: {e.strerror}") from None
    if not args.no_check:
        check(program, args)
    res = run_backend(program, args, opts, meta={"workload": f"fc {b}x{k}->{n}"})
    got, ref = fcp.unpack(res.out), fcp.reference()
    verified = bool(np.array_equal(got, ref))
    if args.save:
        save_results(args.save, ref, got, res.out)
    bad = np.argwhere(got != ref)
    shape = {"batch": args.batch, "in_features": args.in_features, "out_features": args.out_features}
    if args.json:
        obj = {"workload": "fc", "verified": verified, **result_json(res, cfg), **shape,
               "schedule": args.schedule, "shift": args.shift,
               "clip": list(args.clip) if args.clip else None, "relu": args.relu, "seed": args.seed,
               "mismatches": int(len(bad)), "compile_time": compile_time,
               "explain": fcp.explain(res.cycles)}
        print(json.dumps(obj))
    else:
        print(f"FC {args.batch}x{args.in_features} -> {args.out_features} (shift {args.shift}"
              f"{', clip %d..%d' % tuple(args.clip) if args.clip else ''}{', relu' if args.relu else ''}), "
              f"schedule {args.schedule}, backend {res.backend}, configuration {cfg.name}")
        print(f"{res.instructions} instructions, {res.uops} micro-ops, {res.wall_time:.3f} s")
        print(stats_table(res.counters, res.cycles))
        print(report(res.counters, res.cycles, res.instructions, cfg.bus_bytes))
        if args.explain:
            print(explain_text(fcp.explain(res.cycles)))
        if verified:
            print("Result matches numpy: yes")
        else:
            i, j = bad[0]
            print(f"Result matches numpy: NO: {len(bad)} of {ref.size} elements differ, first at "
                  f"[{i}, {j}]: got {got[i, j]}, expected {ref[i, j]}")
    return 0 if verified else 1


def explain_text(e: dict) -> str:
    """``--explain``: the tiling, the two bounds and the ratio, a few lines."""
    t = e["tiling"]
    lines = [f"Tiling ({e['schedule']} schedule): " + ", ".join(f"{k} {v}" for k, v in t.items()
                                                                 if k != "predicted_cycles")]
    lines.append(f"Layer bounds: bus {e['bus_bound_cycles']:.0f} cycles (weights, inputs and outputs once "
                 f"each, (K*N + B*K + B*N) / bus bytes), ISA {e['isa_bound_cycles']} cycles (the compute "
                 f"unit's micro-ops in sequence); larger {e['bound_cycles']:.0f}")
    if "predicted_cycles" in e:
        lines.append(f"Cost model: {e['predicted_cycles']} cycles predicted, "
                     f"{e['predicted_over_bound']:.3f}x the bound")
    if "cycles_over_bound" in e:
        lines.append(f"Cycles over the larger bound: {e['cycles_over_bound']:.3f}")
    return "\n".join(lines)
