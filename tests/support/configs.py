"""Configurations the tests share."""

from hw.config import VTAConfig

__all__ = ["SMALL", "SMALL_BATCH2"]

#: A 4x4 core with small buffers: the same logic as the default, and fast to simulate.
SMALL = VTAConfig(log_block=2, log_inp_buff_size=8, log_wgt_buff_size=9, log_acc_buff_size=10,
                  log_uop_buff_size=8)

#: 4x4 blocks, batch 2, small buffers (the functional model and the command line).
SMALL_BATCH2 = VTAConfig(log_batch=1, log_block=2, log_inp_buff_size=9, log_wgt_buff_size=10,
                         log_acc_buff_size=13, log_uop_buff_size=9)
