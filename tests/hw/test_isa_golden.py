"""Instruction and micro-op words against VTA's published bit positions (vta-reference §3).

Every expected word is written out here by hand from the bit table, as explicit shifts, never through
``hw.isa``'s formats: a field that moved, grew or shrank in ``hw/isa.py`` changes the encoded word and
fails here, even though the encoder, the decoder and the hardware (all built from the same formats)
would still agree with each other.

Two configurations: the default (the table's own positions) and a smaller one whose buffer depths
narrow the GEMM/ALU index fields and the micro-op fields.  Its positions follow the same rule as
``hw_spec.h``'s ``uint64_t`` bit-fields under GCC: each field follows the previous one, except that a
field that would cross bit 64 starts at bit 64.
"""

import pytest

from hw.config import VTAConfig
from hw.isa import (AluInsn, FinishInsn, GemmInsn, MemInsn, Uop, decode_insn, decode_uops,
                    encode_uops)

DEFAULT = VTAConfig()
#: log depths: uop 12, inp 10, wgt 9, acc 10 (default: 13, 11, 10, 11).
SMALL = VTAConfig(log_uop_buff_size=14, log_inp_buff_size=14, log_wgt_buff_size=17,
                  log_acc_buff_size=16)

# Common to all formats: opcode [2:0], pop_prev_dep [3], pop_next_dep [4], push_prev_dep [5],
# push_next_dep [6].  Each case below sets a different mix of the four flags.
FLAGS_A = dict(pop_prev_dep=True, pop_next_dep=False, push_prev_dep=True, push_next_dep=False)
FLAGS_B = dict(pop_prev_dep=False, pop_next_dep=True, push_prev_dep=False, push_next_dep=True)
BITS_A = 1 << 3 | 1 << 5
BITS_B = 1 << 4 | 1 << 6


def mem_case():
    """LOAD WGT and STORE with every field at a distinct non-zero value.  The memory instruction's
    layout does not depend on the configuration (fixed widths)."""
    vals = dict(memory_type=1, sram_base=0xBEEF, dram_base=0x89ABCDEF, y_size=0x1234, x_size=0x5678,
                x_stride=0x9ABC, y_pad_0=0x3, y_pad_1=0x5, x_pad_0=0x9, x_pad_1=0xE)
    word = (1 << 7                # memory_type 9:7 (WGT)
            | 0xBEEF << 10        # sram_base 25:10
            | 0x89ABCDEF << 26    # dram_base 57:26 (58:63 unused)
            | 0x1234 << 64        # y_size 79:64
            | 0x5678 << 80        # x_size 95:80
            | 0x9ABC << 96        # x_stride 111:96
            | 0x3 << 112          # y_pad_0 115:112
            | 0x5 << 116          # y_pad_1 119:116
            | 0x9 << 120          # x_pad_0 123:120
            | 0xE << 124)         # x_pad_1 127:124
    return [(MemInsn(opcode=0, **vals, **FLAGS_A), 0 | BITS_A | word),
            (MemInsn(opcode=1, **vals, **FLAGS_B), 1 | BITS_B | word)]


# The GEMM and ALU positions: (field, value, bit offset) per configuration, read off the table for the
# default and recomputed by hand for SMALL (its widths in the comments).
GEMM_FIELDS = {
    "default": [("reset_reg", 1, 7), ("uop_bgn", 0x1ABC, 8), ("uop_end", 0x2DEF, 21),
                ("iter_out", 0x2345, 35), ("iter_in", 0x1F0E, 49),
                ("dst_factor_out", 0x5A3, 64), ("dst_factor_in", 0x3C5, 75),
                ("src_factor_out", 0x6E7, 86), ("src_factor_in", 0x219, 97),
                ("wgt_factor_out", 0x2B4, 108), ("wgt_factor_in", 0x3D6, 118)],
    # uop_bgn 12, uop_end 13, iters 14 (ends at bit 60); dst_factor_out (10) would cross 64: moves to
    # 64; factors: dst 10, src (inp) 10, wgt 9
    "small": [("reset_reg", 1, 7), ("uop_bgn", 0xABC, 8), ("uop_end", 0x1DEF, 20),
              ("iter_out", 0x2345, 33), ("iter_in", 0x1F0E, 47),
              ("dst_factor_out", 0x2A3, 64), ("dst_factor_in", 0x3C5, 74),
              ("src_factor_out", 0x1E7, 84), ("src_factor_in", 0x219, 94),
              ("wgt_factor_out", 0x1B4, 104), ("wgt_factor_in", 0x0D6, 113)],
}
ALU_FIELDS = {
    "default": GEMM_FIELDS["default"][:9] + [("alu_opcode", 3, 108), ("use_imm", 1, 111),
                                             ("imm", 0x8765, 112)],
    # src factors (acc, 10) at 84 and 94; alu_opcode 104:106, use_imm 107, imm 123:108
    "small": GEMM_FIELDS["small"][:9] + [("alu_opcode", 3, 104), ("use_imm", 1, 107),
                                         ("imm", 0x8765, 108)],
}
# Micro-op: default dst_idx 10:0, src_idx 21:11, wgt_idx 31:22; SMALL 9:0, 19:10, 28:20.
UOP_FIELDS = {"default": [("dst_idx", 0x5A3, 0), ("src_idx", 0x3C5, 11), ("wgt_idx", 0x2B4, 22)],
              "small": [("dst_idx", 0x2A3, 0), ("src_idx", 0x1C5, 10), ("wgt_idx", 0x1B4, 20)]}
CONFIGS = {"default": DEFAULT, "small": SMALL}


def word_of(fields) -> int:
    w = 0
    for _, value, offset in fields:
        w |= value << offset
    return w


def loop_values(fields) -> dict:
    return {name: value for name, value, _ in fields}


def test_small_config_has_the_depths_the_positions_assume():
    assert (SMALL.log_uop_depth, SMALL.log_inp_depth, SMALL.log_wgt_depth, SMALL.log_acc_depth) == \
        (12, 10, 9, 10)
    assert (DEFAULT.log_uop_depth, DEFAULT.log_inp_depth, DEFAULT.log_wgt_depth,
            DEFAULT.log_acc_depth) == (13, 11, 10, 11)


@pytest.mark.parametrize("name", CONFIGS)
def test_load_store_words(name):
    cfg = CONFIGS[name]
    for insn, word in mem_case():
        assert insn.encode(cfg) == word, (str(insn), hex(insn.encode(cfg)), hex(word))
        assert decode_insn(word, cfg) == insn


@pytest.mark.parametrize("name", CONFIGS)
def test_gemm_word(name):
    cfg, fields = CONFIGS[name], GEMM_FIELDS[name]
    insn = GemmInsn(**loop_values(fields), **FLAGS_B)
    word = 2 | BITS_B | word_of(fields)
    assert insn.encode(cfg) == word, (hex(insn.encode(cfg)), hex(word))
    assert decode_insn(word, cfg) == insn


@pytest.mark.parametrize("name", CONFIGS)
def test_alu_word_with_negative_imm(name):
    cfg, fields = CONFIGS[name], ALU_FIELDS[name]
    vals = loop_values(fields)
    vals["imm"] = 0x8765 - (1 << 16)          # the 16-bit field holds it in two's complement
    insn = AluInsn(**vals, **FLAGS_A)
    word = 4 | BITS_A | word_of(fields)
    assert insn.encode(cfg) == word, (hex(insn.encode(cfg)), hex(word))
    assert decode_insn(word, cfg) == insn


@pytest.mark.parametrize("name", CONFIGS)
def test_finish_word(name):
    insn = FinishInsn(**FLAGS_B)
    assert insn.encode(CONFIGS[name]) == 3 | BITS_B
    assert decode_insn(3 | BITS_B, CONFIGS[name]) == insn


@pytest.mark.parametrize("name", CONFIGS)
def test_uop_word(name):
    cfg, fields = CONFIGS[name], UOP_FIELDS[name]
    uop = Uop(**loop_values(fields))
    word = word_of(fields)
    assert uop.encode(cfg) == word, (hex(uop.encode(cfg)), hex(word))
    assert encode_uops([uop], cfg) == word.to_bytes(4, "little")
    assert decode_uops(word.to_bytes(4, "little"), cfg) == [uop]


@pytest.mark.parametrize("name", CONFIGS)
def test_each_field_fills_exactly_its_width(name):
    """A field at its largest value sets exactly its bits: catches a field one bit too wide or narrow
    that the distinct values above might fit either way."""
    cfg = CONFIGS[name]
    widths = {"default": {"uop_bgn": 13, "uop_end": 14, "iter_out": 14, "iter_in": 14,
                          "dst_factor_out": 11, "dst_factor_in": 11, "src_factor_out": 11,
                          "src_factor_in": 11, "wgt_factor_out": 10, "wgt_factor_in": 10},
              "small": {"uop_bgn": 12, "uop_end": 13, "iter_out": 14, "iter_in": 14,
                        "dst_factor_out": 10, "dst_factor_in": 10, "src_factor_out": 10,
                        "src_factor_in": 10, "wgt_factor_out": 9, "wgt_factor_in": 9}}[name]
    offsets = {f: off for f, _, off in GEMM_FIELDS[name]}
    for field, width in widths.items():
        insn = GemmInsn(**{field: (1 << width) - 1})
        assert insn.encode(cfg) == 2 | ((1 << width) - 1) << offsets[field], field
        with pytest.raises(ValueError, match=field):
            GemmInsn(**{field: 1 << width}).encode(cfg)
