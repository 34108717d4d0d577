"""``vta plot``: draw a pipeline trace (``--trace`` of a cycle-level run) as a timeline PNG."""

from __future__ import annotations

from .common import CliError

__all__ = ["register", "plot"]


def register(subparsers) -> None:
    """Add ``vta plot``."""
    p = subparsers.add_parser(
        "plot", help="draw a pipeline trace as a timeline picture",
        description="Draw the trace-event JSON that --trace writes (one row per unit and memory client, "
                    "the waits in red, the queue occupancy below) as a PNG.")
    p.add_argument("trace", metavar="TRACE.json", help="a trace written by vta run ... --trace")
    p.add_argument("-o", "--output", metavar="PNG", default="timeline.png",
                   help="the picture to write (default timeline.png)")
    p.add_argument("--title", help="the picture's title (default: the run's workload and backend)")
    p.set_defaults(func=plot)


def plot(args) -> int:
    from sim.trace import TraceError, load_trace
    from sim.plot import plot_timeline
    try:
        trace = load_trace(args.trace)
        other = trace.get("otherData", {})
        title = args.title or " ".join(str(other[k]) for k in ("workload", "backend") if k in other) or None
        plot_timeline(trace, args.output, title=title)
    except TraceError as e:
        raise CliError(str(e)) from None
    except OSError as e:
        raise CliError(f"cannot write {args.output}: {e.strerror}") from None
    print(f"wrote {args.output}")
    return 0
