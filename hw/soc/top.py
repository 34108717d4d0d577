"""The self-test SoC: the VTA core, ``mem_bytes`` of block RAM as its memory, and a UART bridge to a host.

The host runs programs exactly as on a simulator, through the one host driver (``sim/host.py``) over a
UART link (``sim/links/uart.py``): it writes the program into the block RAM, writes the registers,
launches, polls STATUS until ``irq``, and reads the registers, counters and the out region back.
"""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..config import VTAConfig
from ..glue import glue
from ..interfaces import AXI4_MEMBERS, AXIL_MEMBERS
from ..top import VTACore
from .bram import AxiBram
from .bridge import UartBridge
from .protocol import config_id
from .uart import UartRx, UartTx, check_divisor

__all__ = ["SocTop"]


class SocTop(wiring.Component):
    """Members
    -------
    uart_rx : In(1)   serial line from the host (idle high)
    uart_tx : Out(1)  serial line to the host
    irq : Out(1)      the core's interrupt (for a LED)

    Parameters
    ----------
    cfg : VTAConfig
    mem_bytes : int      block RAM size (a power of two)
    divisor : int        clock cycles per UART bit (e.g. 25 MHz / 1 Mbaud = 25)
    **core_options : the core's options (``hw.top.VTACore``: ``queue_ram_style``, ``pack_products``)
    """

    def __init__(self, cfg: VTAConfig, mem_bytes: int, divisor: int, **core_options):
        self.cfg, self.mem_bytes, self.divisor = cfg, mem_bytes, check_divisor(divisor)
        self.core = VTACore(cfg, **core_options)
        self.bram = AxiBram(cfg.bus_bits, mem_bytes)
        super().__init__({"uart_rx": In(1, init=1), "uart_tx": Out(1, init=1), "irq": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.core
        m.submodules.bram = bram = self.bram
        m.submodules.bridge = bridge = UartBridge(self.mem_bytes, config_id(self.cfg))
        m.submodules.uart_rx = rx = UartRx(self.divisor)
        m.submodules.uart_tx = tx = UartTx(self.divisor)
        g = glue(m, "soc_glue")
        for n, _, d in AXI4_MEMBERS(self.cfg.bus_bits):
            src, dst = getattr(core, "m_axi_" + n), getattr(bram, "axi_" + n)
            g.d.comb += (dst.eq(src) if d is Out else src.eq(dst))
        for n, _, d in AXIL_MEMBERS:
            src, dst = getattr(bridge, "axil_" + n), getattr(core, "s_axil_" + n)
            g.d.comb += (dst.eq(src) if d is Out else src.eq(dst))
        wiring.connect(m, bridge.mem, bram.byte)
        wiring.connect(m, rx.data, bridge.rx)
        wiring.connect(m, bridge.tx, tx.data)
        m.d.comb += [rx.rx.eq(self.uart_rx), self.uart_tx.eq(tx.tx), bridge.irq.eq(core.irq),
                     self.irq.eq(core.irq)]
        return m
