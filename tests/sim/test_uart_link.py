"""sim/links/uart.py without hardware: how writes split into FILL and WRITE_MEM commands."""

import asyncio
import random
import struct

from hw.soc.protocol import HEADER_BYTES, OK, Command
from sim.links.uart import CHUNK_BYTES, FILL_MIN, UartLink, _runs


def test_runs_cover_the_data_and_only_long_zero_runs_are_fills():
    for seed in range(500):
        r = random.Random(seed)
        data = bytes(r.choice([0, 0, 0, 7]) if r.random() < 0.3 else 0 for _ in range(r.randrange(300)))
        pos = 0
        for a, b, zero in _runs(data):
            assert a == pos < b
            pos = b
            if zero:
                assert b - a >= FILL_MIN and not any(data[a:b])
        assert pos == len(data)


class Recorder:
    """A bridge that answers OK to everything and records the commands it got."""

    def __init__(self):
        self.commands, self.pending = [], bytearray()

    async def send(self, data):
        self.pending += data
        while len(self.pending) >= HEADER_BYTES:
            op, addr, arg = struct.unpack("<BII", self.pending[:HEADER_BYTES])
            extra = arg if op == Command.WRITE_MEM else 0
            if len(self.pending) < HEADER_BYTES + extra:
                return
            self.commands.append((Command(op), addr, arg, bytes(self.pending[HEADER_BYTES:HEADER_BYTES + extra])))
            del self.pending[:HEADER_BYTES + extra]

    async def recv(self, n):
        return bytes([OK]) + bytes(n - 1)

    async def idle(self, cycles):
        pass


def test_write_mem_commands():
    t = Recorder()
    data = b"\x01\x02" + bytes(100) + b"\x03" + bytes(10) + b"\x04" * (CHUNK_BYTES + 5)
    asyncio.run(UartLink(t).write_mem(0x100, data))
    ops = [(op, addr - 0x100, arg) for op, addr, arg, _ in t.commands]
    # 10 zeros are too short for a FILL: bytes 102.. are one run, cut into chunks.
    assert ops == [(Command.WRITE_MEM, 0, 2), (Command.FILL, 2, 100), (Command.WRITE_MEM, 102, CHUNK_BYTES),
                   (Command.WRITE_MEM, 102 + CHUNK_BYTES, len(data) - 102 - CHUNK_BYTES)]
    assert b"".join(p for op, _, _, p in t.commands if op == Command.WRITE_MEM) == data[:2] + data[102:]
