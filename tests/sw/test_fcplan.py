"""The FC layer's bounds and the default schedule's cost model (sw/fcplan.py), and the default schedule
over many shapes on the functional model, checked against numpy."""

import numpy as np
import pytest

from hw.config import VTAConfig
from sim import fsim
from sw import fcplan
from sw.fc import _Dims, build_fc, epilogue_ops, fc_reference
from sw.fcplan import candidates, choose_tiling, fc_bounds, predict_cycles
from sw.stream import StreamBuilder
from sw.uops import UopKernel
from tests.support.configs import SMALL, SMALL_BATCH2

BUS = {b: VTAConfig(log_bus_width=b) for b in (6, 7, 8, 9)}


# -- the bounds ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,bus,isa", [
    ((1, 1024, 1024), 131328, 4352), ((16, 1024, 1024), 135168, 69632),
    ((32, 1024, 1024), 139264, 139264), ((64, 1024, 1024), 147456, 278528),
    ((128, 512, 512), 49152, 147456), ((256, 1024, 1024), 196608, 1114112)])
def test_bounds_of_the_issue_table(shape, bus, isa):
    # 64-bit bus, the epilogue of --shift 8 --clip 0 127 (SHR, MAX, MIN)
    b = fc_bounds(*shape, VTAConfig(), len(epilogue_ops(8, (0, 127))))
    assert (b.bus, b.isa) == (bus, isa) and b.bound == max(bus, isa)


def test_bounds_follow_the_bus_width_and_padding():
    for lb, cfg in BUS.items():
        b = fc_bounds(3, 100, 70, cfg, 1)
        assert b.bus == (100 * 70 + 3 * 100 + 3 * 70) / (1 << lb) * 8
        assert b.isa == 3 * 7 * 5 + 3 * 5 * 2          # padded to 16-blocks: 7 K blocks, 5 N blocks
    b2 = fc_bounds(3, 8, 8, SMALL_BATCH2, 0)          # batch 2, 4x4 blocks
    assert b2.isa == 2 * 2 * 2 + 2 * 2


def test_fc_program_explain_uses_the_bounds():
    rng = np.random.default_rng(1)
    x, w = rng.integers(-128, 128, (5, 40), dtype=np.int8), rng.integers(-128, 128, (33, 40), dtype=np.int8)
    fc = build_fc(x, w, shift=3, relu=True)
    e = fc.explain(1000)
    b = fc_bounds(5, 40, 33, fc.config, 2)
    assert e["bus_bound_cycles"] == round(b.bus, 2) and e["isa_bound_cycles"] == b.isa
    assert e["cycles_over_bound"] == round(1000 / b.bound, 4)
    assert e["predicted_cycles"] == fc.tiles["predicted_cycles"] and e["tiling"]["tb"] == 5


# -- the cost model ---------------------------------------------------------------------------------------

def test_choice_is_deterministic():
    cfg, d = VTAConfig(), _Dims(32, 64, 64)
    first = choose_tiling(cfg, d, 3)
    choose_tiling.cache_clear()
    assert choose_tiling(cfg, d, 3) == first
    rng = np.random.default_rng(3)
    x, w = rng.integers(-128, 128, (32, 300), dtype=np.int8), rng.integers(-128, 128, (200, 300), dtype=np.int8)
    a = build_fc(x, w, shift=8, clip=(0, 127))
    choose_tiling.cache_clear()
    b = build_fc(x, w, shift=8, clip=(0, 127))
    assert a.program.insns == b.program.insns and a.program.uop == b.program.uop


@pytest.mark.parametrize("lb", [6, 9])
@pytest.mark.parametrize("shape", [(1, 1024, 1024), (32, 1024, 1024), (128, 512, 512), (7, 333, 1000)])
def test_prediction_is_sane(lb, shape):
    """Loose: the prediction is above the compute the schedule issues and within 1.5x of the bound."""
    cfg = BUS[lb]
    b = fc_bounds(*shape, cfg, 3)
    d = _Dims(*(fcplan.n_blocks(v, s) for v, s in zip(shape, (cfg.batch, cfg.block_in, cfg.block_out))))
    t, pred = choose_tiling(cfg, d, 3)
    assert b.isa <= pred <= 1.5 * b.bound
    # the chosen tiling's prediction is the best of those it was weighed against
    assert pred == predict_cycles(t, d, cfg, 3, fcplan.n_uops(t, 3))


def test_every_candidate_fits_the_srams():
    cfg, d = SMALL, _Dims(5, 9, 7)
    ts = list(candidates(cfg, d))
    assert ts
    for t in ts:
        slot_w = t.tn * t.tk * t.wgt_slots
        assert slot_w <= cfg.wgt_depth and t.tb * t.tn * t.acc_slots <= cfg.acc_depth
        inp = t.inp_regions * t.tb * d.kb if t.resident else t.wgt_slots * t.tb * t.tk
        assert inp <= cfg.inp_depth


def test_more_slots_never_predicted_slower_when_loads_wait():
    """The model's own consistency: with loads slower than compute, two slots beat one."""
    cfg, d = VTAConfig(), _Dims(1, 64, 64)
    t1 = fcplan.Tiling(1, 8, 64, True, 1, 1, 2, 1, 8, 1)
    t2 = fcplan.Tiling(1, 8, 64, True, 2, 1, 2, 1, 8, 1)
    assert predict_cycles(t2, d, cfg, 3) < predict_cycles(t1, d, cfg, 3)


# -- the preload ---------------------------------------------------------------------------------------------

def test_preload_loads_every_kernel_once_up_front():
    sb = StreamBuilder(SMALL)
    ks = [UopKernel(mode="gemm", loops=[(2, 1, 0, 0)], uops=[(i, 0, i)]) for i in range(4)]
    assert sb.preload(ks + ks[:2])
    assert len(sb.insns) == 1 and sb.insns[0].x_size == 4 and len(sb.uops) == 4
    for k in ks:
        sb.gemm(k)
    assert len(sb.insns) == 5                       # no further LOAD UOP
    big = [UopKernel(mode="gemm", uops=[(i % 200, 0, 0) for i in range(SMALL.uop_depth)])]
    assert not sb.preload(big) and len(sb.insns) == 5


# -- the default schedule on many shapes (functional model against numpy) -------------------------------

SHAPES = [(2, 3, 5), (3, 1000, 17), (5, 17, 1000), (17, 255, 129), (31, 64, 300), (2, 4096, 33),
          (3, 33, 4096), (100, 200, 150), (255, 31, 77), (256, 130, 70)]


def _check(shape, cfg, seed, epi):
    rng = np.random.default_rng(seed)
    B, K, N = shape
    x, w = rng.integers(-128, 128, (B, K), dtype=np.int8), rng.integers(-128, 128, (N, K), dtype=np.int8)
    fc = build_fc(x, w, config=cfg, **epi)
    # 256x4096x4096 is 16.8M GEMM micro-ops: past fsim's default budget (2**24), so give it room.
    got = fc.unpack(fsim.run(fc.program, max_uops=1 << 26).out)
    np.testing.assert_array_equal(got, fc_reference(x, w, **epi))
    return fc


@pytest.mark.parametrize("lb", [6, 7, 9])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_default_schedule_many_shapes(shape, lb):
    fc = _check(shape, BUS[lb], hash(shape) % 997 + lb, dict(shift=8, clip=(0, 127)))
    assert fc.tiles["uops_preloaded"]


@pytest.mark.parametrize("cfg", [SMALL, SMALL_BATCH2], ids=["small", "small_batch2"])
@pytest.mark.parametrize("shape", [(9, 50, 23), (64, 7, 40), (2, 100, 100)], ids=lambda s: "x".join(map(str, s)))
def test_default_schedule_small_srams(shape, cfg):
    _check(shape, cfg, 5, dict(shift=5, relu=True))


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(256, 4096, 4096), (200, 4096, 1000), (2, 4096, 4096), (64, 1, 4096)])
def test_default_schedule_large_shapes(shape):
    _check(shape, VTAConfig(), 11, dict(shift=9, clip=(-100, 100)))
