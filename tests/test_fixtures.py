"""Facts and operations run against JSON fixtures (pyinfra-testing), the way pyinfra tests its own.

Every folder under fixtures/facts/<Fact> and fixtures/operations/<operation> becomes a test class
for reasoning_stack.facts.<Fact> or reasoning_stack.operations.<operation>, one test per JSON file.
"""

import subprocess
from pathlib import Path

from pyinfra_testing.facts import make_fact_tests
from pyinfra_testing.operations import make_operation_tests

from reasoning_stack.operations import apt_waiting_for_lock

FIXTURES = Path(__file__).parent / "fixtures"
FOLDERS = sorted(p for kind in ("facts", "operations") for p in (FIXTURES / kind).iterdir() if p.is_dir())

for _folder in FOLDERS:
    if _folder.parent.name == "facts":
        globals()[f"TestFact{_folder.name}"] = make_fact_tests("reasoning_stack", f"facts.{_folder.name}", _folder)
    else:
        globals()[f"TestOperation_{_folder.name}"] = make_operation_tests(
            "reasoning_stack", f"operations.{_folder.name}", _folder
        )


def test_every_fixture_folder_has_fixtures():
    # An empty folder would generate no test at all and pass silently.
    assert len(FOLDERS) >= 19
    for folder in FOLDERS:
        assert any(folder.glob("*.json")), f"{folder} has no fixture"


def _run_waiting(command: str, lock_timeout: int) -> subprocess.CompletedProcess:
    script = apt_waiting_for_lock(command, lock_timeout, every=0.05)
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)


def test_apt_step_waits_for_a_held_lock_then_runs(tmp_path: Path):
    # A stand-in apt that finds the lock held twice (as while unattended upgrades run), then succeeds.
    count = tmp_path / "count"
    fake_apt = (f"n=$(cat {count} 2>/dev/null || echo 0); echo $((n + 1)) > {count}; "
                f"if [ $n -lt 2 ]; then echo 'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by "
                f"process 4242 (unattended-upgr)'; exit 100; fi; echo installed")
    out = _run_waiting(fake_apt, lock_timeout=20)
    assert out.returncode == 0, out
    assert out.stdout.count("waiting for the package lock (up to 20s, apt_lock_timeout)") == 2
    assert "held by process 4242 (unattended-upgr)" in out.stdout and out.stdout.endswith("installed\n")


def test_apt_step_gives_up_after_the_limit_naming_the_setting(tmp_path: Path):
    held = "echo 'E: Could not get lock /var/lib/apt/lists/lock. It is held by process 77 (apt-get)'; exit 100"
    out = _run_waiting(held, lock_timeout=0)
    assert out.returncode == 100
    assert "apt_lock_timeout: the package lock was still held after 0s" in out.stderr
    assert "raise apt_lock_timeout" in out.stderr


def test_apt_step_fails_at_once_for_other_errors(tmp_path: Path):
    out = _run_waiting("echo 'E: Unable to locate package nvidia-open-999'; exit 100", lock_timeout=60)
    assert out.returncode == 100 and "waiting" not in out.stdout and "apt_lock_timeout" not in out.stderr
