import sys
from pathlib import Path

import gevent.monkey

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
