"""The AXI4 codes the core and the memory model use, in a module of plain numbers (no Amaranth), so a
host-side module (``sim.memsettings``) can name them without importing the hardware description."""

__all__ = ["AXI_BURST_INCR", "AXI_CACHE", "AXI_RESP_OKAY", "AXI_RESP_SLVERR", "AXI_RESP_DECERR"]

AXI_BURST_INCR = 0b01
AXI_CACHE = 0b0011          # normal non-cacheable bufferable
AXI_RESP_OKAY = 0b00
AXI_RESP_SLVERR = 0b10
AXI_RESP_DECERR = 0b11
