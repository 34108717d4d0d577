"""The AXI4 numbers the core and the memory model use (address width, burst, cache and response codes),
in a module of plain numbers (no Amaranth), so host-side modules (``sim.memsettings``, the CLI) can name
them without importing the hardware description."""

__all__ = ["ADDR_WIDTH", "AXI_BURST_INCR", "AXI_CACHE", "AXI_RESP_OKAY", "AXI_RESP_SLVERR", "AXI_RESP_DECERR"]

#: Width of every AXI address of the core (its memory space is 2**ADDR_WIDTH bytes).
ADDR_WIDTH = 32

AXI_BURST_INCR = 0b01
AXI_CACHE = 0b0011          # normal non-cacheable bufferable
AXI_RESP_OKAY = 0b00
AXI_RESP_SLVERR = 0b10
AXI_RESP_DECERR = 0b11
