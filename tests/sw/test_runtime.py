"""The stream builder against TVM runtime's rules (vta-reference §9) and the tutorial stream (§10.2).

Expected streams are written out here from the reference text, never taken from the builder's output.
Token counts are recounted here with the module/flag table of vta-reference §3.
"""

import numpy as np
import pytest

from hw.config import VTAConfig
from hw.isa import AluInsn, AluOp, FinishInsn, GemmInsn, MemInsn, MemType, Opcode, decode_insns
from sw.runtime import (STAGE_COMPUTE as C, STAGE_LOAD as L, STAGE_STORE as S, StreamBuilder,
                        StreamError, UopKernel, simulate_tokens, token_balance)

CFG = VTAConfig()


# -- independent helpers -------------------------------------------------------------------------------

def tokens_left(insns):
    """Pushes minus pops per queue, from the table of vta-reference §3 (recounted here)."""
    q = {"l2g": 0, "g2l": 0, "g2s": 0, "s2g": 0}
    for i in insns:
        if isinstance(i, MemInsn) and i.opcode == Opcode.STORE:
            q["g2s"] -= i.pop_prev_dep
            q["s2g"] += i.push_prev_dep
        elif isinstance(i, MemInsn) and i.memory_type in (MemType.INP, MemType.WGT):
            q["g2l"] -= i.pop_next_dep
            q["l2g"] += i.push_next_dep
        else:
            q["l2g"] -= i.pop_prev_dep
            q["s2g"] -= i.pop_next_dep
            q["g2l"] += i.push_prev_dep
            q["g2s"] += i.push_next_dep
    return q


def flags(i):
    return {n for n in ("pop_prev", "pop_next", "push_prev", "push_next") if getattr(i, n + "_dep")}


def is_noop(i, opcode, mem):
    return (isinstance(i, MemInsn) and i.opcode == opcode and i.memory_type == mem and i.x_size == 0
            and i.y_size == 0 and i.x_stride == 0 and i.sram_base == 0 and i.dram_base == 0
            and (i.x_pad_0, i.x_pad_1, i.y_pad_0, i.y_pad_1) == (0, 0, 0, 0))


def load(sb, mem=MemType.INP, dram=0, sram=0, x=1):
    return sb.load_2d(dram, x, 1, x, 0, 0, 0, 0, sram, mem)


def gemm1(sb, dst=0, reset=False):
    return sb.gemm(UopKernel(mode="gemm", reset=reset, uops=[(dst, 0, 0)]))


# -- §9.3: pending pops, merging, no-ops ----------------------------------------------------------------

def test_new_instruction_takes_pending_pops_of_its_stage():
    sb = StreamBuilder(CFG)
    sb.dep_pop(C, L)          # load: pop_next
    sb.dep_pop(L, C)          # compute: pop_prev
    sb.dep_pop(S, C)          # compute: pop_next
    a = load(sb)
    g = gemm1(sb)             # preceded by its LOAD UOP, which takes the compute pops
    assert flags(a) == {"pop_next"}
    uop_load = sb.insns[1]
    assert uop_load.memory_type == MemType.UOP and flags(uop_load) == {"pop_prev", "pop_next"}
    assert flags(g) == set()


def test_second_pop_commits_the_first_as_noop():
    sb = StreamBuilder(CFG)
    sb.dep_pop(C, L)
    sb.dep_pop(C, L)
    load(sb)
    assert len(sb.insns) == 2
    assert is_noop(sb.insns[0], Opcode.LOAD, MemType.INP) and flags(sb.insns[0]) == {"pop_next"}
    assert flags(sb.insns[1]) == {"pop_next"}


def test_push_merges_into_last_instruction_of_its_stage():
    sb = StreamBuilder(CFG)
    load(sb)
    sb.dep_push(L, C)
    assert len(sb.insns) == 1 and flags(sb.insns[0]) == {"push_next"}
    gemm1(sb)
    sb.dep_push(C, L)
    sb.dep_push(C, S)
    assert len(sb.insns) == 3 and flags(sb.insns[-1]) == {"push_prev", "push_next"}
    sb.store_2d(0, MemType.OUT, 0, 1, 1, 1)
    sb.dep_push(S, C)
    assert len(sb.insns) == 4 and flags(sb.insns[-1]) == {"push_prev"}


def test_push_needs_noop_when_flag_taken_or_other_stage():
    sb = StreamBuilder(CFG)
    load(sb)
    sb.dep_push(L, C)
    sb.dep_push(L, C)                       # flag already set: a load no-op carries it
    assert is_noop(sb.insns[-1], Opcode.LOAD, MemType.INP) and flags(sb.insns[-1]) == {"push_next"}
    sb.dep_push(S, C)                       # last instruction is not a store: STORE no-op
    assert is_noop(sb.insns[-1], Opcode.STORE, 0) and flags(sb.insns[-1]) == {"push_prev"}
    sb.dep_push(C, L)                       # compute no-op is a LOAD UOP of size 0
    assert is_noop(sb.insns[-1], Opcode.LOAD, MemType.UOP) and flags(sb.insns[-1]) == {"push_prev"}
    n = len(sb.insns)
    sb.dep_push(C, S)                       # a compute no-op is stage "none": no merge
    assert len(sb.insns) == n + 1 and flags(sb.insns[-1]) == {"push_next"}


def test_push_commits_pending_pops_of_its_stage_first():
    sb = StreamBuilder(CFG)
    sb.dep_pop(C, L)
    sb.dep_push(L, C)
    # LOAD no-op with the pop, then (a no-op's stage is "none") another one with the push (§10.2 end)
    assert len(sb.insns) == 2
    assert flags(sb.insns[0]) == {"pop_next"} and flags(sb.insns[1]) == {"push_next"}
    sb2 = StreamBuilder(CFG)
    sb2.dep_pop(C, S)
    sb2.dep_push(S, C)
    # a STORE no-op keeps the store stage, so the push merges into it
    assert len(sb2.insns) == 1 and flags(sb2.insns[0]) == {"pop_prev", "push_prev"}


def test_impossible_queues_refused():
    sb = StreamBuilder(CFG)
    with pytest.raises(StreamError, match="stage 1 to stage 3"):
        sb.dep_push(L, S)
    with pytest.raises(StreamError, match="stage 3 to stage 1"):
        sb.dep_pop(S, L)
    with pytest.raises(StreamError, match="from_stage = 4"):
        sb.dep_push(4, C)


# -- §9.4: micro-op kernels and their cache -----------------------------------------------------------------

def test_resident_kernel_is_not_loaded_again():
    sb = StreamBuilder(CFG)
    k = UopKernel(mode="gemm", loops=[(4, 1, 0, 0)], uops=[(0, 0, 0), (1, 1, 1)])
    g1 = sb.gemm(k)
    g2 = sb.gemm(UopKernel(mode="gemm", loops=[(4, 1, 0, 0)], uops=[(0, 0, 0), (1, 1, 1)]))
    uop_loads = [i for i in sb.insns if isinstance(i, MemInsn) and i.memory_type == MemType.UOP]
    assert len(uop_loads) == 1
    u = uop_loads[0]
    assert (u.sram_base, u.dram_base, u.y_size, u.x_size, u.x_stride) == (0, 0, 1, 2, 2)
    assert (g1.uop_bgn, g1.uop_end) == (g2.uop_bgn, g2.uop_end) == (0, 2)
    assert len(sb.uops) == 2


def test_uop_load_placement_and_dram_offset():
    sb = StreamBuilder(CFG)
    sb.gemm(UopKernel(mode="gemm", uops=[(0, 0, 0)]))
    sb.alu(UopKernel(mode="alu", uops=[(0, 0, 0), (1, 1, 0), (2, 2, 0)], alu_opcode=AluOp.ADD))
    u = sb.insns[2]
    assert (u.sram_base, u.dram_base, u.x_size, u.x_stride, u.y_size) == (1, 1, 3, 3, 1)
    assert (sb.insns[3].uop_bgn, sb.insns[3].uop_end) == (1, 4)


def test_uop_cache_wraps_and_evicts_like_tvm():
    cfg = VTAConfig(log_uop_buff_size=5)          # 8 micro-ops
    assert cfg.uop_depth == 8
    sb = StreamBuilder(cfg)
    ks = [UopKernel(mode="gemm", uops=[(3 * j + i, 0, 0) for i in range(3)]) for j in range(3)]
    ranges = [sb.gemm(ks[j]) for j in (0, 1, 2, 0, 1, 2)]
    got = [(g.uop_bgn, g.uop_end) for g in ranges]
    # K0 [0,3), K1 [3,6); K2 wraps to [0,3) evicting K0; K0 then goes to [3,6) evicting K1;
    # K1 wraps to [0,3) evicting K2; K2 goes to [3,6) evicting K0.
    assert got == [(0, 3), (3, 6), (0, 3), (3, 6), (0, 3), (3, 6)]
    n_loads = sum(isinstance(i, MemInsn) and i.memory_type == MemType.UOP for i in sb.insns)
    assert n_loads == 6 and len(sb.uops) == 18
    # a resident kernel is reused: K2 is in [3,6) and K1 in [0,3)
    before = len(sb.insns)
    sb.gemm(ks[2])
    sb.gemm(ks[1])
    assert len(sb.insns) == before + 2


def test_loop_mapping():
    sb = StreamBuilder(CFG)
    g = sb.gemm(UopKernel(mode="gemm", loops=[(5, 1, 2, 3)], uops=[(0, 0, 0)]))
    assert (g.iter_out, g.dst_factor_out, g.src_factor_out, g.wgt_factor_out) == (5, 1, 2, 3)
    assert (g.iter_in, g.dst_factor_in, g.src_factor_in, g.wgt_factor_in) == (1, 0, 0, 0)
    a = sb.alu(UopKernel(mode="alu", loops=[(6, 1, 1)], uops=[(0, 0, 0)], alu_opcode=AluOp.SHR,
                         use_imm=True, imm=-3))
    assert (a.iter_out, a.iter_in, a.dst_factor_in, a.src_factor_in) == (1, 6, 1, 1)
    assert (a.alu_opcode, a.use_imm, a.imm) == (AluOp.SHR, True, -3)
    a2 = sb.alu(UopKernel(mode="alu", loops=[(2, 8, 8), (8, 1, 1)], uops=[(0, 0, 0)]))
    assert (a2.iter_out, a2.dst_factor_out, a2.iter_in, a2.dst_factor_in) == (2, 8, 8, 1)
    g0 = sb.gemm(UopKernel(mode="gemm", reset=True, uops=[(7, 0, 0)]))
    assert (g0.iter_out, g0.iter_in, g0.reset_reg) == (1, 1, True)


def test_tvm_style_recording():
    sb = StreamBuilder(CFG)
    sb.uop_loop_begin(16, 1, 0, 16)
    sb.uop_loop_begin(16, 0, 1, 1)
    sb.uop_push(0, 0, 0, 0, 0)
    sb.uop_loop_end()
    sb.uop_loop_end()
    g = sb.push_gemm_op()
    assert (g.iter_out, g.wgt_factor_out, g.iter_in, g.src_factor_in) == (16, 16, 16, 1)
    sb.uop_loop_begin(16, 1, 1, 0)
    sb.uop_push(1, 0, 0, 0, 0, AluOp.MAX, 1, 5)
    sb.uop_loop_end()
    a = sb.push_alu_op()
    assert isinstance(a, AluInsn) and (a.alu_opcode, a.imm, a.iter_in) == (AluOp.MAX, 5, 16)
    sb.uop_push(1, 0, 0, 0, 0, AluOp.MAX, 1, 5)
    with pytest.raises(StreamError, match="disagrees"):
        sb.uop_push(1, 0, 1, 1, 0, AluOp.MIN, 1, 5)


def test_kernel_rules():
    with pytest.raises(StreamError, match="at most 2 loops"):
        UopKernel(loops=[(1, 0, 0)] * 3)
    k = UopKernel(uops=[(0, 0, 0)])
    with pytest.raises(StreamError, match="loops come before"):
        k.loop_begin(2, 1, 1)
    with pytest.raises(StreamError, match="VerifyDep"):
        UopKernel(uops=[(0, 0, 0), (1, 0, 0), (0, 1, 1)])
    UopKernel(uops=[(0, 0, 0), (1, 0, 0), (2, 0, 0), (0, 1, 1)])     # 3 apart is fine
    k = UopKernel()
    k.loop_begin(2, 1, 1)
    k.push(0, 0)
    with pytest.raises(StreamError, match="VTAUopLoopBegin without VTAUopLoopEnd"):
        StreamBuilder(CFG).gemm(k)
    k.loop_end()
    assert isinstance(StreamBuilder(CFG).gemm(k), GemmInsn)
    with pytest.raises(StreamError, match="without a matching VTAUopLoopBegin"):
        k.loop_end()


def test_range_checks():
    sb = StreamBuilder(CFG)
    with pytest.raises(StreamError, match="acc index 2048"):
        sb.gemm(UopKernel(loops=[(2, 1024, 0, 0)], uops=[(1024, 0, 0)]))
    with pytest.raises(StreamError, match="wgt index"):
        sb.gemm(UopKernel(loops=[(3, 0, 0, 512)], uops=[(0, 0, 0)]))
    with pytest.raises(StreamError, match="iter_out = 16384"):
        sb.gemm(UopKernel(loops=[(16384, 0, 0, 0)], uops=[(0, 0, 0)]))
    with pytest.raises(StreamError, match="inp SRAM"):
        sb.load_2d(0, 16, 2, 16, 0, 0, 0, 0, 2040, MemType.INP)
    with pytest.raises(StreamError, match="wgt SRAM"):      # padding counts in the footprint
        sb.load_2d(0, 10, 10, 10, 1, 1, 1, 1, 1024 - 144 + 1, MemType.WGT)
    with pytest.raises(StreamError, match="out SRAM"):
        sb.store_2d(2000, MemType.OUT, 0, 16, 4, 16)
    with pytest.raises(ValueError, match="x_pad_0 = 16"):
        sb.load_2d(0, 1, 1, 1, 16, 0, 0, 0, 0, MemType.INP)
    with pytest.raises(ValueError, match="x_stride = 70000"):
        sb.load_2d(0, 1, 2, 70000, 0, 0, 0, 0, 0, MemType.INP)
    with pytest.raises(StreamError, match="OUT cannot be loaded"):
        sb.load_2d(0, 1, 1, 1, 0, 0, 0, 0, 0, MemType.OUT)
    assert sb.insns == []        # nothing half-made was kept


# -- finish: no token left -------------------------------------------------------------------------------

def assert_clean_end(insns, cfg=CFG):
    assert isinstance(insns[-1], FinishInsn) and flags(insns[-1]) == set()
    assert tokens_left(insns) == {"l2g": 0, "g2l": 0, "g2s": 0, "s2g": 0}
    run = simulate_tokens(insns, cfg)
    assert run.outcome == "done" and run.finished and run.idle_at_finish and not run.waits
    assert not any(run.tokens_at_finish.values()) and not any(run.tokens_final.values())


def test_finish_of_empty_stream():
    sb = StreamBuilder(CFG)
    insns = sb.finish()
    assert_clean_end(insns)
    # TVM's sync: STORE no-op push, LOAD no-op push, compute no-op with both pops, FINISH
    assert [flags(i) for i in insns] == [{"push_prev"}, {"push_next"}, {"pop_prev", "pop_next"}, set()]


def test_finish_drains_tokens_load_and_store_must_pop_before_the_sync():
    sb = StreamBuilder(CFG)
    gemm1(sb)
    sb.dep_push(C, L)
    sb.dep_push(C, S)
    gemm1(sb, dst=1)
    sb.dep_push(C, L)               # two g2l tokens and one g2s token nobody pops
    insns = sb.finish()
    assert_clean_end(insns)
    fin = len(insns) - 1
    # the load and store drains come before the store's and load's sync pushes
    g2l_pops = [k for k, i in enumerate(insns) if isinstance(i, MemInsn) and i.memory_type ==
                MemType.INP and i.pop_next_dep]
    l2g_push = [k for k, i in enumerate(insns) if isinstance(i, MemInsn) and i.memory_type ==
                MemType.INP and i.push_next_dep]
    assert len(g2l_pops) == 2 and len(l2g_push) == 1 and max(g2l_pops) < l2g_push[0] < fin


def test_finish_drains_compute_side_tokens():
    sb = StreamBuilder(CFG)
    load(sb)
    sb.dep_push(L, C)
    load(sb, dram=1, sram=1)
    sb.dep_push(L, C)
    sb.store_2d(0, MemType.OUT, 0, 1, 1, 1)
    sb.dep_push(S, C)               # l2g: 2 + the sync's, s2g: 1 + the sync's
    insns = sb.finish()
    assert_clean_end(insns)


def test_finish_refuses_unbalanced_stream():
    sb = StreamBuilder(CFG)
    sb.dep_pop(L, C)
    gemm1(sb)
    with pytest.raises(StreamError, match="l2g"):
        sb.finish()


def test_nothing_after_finish():
    sb = StreamBuilder(CFG)
    sb.finish()
    with pytest.raises(StreamError, match="finished"):
        load(sb)


def test_token_model_finds_deadlock():
    insns = [MemInsn(opcode=Opcode.LOAD, memory_type=MemType.UOP, pop_prev_dep=True), FinishInsn()]
    run = simulate_tokens(insns, CFG)
    assert run.outcome == "deadlock" and not run.finished and run.waits == (("compute pops l2g", 0),)


def test_token_model_bounded_command_queue():
    # A store waits for a token that a compute instruction behind a full store queue would send; the
    # waiting store has left its queue (a module takes an instruction when it starts it), so it takes
    # two more stores to fill a queue of depth 2.
    cfg = VTAConfig(cmd_queue_depth=2)
    st = lambda **f: MemInsn(opcode=Opcode.STORE, memory_type=MemType.OUT, **f)
    insns = [st(pop_prev_dep=True), st(), st(), st(), GemmInsn(push_next_dep=True), FinishInsn()]
    assert simulate_tokens(insns, VTAConfig()).outcome == "done"
    assert simulate_tokens(insns[:1] + insns[2:], cfg).outcome == "done"
    run = simulate_tokens(insns, cfg)
    assert run.outcome == "deadlock" and not run.finished
    assert run.waits == (("store pops g2s", 0), ("fetch waits on full store queue", 3))


def test_token_model_dispatches_nothing_after_finish():
    # The load after FINISH would pop a token nobody pushes; it is never dispatched, so the run is done.
    ld = MemInsn(opcode=Opcode.LOAD, memory_type=MemType.INP, pop_next_dep=True)
    run = simulate_tokens([FinishInsn(), ld], CFG)
    assert run.outcome == "done" and run.idle_at_finish and run.tokens_final == dict.fromkeys(
        ("l2g", "g2l", "g2s", "s2g"), 0)


def test_token_model_pops_then_waits_to_push():
    # Instruction 3 pops l2g at once and then waits for room in the full g2l queue (depth 1): the pop
    # does not wait for the push to fit.
    cfg = VTAConfig(token_queue_depth=1)
    ld = MemInsn(opcode=Opcode.LOAD, memory_type=MemType.INP, x_size=1, y_size=1, x_stride=1,
                 pop_next_dep=True, push_next_dep=True)
    insns = [GemmInsn(push_prev_dep=True), ld, GemmInsn(push_prev_dep=True),
             GemmInsn(pop_prev_dep=True, push_prev_dep=True), FinishInsn()]
    run = simulate_tokens(insns, cfg)
    assert run.outcome == "deadlock" and run.waits == (("compute pushes g2l", 3),)
    assert run.tokens_final == {"l2g": 0, "g2l": 1, "g2s": 0, "s2g": 0}
    assert run.max_tokens == {"l2g": 1, "g2l": 1, "g2s": 0, "s2g": 0}


def test_token_model_no_finish():
    run = simulate_tokens([GemmInsn()], CFG)
    assert run.outcome == "no_finish" and not run.finished and run.waits == ()


def test_program_checks_dram_regions():
    sb = StreamBuilder(CFG)
    sb.load_2d(2, 4, 2, 8, 0, 0, 0, 0, 0, MemType.INP)      # reaches inp element 2 + 8 + 3 = 13
    sb.store_2d(0, MemType.OUT, 0, 4, 1, 4)
    sb.finish()
    with pytest.raises(StreamError, match="inp element 13 but the inp region has 13"):
        sb.program(inp=np.zeros((13, 16), np.int8), out_elems=4)
    prog = sb.program(inp=np.zeros((14, 16), np.int8), out_elems=4)
    assert prog.n_insns == len(sb.insns)
    assert decode_insns(prog.insns, CFG) == sb.insns


# -- §10.2: the tutorial's stream -------------------------------------------------------------------------

def build_tutorial_ir(sb):
    """The lowered IR of vta-reference §10.1, call for call."""
    sb.dep_push(3, 2)
    for oc in range(4):
        sb.dep_pop(3, 2)
        sb.uop_loop_begin(16, 1, 0, 0)
        sb.uop_push(0, 1, 0, 0, 0)
        sb.uop_loop_end()
        sb.push_gemm_op()
        sb.dep_push(2, 1)
        for ic in range(4):
            sb.dep_pop(2, 1)
            sb.load_2d(ic * 16, 16, 1, 16, 0, 0, 0, 0, 0, MemType.INP)
            sb.load_2d(oc * 1024 + ic * 16, 16, 16, 64, 0, 0, 0, 0, 0, MemType.WGT)
            sb.dep_push(1, 2)
            sb.dep_pop(1, 2)
            sb.uop_loop_begin(16, 1, 0, 16)
            sb.uop_loop_begin(16, 0, 1, 1)
            sb.uop_push(0, 0, 0, 0, 0)
            sb.uop_loop_end()
            sb.uop_loop_end()
            sb.push_gemm_op()
            sb.dep_push(2, 1)
        sb.dep_pop(2, 1)
        for op, imm in ((AluOp.SHR, 8), (AluOp.MAX, 0), (AluOp.MIN, 127)):
            sb.uop_loop_begin(16, 1, 1, 0)
            sb.uop_push(1, 0, 0, 0, 0, op, 1, imm)
            sb.uop_loop_end()
            sb.push_alu_op()
        sb.dep_push(2, 3)
        sb.dep_pop(2, 3)
        for i in range(16):
            sb.store_2d(i, MemType.OUT, oc * 16 + i, 1, 1, 1)
        sb.dep_push(3, 2)
    return sb.finish()


def expected_tutorial_stream():
    """vta-reference §10.2 as (description, flags); the final draining replaced as this project does."""
    e = [("STORE nop", {"push_prev"})]
    for oc in range(4):
        if oc == 0:
            e += [("LOAD UOP 0 0 1", {"pop_next"}), ("GEMM reset 0 1 16,1,0,0 1,0,0,0", {"push_prev"})]
        else:
            e += [("GEMM reset 0 1 16,1,0,0 1,0,0,0", {"pop_next", "push_prev"})]
        for ic in range(4):
            if ic == 0 and oc > 0:
                e.append(("LOAD INP nop", {"pop_next"}))
            e.append((f"LOAD INP 0 {ic * 16} 1 16 16", {"pop_next"}))
            e.append((f"LOAD WGT 0 {oc * 1024 + ic * 16} 16 16 64", {"push_next"}))
            gemm = "GEMM 1 2 16,1,0,16 16,0,1,1"
            if oc == 0 and ic == 0:
                e += [("LOAD UOP 1 1 1", {"pop_prev"}), (gemm, {"push_prev"})]
            else:
                e.append((gemm, {"pop_prev", "push_prev"}))
        for slot, (op, imm) in enumerate((("SHR", 8), ("MAX", 0), ("MIN", 127))):
            if oc == 0:
                e.append((f"LOAD UOP {2 + slot} {2 + slot} 1", set()))
            e.append((f"ALU {op} {imm} {2 + slot} {3 + slot} 1,0,0 16,1,1",
                      {"push_next"} if op == "MIN" else set()))
        for i in range(16):
            e.append((f"STORE {i} {oc * 16 + i} 1 1 1",
                      {"pop_prev"} if i == 0 else {"push_prev"} if i == 15 else set()))
    e += [("STORE nop", {"push_prev"}), ("LOAD INP nop", {"pop_next"}), ("LOAD INP nop", {"push_next"}),
          ("LOAD UOP nop", {"pop_prev", "pop_next"})]
    assert len(e) == 141      # TVM's 142 instructions without the FINISH
    e += [("LOAD UOP nop", {"pop_next"}), ("FINISH", set())]   # this project: drain s2g, then FINISH
    return e


def describe(i):
    if isinstance(i, MemInsn):
        name = "STORE" if i.opcode == Opcode.STORE else "LOAD " + MemType(i.memory_type).name
        if i.x_size == 0:
            return name + " nop"
        if i.opcode == Opcode.STORE:
            return f"STORE {i.sram_base} {i.dram_base} {i.y_size} {i.x_size} {i.x_stride}"
        if i.memory_type == MemType.UOP:
            assert i.y_size == 1 and i.x_stride == i.x_size
            return f"LOAD UOP {i.sram_base} {i.dram_base} {i.x_size}"
        return f"{name} {i.sram_base} {i.dram_base} {i.y_size} {i.x_size} {i.x_stride}"
    if isinstance(i, GemmInsn):
        return (f"GEMM{' reset' if i.reset_reg else ''} {i.uop_bgn} {i.uop_end} "
                f"{i.iter_out},{i.dst_factor_out},{i.src_factor_out},{i.wgt_factor_out} "
                f"{i.iter_in},{i.dst_factor_in},{i.src_factor_in},{i.wgt_factor_in}")
    if isinstance(i, AluInsn):
        assert i.use_imm
        return (f"ALU {AluOp(i.alu_opcode).name} {i.imm} {i.uop_bgn} {i.uop_end} "
                f"{i.iter_out},{i.dst_factor_out},{i.src_factor_out} "
                f"{i.iter_in},{i.dst_factor_in},{i.src_factor_in}")
    assert isinstance(i, FinishInsn)
    return "FINISH"


def test_tutorial_stream_matches_reference():
    sb = StreamBuilder(CFG)
    insns = build_tutorial_ir(sb)
    got = [(describe(i), flags(i)) for i in insns]
    exp = expected_tutorial_stream()
    for k, (g, e) in enumerate(zip(got, exp)):
        assert g == e, f"instruction {k}: got {g}, expected {e}"
    assert len(got) == len(exp) == 143
    # the micro-op image: 5 one-uop kernels, all (0, 0, 0)
    assert [(u.dst_idx, u.src_idx, u.wgt_idx) for u in sb.uops] == [(0, 0, 0)] * 5
    # counts of §10.2, plus the one draining no-op (a compute-queue LOAD)
    ops = [i.opcode for i in insns]
    assert (ops.count(Opcode.LOAD), ops.count(Opcode.STORE), ops.count(Opcode.GEMM),
            ops.count(Opcode.ALU), ops.count(Opcode.FINISH)) == (44, 66, 20, 12, 1)
    # TVM's stream (the first 141 + FINISH) leaves one s2g token; ours leaves none
    assert tokens_left(insns[:141] + [FinishInsn()]) == {"l2g": 0, "g2l": 0, "g2s": 0, "s2g": 1}
    assert_clean_end(insns)
    assert token_balance(insns) == tokens_left(insns)


def test_fc_tutorial_schedule_builds_the_reference_stream():
    from sw.fc import build_fc
    rng = np.random.default_rng(0)
    fc = build_fc(rng.integers(-128, 128, (1, 1024)).astype(np.int8),
                  rng.integers(-128, 128, (1024, 1024)).astype(np.int8),
                  shift=8, clip=(0, 127), schedule="tutorial")
    got = [(describe(i), flags(i)) for i in fc.program.decoded()]
    assert got == expected_tutorial_stream()
    assert fc.program.n_uops == 5


def test_refused_instruction_keeps_pending_pops():
    sb = StreamBuilder(CFG)
    sb.dep_pop(C, L)
    with pytest.raises(ValueError):
        sb.load_2d(0, 1, 1, 1, 16, 0, 0, 0, 0, MemType.INP)
    assert flags(load(sb)) == {"pop_next"}
