"""``vta bitstream``: the self-test SoC placed, routed and packed into a board's ``.bit``
(``bitstreams/board.py``), with a utilisation and timing report."""

from __future__ import annotations

import json
import os

from .common import EXIT_BOUND, EXIT_HW_ERROR, EXIT_REFUSED, CliError, one_line

__all__ = ["register", "bitstream"]


def _mhz(text: str) -> float:
    import argparse
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a frequency in MHz: {text!r}") from None
    if not 1 <= v <= 400:
        raise argparse.ArgumentTypeError(f"{text} MHz is outside 1..400")
    return v


def register(subparsers) -> None:
    """Add ``vta bitstream``."""
    from .common import positive_int
    p = subparsers.add_parser(
        "bitstream", help="build a board bitstream of the self-test SoC (synthesis, place and route)",
        description="Synthesise the self-test SoC (the core, block RAM as its memory, the UART bridge) "
                    "for a board with Amaranth's build system and the yowasp tools, place and route it "
                    "with nextpnr, pack it to a .bit and report the utilisation per primitive, nextpnr's "
                    "maximum frequency and the run time. Takes many minutes; progress on stderr.")
    p.add_argument("--board", required=True, metavar="BOARD", help="the board: ulx3s-85f")
    p.add_argument("--config", metavar="FILE",
                   help="VTA configuration (default: the board's, e.g. bitstreams/boards/ulx3s-85f-8x8.json; "
                        "bitstreams/boards/ulx3s-85f.json is the 1x16x16 one, which does not fit)")
    p.add_argument("-o", "--out", metavar="DIR", default=None,
                   help="build directory (default: build/BOARD); holds vta_soc.bit, the tools' logs, "
                        "report.json and report.md")
    p.add_argument("--clock", type=_mhz, metavar="MHZ", default=None,
                   help="core clock asked for, made by the PLL (default: the board's, 37.5 MHz on the ULX3S: what the 1x8x8 SoC meets)")
    p.add_argument("--baud", type=positive_int, default=None, help="UART baud rate (default 115200)")
    p.add_argument("--seed", type=positive_int, default=1, help="nextpnr's placement seed (default 1)")
    p.add_argument("--router", choices=("router1", "router2"), default="router2",
                   help="nextpnr's router (default router2, which routes the 1x8x8 SoC; router1 is nextpnr's own "
                        "default, see bitstreams/boards/README.md")
    p.add_argument("--placer", choices=("heap", "static"), default="static",
                   help="nextpnr's placer (default static: on the 1x8x8 SoC a third less wire length than "
                        "heap, nextpnr's default, in a third of the time)")
    p.add_argument("--place-only", action="store_true",
                   help="stop after placement (nextpnr --no-route, no .bit): the Fmax is nextpnr's "
                        "estimate from the placement (no critical path), in minutes rather than hours")
    p.add_argument("--timeout", type=positive_int, metavar="S", default=None,
                   help="give up after S seconds (exit 4); a design that does not fit or route exits 3")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.set_defaults(func=bitstream)


def bitstream(args) -> int:
    try:
        from bitstreams import board as board_mod, report
    except ImportError as e:            # amaranth-boards and the tools come with the extra
        raise CliError(f"vta bitstream: {one_line(e)}: pip install -e \".[fpga]\"") from None
    board = board_mod.BOARDS.get(args.board)
    if board is None:
        raise CliError(f"--board {args.board}: unknown board (known: {', '.join(board_mod.BOARDS)})")
    from hw.config import ConfigError, VTAConfig
    path = args.config or board.config_path
    try:
        cfg = VTAConfig.from_file(path)
    except ConfigError as e:
        raise CliError(one_line(e)) from None
    out = args.out or os.path.join("build", board.name)
    if os.path.exists(out) and not os.path.isdir(out):
        raise CliError(f"-o {out}: exists and is not a directory")
    try:
        board_mod.BoardTop(cfg, board, args.clock or board.clock_mhz, args.baud or board.baud)
        rep = board_mod.build(cfg, board, out, clock_mhz=args.clock, baud=args.baud, seed=args.seed,
                              timeout_s=args.timeout, config_name=os.path.basename(path),
                              router=args.router, placer=args.placer, place_only=args.place_only)
    except board_mod.BoardError as e:
        msg = one_line(e)
        # A timeout is a bound reached (4); a refused option or a missing tool bad input (2); a design
        # the tools cannot fit, place or route a hardware error (3).
        raise CliError(msg, status=EXIT_BOUND if msg.startswith("--timeout") else
                       EXIT_REFUSED if msg.startswith("--") or "not on PATH" in msg
                       else EXIT_HW_ERROR) from None
    report.write(rep, out, "report")
    if args.json:
        print(json.dumps(rep, indent=1))
    else:
        print(report.markdown(rep))
    return 0
