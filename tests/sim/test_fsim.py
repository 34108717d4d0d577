"""The functional model against numpy: VTA-style programs (tests/support/programs/), semantics corner
cases, the dispatch / token model and its errors, and the seed tutorial's statistics."""

import numpy as np
import pytest

from hw.config import VTAConfig
from hw.isa import AluOp, MemInsn, MemType
from hw.regs import ErrorCode, FSIM_COUNTERS, STALL_BITS
from sim import fsim
from sim.errors import deadlock_message
from sim.result import VTARunError
from sw.program import Program
from sw.schedule import Scheduler, simulate_tokens
from tests.support import programs as P
from tests.support.configs import SMALL_BATCH2 as SMALL

DEFAULT = VTAConfig()
CONFIGS = pytest.mark.parametrize("cfg", [DEFAULT, SMALL], ids=["default", "small"])


def run_ok(prog, expected):
    r = fsim.run(prog)
    assert r.backend == "fsim" and r.cycles is None
    assert r.instructions == prog.n_insns and r.uops == prog.n_uops
    assert set(FSIM_COUNTERS) <= set(r.counters) and "acc_wr_count" in r.counters
    assert r.out == expected, first_diff(r.out, expected)
    return r


def first_diff(a, b):
    a, b = np.frombuffer(a, np.int8), np.frombuffer(b, np.int8)
    if len(a) != len(b):
        return f"out is {len(a)} bytes, expected {len(b)}"
    i = int(np.flatnonzero(a != b)[0])
    return f"first difference at byte {i}: got {a[i]}, expected {b[i]}"


def run_err(prog, exp: P.ExpectedError):
    with pytest.raises(VTARunError) as ei:
        fsim.run(prog)
    e = ei.value
    assert e.code == exp.code, e.message
    assert e.index == exp.index, e.message
    for frag in exp.fsim_fragments:
        assert frag in e.message, e.message
    assert "\n" not in e.message
    if exp.code == ErrorCode.DEADLOCK:
        stall = e.result.extra["stall"]
        assert {n for n, bit in STALL_BITS.items() if stall >> bit & 1} == set(exp.stalls)
    return e


# -- ALU ---------------------------------------------------------------------------------------------

@CONFIGS
@pytest.mark.parametrize("op", list(AluOp), ids=lambda o: o.name)
@pytest.mark.parametrize("use_imm", [True, False], ids=["imm", "acc"])
@pytest.mark.parametrize("compressed", [True, False], ids=["compressed", "uncompressed"])
def test_alu(cfg, op, use_imm, compressed):
    prog, exp = P.alu_program(cfg, op, use_imm, compressed, seed=int(op))
    r = run_ok(prog, exp)
    rows, vector = 2, 8
    assert r.counters["alu_counter"] == rows * vector
    assert r.counters["acc_load_nbytes"] == rows * vector * (1 if use_imm else 2) * cfg.acc_elem_bytes
    assert r.counters["out_store_nbytes"] == rows * vector * cfg.out_elem_bytes
    assert r.counters["uop_load_nbytes"] == (1 if compressed else vector) * 4


@pytest.mark.parametrize("op", list(AluOp), ids=lambda o: o.name)
@pytest.mark.parametrize("use_imm", [True, False], ids=["imm", "acc"])
def test_alu_wide_operands(op, use_imm):
    """Whole int32 operands and 16-bit immediates: 32-bit wrap, the 5-bit signed SHR amount."""
    run_ok(*P.alu_program(SMALL, op, use_imm, True, wide=True, seed=10 + int(op)))


@pytest.mark.parametrize("ops", [
    [(AluOp.ADD, 30000), (AluOp.SHR, 15), (AluOp.SHR, 15)],        # wrap visible in the top bits
    [(AluOp.MUL, 12345), (AluOp.SHR, 15), (AluOp.SHR, 12)],
    [(AluOp.SHR, -16), (AluOp.SHR, 12), (AluOp.SHR, 12)],            # left shift by 16
    [(AluOp.SHR, 20), (AluOp.SHR, 15), (AluOp.SHR, 15)],             # 20 -> -12: left shift
    [(AluOp.MAX, 0), (AluOp.MIN, 127)],                              # ReLU + clip
    [(AluOp.MIN, -32768), (AluOp.MAX, 32767)],                      # immediates at the 16-bit limits
], ids=["add_wrap", "mul_wrap", "shl16", "shr20", "relu", "imm_limits"])
def test_alu_chain(ops):
    run_ok(*P.alu_chain_program(SMALL, ops))


def test_alu_shr_amount_examples():
    """SHR by an immediate 20 shifts left by 12 (HLS rule), not right by 20 as VTA's fsim does."""
    prog, exp = P.alu_chain_program(SMALL, [(AluOp.SHR, 20)], vector=1, data_range=(1, 2))
    r = run_ok(prog, exp)
    assert set(r.out) == {0}            # 1 << 12 has low 8 bits 0
    prog, exp = P.alu_chain_program(SMALL, [(AluOp.SHR, 31)], vector=1, data_range=(3, 4))
    assert set(run_ok(prog, exp).out) == {6}   # 31 -> -1: 3 << 1


def _acc_copy_program(cfg, acc, uops, kernel, imm=None, op=AluOp.ADD):
    """LOAD ACC, one ALU instruction with the given micro-ops and loop, STORE all entries."""
    b = P.Builder(cfg)
    for u in uops:
        b.uop(*u)
    b.load_uop(0, 0, len(uops))
    b.load(MemType.ACC, 0, 0, 1, len(acc))
    b.alu(op, imm=imm, push_next=True, **kernel)
    b.store(0, 0, 1, len(acc), pop_prev=True, push_prev=True)
    b.finish(pop_next=True)
    return b.program(acc=acc, out_elems=len(acc))


def test_alu_read_after_write_within_an_instruction():
    """An ALU micro-op reading an acc entry that an earlier iteration wrote sees the new value."""
    cfg = SMALL
    rng = np.random.default_rng(3)
    acc = rng.integers(-50, 50, (6, cfg.batch, cfg.block_out))
    # dst i <- acc[i] + acc[i - 1] for i = 1..5, in order: a running sum.
    prog = _acc_copy_program(cfg, acc, [(i, i - 1) for i in range(1, 6)], dict(bgn=0, end=5))
    ref = acc.copy()
    for i in range(1, 6):
        ref[i] = ref[i] + ref[i - 1]
    ref[0] = 0   # entry 0 is never written by the ALU, so out[0] keeps its initial zero
    run_ok(prog, (ref & 0xFF).astype(np.uint8).tobytes())


def test_alu_repeated_destination_with_immediate():
    """The same dst twice in one instruction: the immediate is applied twice."""
    cfg = SMALL
    acc = np.arange(2 * cfg.batch * cfg.block_out).reshape(2, cfg.batch, cfg.block_out)
    prog = _acc_copy_program(cfg, acc, [(0, 0)], dict(bgn=0, end=1, iter_out=3, iter_in=2,
                                                      dst=(0, 1)), imm=5)
    # iterations write dst 0,1,0,1,0,1: each entry gets +15
    run_ok(prog, ((acc + 15) & 0xFF).astype(np.uint8).tobytes())


# -- GEMM ---------------------------------------------------------------------------------------------

@CONFIGS
@pytest.mark.parametrize("vt", [1, 2])
@pytest.mark.parametrize("compressed", [True, False], ids=["compressed", "uncompressed"])
def test_blocked_gemm(cfg, vt, compressed):
    mb, kb, nb, tn, tk = 2, 4, 4, 2, 2
    prog, exp = P.blocked_gemm_program(cfg, m_blocks=mb, k_blocks=kb, n_blocks=nb, tile_n=tn,
                                       tile_k=tk, virtual_threads=vt, compressed=compressed, seed=vt)
    r = run_ok(prog, exp)
    c = r.counters
    steps = (nb // tn) * (kb // tk)
    assert c["inp_load_nbytes"] == steps * mb * tk * cfg.inp_elem_bytes
    assert c["wgt_load_nbytes"] == steps * tn * tk * cfg.wgt_elem_bytes
    assert c["acc_load_nbytes"] == mb * nb * cfg.acc_elem_bytes
    assert c["out_store_nbytes"] == mb * nb * cfg.out_elem_bytes
    assert c["gemm_counter"] == mb * nb * kb
    assert c["alu_counter"] == 0
    assert c["acc_wr_count"] == mb * nb * kb + mb * nb
    assert r.extra["tokens"] == {"l2g": 0, "g2l": 0, "g2s": 0, "s2g": 0}


@CONFIGS
def test_gemm_back_to_back_same_acc(cfg):
    r = run_ok(*P.gemm_same_acc_program(cfg))
    assert r.counters["gemm_counter"] == 20          # reset GEMMs are not counted
    assert r.counters["acc_wr_count"] == 4 + 20      # ... but their writes are


def test_reset_gemm_leaves_out_alone():
    """A reset GEMM zeroes acc but does not write the out buffer (semantics.md §3)."""
    cfg = SMALL
    b = P.Builder(cfg)
    b.uop(0, 0, 0)
    b.uop(1, 0, 0)
    b.load_uop(0, 0, 2)
    b.load(MemType.ACC, 0, 0, 1, 2)                   # acc[0] = acc[1] = 100
    b.alu(AluOp.ADD, 0, 1, imm=7)                     # acc[0] = 107, out[0] = 107
    b.gemm(0, 1, reset=True)                          # acc[0] = 0, out[0] untouched
    b.alu(AluOp.ADD, 1, 2, push_next=True)            # acc[1] += acc[0] (0): out[1] = 100
    b.store(0, 0, 1, 2, pop_prev=True, push_prev=True)
    b.finish(pop_next=True)
    acc = np.full((2, cfg.batch, cfg.block_out), 100)
    r = run_ok(b.program(acc=acc, out_elems=2),
               bytes([107] * cfg.out_elem_bytes) + bytes([100] * cfg.out_elem_bytes))
    assert r.counters["acc_wr_count"] == 2 + 1 + 1 + 1
    assert r.counters["gemm_counter"] == 0 and r.counters["alu_counter"] == 2


def test_store_reads_out_buffer_not_acc():
    """LOAD ACC writes acc only; STORE reads the out buffer, which still holds zeros."""
    cfg = SMALL
    b = P.Builder(cfg)
    b.load(MemType.ACC, 0, 0, 1, 2, push_next=True)
    b.store(0, 0, 1, 2, pop_prev=True, push_prev=True)
    b.finish(pop_next=True)
    acc = np.full((2, cfg.batch, cfg.block_out), 55)
    run_ok(b.program(acc=acc, out_elems=2, out_init=np.full((2, cfg.batch, cfg.block_out), 9)),
           bytes(2 * cfg.out_elem_bytes))


# -- loads and stores ----------------------------------------------------------------------------------

@pytest.mark.parametrize("mem", ["inp", "wgt", "acc"])
@pytest.mark.parametrize("pads", P.PAD_COMBINATIONS, ids=lambda p: "pad" + "".join(map(str, p)))
def test_padded_load(mem, pads):
    prog, exp = P.padded_load_program(SMALL, mem, pads, seed=sum(pads))
    r = run_ok(prog, exp)
    ypad, xpad = pads[0] + pads[1], pads[2] + pads[3]
    n = (2 + ypad) * (3 + xpad)
    # padding is not counted: the data load counts 2x3 elements, the garbage prefill n
    assert r.counters[f"{mem}_load_nbytes"] == (6 + n) * SMALL.elem_bytes(mem)


def test_padded_load_default_config():
    for mem in ("inp", "wgt", "acc"):
        run_ok(*P.padded_load_program(DEFAULT, mem, (2, 1, 1, 2)))


def test_zero_x_size_load_writes_nothing_but_keeps_its_flags():
    """LOAD ACC with x_size 0 and pads writes no padding (unlike HLS) and still pushes its token."""
    cfg = SMALL
    b = P.Builder(cfg)
    b.uop(0, 0, 0)
    b.load_uop(0, 0, 1)
    b.load(MemType.ACC, 0, 0, 1, 4)
    b.add(MemInsn(opcode=0, memory_type=MemType.ACC, sram_base=0, dram_base=0, y_size=1, x_size=0,
                    y_pad_0=1, y_pad_1=1, x_pad_0=1, x_pad_1=1))
    b.alu(AluOp.SHR, 0, 1, iter_in=4, dst=(0, 1), src=(0, 1), imm=0)
    b.nop("compute", push_next=True)
    b.store(0, 0, 1, 4, pop_prev=True, push_prev=True)
    b.finish(pop_next=True)
    acc = np.arange(1, 1 + 4 * cfg.batch * cfg.block_out).reshape(4, cfg.batch, cfg.block_out)
    r = run_ok(b.program(acc=acc, out_elems=4), (acc & 0xFF).astype(np.uint8).tobytes())
    assert r.counters["acc_load_nbytes"] == 4 * cfg.acc_elem_bytes
    assert r.counters["acc_wr_count"] == 4 + 4


def test_sram_index_wraps_modulo_depth():
    """A load crossing the end of inp SRAM wraps to index 0; a GEMM index beyond the depth wraps too."""
    cfg = SMALL
    d = cfg.inp_depth
    rng = np.random.default_rng(5)
    inp = rng.integers(-128, 128, (2, cfg.batch, cfg.block_in))
    eye = np.eye(cfg.block_out, cfg.block_in, dtype=np.int64)[None]
    b = P.Builder(cfg)
    b.uop(0, d - 1, 0)                       # src d-1, then d -> 0 by the loop
    b.load(MemType.WGT, 0, 0, 1, 1)
    b.load(MemType.INP, d - 1, 0, 1, 2, push_next=True)
    b.load_uop(0, 0, 1)
    b.gemm(0, 1, iter_in=2, dst=(0, 1), reset=True)
    b.gemm(0, 1, iter_in=2, dst=(0, 1), src=(0, 1), pop_prev=True, push_next=True)
    b.store(0, 0, 1, 2, pop_prev=True, push_prev=True)
    b.finish(pop_next=True)
    run_ok(b.program(inp=inp, wgt=eye, out_elems=2), (inp & 0xFF).astype(np.uint8).tobytes())


def test_strided_store_and_load_uop_offsets():
    """STORE rows land at dram_base + y * x_stride; LOAD UOP copies x_size micro-ops from dram_base."""
    cfg = SMALL
    b = P.Builder(cfg)
    b.uop(3, 3)                    # unused slot 0 of the uop region
    b.uop(0, 0)                    # the kernel, at uop element 1
    b.load_uop(5, 1, 1)            # into uop SRAM slot 5
    b.load(MemType.ACC, 0, 0, 1, 4)
    b.alu(AluOp.ADD, 5, 6, iter_in=4, dst=(0, 1), src=(0, 1), imm=1, push_next=True)
    b.store(0, 1, 2, 2, 3, pop_prev=True, push_prev=True)     # rows to out elements 1,2 and 4,5
    b.finish(pop_next=True)
    acc = np.arange(4 * cfg.batch * cfg.block_out).reshape(4, cfg.batch, cfg.block_out)
    out = np.full((7, cfg.batch, cfg.block_out), -1)
    out[[1, 2, 4, 5]] = acc + 1
    r = run_ok(b.program(acc=acc, out_elems=7, out_init=np.full((7, cfg.batch, cfg.block_out), -1)),
               (out & 0xFF).astype(np.uint8).tobytes())
    assert r.counters["uop_load_nbytes"] == 4
    assert r.counters["out_store_nbytes"] == 4 * cfg.out_elem_bytes


def test_load_uop_is_one_dimensional_but_counted_as_fsim_does():
    """LOAD UOP copies x_size micro-ops whatever y_size and x_stride say; uop_load_nbytes keeps fsim's
    definition x_size * y_size * 4."""
    cfg = SMALL
    b = P.Builder(cfg)
    for i in range(4):
        b.uop(i, i)
    b.load(MemType.UOP, 0, 0, 3, 2, 7)            # y_size 3, x_stride 7: still micro-ops 0, 1 -> slots 0, 1
    b.load(MemType.ACC, 0, 0, 1, 4)
    b.alu(AluOp.ADD, 0, 4, imm=1, push_next=True)   # slots 2, 3 were never loaded: zero micro-ops
    b.store(0, 0, 1, 4, pop_prev=True, push_prev=True)
    b.finish(pop_next=True)
    acc = np.arange(4 * cfg.batch * cfg.block_out).reshape(4, cfg.batch, cfg.block_out)
    exp = acc.copy()
    exp[0] += 3                                   # dst 0 from slots 0, 2, 3
    exp[1] += 1
    exp[2:] = 0                                   # out 2, 3 never written
    r = run_ok(b.program(acc=acc, out_elems=4), (exp & 0xFF).astype(np.uint8).tobytes())
    assert r.counters["uop_load_nbytes"] == 2 * 3 * 4


# -- the seed tutorial ---------------------------------------------------------------------------------

def test_tutorial_fc_statistics_and_speed():
    prog, exp = P.tutorial_fc_program()
    assert (prog.n_insns, prog.n_uops) == (142, 5)
    r = run_ok(prog, exp)
    assert r.fsim_counters() == P.TUTORIAL_COUNTERS
    assert r.extra["tokens"] == {"l2g": 0, "g2l": 0, "g2s": 0, "s2g": 1}
    assert r.wall_time < 1.0, f"the seed FC took {r.wall_time:.2f} s"


@CONFIGS
def test_tutorial_fc_small(cfg):
    run_ok(*P.tutorial_fc_program(cfg, in_blocks=4, out_blocks=4, tile_in=2, tile_out=2))


def test_suite_runs():
    for cfg in (DEFAULT, SMALL):
        for name, prog, exp in P.suite(cfg):
            run_ok(prog, exp)


# -- token persistence ---------------------------------------------------------------------------------

def test_tokens_persist_across_runs_and_reset_clears_them():
    prog, exp = P.tutorial_fc_program(in_blocks=4, out_blocks=4, tile_in=2, tile_out=2)
    model = fsim.FunctionalModel(prog.config)
    assert model.run(prog).out == exp
    assert model.tokens["s2g"] == 1
    assert model.run(prog).out == exp
    assert model.tokens["s2g"] == 2
    model.reset()
    assert model.tokens == {"l2g": 0, "g2l": 0, "g2s": 0, "s2g": 0}

    # A store that pops a g2s nobody pushes deadlocks on a fresh model, and runs on one holding the
    # token a previous launch left.
    cfg = SMALL
    leave = P.Builder(cfg)
    leave.nop("compute", push_next=True)
    leave.finish()
    use = P.Builder(cfg)
    use.nop("store", pop_prev=True)
    use.finish()
    model = fsim.FunctionalModel(cfg)
    with pytest.raises(VTARunError) as ei:
        model.run(use.program())
    assert ei.value.code == ErrorCode.DEADLOCK
    model.reset()
    model.run(leave.program())
    assert model.tokens["g2s"] == 1
    model.run(use.program())
    assert model.tokens["g2s"] == 0


def test_model_rejects_other_configuration():
    prog, _ = P.no_finish_program(SMALL)
    with pytest.raises(ValueError, match="configuration"):
        fsim.FunctionalModel(DEFAULT).run(prog)


# -- errors ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", P.ILLEGAL_KINDS)
def test_illegal_instruction(kind):
    run_err(*P.illegal_program(SMALL, kind))


def test_illegal_instruction_after_finish_is_never_fetched():
    b = P.Builder(SMALL)
    b.finish()
    b.add_raw(7)
    assert fsim.run(b.program()).out == b""


@pytest.mark.parametrize("kind", ["compute", "store"])
def test_deadlock(kind):
    e = run_err(*P.deadlock_program(SMALL, kind))
    assert e.message.startswith("deadlock: ")


def test_fetch_blocks_on_a_full_command_queue():
    cfg = SMALL.replace(cmd_queue_depth=2)
    prog, exp = P.queue_full_program(cfg)
    run_err(prog, exp)
    # one store fewer fits: store holds one, its queue two, and fetch reaches the push
    prog, exp = P.queue_full_program(cfg, n_stores=3)
    assert exp == b""
    run_ok(prog, exp)
    # with the default depth the same program runs
    prog, _ = P.queue_full_program(cfg, n_stores=4)
    run_ok(Program(config=SMALL, insns=prog.insns), b"")


def test_token_queue_capacity():
    cfg = SMALL.replace(token_queue_depth=1)
    run_err(*P.token_full_program(cfg))
    prog, exp = P.token_full_program(SMALL.replace(token_queue_depth=2))
    run_ok(prog, exp)


def test_no_finish():
    e = run_err(*P.no_finish_program(SMALL))
    assert e.result is not None and e.result.counters["out_store_nbytes"] == SMALL.out_elem_bytes


def test_empty_program_is_no_finish():
    with pytest.raises(VTARunError) as ei:
        fsim.run(Program(config=SMALL, insns=b""))
    assert ei.value.code == ErrorCode.NO_FINISH


@pytest.mark.parametrize("kind", P.DRAM_KINDS)
def test_dram_out_of_range(kind):
    prog, exp = P.dram_out_of_range_program(SMALL, kind)
    e = run_err(prog, exp)
    assert kind in e.message


def test_instructions_after_finish_do_not_run_and_done_waits_for_store():
    """FINISH retires before a STORE that waits on a token: done waits for the store queue to drain."""
    cfg = SMALL
    b = P.Builder(cfg)
    b.uop(0, 0)
    b.load_uop(0, 0, 1)
    b.load(MemType.ACC, 0, 0, 1, 1)
    b.alu(AluOp.ADD, 0, 1, imm=1, push_next=True)
    b.store(0, 0, 1, 1, pop_prev=True)
    b.finish()
    b.store(0, 0, 1, 1)      # after FINISH: never dispatched (would overwrite with nothing new anyway)
    acc = np.full((1, cfg.batch, cfg.block_out), 4)
    r = run_ok(b.program(acc=acc, out_elems=1), bytes([5] * cfg.out_elem_bytes))
    assert r.counters["out_store_nbytes"] == cfg.out_elem_bytes


def _protocol_cases():
    cases = [(f"deadlock_{k}", P.deadlock_program(SMALL, k)) for k in ("compute", "store")]
    cases.append(("queue_full", P.queue_full_program(SMALL.replace(cmd_queue_depth=2))))
    cases.append(("token_full", P.token_full_program(SMALL.replace(token_queue_depth=1))))
    cases.append(("no_finish", P.no_finish_program(SMALL)))
    return cases


@pytest.mark.parametrize("name", [n for n, _ in _protocol_cases()])
def test_token_check_and_fsim_agree_on_where_a_program_stops(name):
    """The scheduler without data (the runtime's ``simulate_tokens``) and fsim (with it) stop the same
    program at the same place: the outcome, every wait (module, queue, instruction), the error index."""
    prog, exp = dict(_protocol_cases())[name]
    e = run_err(prog, exp)
    insns = prog.decoded()
    run = simulate_tokens(insns, prog.config)
    sched = Scheduler(prog.config, len(insns), insns.__getitem__)
    assert sched.run() == run.outcome
    assert sched.error_index() == e.index
    if exp.code == ErrorCode.NO_FINISH:
        assert run.outcome == "no_finish" and run.waits == ()
    else:
        assert run.outcome == "deadlock" and e.message == deadlock_message(list(run.waits))
        stall = e.result.extra["stall"]
        assert {w for w, _ in run.waits} == {n for n, bit in STALL_BITS.items() if stall >> bit & 1}
