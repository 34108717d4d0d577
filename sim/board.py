"""Backend ``board``: the self-test SoC on an FPGA board, over its serial port (pyserial).

The board runs a bitstream of ``hw.soc.top.SocTop`` (the core, block RAM, the UART bridge); the host runs
programs on it exactly as ``soc-sim`` does in simulation (``sim/links/run.py``): the one host driver
over ``sim.links.uart.UartLink`` over :class:`sim.links.serial.SerialTransport`.  Before a run the host
asks the bridge for INFO (``hw/soc/protocol.py``) and refuses a program whose configuration is not the
bitstream's or whose memory image does not fit its block RAM.

``vta run ... --backend board --port /dev/ttyUSB0 [--baud N]``.  The baud rate must be the bitstream's
(:data:`DEFAULT_BAUD` unless it was built for another); ``clock_hz`` (the SoC's clock) only turns the
polling interval into seconds.
"""

from __future__ import annotations

__all__ = ["run", "check_available", "open_transport", "DEFAULT_BAUD", "DEFAULT_CLOCK_HZ",
           "POLL_SECONDS", "READ_TIMEOUT"]

#: The UART's rate unless ``--baud`` says otherwise.
DEFAULT_BAUD = 115_200
#: The SoC's clock, for turning cycles into seconds while polling (an estimate is enough).
DEFAULT_CLOCK_HZ = 25e6
#: Seconds between two STATUS polls while the core runs.
POLL_SECONDS = 0.01
#: Seconds a read of the serial port waits for each reply beyond its bytes' time on the line.
READ_TIMEOUT = 2.0


def check_available(name: str = "board") -> None:
    """Raise (saying how to install it) unless pyserial is installed."""
    try:
        import serial  # noqa: F401
    except ImportError:
        raise RuntimeError('the board backend needs pyserial: pip install pyserial '
                           '(or pip install -e ".[fpga]")') from None


def open_transport(port: str, baud: int = DEFAULT_BAUD, clock_hz: float = DEFAULT_CLOCK_HZ,
                   timeout: float = READ_TIMEOUT):
    """A :class:`sim.links.serial.SerialTransport` on ``port`` (:class:`sim.links.Refused` naming the
    port if it cannot be opened)."""
    from sim.links import Refused
    from sim.links.serial import SerialTransport
    try:
        return SerialTransport(port, baud, clock_hz, timeout=timeout)
    except RuntimeError as e:
        raise Refused(str(e)) from None


def run(program, *, port: str | None = None, baud: int = DEFAULT_BAUD, clock_hz: float = DEFAULT_CLOCK_HZ,
        max_cycles: int | None = None, progress: bool = False, vcd=None, transport=None,
        timeout: float = READ_TIMEOUT, **opts):
    """Run ``program`` on the board at ``port``; the backend registry's ``board``.

    Parameters
    ----------
    program : sw.program.Program
    port : str
        The serial device (required unless ``transport`` is given).
    baud : int
        The bitstream's UART rate.
    clock_hz : float
        The SoC's clock (polling interval only).
    max_cycles : int, optional
        Cycle bound from launch (default ``sim.host.cycle_bound(program)``), polled by STATUS.
    transport : optional
        A transport to use instead of opening ``port`` (tests: a fake serial line).
    timeout : float
        Seconds each read may wait.

    Other options are accepted and ignored (the registry's rule); the CLI refuses ``--waves`` and
    ``--mem-latency`` for this backend.

    Raises
    ------
    ValueError
        If no port is given.
    sim.links.Refused
        If the port cannot be opened, or the program does not suit the bitstream (INFO).
    VTARunError, sim.links.LinkError
        As ``soc-sim``: an error status or the bound; a link that stops answering.
    """
    from sim.host import cycle_bound
    from sim.links.run import run_over_uart
    if vcd is not None:
        raise ValueError("the board backend writes no waveform")
    if transport is None:
        if port is None:
            raise ValueError("the board backend needs port= (the board's serial port, e.g. /dev/ttyUSB0)")
        transport = open_transport(port, baud, clock_hz, timeout)
        owned = True
    else:
        owned = False
    bound = cycle_bound(program) if max_cycles is None else max_cycles
    chunk = max(1, int(POLL_SECONDS * clock_hz))
    try:
        return run_over_uart(program, transport, backend="board", bound=bound, chunk=chunk,
                             progress=progress,
                             extra={"port": port, "baud": baud, "clock_hz": clock_hz})
    finally:
        if owned:
            transport.close()
