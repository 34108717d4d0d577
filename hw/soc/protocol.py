"""The UART bridge's wire protocol: one definition for the gateware (``hw/soc/bridge.py``) and the host
(``sim/links/uart.py``).

Every command is a fixed header of :data:`HEADER_BYTES` bytes: the command byte, a 32-bit address and a
32-bit argument, little-endian.  The bridge answers each command (except :data:`NOP`) with a status byte
(:data:`OK`, or the AXI response code of a failed register access, or :data:`BAD_COMMAND`), followed by
its data:

===========  =====================  ======================================  ========================
command      address                argument                                after the header
===========  =====================  ======================================  ========================
WRITE32      register offset        the value                               -
READ32       register offset        -                                       reply: status, 4 bytes
WRITE_MEM    memory byte address    byte count n                            host sends n bytes
READ_MEM     memory byte address    byte count n                            reply: status, n bytes
FILL         memory byte address    byte count n                            reply: status (n zero bytes
                                                                            written, at one a cycle)
STATUS       -                      -                                       reply: status, 1 byte (bit 0: irq)
INFO         -                      -                                       reply: status, 4 bytes
                                                                            memory size, 4 bytes
                                                                            configuration id
NOP          -                      -                                       no reply (resynchronise)
===========  =====================  ======================================  ========================

WRITE_MEM's status byte comes after its n data bytes.  INFO describes the SoC, so that a host refuses a
program the bitstream cannot run: the block RAM's size in bytes and :func:`config_id` of the core's
configuration.  Memory is the SoC's block RAM, the same addresses
the core's AXI master sees; the host touches it only while the core is idle.
"""

from __future__ import annotations

import enum
import json
import struct
import zlib

__all__ = ["Command", "HEADER_BYTES", "OK", "BAD_COMMAND", "INFO_BYTES", "header", "config_id"]


class Command(enum.IntEnum):
    NOP = 0x00
    WRITE32 = 0x01
    READ32 = 0x02
    WRITE_MEM = 0x03
    READ_MEM = 0x04
    STATUS = 0x05
    FILL = 0x06
    INFO = 0x07


HEADER_BYTES = 9
OK = 0x00
BAD_COMMAND = 0xFF
#: Bytes of INFO's reply after the status byte.
INFO_BYTES = 8


def header(command: Command, addr: int = 0, arg: int = 0) -> bytes:
    """The header bytes of one command."""
    return struct.pack("<BII", int(command), addr & 0xFFFF_FFFF, arg & 0xFFFF_FFFF)


def config_id(cfg) -> int:
    """A 32-bit id of the configuration ``cfg`` (``hw.config.VTAConfig``): the CRC-32 of its JSON form."""
    return zlib.crc32(json.dumps(cfg.to_json(), sort_keys=True).encode())
