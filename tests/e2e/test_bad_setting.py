"""End to end, timed: a mistyped setting stops the real pyinfra CLI before it changes anything on the two test hosts
of tests/e2e/test_single_box.py (the same hosts, started anew for this module), within the bound an operator
notices. Timed, so scripts/test runs it with the machine to itself (`alone`), after the modules that run side by
side.
"""

from __future__ import annotations

import time

import pytest

from e2e.test_single_box import Stack, stack  # noqa: F401 - stack: the fixture, two new hosts for this module

pytestmark = [pytest.mark.slow, pytest.mark.alone]


def test_typo_stops_the_run_before_any_host_changes(stack: Stack):  # noqa: F811 - the imported fixture
    start = time.monotonic()
    rc, _data, text = stack.deploy(gpu_memory_utilisation=0.85)
    elapsed = time.monotonic() - start
    del stack.settings["gpu_memory_utilisation"]
    assert rc != 0
    assert "gpu_memory_utilisation" in text and "did you mean 'gpu_memory_utilization'?" in text
    assert "host 'root-box'" in text and "host 'sudo-box'" in text
    assert elapsed < 5, f"a bad setting took {elapsed:.1f}s to stop the run"
    print(f"\nbad setting stopped the run in {elapsed:.2f}s")
    for host in stack.hosts:
        t = stack.testinfra(host)
        assert not t.package("docker.io").is_installed
        assert not t.file("/etc/reasoning-stack").exists
