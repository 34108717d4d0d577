"""FPGA flows for the VTA core: the parts' capacities (:mod:`bitstreams.parts`), synthesis estimates with
Yosys (:mod:`bitstreams.synth`) and utilisation reports (:mod:`bitstreams.report`).  ``bitstreams/verilog``
writes the core's Verilog per board."""
