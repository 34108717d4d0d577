"""Numpy models of VTA's 2-D loads and stores (vta-reference §5.1, §5.5), shared by the DMA and unit tests."""

import numpy as np

__all__ = ["elems_of", "model_load", "model_store"]


def elems_of(buf: np.ndarray, eb: int) -> list:
    """Byte array -> list of little-endian element integers."""
    return [int.from_bytes(buf[i:i + eb].tobytes(), "little") for i in range(0, len(buf), eb)]


def model_load(dram: np.ndarray, sram: list, eb: int, c: dict) -> list:
    """vta-reference §5.1 load_pad_2d on a list of SRAM element integers (a copy is returned)."""
    sram = list(sram)
    depth = len(sram)
    if c["x_size"] == 0:
        return sram
    w = c["x_pad_0"] + c["x_size"] + c["x_pad_1"]
    block = np.zeros(((c["y_pad_0"] + c["y_size"] + c["y_pad_1"]), w, eb), dtype=np.uint8)
    for y in range(c["y_size"]):
        a = c["dram_addr"] + y * c["x_stride"] * eb
        row = dram[a:a + c["x_size"] * eb].reshape(c["x_size"], eb)
        block[c["y_pad_0"] + y, c["x_pad_0"]:c["x_pad_0"] + c["x_size"]] = row
    flat = elems_of(block.reshape(-1), eb)
    for i, v in enumerate(flat):
        sram[(c["sram_base"] + i) % depth] = v
    return sram


def model_store(dram: np.ndarray, sram: list, eb: int, c: dict) -> np.ndarray:
    """vta-reference §5.5 store (a copy of the DRAM bytes is returned)."""
    dram = dram.copy()
    depth = len(sram)
    for y in range(c["y_size"]):
        for x in range(c["x_size"]):
            v = sram[(c["sram_base"] + y * c["x_size"] + x) % depth]
            a = c["dram_addr"] + (y * c["x_stride"] + x) * eb
            dram[a:a + eb] = np.frombuffer(v.to_bytes(eb, "little"), dtype=np.uint8)
    return dram
