import sys
from pathlib import Path

import gevent.monkey
import pytest

# pyinfra's CLI package patches the standard library for gevent as it is imported (pyinfra_cli/__init__.py), and
# reasoning_stack.inventory imports it to read inventories. In the test process that would break pytest-xdist's
# workers (scripts/test runs modules side by side), whose threads are already running when a test first imports it.
# So the test process keeps the standard library unpatched: no test connects to a host from inside it; every deploy
# is the real `pyinfra` CLI (and every `reasoning-stack status | usage | bench` against a host its real CLI) in a
# process of its own, patched as an operator's is.
gevent.monkey.patch_all = lambda *args, **kwargs: None

# tests/hosts/testhosts.py is shared by the e2e tests, scripts/demo and bench/deploy_time.
sys.path.insert(0, str(Path(__file__).parent / "hosts"))
sys.path.insert(0, str(Path(__file__).parent / "standins"))  # the Hub stand-in (hub_standin.py)
# The real vLLM servers of representative hosts, started once per module using them (tests/hosts/real_fixtures.py);
# where each run's time goes (tests/hosts/timing_report.py).
pytest_plugins = ["real_fixtures", "timing_report"]



@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list) -> None:
    """Two lanes for scripts/test's side-by-side part (`--dist loadgroup`): the end-to-end modules one after another
    in one worker (each keeps a few test hosts, their Docker and systemd busy: two at once on two cores slowed each
    past its own bounds), every other module whole in the other. The e2e modules go first, the longest first (more
    tests standing in for length), then the other slow modules; each module's tests keep their order."""
    tests_in: dict[str, int] = {}
    slow: set[str] = set()
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        tests_in[module] = tests_in.get(module, 0) + 1
        if item.get_closest_marker("slow"):
            slow.add(module)

    def rank(module: str) -> tuple[int, int]:
        return (0 if is_e2e(module) else 1 if module in slow else 2, -tests_in[module])

    for item in items:
        module = item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group("e2e" if is_e2e(module) else module))
    items.sort(key=lambda item: rank(item.nodeid.split("::", 1)[0]))


def is_e2e(module: str) -> bool:
    return module.startswith("tests/e2e/")
