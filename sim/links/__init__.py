"""Host links other than a simulator's own ports: the UART bridge of the self-test SoC (``uart``), its
transports (``serial``: a real port), and the run of a program over it (``run``).

:class:`LinkError` is how a run over such a link stops when the link itself fails (no answer within its
bound, an error status from the bridge); the ``vta`` commands report it in one line (exit status 4 for
a timeout, 3 otherwise).  :class:`Refused` is a run refused before it started (a port that cannot be
opened, a SoC built for another configuration or with too little memory): exit status 2.
"""

__all__ = ["LinkError", "Refused"]


class Refused(ValueError):
    """The SoC (or its port) cannot run the program as asked; nothing was run.  The message says why."""


class LinkError(RuntimeError):
    """The link to the SoC failed during a run; the message says in which phase and command.

    ``timeout`` is True when an answer did not come within its bound (``sim.host.LinkTimeout``)."""

    def __init__(self, message: str, timeout: bool = False):
        super().__init__(message)
        self.timeout = timeout
