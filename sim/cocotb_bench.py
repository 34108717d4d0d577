"""The speed benchmark of the ``icarus`` and ``verilator`` backends: where a run's wall time goes
(``python -m sim.cocotb_bench [--simulator S]``, printed as JSON)."""

from __future__ import annotations

import json

from sim.cocotb_backend import run_icarus, run_verilator
from sim.cocotb_build import SIMULATORS

__all__ = ["benchmark", "main"]


def benchmark(simulator: str = "verilator", program=None) -> dict:
    """Run the seed FC (or ``program``) once more after a warm-up run and account for the wall time.

    Returns a dict: ``cycles``; ``run_cycles_per_second`` (launch to ``irq``, the design simulating
    on its own); ``end_to_end_cycles_per_second`` (the whole simulator process, build excluded);
    ``phases`` (seconds: process start-up and shut-down, testbench setup, reset and memory load,
    launch, run, register and out read-back); and ``limit``, a sentence naming the largest cost.
    """
    if program is None:
        from sw.fc import build_fc
        import numpy as np
        rng = np.random.default_rng(0)
        x = rng.integers(-128, 128, (1, 1024), dtype=np.int8)
        w = rng.integers(-128, 128, (1024, 1024), dtype=np.int8)
        program = build_fc(x, w, shift=8, clip=(0, 127), schedule="tutorial").program
    runp = run_verilator if simulator == "verilator" else run_icarus
    first = runp(program)
    res = runp(program)
    phases = dict(res.extra["phases"])
    phases["process"] = max(res.wall_time - sum(phases.values()), 0.0)
    biggest = max(phases, key=phases.get)
    why = {
        "run": "simulating the design itself (Verilator's evaluation of the core every cycle; no "
               "Python runs between launch and irq)",
        "process": "starting the simulator process: the embedded Python interpreter, importing cocotb "
                   "(and pytest, which cocotb imports), constructing the model",
        "setup": "importing cocotbext-axi and constructing its bus models",
        "reset": "time 0: zeroing the simulation memory and the SRAMs, $readmemh of the image",
        "registers": "reading the counters through AXI4-Lite (Python per transaction)",
        "out": "reading the out region through the backdoor port (Python per word)",
        "launch": "writing the base registers through AXI4-Lite",
        "load": "writing the memory image into cocotbext-axi's AxiRam",
    }[biggest]
    return {
        "simulator": simulator, "cycles": res.cycles, "instructions": res.instructions,
        "build_seconds_first_run": first.extra["build_seconds"],
        "end_to_end_seconds": round(res.wall_time, 3),
        "end_to_end_cycles_per_second": round(res.cycles / res.wall_time),
        "run_cycles_per_second": round(res.cycles / max(phases["run"], 1e-9)),
        "phases": {k: round(v, 3) for k, v in phases.items()},
        "limit": f"{biggest} ({phases[biggest]:.2f} s of {res.wall_time:.2f} s): {why}",
    }


def main(argv=None) -> int:
    """``python -m sim.cocotb_bench [--simulator S]``: the speed benchmark as JSON."""
    import argparse
    import sys
    p = argparse.ArgumentParser(prog="python -m sim.cocotb_bench")
    p.add_argument("--simulator", choices=SIMULATORS, default="verilator")
    args = p.parse_args(argv)
    json.dump(benchmark(args.simulator), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
