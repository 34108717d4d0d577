"""The job protocol between the ``icarus``/``verilator`` backends and their testbench
(:mod:`sim.cocotb_tb`, which runs inside the simulator).

The backend writes a *job directory*: ``job.json`` (the job: simulator, memory model, the image's layout
of :meth:`sim.memimage.MemImage.to_json`, ``insn_count``, ``max_cycles``, ``progress``, pause settings)
and the memory image (``mem.hex`` for ``$readmemh``, or ``image.bin`` for ``AxiRam``); it starts the
simulator through cocotb's runner with ``$VTA_COCOTB_JOB`` naming the directory.  The testbench writes
``result.json`` (:meth:`sim.host.RunState.to_json` plus ``wall_time``), ``out.bin`` (the out region),
with ``trace`` the trace port's samples in ``trace.bin`` (``hw.observe.write_samples``) and, while it runs
with ``progress``, ``progress.txt`` (cycles so far).

Environment
-----------
``VTA_KEEP_JOBS``   keep each run's job directory (logs, image, result) instead of deleting it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from sim.host import RunState

if TYPE_CHECKING:
    from sim.cocotb_build import Build
    from sim.memimage import MemImage

__all__ = ["JOB_ENV", "TB_MODULE", "TRACE_FILE", "JobOutcome", "run_job", "show_progress"]

#: The environment variable naming the job directory (read by :mod:`sim.cocotb_tb`).
JOB_ENV = "VTA_COCOTB_JOB"
#: The testbench module.
TB_MODULE = "sim.cocotb_tb"
#: The file of trace samples a job with ``trace`` writes in its directory.
TRACE_FILE = "trace.bin"


@dataclass
class JobOutcome:
    """What a job gave back: the host's read-back ``state`` (with ``out``), the raw ``result.json``
    object, the seconds the simulator process took, and the trace samples (with ``trace``, else None)."""
    state: RunState
    result: dict
    elapsed: float
    trace_samples: list | None = None


def show_progress(simulator: str, path: Path, t0: float, total: int | None = None):
    """Show the testbench's progress file on stderr (a thread polling it, a ``sim.progress.Progress``
    against the estimate ``total``); returns the stop function."""
    import threading
    from sim.progress import Progress
    stop = threading.Event()
    line = Progress(simulator, total, start=t0)

    def poll():
        while not stop.wait(0.5):
            try:
                cycles = int(path.read_text())
            except (OSError, ValueError):
                continue
            line.update(cycles)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()

    def finish():
        stop.set()
        thread.join()
        line.close()
    return finish


def run_job(b: "Build", cfg, layout: "MemImage", *, insn_count: int, max_cycles: int, progress: bool = False,
            progress_total: int | None = None, vcd: str | os.PathLike | None = None, memory: str = "simtop", mem_bytes: int = 0,
            pause: float = 0.0, seed: int = 0, mem_ports: dict | None = None,
            after_reset_ports: dict | None = None, trace: bool = False) -> JobOutcome:
    """Run one job on the built model ``b``: write the job directory, run the testbench, read it back.

    ``mem_ports`` (``simtop`` only) are the values of the memory's run-time ports
    (``sim.memsettings.MemSettings.port_values``); with ``after_reset_ports`` the testbench then resets
    the design, drives those, loads the image again and runs once more (``result["after_reset"]``).

    Raises
    ------
    RuntimeError
        If the simulation or the testbench failed (the job directory is then kept; the message names
        it and holds the end of its log).
    """
    # Imported here: the testbench imports this module for JOB_ENV and should not pay for these.
    from sim import verilog
    from sim.axi_mem import MEM_PLUSARG
    from sim.cocotb_build import TIMESCALE, cache_dir, make_runner
    simulator = b.simulator
    jobroot = cache_dir() / "jobs"
    jobroot.mkdir(parents=True, exist_ok=True)
    jobdir = Path(tempfile.mkdtemp(prefix=f"{simulator}-", dir=jobroot))
    keep = bool(os.environ.get("VTA_KEEP_JOBS"))
    try:
        job = {
            "simulator": simulator, "memory": memory, "mem_bytes": mem_bytes,
            "bus_bytes": cfg.bus_bytes, "image": layout.to_json(), "insn_count": insn_count,
            "max_cycles": int(max_cycles), "progress": progress, "pause": pause, "seed": seed,
            "mem_ports": mem_ports or {}, "after_reset_ports": after_reset_ports,
            "trace": bool(trace),
        }
        with open(jobdir / "job.json", "w") as f:
            json.dump(job, f)
        plusargs = []
        if memory == "simtop":
            verilog.write_hex_image(jobdir / "mem.hex", layout.image, cfg.bus_bytes)
            plusargs.append(f"+{MEM_PLUSARG}={jobdir / 'mem.hex'}")
            if after_reset_ports is not None:
                (jobdir / "image.bin").write_bytes(layout.image)
        else:
            (jobdir / "image.bin").write_bytes(layout.image)
        if vcd is not None and simulator == "icarus":
            # cocotb's Icarus dump module writes into the (shared) build directory unless told.
            plusargs.append(f"+dumpfile_path={jobdir / 'wave.fst'}")
        log = jobdir / "sim.log"
        runner = make_runner(simulator)
        t0 = time.perf_counter()
        stop_progress = show_progress(simulator, jobdir / "progress.txt", t0,
                                      progress_total) if progress else None
        try:
            runner.test(test_module=TB_MODULE, hdl_toplevel=b.toplevel, hdl_toplevel_lang="verilog",
                        build_dir=b.directory,
                        test_dir=jobdir, results_xml=str(jobdir / "results.xml"),
                        plusargs=plusargs, extra_env={JOB_ENV: str(jobdir), "COCOTB_ANSI_OUTPUT": "0"},
                        waves=vcd is not None, timescale=TIMESCALE, log_file=log)
        except (SystemExit, RuntimeError) as e:
            if not (jobdir / "result.json").exists():
                tail = log.read_text()[-4000:] if log.exists() else ""
                keep = True
                raise RuntimeError(f"the {simulator} simulation failed ({e!r}); job kept in {jobdir}; "
                                   f"end of its log:\n{tail}") from None
        finally:
            if stop_progress is not None:
                stop_progress()
        elapsed = time.perf_counter() - t0
        rpath = jobdir / "result.json"
        if not rpath.exists():
            tail = log.read_text()[-4000:] if log.exists() else ""
            keep = True
            raise RuntimeError(f"the {simulator} testbench wrote no result; job kept in {jobdir}; "
                               f"end of its log:\n{tail}")
        res = json.loads(rpath.read_text())
        state = RunState.from_json(res, out=(jobdir / "out.bin").read_bytes())
        samples = None
        if trace:
            from hw.observe import read_samples
            samples = read_samples(jobdir / TRACE_FILE)
        if vcd is not None:
            wave = jobdir / ("dump.vcd" if simulator == "verilator" else "wave.fst")
            if not wave.exists():
                raise RuntimeError(f"the {simulator} simulation wrote no waveform ({wave})")
            shutil.copyfile(wave, vcd)
    finally:
        if not keep:
            shutil.rmtree(jobdir, ignore_errors=True)
    return JobOutcome(state, res, elapsed, samples)
