"""A self-test system on chip for an FPGA board with no CPU: the VTA core, block RAM as its memory, and a
UART bridge through which a host reads and writes the core's registers and that memory."""
