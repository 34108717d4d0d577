"""A program run over the self-test SoC's UART bridge: what the ``soc-sim`` and ``board`` backends share.

:func:`run_over_uart` places the program in a memory image (``sim/memimage.py``), and the one host driver
(:class:`sim.host.VTAHost`) over :class:`sim.links.uart.UartLink` over the given transport writes the
whole image into the SoC's block RAM (after INFO: :func:`check_suits`), launches, polls STATUS every ``chunk`` cycles until ``irq`` or the
cycle bound, and reads the registers, the counters and the out region back.  The result is the same
:class:`sim.result.RunResult` as every backend's.

Bounds: every read of the link has the transport's timeout, and the run has the cycle bound (checked
by polls, between which the core may run on a little: a run whose ``cycle_count`` is past the bound
counts as not finished, as on the backends that stop their clock at the bound); a link
that fails raises :class:`sim.links.LinkError` naming the command it was doing, a run past its bound the
usual ``VTARunError`` (``TIMEOUT``, with the stall bits).
"""

from __future__ import annotations

import time

from hw.soc.protocol import config_id
from sim.host import LinkTimeout, VTAHost, run_unsuspended
from sim.memimage import MemImage
from sim.progress import Progress
from sim.report import estimate_cycles
from sim.result import RunResult, VTARunError

from . import LinkError, Refused
from .uart import BridgeError, UartLink

__all__ = ["run_over_uart", "check_suits"]


def check_suits(program, image: MemImage, mem_bytes: int, soc_config: int, backend: str) -> None:
    """:class:`sim.links.Refused` unless the SoC (as its INFO describes it) can run ``program``: the
    same configuration, and block RAM that holds the memory image."""
    want = config_id(program.config)
    if soc_config != want:
        raise Refused(f"the {backend} SoC was built for another configuration (id 0x{soc_config:08x}; "
                      f"the program's {program.config.name} is 0x{want:08x}): give the bitstream's "
                      f"--config")
    if image.size > mem_bytes:
        raise Refused(f"the program's memory image ({image.size:,} bytes) does not fit the {backend} "
                      f"SoC's {mem_bytes:,} bytes of block RAM")


def run_over_uart(program, transport, *, backend: str, bound: int, chunk: int, progress: bool = False,
                  extra: dict | None = None) -> RunResult:
    """Run ``program`` on the SoC behind ``transport`` (a transport of ``UartLink``).

    Parameters
    ----------
    program : sw.program.Program
    transport :
        Bytes to and from the SoC (``sim.links.uart``'s transport protocol); if it has ``cycles()``
        (the simulated SoC), the result's ``extra`` records the clock cycles the whole session took.
    backend : str
        The backend's name, for the result and for messages.
    bound : int
        Cycle bound of the run, from launch.
    chunk : int
        Cycles between two STATUS polls (and progress updates).
    extra : dict, optional
        More facts for ``RunResult.extra`` (divisor, build, port...).

    First INFO asks the SoC for its memory size and configuration; a program it cannot run is refused
    (:class:`sim.links.Refused`) before anything is written.

    Raises
    ------
    sim.links.Refused
        If the SoC's configuration is not the program's, or its block RAM cannot hold the image.
    VTARunError
        On an error status of the core or the cycle bound.
    LinkError
        If the link fails (no answer within its timeout, an error status of the bridge, a serial error).
    """
    image = MemImage.place(program)
    link = UartLink(transport)
    host = VTAHost(link, clock=time.perf_counter)
    line = None
    t0 = time.perf_counter()
    try:
        mem_bytes, soc_config = run_unsuspended(link.info())
        check_suits(program, image, mem_bytes, soc_config, backend)
        link.doing = "the load"
        t_load = time.perf_counter()
        run_unsuspended(link.write_mem(0, image.image))
        load_seconds = time.perf_counter() - t_load
        line = Progress(backend, estimate_cycles(program)) if progress else None
        state = run_unsuspended(host.run(image, program.n_insns, bound, chunk=chunk,
                               on_progress=line.update if line else None))
        state.phases = {"load": load_seconds, **state.phases}
    except VTARunError:
        raise
    except LinkTimeout as e:
        raise LinkError(f"{backend}: the UART link stopped answering during {link.doing}: {e}",
                        timeout=True) from None
    except (BridgeError, OSError) as e:
        raise LinkError(f"{backend}: the UART link failed during {link.doing}: {e}") from None
    finally:
        if line:
            line.close()
    wall = time.perf_counter() - t0
    counters = dict(state.counters)
    # Polls take time on the line, so the core may finish a little after the bound: the bound holds on
    # the cycles the core counted, as on the backends that stop their clock at it.
    if state.finished and counters.get("cycle_count", 0) > bound:
        state.finished = False
    facts = {"mem_bytes": mem_bytes, "image_bytes": image.size,
             "phases": {k: round(v, 4) for k, v in state.phases.items()},
             **{r: state.registers[r] for r in ("status", "error_code", "error_index", "stall")}}
    cycles_of = getattr(transport, "cycles", None)
    if callable(cycles_of):
        facts["session_cycles"] = cycles_of()
    facts.update(extra or {})
    result = RunResult(backend=backend, out=state.out, counters=counters,
                       cycles=counters.get("cycle_count"), instructions=program.n_insns,
                       uops=program.n_uops, wall_time=wall, extra=facts)
    state.raise_for_error(program, result)
    return result
