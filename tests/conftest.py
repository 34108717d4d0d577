"""Session-wide pytest hooks: the fuzz coverage table at the end of a run that ran the fuzz."""

import re


def pytest_terminal_summary(terminalreporter):
    """Print which bins (``tests/support/fuzz_coverage.py``) the fuzz programs of this run held; the
    programs are rebuilt from the seeds in the test ids (deterministic), so this works under xdist."""
    seeds = set()
    for key in ("passed", "failed"):
        for rep in terminalreporter.stats.get(key, []):
            m = re.search(r"test_fuzz\.py::test_fuzz_\w+\[(?:[\w-]+-)?(\d+)\]", getattr(rep, "nodeid", ""))
            if m and rep.when == "call":
                seeds.add(int(m[1]))
    if not seeds:
        return
    from tests.sim.test_fuzz import CFG
    from tests.support.fuzz_coverage import coverage, coverage_table
    from tests.support.random_programs import random_program
    counts = coverage(random_program(CFG, s) for s in sorted(seeds))
    terminalreporter.section("fuzz coverage")
    terminalreporter.write_line(coverage_table(counts, len(seeds)))
