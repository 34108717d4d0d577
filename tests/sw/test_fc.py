"""The FC compiler on the functional model, checked against numpy.

Expected results are computed here with numpy as the tutorial does; expected counters come from the
tutorial's printed statistics (semantics.md §6) or from the layer's shape.
"""

import dataclasses
import itertools

import numpy as np
import pytest

from hw.config import VTAConfig
from hw.isa import AluInsn, AluOp, GemmInsn, MemInsn, MemType, Opcode, decode_uops
from sim import fsim
from sw.fc import SCHEDULES, build_fc
from sw.check import check_program
from sw.pack import pack_inp, pack_wgt, unpack_out
from sw.program import Program
from sw.runtime import simulate_tokens

CONFIGS = {
    f"block{lb}_batch{lbt}": VTAConfig(log_block=lb, log_batch=lbt, **(
        dict(log_inp_buff_size=13, log_wgt_buff_size=15, log_acc_buff_size=15) if lb == 3 else {}))
    for lb in (3, 4, 5) for lbt in (0, 1)
}


def numpy_fc(x, w, shift=0, clip=None, relu=False):
    """The tutorial's verification: int32 dot, >> shift, clip, relu, low 8 bits."""
    r = np.dot(x.astype(np.int32), w.T.astype(np.int32)) >> shift
    if clip is not None:
        r = np.clip(r, *clip)
    if relu:
        r = np.maximum(r, 0)
    return r.astype(np.int8)


def rand(rng, *shape):
    return rng.integers(-128, 128, size=shape).astype(np.int8)


def blocks(n, b):
    return -(-n // b)


def check_in_range(fc):
    """Every SRAM index any instruction reaches is inside its buffer (recomputed from the fields)."""
    cfg = fc.config
    prog = fc.program
    region = decode_uops(prog.uop, cfg)
    uop_sram = [None] * cfg.uop_depth
    for k, i in enumerate(prog.decoded()):
        i.encode(cfg, check=True)
        if isinstance(i, MemInsn) and i.x_size:
            if i.opcode == Opcode.STORE:
                assert i.sram_base + i.x_size * i.y_size <= cfg.out_depth, (k, str(i))
            elif i.memory_type == MemType.UOP:
                assert i.sram_base + i.x_size <= cfg.uop_depth, (k, str(i))
                uop_sram[i.sram_base:i.sram_base + i.x_size] = region[i.dram_base:i.dram_base + i.x_size]
            else:
                depth = cfg.depth({MemType.INP: "inp", MemType.WGT: "wgt", MemType.ACC: "acc"}[
                    MemType(i.memory_type)])
                foot = (i.y_pad_0 + i.y_size + i.y_pad_1) * (i.x_pad_0 + i.x_size + i.x_pad_1)
                assert i.sram_base + foot <= depth, (k, str(i))
        elif isinstance(i, (GemmInsn, AluInsn)):
            assert 1 <= i.iter_out <= 2 ** 14 - 1 and 1 <= i.iter_in <= 2 ** 14 - 1
            uops = uop_sram[i.uop_bgn:i.uop_end]
            assert uops and all(u is not None for u in uops), (k, "micro-ops not loaded")
            io, ii = i.iter_out - 1, i.iter_in - 1
            top_dst = max(u.dst_idx for u in uops) + io * i.dst_factor_out + ii * i.dst_factor_in
            top_src = max(u.src_idx for u in uops) + io * i.src_factor_out + ii * i.src_factor_in
            assert top_dst < cfg.acc_depth, (k, str(i))
            if isinstance(i, GemmInsn):
                top_wgt = max(u.wgt_idx for u in uops) + io * i.wgt_factor_out + ii * i.wgt_factor_in
                assert top_src < cfg.inp_depth and top_wgt < cfg.wgt_depth, (k, str(i))
            else:
                assert top_src < cfg.acc_depth, (k, str(i))


def run_and_check(x, w, schedule="default", cfg=None, **epi):
    cfg = cfg or VTAConfig()
    fc = build_fc(x, w, schedule=schedule, config=cfg, **epi)
    check_in_range(fc)
    check_program(fc.program)          # the project's static checker agrees
    tok = simulate_tokens(fc.program.decoded(), cfg)
    assert tok.finished and tok.idle_at_finish and not any(tok.tokens_final.values()), tok
    r = fsim.run(fc.program)
    got = fc.unpack(r.out)
    exp = numpy_fc(x, w, **epi)
    assert got.shape == exp.shape == (x.shape[0], w.shape[0])
    np.testing.assert_array_equal(got, exp)
    np.testing.assert_array_equal(fc.reference(), exp)
    assert r.extra["tokens"] == {"l2g": 0, "g2l": 0, "g2s": 0, "s2g": 0}
    return fc, r


def n_alu_ops(shift, clip, relu):
    return blocks(shift, 15) + 2 * (clip is not None) + int(relu)


def check_shape_counters(fc, r, shift=0, clip=None, relu=False):
    """Counters that follow from the shape alone, for any sensible schedule."""
    cfg = fc.config
    B, K, N = fc.batch, fc.in_features, fc.out_features
    bb, kb, nb = blocks(B, cfg.batch), blocks(K, cfg.block_in), blocks(N, cfg.block_out)
    c = r.counters
    assert c["gemm_counter"] == bb * kb * nb
    assert c["alu_counter"] == n_alu_ops(shift, clip, relu) * bb * nb
    assert c["out_store_nbytes"] == bb * nb * cfg.batch * cfg.block_out
    assert c["acc_load_nbytes"] == 0
    assert c["inp_load_nbytes"] >= bb * kb * cfg.inp_elem_bytes
    assert c["wgt_load_nbytes"] >= nb * kb * cfg.wgt_elem_bytes


# -- the seed tutorial -----------------------------------------------------------------------------------

SEED_COUNTERS = {"inp_load_nbytes": 4096, "wgt_load_nbytes": 1048576, "acc_load_nbytes": 0,
                 "uop_load_nbytes": 20, "out_store_nbytes": 1024, "gemm_counter": 4096,
                 "alu_counter": 192}


@pytest.fixture(scope="module")
def seed_data():
    rng = np.random.default_rng(2024)
    return rand(rng, 1, 1024), rand(rng, 1024, 1024)


def test_seed_fc_tutorial_counters(seed_data):
    x, w = seed_data
    fc, r = run_and_check(x, w, "tutorial", shift=8, clip=(0, 127))
    assert r.fsim_counters() == SEED_COUNTERS
    assert fc.program.n_insns == 143 and fc.program.n_uops == 5
    assert (fc.tiles["o_block"], fc.tiles["i_block"]) == (16, 16)


def test_seed_fc_default_schedule(seed_data):
    x, w = seed_data
    fc, r = run_and_check(x, w, "default", shift=8, clip=(0, 127))
    check_shape_counters(fc, r, 8, (0, 127))
    c = r.counters
    assert c["wgt_load_nbytes"] == 1024 * 1024          # every weight read once
    assert c["inp_load_nbytes"] == 1024                 # the input row read once
    assert fc.tiles["inp_resident"]
    assert fc.program.n_insns < 143


@pytest.mark.parametrize("batch", [1, 32])
def test_default_schedule_slots(seed_data, batch):
    x, w = seed_data
    x = np.repeat(x, batch, axis=0)
    fc = build_fc(x, w, shift=8, clip=(0, 127))
    t = fc.tiles
    insns = fc.program.decoded()
    n_steps = t["b_tiles"] * t["n_tiles"] * t["k_tiles"]
    n_out = t["b_tiles"] * t["n_tiles"]
    S = t["wgt_slots"]
    assert n_steps > S >= 2 and n_out >= 3 and t["acc_slots"] == 2
    # every micro-op kernel is loaded once, up front, by the first instruction
    uop_loads = [i for i in insns if isinstance(i, MemInsn) and i.memory_type == MemType.UOP and i.x_size]
    assert t["uops_preloaded"] and len(uop_loads) == 1 and insns[0] is uop_loads[0]
    wl = [i for i in insns if isinstance(i, MemInsn) and i.memory_type == MemType.WGT and i.x_size]
    slot = t["tn"] * t["tk"]
    assert [i.sram_base for i in wl] == [(k % S) * slot for k in range(n_steps)]
    # the first S steps load without waiting; each later one waits for the GEMM S steps back (the
    # step's first load pops: its input piece, if it has one, else its weights)
    loads = [i for i in insns if isinstance(i, MemInsn) and i.opcode == Opcode.LOAD and i.x_size
             and i.memory_type in (MemType.INP, MemType.WGT)]
    pops, step_pop = [], False
    for i in loads:
        step_pop |= i.pop_next_dep
        if i.memory_type == MemType.WGT:
            pops.append(step_pop)
            step_pop = False
    assert pops == [False] * S + [True] * (n_steps - S)
    gemms = [i for i in insns if isinstance(i, GemmInsn) and not i.reset_reg]
    assert sum(g.push_prev_dep for g in gemms) == n_steps - S
    resets = [i for i in insns if isinstance(i, GemmInsn) and i.reset_reg]
    stores = [i for i in insns if i.opcode == Opcode.STORE and i.x_size]
    if t["split_drain"]:
        # the last tile's epilogue and store come in two halves of its rows (of its columns if it has
        # one row): they cover the tile, and stand in for one store below
        a, b = stores[-2:]
        assert not a.push_prev_dep
        if t["tb"] == 1:
            assert (b.sram_base, b.dram_base) == (a.sram_base + a.x_size, a.dram_base + a.x_size)
            stores = stores[:-2] + [dataclasses.replace(a, x_size=a.x_size + b.x_size)]
        else:
            assert a.x_size == b.x_size and b.sram_base == a.sram_base + a.y_size * a.x_size
            stores = stores[:-2] + [dataclasses.replace(a, y_size=a.y_size + b.y_size)]
    widths = [s.x_size for s in stores]
    # one reset kernel per (acc slot, tile width) in use
    assert len(resets) == n_out
    assert len({(g.uop_bgn, g.uop_end) for g in resets}) == len({(k % 2, w) for k, w in enumerate(widths)})
    assert all(s.y_size == t["tb"] for s in stores) and max(widths) == t["tn"]
    assert widths[t["n_tiles"] - 1::t["n_tiles"]] == [t["tn_last"]] * t["b_tiles"]
    assert sum(widths) == t["b_tiles"] * fc.tiles["padded_blocks"][2]
    # the stores of two consecutive tiles use alternate acc halves
    assert [s.sram_base for s in stores] == [(k % 2) * t["tb"] * t["tn"] for k in range(n_out)]
    # compute waits for a store only from the third tile on (the last store's push is the sync's)
    assert [s.push_prev_dep for s in stores[:-1]] == [True] * (n_out - 2) + [False]
    if t["inp_resident"]:
        # the resident input comes in piece by piece along the first output tile
        il = [k for k, i in enumerate(insns) if isinstance(i, MemInsn) and i.memory_type == MemType.INP
              and i.x_size]
        assert len(il) == t["k_tiles"] and il[-1] < insns.index(stores[0])


def test_zero_tokens_let_a_second_launch_run(seed_data):
    x, w = seed_data
    model = fsim.FunctionalModel(VTAConfig())
    for schedule in SCHEDULES:
        fc = build_fc(x[:, :64], w[:32, :64], shift=3, schedule=schedule)
        outs = [fc.unpack(model.run(fc.program).out) for _ in range(2)]
        assert model.tokens == {"l2g": 0, "g2l": 0, "g2s": 0, "s2g": 0}
        for o in outs:
            np.testing.assert_array_equal(o, numpy_fc(x[:, :64], w[:32, :64], shift=3))


def test_program_files_roundtrip(tmp_path):
    rng = np.random.default_rng(5)
    x, w = rand(rng, 3, 40), rand(rng, 20, 40)
    fc = build_fc(x, w, shift=2, relu=True)
    fc.program.save(tmp_path)
    again = Program.load(tmp_path)
    np.testing.assert_array_equal(fc.unpack(fsim.run(again).out), numpy_fc(x, w, 2, relu=True))


# -- the default schedule over shapes and configurations -------------------------------------------------

SAMPLE_SHAPES = [(1, 1, 1), (2, 17, 100), (4, 255, 1000), (16, 2048, 17), (1, 1000, 2048),
                 (16, 100, 255), (2, 2048, 2048), (4, 16, 16)]


def _sample():
    """Each configuration with a rotating share of the shapes (every shape on several configs)."""
    out = []
    for n, (name, cfg) in enumerate(CONFIGS.items()):
        for k, shape in enumerate(SAMPLE_SHAPES):
            if (k + n) % 3 != 2 or shape == (16, 2048, 17):
                out.append(pytest.param(name, shape, id=f"{name}-{'x'.join(map(str, shape))}"))
    return out


@pytest.mark.parametrize("cfg_name,shape", _sample())
def test_default_schedule_matrix(cfg_name, shape):
    cfg = CONFIGS[cfg_name]
    B, K, N = shape
    rng = np.random.default_rng(hash(shape) % 1000 + len(cfg_name))
    x, w = rand(rng, B, K), rand(rng, N, K)
    epi = dict(shift=9, clip=(-20, 100))
    fc, r = run_and_check(x, w, "default", cfg, **epi)
    check_shape_counters(fc, r, **epi)
    bb, kb, nb = blocks(B, cfg.batch), blocks(K, cfg.block_in), blocks(N, cfg.block_out)
    # the whole weight matrix is read once per batch tile
    assert r.counters["wgt_load_nbytes"] == fc.tiles["b_tiles"] * nb * kb * cfg.wgt_elem_bytes
    assert r.counters["inp_load_nbytes"] == fc.tiles["inp_load_nbytes"]


@pytest.mark.parametrize("shape,tail", [(s, "split_drain") for s in [(1, 300, 100), (2, 64, 48), (7, 200, 40),
                                                                      (1, 16, 16)]]
                         + [(s, "tb_last") for s in [(2, 64, 48), (7, 200, 40)]])
def test_default_schedule_tails(monkeypatch, shape, tail):
    """The last tile's epilogue and store in two halves (of its rows, or of its columns when it has one
    row), and a narrower last batch tile, whether or not the planner picks them for the shape: the
    results and the tokens stay right."""
    import sw.fc
    chosen = sw.fc.choose_tiling

    def forced(cfg, d, n_alu):
        t, p = chosen(cfg, d, n_alu)
        if tail == "split_drain":
            return dataclasses.replace(t, split_drain=True), p
        t = dataclasses.replace(t, tb=max(1, d.bb - 1), tb_last=1)
        return dataclasses.replace(t, nbt=len(t.b_split(d.bb)), acc_slots=1,
                                   inp_regions=(2 if t.resident else 0)), p

    monkeypatch.setattr(sw.fc, "choose_tiling", forced)
    rng = np.random.default_rng(sum(shape))
    B, K, N = shape
    fc, _ = run_and_check(rand(rng, B, K), rand(rng, N, K), shift=7, clip=(-5, 90))
    assert fc.tiles[tail] == (True if tail == "split_drain" else 1)


@pytest.mark.parametrize("cfg_name", ["block4_batch0", "block3_batch1"])
@pytest.mark.parametrize("shape", [(1, 17, 30), (4, 300, 64)])
def test_tutorial_schedule_other_shapes(cfg_name, shape):
    cfg = CONFIGS[cfg_name]
    B, K, N = shape
    rng = np.random.default_rng(7)
    fc, r = run_and_check(rand(rng, B, K), rand(rng, N, K), "tutorial", cfg, shift=4, clip=(0, 127))
    check_shape_counters(fc, r, 4, (0, 127))
    stores = [i for i in fc.program.decoded() if i.opcode == Opcode.STORE and i.x_size]
    assert all(s.x_size == s.y_size == 1 for s in stores)     # one-element stores, as the tutorial


EPILOGUES = [dict(), dict(shift=5), dict(shift=20), dict(shift=31), dict(relu=True),
             dict(shift=3, relu=True), dict(clip=(-7, 7)), dict(shift=6, clip=(-300, 300), relu=True),
             dict(clip=(-32768, 32767)), dict(clip=(50, 10))]


@pytest.mark.parametrize("epi", EPILOGUES, ids=lambda e: ",".join(f"{k}={v}" for k, v in e.items())
                         or "none")
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_epilogues(epi, schedule):
    rng = np.random.default_rng(11)
    x, w = rand(rng, 3, 70), rand(rng, 40, 70)
    fc, r = run_and_check(x, w, schedule, CONFIGS["block4_batch1"], **epi)
    check_shape_counters(fc, r, **{"shift": 0, **epi})
    alu = [i for i in fc.program.decoded() if isinstance(i, AluInsn)]
    if epi.get("shift", 0) > 15:
        assert {i.imm for i in alu if i.alu_opcode == AluOp.SHR} <= set(range(1, 16))
    if not epi:
        assert alu == []


# -- packing and argument checks ----------------------------------------------------------------------------

@pytest.mark.parametrize("cfg_name", ["block3_batch1", "block4_batch0", "block5_batch1"])
def test_packing_layout(cfg_name):
    cfg = CONFIGS[cfg_name]
    rng = np.random.default_rng(3)
    x, w = rand(rng, 5, 37), rand(rng, 21, 37)
    px, pw = pack_inp(x, cfg), pack_wgt(w, cfg)
    bt, bi, bo = cfg.batch, cfg.block_in, cfg.block_out
    assert px.shape == (blocks(5, bt), blocks(37, bi), bt, bi)
    assert pw.shape == (blocks(21, bo), blocks(37, bi), bo, bi)
    for b, k in itertools.product(range(5), range(37)):
        assert px[b // bt, k // bi, b % bt, k % bi] == x[b, k]
    for n, k in itertools.product(range(21), range(37)):
        assert pw[n // bo, k // bi, n % bo, k % bi] == w[n, k]
    assert px.sum(dtype=np.int64) == x.sum(dtype=np.int64)      # the padding is zeros
    out = rng.integers(-128, 128, size=(blocks(5, bt), blocks(21, bo), bt, bo)).astype(np.int8)
    res = unpack_out(out.tobytes(), 5, 21, cfg)
    for b, n in itertools.product(range(5), range(21)):
        assert res[b, n] == out[b // bt, n // bo, b % bt, n % bo]


def test_argument_errors():
    x, w = np.zeros((2, 8), np.int8), np.zeros((4, 8), np.int8)
    with pytest.raises(ValueError, match="x has 8 input features but w has 9"):
        build_fc(x, np.zeros((4, 9), np.int8))
    with pytest.raises(ValueError, match="schedule = 'fast'"):
        build_fc(x, w, schedule="fast")
    with pytest.raises(ValueError, match="shift = 32"):
        build_fc(x, w, shift=32)
    with pytest.raises(ValueError, match="shift = -1"):
        build_fc(x, w, shift=-1)
    with pytest.raises(ValueError, match="clip hi = 40000"):
        build_fc(x, w, clip=(0, 40000))
    with pytest.raises(TypeError, match="float64"):
        build_fc(x.astype(float), w)
    with pytest.raises(ValueError, match="holds 200"):
        build_fc(np.full((2, 8), 200), w)
    with pytest.raises(ValueError, match="empty dimension"):
        build_fc(np.zeros((0, 8), np.int8), w)
    with pytest.raises(ValueError, match="2-D"):
        build_fc(np.zeros(8, np.int8), w)
    fc = build_fc(np.ones((2, 8), np.int64), w)        # integer arrays in int8 range are accepted
    assert fc.x.dtype == np.int8


# -- the large sweep ---------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("cfg_name", list(CONFIGS))
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_sweep(cfg_name, schedule):
    cfg = CONFIGS[cfg_name]
    rng = np.random.default_rng(99)
    sizes = (1, 16, 17, 100, 255, 1000, 2048)
    for B in (1, 2, 4, 16):
        for K, N in itertools.product(sizes, sizes):
            if schedule == "tutorial" and B * K * N > 2 ** 21:
                continue            # the tutorial's one-element stores make big layers slow
            x, w = rand(rng, B, K), rand(rng, N, K)
            epi = dict(shift=int(rng.integers(0, 24)), relu=bool(rng.integers(0, 2)))
            if rng.integers(0, 2):
                epi["clip"] = (-int(rng.integers(0, 200)), int(rng.integers(0, 200)))
            fc, r = run_and_check(x, w, schedule, cfg, **epi)
            check_shape_counters(fc, r, **epi)
            if schedule == "default":
                assert r.counters["wgt_load_nbytes"] == fc.tiles["b_tiles"] * (blocks(
                    N, cfg.block_out) * blocks(K, cfg.block_in) * cfg.wgt_elem_bytes)
