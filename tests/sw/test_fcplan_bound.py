"""How close the default FC schedule gets to the layer's bound (issue 9): the cost model's prediction for
a handful of shapes on each bus width (fast, no simulator), and a few shapes measured on Verilator
(slow).  The 1.05 limit is a cycle-count property of the design and its schedule, not a timing."""

import os

import numpy as np
import pytest

from hw.config import VTAConfig
from sw.fc import _Dims, build_fc, epilogue_ops
from sw.fcplan import choose_tiling, fc_bounds
from sw.pack import n_blocks

LIMIT = 1.05
N_ALU = len(epilogue_ops(8, (0, 127)))          # SHR, MAX, MIN: the epilogue of vta bench --fc-table
BUS = {b: VTAConfig(log_bus_width=b) for b in (6, 7, 8, 9)}


def _dims(cfg, b, k, n):
    return _Dims(n_blocks(b, cfg.batch), n_blocks(k, cfg.block_in), n_blocks(n, cfg.block_out))


@pytest.mark.parametrize("lb", sorted(BUS))
@pytest.mark.parametrize("shape", [(1, 1024, 1024), (16, 1024, 1024), (32, 1024, 1024), (64, 1024, 1024),
                                   (128, 512, 512), (2, 1024, 1024), (100, 4096, 100), (48, 1024, 1024),
                                   (200, 300, 500)])
def test_prediction_within_limit_of_the_bound(lb, shape):
    cfg = BUS[lb]
    t, pred = choose_tiling(cfg, _dims(cfg, *shape), N_ALU)
    b = fc_bounds(*shape, cfg, N_ALU)
    # Below no schedule can go: the compute unit's micro-ops, and the bytes the read channel must carry
    # (stores go over the write channel, so the bus bound itself may be undercut by its output share).
    reads = (shape[1] * shape[2] + shape[0] * shape[1]) / cfg.bus_bytes
    assert pred >= max(b.isa, reads)
    assert b.ratio(pred) <= LIMIT, f"{shape} on a {8 * cfg.bus_bytes}-bit bus: {t}"


def _verilator():
    """The verilator backend's run function; skips loudly (fails on CI) when it cannot load."""
    from sim import backends
    try:
        return backends.get_backend("verilator")
    except (backends.BackendUnavailable, ValueError) as e:
        (pytest.fail if os.environ.get("CI", "").lower() in ("1", "true", "yes") else pytest.skip)(
            f"the verilator backend is not available: {e}")


@pytest.mark.slow
@pytest.mark.parametrize("lb,shape", [(6, (1, 1024, 1024)), (6, (64, 1024, 1024)), (6, (17, 333, 777)),
                                      (6, (3, 1000, 1000)), (7, (16, 1024, 1024))])
def test_measured_within_limit_on_verilator(lb, shape):
    run = _verilator()
    cfg = BUS[lb]
    rng = np.random.default_rng(sum(shape))
    x = rng.integers(-128, 128, (shape[0], shape[1]), dtype=np.int8)
    w = rng.integers(-128, 128, (shape[2], shape[1]), dtype=np.int8)
    fc = build_fc(x, w, shift=8, clip=(0, 127), config=cfg)
    r = run(fc.program)
    assert (fc.unpack(r.out) == fc.reference()).all()
    ratio = fc.bounds().ratio(r.cycles)
    assert ratio <= LIMIT, f"{shape} on a {8 * cfg.bus_bytes}-bit bus: {r.cycles} cycles, {ratio:.4f}"
