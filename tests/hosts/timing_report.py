"""Where a test run's time goes, printed at the end of every run and written to ``test-artifacts/timing.json``:
``scripts/test``'s set-up steps (read from ``test-artifacts/timing-setup.tsv``, which it writes), each test module's
time (the sum of its tests' set-up, call and tear-down: its wall time), the slowest tests, and the run's own wall
time; the JSON also holds every test's time, in run order. docs/testing.md keeps the figures of a dated run. A
plugin of tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SETUP_TIMES = ARTIFACTS / "timing-setup.tsv"  # "step<TAB>seconds" lines, written by scripts/test
SLOWEST = 15


class TimingReport:
    """Collects each test phase's duration by module and test; reports them once the run ends."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.by_test: dict[str, float] = defaultdict(float)
        self.by_module: dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        module = report.nodeid.split("::", 1)[0]
        self.by_test[report.nodeid] += report.duration
        self.by_module[module] += report.duration

    def figures(self) -> dict[str, object]:
        setup = read_setup_times()
        return {
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "setup_s": setup,
            "pytest_wall_s": round(time.monotonic() - self.started, 1),
            "modules_s": {m: round(s, 1) for m, s in sorted(self.by_module.items(), key=lambda i: -i[1])},
            "slowest_tests_s": {t: round(s, 1) for t, s in
                                sorted(self.by_test.items(), key=lambda i: -i[1])[:SLOWEST]},
            "tests_s": {t: round(s, 1) for t, s in self.by_test.items()},  # every test, in run order (not printed)
        }

    def pytest_terminal_summary(self, terminalreporter) -> None:
        figures = self.figures()
        ARTIFACTS.mkdir(exist_ok=True)
        name = os.environ.get("RS_TIMING_NAME", "timing")  # scripts/test names its two lanes and the part alone
        (ARTIFACTS / f"{name}.json").write_text(json.dumps(figures, indent=1) + "\n")
        write = terminalreporter.write_line
        terminalreporter.section(f"where the time went ({name}; test-artifacts/{name}.json)")
        if figures["setup_s"]:
            write("set-up steps (scripts/test):")
            for step, seconds in figures["setup_s"].items():
                write(f"  {seconds:8.1f} s  {step}")
        write(f"pytest wall time: {figures['pytest_wall_s']:.1f} s")
        write("test modules (set-up + calls + tear-down):")
        for module, seconds in figures["modules_s"].items():
            write(f"  {seconds:8.1f} s  {module}")
        write(f"slowest {SLOWEST} tests:")
        for test, seconds in figures["slowest_tests_s"].items():
            write(f"  {seconds:8.1f} s  {test}")


def read_setup_times() -> dict[str, float]:
    """The set-up steps scripts/test timed in this run, in its order."""
    if not SETUP_TIMES.exists():
        return {}
    steps: dict[str, float] = {}
    for line in SETUP_TIMES.read_text().splitlines():
        step, _, seconds = line.rpartition("\t")
        if step:
            steps[step] = float(seconds)
    return steps


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(TimingReport(), "timing_report_collector")
