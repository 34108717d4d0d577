"""VTA configuration: VTA's own ``vta_config.json``, read unchanged, and every size derived from it.

This module is the one definition of the configuration.  The hardware (``hw``), the compiler (``sw``) and
the simulators (``sim``) all take a :class:`VTAConfig` and read derived sizes from it; nothing else
recomputes them.

Keys of VTA's ``vta_config.json`` (see ``docs/semantics.md`` §1):

``TARGET``, ``HW_VER``                 accepted and kept
``LOG_INP_WIDTH``, ``LOG_WGT_WIDTH``   log2 of the input / weight element width in bits (3: int8)
``LOG_ACC_WIDTH``                      log2 of the accumulator width in bits (5: int32)
``LOG_BATCH``, ``LOG_BLOCK``           the GEMM core is BATCH x BLOCK_IN x BLOCK_OUT
``LOG_*_BUFF_SIZE``                    log2 of each on-chip buffer's size in bytes

Extensions of this project, each defaulting to VTA's behaviour:

``LOG_BUS_WIDTH``      log2 of the AXI memory bus width in bits (6 = 64-bit, as Pynq); 6..9
``CMD_QUEUE_DEPTH``    depth of each of the three command queues (512, as the Pynq block design)
``TOKEN_QUEUE_DEPTH``  capacity of each of the four dependency-token queues (1024, as Pynq)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, asdict
from typing import Any

from .isa import INSN_WIDTH, UOP_WIDTH, LayoutError, layouts

__all__ = ["VTAConfig", "ConfigError"]


class ConfigError(ValueError):
    """An unreadable or unbuildable configuration.  The message names the file, key and value."""


#: JSON key -> (attribute, default, (min, max) for integers or None for strings)
_KEYS: dict[str, tuple[str, Any, tuple[int, int] | None]] = {
    "TARGET":            ("target",            "sim",   None),
    "HW_VER":            ("hw_ver",            "0.0.2", None),
    "LOG_INP_WIDTH":     ("log_inp_width",     3,  (3, 3)),
    "LOG_WGT_WIDTH":     ("log_wgt_width",     3,  (3, 3)),
    "LOG_ACC_WIDTH":     ("log_acc_width",     5,  (5, 5)),
    "LOG_BATCH":         ("log_batch",         0,  (0, 4)),
    "LOG_BLOCK":         ("log_block",         4,  (1, 6)),
    "LOG_UOP_BUFF_SIZE": ("log_uop_buff_size", 15, (5, 20)),
    "LOG_INP_BUFF_SIZE": ("log_inp_buff_size", 15, (3, 24)),
    "LOG_WGT_BUFF_SIZE": ("log_wgt_buff_size", 18, (3, 26)),
    "LOG_ACC_BUFF_SIZE": ("log_acc_buff_size", 17, (3, 26)),
    "LOG_BUS_WIDTH":     ("log_bus_width",     6,  (6, 9)),
    "CMD_QUEUE_DEPTH":   ("cmd_queue_depth",   512,  (2, 1 << 16)),
    "TOKEN_QUEUE_DEPTH": ("token_queue_depth", 1024, (1, 1 << 16)),
}



@dataclass(frozen=True)
class VTAConfig:
    """A VTA configuration.

    Construct it with keyword arguments named like the attributes (``VTAConfig(log_block=3)``), from a
    ``vta_config.json`` file (:meth:`from_file`) or from its JSON object (:meth:`from_json`).  Every
    derived size is a property, so the nine ``LOG_*`` keys are the only state.

    Raises
    ------
    ConfigError
        If a value has the wrong type, is outside what this hardware supports, or would make a
        configuration whose instruction fields do not fit in 128 bits (or micro-op fields in 32 bits).
    """

    target: str = "sim"
    hw_ver: str = "0.0.2"
    log_inp_width: int = 3
    log_wgt_width: int = 3
    log_acc_width: int = 5
    log_batch: int = 0
    log_block: int = 4
    log_uop_buff_size: int = 15
    log_inp_buff_size: int = 15
    log_wgt_buff_size: int = 18
    log_acc_buff_size: int = 17
    log_bus_width: int = 6
    cmd_queue_depth: int = 512
    token_queue_depth: int = 1024
    source: str = field(default="<defaults>", compare=False)

    def __post_init__(self):
        for key, (attr, default, bounds) in _KEYS.items():
            value = getattr(self, attr)
            if bounds is None:
                if not isinstance(value, str):
                    raise ConfigError(f"{self.source}: {key} must be a string, got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{self.source}: {key} must be an integer, got {value!r}")
            lo, hi = bounds
            if not lo <= value <= hi:
                raise ConfigError(
                    f"{self.source}: {key} = {value} is not supported (allowed {lo}..{hi})")
        # Buffers must hold at least one element.
        for name in ("uop", "inp", "wgt", "acc"):
            if getattr(self, f"log_{name}_depth") < 0:
                key = f"LOG_{name.upper()}_BUFF_SIZE"
                raise ConfigError(
                    f"{self.source}: {key} = {getattr(self, f'log_{name}_buff_size')} is smaller than "
                    f"one {name} element ({getattr(self, f'{name}_elem_bytes')} bytes)")
        # The core's uop SRAM is a word of one bus beat wide (``uop_lanes``): it must hold one.
        if self.log_uop_buff_size < self.log_bus_width - 3:
            raise ConfigError(
                f"{self.source}: LOG_UOP_BUFF_SIZE = {self.log_uop_buff_size} is smaller than one bus beat "
                f"({self.bus_bytes} bytes at LOG_BUS_WIDTH = {self.log_bus_width}): this core keeps its "
                f"micro-ops in words of a beat each")
        # Instruction and micro-op fields must fit (the layouts raise ConfigError naming the field).
        try:
            layouts(self)
        except LayoutError as e:
            raise ConfigError(
                f"{self.source}: LOG_BLOCK = {self.log_block}, LOG_BATCH = {self.log_batch}, "
                f"LOG_UOP_BUFF_SIZE = {self.log_uop_buff_size}, LOG_INP_BUFF_SIZE = {self.log_inp_buff_size}, "
                f"LOG_WGT_BUFF_SIZE = {self.log_wgt_buff_size}, LOG_ACC_BUFF_SIZE = {self.log_acc_buff_size} "
                f"give buffer depths uop {self.uop_depth}, inp {self.inp_depth}, wgt {self.wgt_depth}, "
                f"acc {self.acc_depth} whose indices do not fit VTA's instruction set ({e}); "
                f"reduce a LOG_*_BUFF_SIZE") from None

    # -- construction -----------------------------------------------------------------------------

    @classmethod
    def from_json(cls, obj: Any, source: str = "<json>") -> "VTAConfig":
        """Build a configuration from the JSON object of a ``vta_config.json``."""
        if not isinstance(obj, dict):
            raise ConfigError(f"{source}: a VTA configuration is a JSON object, got {type(obj).__name__}")
        unknown = sorted(set(obj) - set(_KEYS))
        if unknown:
            raise ConfigError(f"{source}: unknown key {unknown[0]!r} (known: {', '.join(_KEYS)})")
        kwargs = {_KEYS[k][0]: v for k, v in obj.items()}
        return cls(source=source, **kwargs)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "VTAConfig":
        """Read a ``vta_config.json`` file."""
        path = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise ConfigError(f"{path}: cannot read configuration: {e.strerror}") from None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
        return cls.from_json(obj, source=path)

    @classmethod
    def load(cls, path: str | os.PathLike | None) -> "VTAConfig":
        """The configuration in ``path``, or the default one when ``path`` is None."""
        return cls() if path is None else cls.from_file(path)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this configuration (VTA's keys, then this project's extensions)."""
        return {key: getattr(self, attr) for key, (attr, _, _) in _KEYS.items()}

    def replace(self, **kwargs) -> "VTAConfig":
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(kwargs)
        return VTAConfig(**values)

    @property
    def name(self) -> str:
        """A short name for file names and caches: the values that shape the hardware."""
        return ("b{}x{}_inp{}_wgt{}_acc{}_uop{}_bus{}_q{}_t{}".format(
            self.batch, self.block, self.log_inp_buff_size, self.log_wgt_buff_size,
            self.log_acc_buff_size, self.log_uop_buff_size, self.bus_bits,
            self.cmd_queue_depth, self.token_queue_depth))

    # -- derived sizes (vta-reference §1.2) ---------------------------------------------------------

    batch = property(lambda self: 1 << self.log_batch)
    block = property(lambda self: 1 << self.log_block)
    block_in = property(lambda self: 1 << self.log_block)
    block_out = property(lambda self: 1 << self.log_block)
    inp_width = property(lambda self: 1 << self.log_inp_width)
    wgt_width = property(lambda self: 1 << self.log_wgt_width)
    acc_width = property(lambda self: 1 << self.log_acc_width)
    out_width = property(lambda self: 1 << self.log_inp_width)   # LOG_OUT_WIDTH = LOG_INP_WIDTH

    inp_elem_bits = property(lambda self: self.batch * self.block_in * self.inp_width)
    wgt_elem_bits = property(lambda self: self.block_out * self.block_in * self.wgt_width)
    acc_elem_bits = property(lambda self: self.batch * self.block_out * self.acc_width)
    out_elem_bits = property(lambda self: self.batch * self.block_out * self.out_width)
    uop_elem_bits = property(lambda self: UOP_WIDTH)
    insn_elem_bits = property(lambda self: INSN_WIDTH)

    inp_elem_bytes = property(lambda self: self.inp_elem_bits // 8)
    wgt_elem_bytes = property(lambda self: self.wgt_elem_bits // 8)
    acc_elem_bytes = property(lambda self: self.acc_elem_bits // 8)
    out_elem_bytes = property(lambda self: self.out_elem_bits // 8)
    uop_elem_bytes = property(lambda self: UOP_WIDTH // 8)
    insn_elem_bytes = property(lambda self: INSN_WIDTH // 8)

    log_uop_depth = property(lambda self: self.log_uop_buff_size - 5 + 3)
    log_inp_depth = property(lambda self: self.log_inp_buff_size - self.log_batch - self.log_block
                             - self.log_inp_width + 3)
    log_wgt_depth = property(lambda self: self.log_wgt_buff_size - 2 * self.log_block
                             - self.log_wgt_width + 3)
    log_acc_depth = property(lambda self: self.log_acc_buff_size - self.log_batch - self.log_block
                             - self.log_acc_width + 3)
    log_out_depth = property(lambda self: self.log_acc_depth)   # HLS: out_mem[VTA_ACC_BUFF_DEPTH]

    uop_depth = property(lambda self: 1 << self.log_uop_depth)
    inp_depth = property(lambda self: 1 << self.log_inp_depth)
    wgt_depth = property(lambda self: 1 << self.log_wgt_depth)
    acc_depth = property(lambda self: 1 << self.log_acc_depth)
    out_depth = property(lambda self: 1 << self.log_out_depth)

    bus_bits = property(lambda self: 1 << self.log_bus_width)
    bus_bytes = property(lambda self: (1 << self.log_bus_width) // 8)
    #: Micro-ops per word of the core's uop SRAM: a bus beat's worth, so that LOAD UOP writes a beat a
    #: cycle (``hw.dma.DmaReadLanes``).  Not a VTA parameter: a layout choice of this core.
    uop_lanes = property(lambda self: self.bus_bits // UOP_WIDTH)

    def elem_bytes(self, mem: str) -> int:
        """Bytes of one element of memory ``mem`` (``"uop"``, ``"inp"``, ``"wgt"``, ``"acc"``, ``"out"``,
        ``"insn"``)."""
        return getattr(self, f"{mem}_elem_bytes")

    def depth(self, mem: str) -> int:
        """Depth in elements of on-chip buffer ``mem``."""
        return getattr(self, f"{mem}_depth")



