"""Packing of fully-connected-layer tensors into VTA's blocked DRAM layouts (the tutorial's packing).

* input ``x`` (B, K)  → (B/BATCH, K/BLOCK_IN, BATCH, BLOCK_IN): inp element ``b * K/BLOCK_IN + k``;
* weight ``w`` (N, K) → (N/BLOCK_OUT, K/BLOCK_IN, BLOCK_OUT, BLOCK_IN): wgt element ``n * K/BLOCK_IN + k``;
* result (B, N)       ← (B/BATCH, N/BLOCK_OUT, BATCH, BLOCK_OUT): out element ``b * N/BLOCK_OUT + n``.

Sizes that are not multiples of BATCH / BLOCK are zero-padded up to the next multiple.
"""

from __future__ import annotations

import numpy as np

from hw.config import VTAConfig

__all__ = ["n_blocks", "check_int8_matrix", "pack_inp", "pack_wgt", "unpack_out"]


def n_blocks(size: int, block: int) -> int:
    """Number of ``block``-sized blocks that cover ``size`` (the last one zero-padded)."""
    return -(-size // block)


def check_int8_matrix(name: str, a) -> np.ndarray:
    """``a`` as a 2-D int8 array.  Integer arrays whose values fit int8 are accepted.

    Raises
    ------
    TypeError
        If ``a`` is not an integer array.
    ValueError
        If it is not 2-D, has an empty dimension, or holds a value outside -128..127.
    """
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{name} must be an integer (int8) array, got dtype {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {a.shape}")
    if 0 in a.shape:
        raise ValueError(f"{name} has an empty dimension: shape {a.shape}")
    if a.dtype != np.int8:
        lo, hi = int(a.min()), int(a.max())
        if lo < -128 or hi > 127:
            bad = lo if lo < -128 else hi
            raise ValueError(f"{name} holds {bad}, outside int8 (-128..127)")
        a = a.astype(np.int8)
    return a


def _pad(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    out = np.zeros((rows, cols), dtype=np.int8)
    out[:a.shape[0], :a.shape[1]] = a
    return out


def pack_inp(x: np.ndarray, cfg: VTAConfig) -> np.ndarray:
    """x (B, K) int8 → (B/BATCH, K/BLOCK_IN, BATCH, BLOCK_IN), zero-padded."""
    x = check_int8_matrix("x", x)
    bb, kb = n_blocks(x.shape[0], cfg.batch), n_blocks(x.shape[1], cfg.block_in)
    xp = _pad(x, bb * cfg.batch, kb * cfg.block_in)
    return np.ascontiguousarray(xp.reshape(bb, cfg.batch, kb, cfg.block_in).transpose(0, 2, 1, 3))


def pack_wgt(w: np.ndarray, cfg: VTAConfig) -> np.ndarray:
    """w (N, K) int8 → (N/BLOCK_OUT, K/BLOCK_IN, BLOCK_OUT, BLOCK_IN), zero-padded."""
    w = check_int8_matrix("w", w)
    nb, kb = n_blocks(w.shape[0], cfg.block_out), n_blocks(w.shape[1], cfg.block_in)
    wp = _pad(w, nb * cfg.block_out, kb * cfg.block_in)
    return np.ascontiguousarray(wp.reshape(nb, cfg.block_out, kb, cfg.block_in).transpose(0, 2, 1, 3))


def unpack_out(out: bytes | np.ndarray, batch: int, out_features: int, cfg: VTAConfig) -> np.ndarray:
    """The out region (B/BATCH, N/BLOCK_OUT, BATCH, BLOCK_OUT) int8 → (B, N), padding dropped.

    Raises
    ------
    ValueError
        If ``out`` holds fewer bytes than the padded result needs.
    """
    bb, nb = n_blocks(batch, cfg.batch), n_blocks(out_features, cfg.block_out)
    need = bb * nb * cfg.batch * cfg.block_out
    raw = np.frombuffer(bytes(out), dtype=np.int8) if not isinstance(out, np.ndarray) \
        else out.reshape(-1).view(np.int8)
    if raw.size < need:
        raise ValueError(f"out region has {raw.size} bytes, the {batch}x{out_features} result needs "
                         f"{need}")
    r = raw[:need].reshape(bb, nb, cfg.batch, cfg.block_out).transpose(0, 2, 1, 3)
    return np.ascontiguousarray(r.reshape(bb * cfg.batch, nb * cfg.block_out)[:batch, :out_features])
