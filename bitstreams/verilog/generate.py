"""Write the VTA core's Verilog for each board configuration in ``boards/``, checked by Icarus and
Verilator's lint.

Usage::

    python bitstreams/verilog/generate.py [BOARD ...] [-o DIR] [--no-lint]

For each board (default: every ``boards/*.json``) it writes ``DIR/BOARD/vta_top.v`` (``DIR`` defaults to
``bitstreams/verilog/out``) and ``DIR/BOARD/ports.txt`` (port, direction, width), and prints one line
per board.  Exit status 1 if a lint reports an error.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BOARDS_DIR = os.path.join(HERE, "boards")


def boards() -> list[str]:
    """The board names with a configuration in ``boards/``."""
    return sorted(f[:-5] for f in os.listdir(BOARDS_DIR) if f.endswith(".json"))


def ports(text: str, module: str) -> list[tuple[str, str, int]]:
    """(name, direction, width) of each port of ``module`` in Verilog ``text``."""
    body = text[text.index(f"module {module}("):]
    body = body[:body.index("endmodule")]
    out = []
    for d, hi, name in re.findall(r"^\s*(input|output)\s+(?:\[(\d+):0\]\s*)?(\w+);", body, re.M):
        out.append((name, d, int(hi) + 1 if hi else 1))
    return out


def generate(board: str, out_dir: str, lint: bool = True) -> tuple[str, bool]:
    """Write one board's Verilog; return the summary line and whether it passed the lints."""
    from hw.config import VTAConfig
    from sim import verilog
    cfg = VTAConfig.from_file(os.path.join(BOARDS_DIR, f"{board}.json"))
    text = verilog.core_verilog(cfg)
    bdir = os.path.join(out_dir, board)
    os.makedirs(bdir, exist_ok=True)
    path = os.path.join(bdir, f"{verilog.CORE_TOP}.v")
    with open(path, "w") as f:
        f.write(text)
    plist = ports(text, verilog.CORE_TOP)
    with open(os.path.join(bdir, "ports.txt"), "w") as f:
        for name, d, w in sorted(plist):
            f.write(f"{name:20s} {d:6s} {w}\n")
    ok = True
    notes = []
    if lint:
        for tool in (verilog.lint_verilator, verilog.lint_icarus):
            try:
                r = tool(path, verilog.CORE_TOP)
            except FileNotFoundError as e:
                notes.append(f"{tool.__name__} skipped ({e})")
                continue
            ok &= r.ok
            notes.append(f"{r.tool} {'ok' if r.ok else 'FAILED: ' + '; '.join(r.errors[:3])}")
    line = (f"{board}: {path} ({len(text.splitlines())} lines, {len(plist)} ports, "
            f"{cfg.bus_bits}-bit m_axi) " + ", ".join(notes))
    return line, ok


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("boards", nargs="*", metavar="BOARD", help=f"default: all of {', '.join(boards())}")
    p.add_argument("-o", "--out", default=os.path.join(HERE, "out"), help="output directory")
    p.add_argument("--no-lint", action="store_true", help="skip Icarus and Verilator")
    args = p.parse_args(argv)
    names = args.boards or boards()
    unknown = [b for b in names if b not in boards()]
    if unknown:
        p.error(f"unknown board {unknown[0]!r} (known: {', '.join(boards())})")
    status = 0
    for b in names:
        line, ok = generate(b, args.out, lint=not args.no_lint)
        print(line)
        status |= not ok
    return status


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
    sys.exit(main())
