"""The FPGA parts the flows target, each with its capacity per primitive.

One definition per part: :data:`PARTS` maps the name used on the command line (``--part``) to a
:class:`Part`.  A part's :attr:`Part.resources` are the rows of a utilisation table: each row names a
resource, the part's capacity of it and how Yosys' cells (``stat`` cell types) count towards it, so the
synthesis report (:mod:`bitstreams.report`) and the place-and-route report share the same rows.

Capacities (vendor data sheets; the ECP5 numbers are also what nextpnr-ecp5 reports for the device):

* ``xc7z020`` (Zynq-7000 XC7Z020, the Pynq-Z1/Z2's part; Xilinx DS190 table 1): 53,200 LUTs, 106,400
  flip-flops (13,300 slices of 4 LUT6 and 8 FF), 140 block RAMs of 36 Kb (each splits into two 18 Kb
  RAMB18E1: one RAMB18 counts as half a RAMB36), 220 DSP48E1 slices, 13,300 CARRY4 (one per slice).
* ``lfe5u-85f`` (Lattice ECP5 LFE5U-85F, the ULX3S-85F's part; Lattice DS1044 table 1.1): 83,640 LUT4 and
  83,640 flip-flops (41,820 slices of 2 LUT4 and 2 FF), 208 sysMEM blocks of 18 Kb (DP16KD), 156
  18x18 multipliers (MULT18X18D; 72 ALU54B beside them are not used by Yosys).

LUT counting: a LUT-based memory or shift register uses LUTs too, so it counts with the LUTs it takes
(7-series: RAM32M/RAM64M 4, RAM32X1D/RAM64X1D 2, RAM128X1D 4, RAM32X1S/RAM64X1S 1, RAM128X1S 2,
RAM256X1S 4, SRL16E/SRLC32E 1; ECP5: TRELLIS_DPR16X4 2 LUT4s' worth of a slice pair's RAM mode, CCU2C 2
LUT4).  These are approximations of how the packer places them and say so in the reports' notes.
After packing, nextpnr-ecp5 counts its own cells: ``TRELLIS_COMB`` (one LUT4 slot, carries and LUT RAM
included) in the LUT4 row, ``TRELLIS_FF`` in the FF row, so a place-and-route report has the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Resource", "Part", "PARTS", "part", "PartError"]


class PartError(ValueError):
    """An unknown part name; the message names it and lists the known ones."""


@dataclass(frozen=True)
class Resource:
    """One row of a utilisation table.

    Attributes
    ----------
    name : str
        The row's name (``"DSP48E1"``, ``"RAMB36 equivalents"``, ``"LUT"``...).
    capacity : int
        How many the part has.
    cells : dict of str to float
        Yosys cell type -> how many units of this resource one such cell takes.
    """

    name: str
    capacity: int
    cells: dict[str, float]

    def used(self, cells: dict[str, int]) -> float:
        """Units of this resource taken by the cell counts ``cells`` (cell type -> count)."""
        return sum(n * self.cells[t] for t, n in cells.items() if t in self.cells)


@dataclass(frozen=True)
class Part:
    """An FPGA part.

    Attributes
    ----------
    name : str
        The name on the command line (``--part``).
    family : str
        ``"xc7"`` (Xilinx 7-series: Yosys ``synth_xilinx -family xc7``) or ``"ecp5"`` (``synth_ecp5``).
    device : str
        The vendor's device name.
    description : str
        Where it is found (the board).
    resources : tuple of Resource
        The rows of its utilisation table, in order.
    nextpnr : tuple of str
        The nextpnr device options (``--85k --package CABGA381``), empty where nextpnr has no support.
    queue_ram_style : "distributed" or None
        Where the core's command queues go (``hw.top.VTACore``): LUT RAM on the Zynq-7020, whose block
        RAM the SRAMs need (``RAM64M``: 64 x 3 bits a cell); the tools' choice (block RAM) on the ECP5,
        whose LUT RAM cell holds only 16 x 4 bits.
    pack_products : bool
        Two int8 GEMM products per multiplier (``hw.compute.tensor.TensorCore``): yes on the DSP48E1
        (25 x 18), no on the ECP5's MULT18X18D (18 x 18: the packed 24-bit operand would take two
        multipliers and an adder for two products, one multiplier each without packing).
    """

    name: str
    family: str
    device: str
    description: str
    resources: tuple[Resource, ...]
    nextpnr: tuple[str, ...] = field(default=())
    queue_ram_style: str | None = "distributed"
    pack_products: bool = True

    def core_options(self) -> dict:
        """The core's options for this part (keyword arguments of ``hw.top.VTACore``)."""
        return {"queue_ram_style": self.queue_ram_style, "pack_products": self.pack_products}

    def utilisation(self, cells: dict[str, int]) -> list[dict]:
        """One dict per resource: ``name``, ``used``, ``capacity``, ``percent``, ``fits``."""
        rows = []
        for r in self.resources:
            used = r.used(cells)
            used = int(used) if float(used).is_integer() else round(used, 1)
            rows.append({"name": r.name, "used": used, "capacity": r.capacity,
                         "percent": round(100.0 * used / r.capacity, 1), "fits": used <= r.capacity})
        return rows


_XC7_LUT = {**{f"LUT{i}": 1 for i in range(1, 7)},
            "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8, "RAM32X1D": 2, "RAM64X1D": 2,
            "RAM128X1D": 4, "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4,
            "RAM256X1D": 8, "RAM512X1S": 8, "SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1}
_XC7_FF = {t: 1 for t in ("FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE")}
_ECP5_LUT = {"LUT4": 1, "CCU2C": 2, "TRELLIS_DPR16X4": 2, "TRELLIS_COMB": 1}
_ECP5_FF = {"TRELLIS_FF": 1}

PARTS: dict[str, Part] = {p.name: p for p in (
    Part("xc7z020", "xc7", "xc7z020clg400-1", "Zynq-7020 (Pynq-Z1, Pynq-Z2)", (
        Resource("DSP48E1", 220, {"DSP48E1": 1}),
        Resource("RAMB36 equivalents", 140, {"RAMB36E1": 1, "RAMB18E1": 0.5}),
        Resource("LUT", 53_200, _XC7_LUT),
        Resource("FF", 106_400, _XC7_FF),
        Resource("CARRY4", 13_300, {"CARRY4": 1}),
    )),
    Part("lfe5u-85f", "ecp5", "LFE5U-85F-6BG381C", "ECP5-85F (ULX3S-85F)", (
        Resource("MULT18X18D", 156, {"MULT18X18D": 1}),
        Resource("DP16KD", 208, {"DP16KD": 1}),
        Resource("LUT4", 83_640, _ECP5_LUT),
        Resource("FF", 83_640, _ECP5_FF),
    ), nextpnr=("--85k", "--package", "CABGA381", "--speed", "6"), queue_ram_style=None,
       pack_products=False),
)}


def part(name: str) -> Part:
    """The part called ``name`` (case-insensitive), or :class:`PartError` listing the known ones."""
    try:
        return PARTS[name.lower()]
    except KeyError:
        raise PartError(f"unknown part {name!r} (known: {', '.join(PARTS)})") from None
