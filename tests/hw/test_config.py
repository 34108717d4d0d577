"""VTAConfig's checks of a vta_config.json: the rules this core adds to VTA's own."""

import pytest

from hw.config import ConfigError, VTAConfig


def test_uop_buffer_must_hold_one_bus_beat():
    """The core keeps micro-ops in words of one bus beat (``uop_lanes``): a smaller buffer is refused
    with the field, its value and the beat size named."""
    ok = VTAConfig(log_bus_width=9, log_uop_buff_size=6)          # 64 bytes: one beat
    assert ok.uop_lanes == 16 and ok.uop_depth == 16
    with pytest.raises(ConfigError, match=r"LOG_UOP_BUFF_SIZE = 5 is smaller than one bus beat \(64 bytes"):
        VTAConfig(log_bus_width=9, log_uop_buff_size=5)
    assert VTAConfig().uop_lanes == 2                              # 64-bit bus: two per word
