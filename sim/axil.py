"""An AXI4-Lite master for Amaranth testbenches (the control port of the core)."""

__all__ = ["AxiLiteDriver"]


class AxiLiteDriver:
    """Minimal AXI4-Lite master for a testbench context: one transaction at a time."""

    def __init__(self, ctx, dut, prefix="s_axil_"):
        self.ctx, self.dut, self.p = ctx, dut, prefix

    def _s(self, name):
        return getattr(self.dut, self.p + name)

    async def write(self, addr: int, value: int):
        ctx, s = self.ctx, self._s
        ctx.set(s("awaddr"), addr)
        ctx.set(s("awvalid"), 1)
        ctx.set(s("wdata"), value & 0xFFFFFFFF)
        ctx.set(s("wstrb"), 0xF)
        ctx.set(s("wvalid"), 1)
        ctx.set(s("bready"), 1)
        aw_done = w_done = False
        for _ in range(100):
            aw_ok, w_ok = ctx.get(s("awready")), ctx.get(s("wready"))
            await ctx.tick()
            if aw_ok:
                aw_done = True
                ctx.set(s("awvalid"), 0)
            if w_ok:
                w_done = True
                ctx.set(s("wvalid"), 0)
            if aw_done and w_done:
                break
        for _ in range(100):
            if ctx.get(s("bvalid")):
                await ctx.tick()
                ctx.set(s("bready"), 0)
                return
            await ctx.tick()
        raise RuntimeError(f"AXI4-Lite write to 0x{addr:x} got no response")

    async def read(self, addr: int) -> int:
        ctx, s = self.ctx, self._s
        ctx.set(s("araddr"), addr)
        ctx.set(s("arvalid"), 1)
        ctx.set(s("rready"), 1)
        for _ in range(100):
            ready = ctx.get(s("arready"))
            await ctx.tick()
            if ready:
                break
        ctx.set(s("arvalid"), 0)
        for _ in range(100):
            if ctx.get(s("rvalid")):
                value = ctx.get(s("rdata"))
                await ctx.tick()
                ctx.set(s("rready"), 0)
                return value
            await ctx.tick()
        raise RuntimeError(f"AXI4-Lite read of 0x{addr:x} got no response")
