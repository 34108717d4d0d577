"""The AXI4-Lite control block against the register map of hw/regs.py."""

from amaranth.sim import Simulator

from hw.control import ControlBlock, BASE_REGS
from hw.regs import REGS, REG_BY_NAME, COUNTERS, counter_offset, ErrorCode, STATUS_DONE, STATUS_ERROR
from sim.axil import AxiLiteDriver


def run_tb(dut, bench, cycles_bound=20000):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run_until(cycles_bound * 1e-8)


def test_register_map_offsets_are_unique_and_keep_vta_chisel_layout():
    offsets = [r.offset for r in REGS] + [counter_offset(n) + k for n in COUNTERS for k in (0, 4)]
    assert len(offsets) == len(set(offsets))
    assert all(o % 4 == 0 for o in offsets)
    chisel = ["control", "cycle_count", "insn_count", "insn_base", "uop_base", "inp_base", "wgt_base",
              "acc_base", "out_base", "acc_wr_count"]
    assert [REG_BY_NAME[n].offset for n in chisel] == list(range(0, 0x28, 4))


def test_base_registers_read_back_and_launch_runs_until_done():
    dut = ControlBlock(config_id=0x1234)
    seen = {}

    async def bench(ctx):
        axil = AxiLiteDriver(ctx, dut)
        for i, r in enumerate(BASE_REGS):
            await axil.write(REG_BY_NAME[r].offset, 0x1000 * (i + 1) + i)
        for i, r in enumerate(BASE_REGS):
            assert await axil.read(REG_BY_NAME[r].offset) == 0x1000 * (i + 1) + i
            assert ctx.get(getattr(dut, r)) == 0x1000 * (i + 1) + i
        assert await axil.read(REG_BY_NAME["config_id"].offset) == 0x1234
        # Launch; count some increments; finish.
        await axil.write(REG_BY_NAME["control"].offset, 1)
        assert ctx.get(dut.run.running)
        assert await axil.read(0) & 1
        ctx.set(dut.inc.all.wgt_load_nbytes, 256)
        ctx.set(dut.inc.all.gemm_active, 1)
        for _ in range(10):
            await ctx.tick()
        ctx.set(dut.inc.all.wgt_load_nbytes, 0)
        ctx.set(dut.inc.all.gemm_active, 0)
        ctx.set(dut.run.done, 1)
        await ctx.tick()
        ctx.set(dut.run.done, 0)
        await ctx.tick()
        assert not ctx.get(dut.run.running) and ctx.get(dut.irq)
        seen["control"] = await axil.read(0)
        seen["status"] = await axil.read(REG_BY_NAME["status"].offset)
        seen["wgt"] = await axil.read(counter_offset("wgt_load_nbytes"))
        seen["gemm_active"] = await axil.read(counter_offset("gemm_active"))
        seen["cycles"] = await axil.read(REG_BY_NAME["cycle_count"].offset)
        seen["cycles64"] = await axil.read(counter_offset("cycle_count"))
        # Base registers are read-only while running; writable again now.
        await axil.write(REG_BY_NAME["inp_base"].offset, 7)
        seen["inp_base"] = await axil.read(REG_BY_NAME["inp_base"].offset)

    run_tb(dut, bench)
    assert seen["control"] == 0b10
    assert seen["status"] == STATUS_DONE
    assert seen["wgt"] == 2560 and seen["gemm_active"] == 10
    assert seen["cycles"] == seen["cycles64"] and 10 < seen["cycles"] < 30
    assert seen["inp_base"] == 7


def test_error_latches_code_index_and_stall():
    dut = ControlBlock()
    seen = {}

    async def bench(ctx):
        axil = AxiLiteDriver(ctx, dut)
        await axil.write(0, 1)
        for _ in range(3):
            await ctx.tick()
        ctx.set(dut.run.error, ErrorCode.DEADLOCK)
        ctx.set(dut.run.error_index, 42)
        ctx.set(dut.run.stall, 0b101)
        await ctx.tick()
        ctx.set(dut.run.error, 0)
        ctx.set(dut.run.stall, 0)
        await ctx.tick()
        for name in ("status", "error_code", "error_index", "stall"):
            seen[name] = await axil.read(REG_BY_NAME[name].offset)
        # A new launch clears the error.
        await axil.write(0, 1)
        seen["status2"] = await axil.read(REG_BY_NAME["status"].offset)

    run_tb(dut, bench)
    assert seen["status"] == STATUS_ERROR
    assert seen["error_code"] == ErrorCode.DEADLOCK and seen["error_index"] == 42 and seen["stall"] == 0b101
    assert seen["status2"] == 1


def test_register_documentation_is_generated_from_the_table():
    import pathlib
    from hw.regs import markdown
    doc = pathlib.Path(__file__).parents[2] / "docs" / "registers.md"
    assert doc.read_text() == markdown(), "docs/registers.md is stale: run python -m hw.regs > docs/registers.md"
