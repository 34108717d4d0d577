"""The self-test SoC (hw/soc/) in Amaranth's simulator: the UART alone, then a program run by the host
driver over the UART bridge, checked against the functional model."""

import random

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from hw.soc.protocol import BAD_COMMAND, Command, config_id, header
from hw.soc.top import SocTop
from hw.soc.uart import UartRx, UartTx, check_divisor
from sim import backends
from sim.host import VTAHost, cycle_bound
from sim.links.uart import BridgeError
from sim.memimage import MemImage
from tests.support.configs import SMALL
from tests.support.programs.gemm import blocked_gemm_program
from tests.support.uart_model import run_soc

DIV = 4


@pytest.mark.parametrize("divisor", [4, 7])
def test_uart_loopback(divisor):
    m = Module()
    m.submodules.tx = tx = UartTx(divisor)
    m.submodules.rx = rx = UartRx(divisor)
    m.d.comb += rx.rx.eq(tx.tx)
    data = bytes(random.Random(divisor).randrange(256) for _ in range(12)) + b"\x00\xff"
    got = []

    async def source(ctx):
        for b in data:
            ctx.set(tx.data.payload, b)
            ctx.set(tx.data.valid, 1)
            await ctx.tick().until(tx.data.ready)
        ctx.set(tx.data.valid, 0)

    async def sink(ctx):
        ctx.set(rx.data.ready, 1)
        while len(got) < len(data):
            await ctx.tick()
            if ctx.get(rx.data.valid):
                got.append(ctx.get(rx.data.payload))
            assert not ctx.get(rx.frame_error)

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(source)
    sim.add_testbench(sink)
    sim.run_until(1e-6 * divisor * 11 * (len(data) + 2))
    assert bytes(got) == data


def test_divisor_is_checked():
    with pytest.raises(ValueError, match="divisor"):
        check_divisor(3)


def _run_soc(body):
    return run_soc(SocTop(SMALL, 1 << 15, DIV), DIV, body)


def test_bridge_memory_registers_and_bad_command():
    async def body(ctx, link, out):
        await link.write_mem(0x1003, b"\x11\x22\x33\x44\x55\x66\x77\x88\x99")
        out["mem"] = await link.read_mem(0x1002, 11)
        await link.write_mem(0x1004, bytes(40))             # a zero run: FILL
        out["filled"] = await link.read_mem(0x1002, 11)
        await link.write32(0x08, 0x1234_5678)            # insn_count: a plain read-write register
        out["reg"] = await link.read32(0x08)
        out["irq"] = await link.irq()
        out["info"] = await link.info()
        await link.t.send(header(0x42))
        out["bad"] = (await link.t.recv(1))[0]
        try:
            await link.read_mem(1 << 20, 1)              # outside the memory: the bridge still answers
            out["far"] = "answered"
        except BridgeError as e:
            out["far"] = str(e)

    out = _run_soc(body)
    assert out["mem"] == b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\x00"
    assert out["filled"] == b"\x00\x11" + bytes(9)
    assert out["reg"] == 0x1234_5678
    assert out["irq"] is False
    assert out["info"] == (1 << 15, config_id(SMALL))
    assert out["bad"] == BAD_COMMAND
    assert out["far"] == "answered"


def test_program_over_the_uart_matches_fsim():
    program, expected = blocked_gemm_program(SMALL, m_blocks=1, k_blocks=2, n_blocks=2, tile_n=1, tile_k=1)
    img = MemImage.place(program)
    ref = backends.run(program, backend="fsim")

    async def body(ctx, link, out):
        host = VTAHost(link)      # the whole image, as every backend: zero pages go by FILL
        out["state"] = await host.run(img, program.n_insns, cycle_bound(program), load=True, chunk=2000)

    state = _run_soc(body)["state"]
    state.raise_for_error(program)
    assert state.out == ref.out
    assert {k: state.counters[k] for k in ref.fsim_counters()} == ref.fsim_counters()
