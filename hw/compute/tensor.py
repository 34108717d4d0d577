"""The GEMM core and the tensor ALU: one pipeline that executes one GEMM or ALU instruction.

The compute control (decode, tokens, LOAD UOP/ACC, FINISH) instantiates :class:`TensorCore` and starts
it once per GEMM or ALU instruction.  The core owns the micro-op SRAM and the accumulator SRAM; the
inp, wgt and out SRAMs live outside and are reached through its read/write ports.

Semantics: ``docs/semantics.md`` §3 and ``vta-reference.md`` §6 (GEMM) and §7 (ALU).

Pipeline (one micro-op per cycle, GEMM and ALU alike)::

    S0 issue     loop counters (i_out, i_in, k) and index offsets; uop SRAM address = k
    S1 index     uop word arrives; dst/src/wgt = uop fields + offsets (mod depth) drive the inp and wgt
                 read addresses
    S2 multiply  inp and wgt data arrive; the products inp x wgt registered (GEMM): two per multiplier
                 where ``pack_products`` (the weights of output lanes 2p and 2p+1 packed into one
                 operand, the input shared: one DSP48E1 for two int8 products), else one; the two acc
                 read addresses, acc[dst] = x and acc[src] = y (ALU), are issued here
    S3 sum       the products' per-lane sums (dot products, one balanced adder tree per lane)
                 registered; acc data arrive: x and y (the immediate, if use_imm) registered, taking the
                 S5 result instead when S5 writes the entry being read (bypass)
    S4 compute   new acc = x + dot product (GEMM), 0 (reset GEMM) or the ALU result, with x/y taken
                 from S5 when S5 writes the same entry (bypass); registered
    S5 write     acc[dst] <- result; out[dst] <- low 8 bits of each lane (not for a reset GEMM)

No SRAM output feeds more than one arithmetic step before a register: the multipliers see the inp and
wgt SRAMs' outputs and write registers; the adder trees see only those registers.  The acc reads are
issued a stage after the inp and wgt reads so that x arrives with the dot product, which keeps the
read-modify-write loop of an acc entry at three stages (S3 to S5) as before the split, with the same
two bypasses.  The price is one cycle of latency per instruction: ``DRAIN_CYCLES`` = 5 (it was 4).

ALU MUL is the exception to one micro-op per cycle: each lane has one 16 x 16 multiplier, not a
32 x 32 one, and a MUL micro-op stays ``MUL_CYCLES`` = 3 cycles in S4, one partial product per cycle
(low x low, high x low, low x high; the high x high one only reaches bits 32 and up), summed in the S5
result register, which is idle meanwhile.  Nothing issues while a MUL is in S1 or S2, so the micro-op
behind a MUL (of its instruction or the next) issues three cycles after it and finds S4 free; x and y
are taken (with the bypass) in its first S4 cycle and held.  Every other micro-op issues one cycle after
the one before.

The acc reads behave as read ports transparent for the acc write port: a read issued in S2 in the
cycle S5 writes the same entry sees the new value.  They are plain synchronous ports with that bypass
registered beside them (the form Yosys maps to block RAM; see the comment at the ports).  With the two
bypasses every micro-op sees the results of all earlier ones, so consecutive micro-ops may update the
same acc entry without stalls (a MUL's two idle issue cycles only widen the distances).

The heavy arithmetic (products, sums, ALU lanes) sits in synchronous statements guarded by the stage's
valid bit: Amaranth's simulator then evaluates it once per clock edge, and only while it is needed.
"""

from __future__ import annotations

from amaranth.hdl import Cat, MemoryData, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .. import isa
from ..config import VTAConfig
from ..isa import INSN_WIDTH, MUL_CYCLES
from ..util import log2
from ..interfaces import SramReadSignature, SramWriteSignature

__all__ = ["TensorCore", "DRAIN_CYCLES"]

#: Cycles from a GEMM or ALU instruction's last micro-op issue to its last acc/out write, plus one: with
#: ``n`` micro-op iterations the core is busy ``n + DRAIN_CYCLES`` cycles (``MUL_CYCLES * n +
#: DRAIN_CYCLES`` for ALU MUL).
DRAIN_CYCLES = 5


class TensorCore(wiring.Component):
    """The GEMM core and tensor ALU of the compute module.

    Executes one GEMM (opcode 2) or ALU (opcode 4) instruction per ``start`` pulse: for
    ``i_out < iter_out``, ``i_in < iter_in``, ``k`` in ``[uop_bgn, uop_end)`` it applies micro-op
    ``uop[k]`` with indices ``idx + i_out * factor_out + i_in * factor_in``, each wrapping modulo its
    SRAM's depth.  Zero iterations are a valid no-op.  One micro-op issues per cycle, or every
    ``MUL_CYCLES`` = 3 cycles for ALU MUL; the latency from the last issue to the last write is 5 cycles
    (7 for MUL), so with ``n = iter_out * iter_in * (uop_end - uop_bgn)`` ``busy`` lasts ``n + 5``
    cycles (``n + DRAIN_CYCLES``), ``3 * n + 5`` for MUL (1 for a no-op).

    GEMM: ``acc[dst][b][oc] += sum_ic inp[src][b][ic] * wgt[wgt][oc][ic]`` (int8 x int8, int32 wrap) and
    ``out[dst][b][oc] <- low 8 bits``; with ``reset_reg`` = 1, ``acc[dst] <- 0`` and out is not written.
    ALU: ``x = acc[dst]``, ``y = imm`` (sign-extended) or ``acc[src]``; MIN, MAX (signed), ADD (wrap),
    SHR (amount ``y[4:0]`` read as signed: right if >= 0, left if < 0), MUL (low 32 bits; ALU opcodes
    5-7 behave as MIN); ``acc[dst] <- result``, ``out[dst] <- low 8 bits``.

    Parameters
    ----------
    cfg : VTAConfig
        The configuration: lane counts, element widths, SRAM depths, field widths.
    pack_products : bool
        Two int8 products per multiplier (default: a Xilinx DSP48E1's 25 x 18 multiplier takes both),
        or one (an ECP5 MULT18X18D is 18 x 18: the packed 24-bit operand would take two of them and an
        adder).  The same results and cycles either way.

    Members
    -------
    insn : In(128)
        The GEMM or ALU instruction word, sampled at ``start``.
    start : In(1)
        A one-cycle pulse while ``ready`` is 1: execute ``insn``.
    ready : Out(1)
        1 while no micro-op is left to issue: a ``start`` may come, while the micro-ops of the
        instruction before still go through S1 to S5 (they meet the new ones' acc accesses through the
        same bypasses as micro-ops of one instruction).  The uop and acc write ports, though, are for
        the DMA only while ``busy`` is 0.
    reading : Out(1)
        1 while inp or wgt reads are still to be issued (a micro-op in S0 or S1): once it is 0, those
        SRAMs may be overwritten.
    busy : Out(1)
        1 from the cycle after ``start`` until the cycle of the last acc/out write (included); at least
        one cycle, even for a no-op.
    inp_rd : Out(SramReadSignature(cfg.log_inp_depth, cfg.inp_elem_bits))
        Read port of the inp SRAM (data the cycle after addr).
    wgt_rd : Out(SramReadSignature(cfg.log_wgt_depth, cfg.wgt_elem_bits))
        Read port of the wgt SRAM (data the cycle after addr).
    out_wr : Out(SramWriteSignature(cfg.log_out_depth, cfg.out_elem_bits))
        Write port of the out SRAM.
    uop_wr : In(SramWriteSignature(cfg.log_uop_depth - log2(L), 32 * L, lanes=L))
        Write port of the core's uop SRAM, driven by the uop DMA; only while ``busy`` is 0.  The SRAM's
        words hold ``L = cfg.uop_lanes`` micro-ops (a bus beat's worth: micro-op ``k`` is lane
        ``k mod L`` of word ``k // L``), with a write enable per micro-op, so a LOAD UOP writes a beat a
        cycle; S0 reads word ``k // L`` and S1 selects the lane.
    acc_wr : In(SramWriteSignature(cfg.log_acc_depth, cfg.acc_elem_bits))
        Write port of the core's acc SRAM, driven by the acc DMA (LOAD ACC); only while ``busy`` is 0.
    acc_wr_strobe : Out(1)
        1 in each cycle the core writes one acc element (GEMM including reset, ALU); not for ``acc_wr``.
    gemm_active : Out(1)
        1 in each cycle a GEMM micro-op issues, reset GEMMs included (the ``gemm_counter`` of fsim counts
        only non-reset GEMMs: qualify with the instruction's ``reset_reg``).
    alu_active : Out(1)
        1 in each cycle an ALU micro-op issues (once per micro-op, MUL included).

    Attributes
    ----------
    uop_mem : MemoryData
        Contents of the uop SRAM (``cfg.uop_depth / L`` words of ``L`` micro-ops), for testbenches and
        simulators.
    acc_mem : MemoryData
        Contents of the acc SRAM (``cfg.acc_elem_bits`` x ``cfg.acc_depth``).

    Raises
    ------
    TypeError
        If ``cfg`` is not a :class:`VTAConfig`.
    """

    def __init__(self, cfg: VTAConfig, *, pack_products: bool = True):
        if not isinstance(cfg, VTAConfig):
            raise TypeError(f"cfg must be a VTAConfig, not {cfg!r}")
        self.cfg = cfg
        self.pack_products = bool(pack_products)
        L = cfg.uop_lanes
        super().__init__({
            "insn": In(INSN_WIDTH),
            "start": In(1),
            "busy": Out(1),
            "ready": Out(1),
            "reading": Out(1),
            "inp_rd": Out(SramReadSignature(cfg.log_inp_depth, cfg.inp_elem_bits)),
            "wgt_rd": Out(SramReadSignature(cfg.log_wgt_depth, cfg.wgt_elem_bits)),
            "out_wr": Out(SramWriteSignature(cfg.log_out_depth, cfg.out_elem_bits)),
            "uop_wr": In(SramWriteSignature(cfg.log_uop_depth - log2(L), L * cfg.uop_elem_bits, lanes=L)),
            "acc_wr": In(SramWriteSignature(cfg.log_acc_depth, cfg.acc_elem_bits)),
            "acc_wr_strobe": Out(1),
            "gemm_active": Out(1),
            "alu_active": Out(1),
        })
        self.uop_mem = MemoryData(shape=unsigned(L * cfg.uop_elem_bits), depth=cfg.uop_depth // L, init=[])
        self.acc_mem = MemoryData(shape=unsigned(cfg.acc_elem_bits), depth=cfg.acc_depth, init=[])

    def elaborate(self, platform):
        cfg = self.cfg
        lay = isa.layouts(cfg)
        m = Module()

        n_lanes = cfg.batch * cfg.block_out          # acc/out lanes per element, [b][oc]
        aw, ow = cfg.acc_width, cfg.out_width
        iw, ww = cfg.inp_width, cfg.wgt_width
        bi = cfg.block_in
        pw = iw + ww                                 # product width
        la, li, lw, lu = cfg.log_acc_depth, cfg.log_inp_depth, cfg.log_wgt_depth, cfg.log_uop_depth
        ls = max(la, li)                             # src index: inp (GEMM) or acc (ALU)

        # -- SRAMs owned by the core -------------------------------------------------------------------
        m.submodules.uop_mem = uop_mem = Memory(self.uop_mem)
        L = cfg.uop_lanes
        uop_w = uop_mem.write_port(granularity=cfg.uop_elem_bits)
        uop_r = uop_mem.read_port()
        m.submodules.acc_mem = acc_mem = Memory(self.acc_mem)
        acc_w = acc_mem.write_port()
        acc_rx = acc_mem.read_port()                              # x = acc[dst]
        acc_ry = acc_mem.read_port()                              # y = acc[src] (ALU)
        # The reads see the write of their own cycle, as transparent ports would, but through a bypass
        # of our own: the hit of each read address on the written one and the written data, registered
        # beside the read.  Plain synchronous read ports are what Yosys maps to block RAM (one simple
        # dual-port copy per read port); the transparent form it turned into LUT RAM (2 x 5,472 RAM64M
        # for the default 2048 x 512 bits).  Same data in the same cycle: no cycle changes.
        hit_x, hit_y = Signal(), Signal()
        wr_data = Signal(cfg.acc_elem_bits)
        m.d.sync += [hit_x.eq(acc_w.en & (acc_w.addr == acc_rx.addr)),
                     hit_y.eq(acc_w.en & (acc_w.addr == acc_ry.addr)), wr_data.eq(acc_w.data)]
        acc_x = Mux(hit_x, wr_data, acc_rx.data)
        acc_y = Mux(hit_y, wr_data, acc_ry.data)
        m.d.comb += [uop_w.addr.eq(self.uop_wr.addr), uop_w.data.eq(self.uop_wr.data),
                     uop_w.en.eq(self.uop_wr.en)]

        # -- instruction fields ---------------------------------------------------------------------------
        # ``insn`` is sampled at ``start`` (S0 runs from the copy); each stage's micro-op carries the few
        # fields it needs (``ctl``), so a new instruction may issue while the last one drains.
        gi = lay["gemm"].amaranth_layout()(self.insn)                # at start
        insn0 = Signal(INSN_WIDTH)
        g = lay["gemm"].amaranth_layout()(insn0)                     # the issuing instruction
        a = lay["alu"].amaranth_layout()(insn0)
        # Expressions, not signals: a comb signal read by other comb logic of this module would make
        # the simulator evaluate the whole comb function twice per cycle.
        is_alu0 = g.opcode == isa.Opcode.ALU
        ctl_layout = data.StructLayout({"alu": 1, "reset": 1, "mul": 1, "op": len(a.alu_opcode),
                                        "use_imm": 1, "imm": signed(len(a.imm))})
        ctl0 = data.View(ctl_layout, Cat(is_alu0, g.reset_reg & ~is_alu0,
                                          is_alu0 & (a.alu_opcode == isa.AluOp.MUL), a.alu_opcode,
                                          a.use_imm, a.imm))
        ctl1, ctl2, ctl3, ctl4 = (Signal(ctl_layout, name=f"ctl{i}") for i in range(1, 5))
        src_fo = Mux(is_alu0, a.src_factor_out, g.src_factor_out)
        src_fi = Mux(is_alu0, a.src_factor_in, g.src_factor_in)

        # -- S0: issue -----------------------------------------------------------------------------------
        issuing = Signal()
        nop = Signal()                                # busy for one cycle after a no-op start
        k = Signal(lu + 1)
        i_in = Signal(len(g.iter_in))
        i_out = Signal(len(g.iter_out))
        dst_o, dst_off = Signal(la), Signal(la)      # i_out*factor_out, + i_in*factor_in
        src_o, src_off = Signal(ls), Signal(ls)
        wgt_o, wgt_off = Signal(lw), Signal(lw)

        v1, v2, v3, v4, v5 = Signal(), Signal(), Signal(), Signal(), Signal()   # the stages' valid bits
        dst_off1, src_off1, wgt_off1 = Signal(la), Signal(ls), Signal(lw)

        empty = (gi.iter_out == 0) | (gi.iter_in == 0) | (gi.uop_end <= gi.uop_bgn)
        k_lane = Signal(range(L))                    # the lane of the word S1 receives
        m.d.comb += uop_r.addr.eq(k[log2(L):lu])
        m.d.sync += k_lane.eq(k[:log2(L)])
        m.d.sync += nop.eq(0)
        with m.If(self.start & ~issuing):
            m.d.sync += [insn0.eq(self.insn),
                         issuing.eq(~empty), nop.eq(empty), k.eq(gi.uop_bgn), i_in.eq(0), i_out.eq(0),
                         dst_o.eq(0), dst_off.eq(0), src_o.eq(0), src_off.eq(0),
                         wgt_o.eq(0), wgt_off.eq(0)]
        # A MUL micro-op stays MUL_CYCLES cycles in S4, so nothing issues while a MUL is in S1 or S2:
        # the micro-op behind a MUL (of its instruction or the next) issues MUL_CYCLES cycles after it.
        issue = issuing & ~((v1 & ctl1.mul) | (v2 & ctl2.mul))
        m.d.sync += v1.eq(issue)
        with m.If(issue):
            m.d.sync += [dst_off1.eq(dst_off), src_off1.eq(src_off), wgt_off1.eq(wgt_off), ctl1.eq(ctl0)]
            with m.If(k + 1 == g.uop_end):
                m.d.sync += k.eq(g.uop_bgn)
                with m.If(i_in + 1 == g.iter_in):
                    m.d.sync += i_in.eq(0)
                    with m.If(i_out + 1 == g.iter_out):
                        m.d.sync += issuing.eq(0)
                    with m.Else():
                        nd, ns, nw = dst_o + g.dst_factor_out, src_o + src_fo, wgt_o + g.wgt_factor_out
                        m.d.sync += [i_out.eq(i_out + 1),
                                     dst_o.eq(nd), dst_off.eq(nd), src_o.eq(ns), src_off.eq(ns),
                                     wgt_o.eq(nw), wgt_off.eq(nw)]
                with m.Else():
                    m.d.sync += [i_in.eq(i_in + 1), dst_off.eq(dst_off + g.dst_factor_in),
                                 src_off.eq(src_off + src_fi), wgt_off.eq(wgt_off + g.wgt_factor_in)]
            with m.Else():
                m.d.sync += k.eq(k + 1)

        # -- S1: indices -> inp and wgt read addresses ------------------------------------------------------
        u = lay["uop"].amaranth_layout()(uop_r.data.word_select(k_lane, cfg.uop_elem_bits))
        dst1 = (u.dst_idx + dst_off1)[:la]
        src1 = (u.src_idx + src_off1)[:ls]
        wgt1 = (u.wgt_idx + wgt_off1)[:lw]
        m.d.comb += [self.inp_rd.addr.eq(src1[:li]), self.inp_rd.en.eq(v1 & ~ctl1.alu),
                     self.wgt_rd.addr.eq(wgt1), self.wgt_rd.en.eq(v1 & ~ctl1.alu)]
        dst2, src2 = Signal(la), Signal(la)
        m.d.sync += [v2.eq(v1), dst2.eq(dst1), src2.eq(src1[:la]), ctl2.eq(ctl1)]

        # -- S2: inp and wgt data -> products, registered; acc read addresses ------------------------------
        # (the acc reads are issued here, not in S1, so that x arrives with the dot products a stage later)
        m.d.comb += [acc_rx.addr.eq(dst2), acc_ry.addr.eq(src2)]
        res5 = Signal(cfg.acc_elem_bits)
        dst3, src3 = Signal(la), Signal(la)
        m.d.sync += [v3.eq(v2), dst3.eq(dst2), src3.eq(src2), ctl3.eq(ctl2)]
        prods = {}                                    # (b, oc, ic) -> the product, as S3 sees it
        with m.If(v2 & ~ctl2.alu & ~ctl2.reset):
            inp, wgt = self.inp_rd.data, self.wgt_rd.data
            w_at = lambda oc, ic: wgt.word_select(oc * bi + ic, ww).as_signed()
            for b in range(cfg.batch):
                ins = [inp.word_select(b * bi + ic, iw).as_signed() for ic in range(bi)]
                if self.pack_products:
                    # Two products per multiplier, sharing the input operand (one DSP48E1 each):
                    # (w1 * 2^16 + w0) * x = w1*x * 2^16 + w0*x, where |w0*x| <= 2^14, so the low 16 bits
                    # read as signed are w0*x and the rest plus their sign bit is w1*x, both exact.
                    for oc in range(0, cfg.block_out, 2):
                        for ic in range(bi):
                            p = Signal(2 * pw, name=f"prod_b{b}_oc{oc}_{oc + 1}_ic{ic}")
                            m.d.sync += p.eq(((w_at(oc + 1, ic) << pw) + w_at(oc, ic)) * ins[ic])
                            prods[b, oc, ic] = p[:pw].as_signed()
                            prods[b, oc + 1, ic] = (p[pw:].as_signed() + p[pw - 1])[:pw].as_signed()
                else:
                    for oc in range(cfg.block_out):
                        for ic in range(bi):
                            p = Signal(pw, name=f"prod_b{b}_oc{oc}_ic{ic}")
                            m.d.sync += p.eq(w_at(oc, ic) * ins[ic])
                            prods[b, oc, ic] = p.as_signed()

        # -- S3: dot products (adder trees), registered; acc data -> x/y with bypass from S5 ---------------
        dst5 = Signal(la)
        dst4 = Signal(la)
        x4, y4 = Signal(cfg.acc_elem_bits), Signal(cfg.acc_elem_bits)
        imm = Signal(aw)                              # the ALU immediate, sign-extended
        m.d.comb += imm.eq(ctl3.imm)
        dw = pw + (bi - 1).bit_length()              # dot product width
        dot = Signal(n_lanes * dw)                   # [b][oc] dot products, registered
        # S5 writes the entry S3 reads: known a cycle ahead, from the micro-ops then in S4 and S2 (the
        # one in S4 moves to S5 as the one in S2 moves to S3), so the multiplexers below select on a
        # register, not on an address comparison behind the SRAM's output.
        sel_x, sel_y = Signal(), Signal()
        with m.If(v3):
            m.d.sync += [dst4.eq(dst3), ctl4.eq(ctl3), x4.eq(Mux(sel_x, res5, acc_x))]
            with m.If(ctl3.alu & ctl3.use_imm):           # y = the immediate, in every lane
                m.d.sync += y4.eq(imm.replicate(n_lanes))
            with m.Elif(ctl3.alu):
                m.d.sync += y4.eq(Mux(sel_y, res5, acc_y))
            with m.Elif(~ctl3.reset):
                dots = []
                for b in range(cfg.batch):
                    for oc in range(cfg.block_out):
                        terms = [prods[b, oc, ic] for ic in range(bi)]
                        while len(terms) > 1:          # balanced adder tree
                            terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i]
                                     for i in range(0, len(terms), 2)]
                        dots.append(terms[0][:dw])
                m.d.sync += dot.eq(Cat(*dots))

        # -- S4: compute with bypass from S5 -------------------------------------------------------------
        x, y = Signal(cfg.acc_elem_bits), Signal(cfg.acc_elem_bits)
        # S5 writes the entry S4 reads: known a cycle ahead, from the micro-ops then in S4 and S3 (the
        # one in S4 moves to S5 as the one in S3 moves to S4), so the 2 x acc_elem_bits multiplexers
        # below select on a register rather than on an address comparison.  A MUL held in S4 moves
        # nothing (S5 stays empty), so it never selects a bypass.
        ph = Signal(range(MUL_CYCLES))                # the MUL's cycle in S4
        done4 = ~ctl4.mul | (ph == MUL_CYCLES - 1)      # the micro-op in S4 leaves it this cycle
        leave4 = v4 & done4
        byp_x, byp_y = Signal(), Signal()
        m.d.sync += [byp_x.eq(leave4 & (dst4 == dst3)),
                     byp_y.eq(leave4 & (dst4 == src3) & ~ctl3.use_imm),
                     sel_x.eq(leave4 & (dst4 == dst2)),
                     sel_y.eq(leave4 & (dst4 == src2))]
        m.d.comb += [x.eq(Mux(byp_x, res5, x4)), y.eq(Mux(byp_y, res5, y4))]
        wout5 = Signal()                              # S5 writes out (not for a reset GEMM)
        m.d.sync += [v4.eq(v3 | (v4 & ~done4)), v5.eq(leave4), wout5.eq(leave4 & ~ctl4.reset)]
        with m.If(v4 & ctl4.mul):
            m.d.sync += ph.eq(Mux(done4, 0, ph + 1))
        with m.If(v4 & ~done4):                       # S3 is empty: hold x, y with the bypass taken
            m.d.sync += [x4.eq(x), y4.eq(y)]
        with m.If(v4):
            m.d.sync += dst5.eq(dst4)
            xl = [x.word_select(j, aw).as_signed() for j in range(n_lanes)]
            with m.If(~ctl4.alu):
                with m.If(ctl4.reset):
                    m.d.sync += res5.eq(0)
                with m.Else():
                    lanes = [(xl[j] + dot.word_select(j, dw).as_signed())[:aw] for j in range(n_lanes)]
                    m.d.sync += res5.eq(Cat(*lanes))
            with m.Else():
                yl = [y.word_select(j, aw).as_signed() for j in range(n_lanes)]
                with m.Switch(ctl4.op):
                    with m.Case(isa.AluOp.MAX):               # x < y, as for MIN: one comparator
                        m.d.sync += res5.eq(Cat(*[Mux(xl[j] < yl[j], yl[j], xl[j])[:aw]
                                                  for j in range(n_lanes)]))
                    with m.Case(isa.AluOp.ADD):
                        m.d.sync += res5.eq(Cat(*[(xl[j] + yl[j])[:aw] for j in range(n_lanes)]))
                    with m.Case(isa.AluOp.SHR):
                        # Amount s: signed 5-bit, -16..15.  One arithmetic right shift of x with 16 zero
                        # bits below it, by s + 16 (0..31: s's bits with the top one inverted), is x >> s
                        # for s >= 0 and x << -s for s < 0: one 5-level shifter per lane, not a right
                        # and a left shifter and a multiplexer between them.
                        lanes = []
                        for j in range(n_lanes):
                            s = yl[j][:5]
                            lanes.append(((xl[j] << 16) >> Cat(s[:4], ~s[4]))[:aw])
                        m.d.sync += res5.eq(Cat(*lanes))
                    with m.Case(isa.AluOp.MUL):
                        # One h x h multiplier per lane (h = aw/2), three cycles: with x = xh*2^h + xl
                        # and y likewise, x*y mod 2^aw = xl*yl + ((xh*yl + xl*yh) mod 2^h) * 2^h,
                        # summed in res5 (S5 is empty while the MUL is in S4).
                        h = aw // 2
                        lanes = []
                        for j in range(n_lanes):
                            xj, yj = x.word_select(j, aw), y.word_select(j, aw)
                            p = Mux(ph == 1, xj[h:], xj[:h]) * Mux(ph == 2, yj[h:], yj[:h])
                            lanes.append(Mux(ph == 0, p, res5.word_select(j, aw) + (p[:aw - h] << h))[:aw])
                        m.d.sync += res5.eq(Cat(*lanes))
                    with m.Default():                    # MIN (opcodes 5-7 never arrive: fetch refuses)
                        m.d.sync += res5.eq(Cat(*[Mux(xl[j] < yl[j], xl[j], yl[j])[:aw]
                                                  for j in range(n_lanes)]))

        # -- S5: write acc and out; the DMA's acc writes while idle ----------------------------------------
        m.d.comb += [
            acc_w.addr.eq(Mux(v5, dst5, self.acc_wr.addr)),
            acc_w.data.eq(Mux(v5, res5, self.acc_wr.data)),
            acc_w.en.eq(v5 | self.acc_wr.en),
            self.out_wr.addr.eq(dst5),
            self.out_wr.data.eq(Cat(*[res5.word_select(j, aw)[:ow] for j in range(n_lanes)])),
            self.out_wr.en.eq(wout5),
            self.busy.eq(issuing | v1 | v2 | v3 | v4 | v5 | nop),
            self.acc_wr_strobe.eq(v5),
            self.ready.eq(~issuing),
            self.reading.eq(issuing | v1),
            self.gemm_active.eq(issue & ~is_alu0),
            self.alu_active.eq(issue & is_alu0),
        ]
        return m
