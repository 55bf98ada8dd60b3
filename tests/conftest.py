import sys
from pathlib import Path

# tests/hosts/testhosts.py is shared by the e2e tests, scripts/demo and bench/deploy_time.
sys.path.insert(0, str(Path(__file__).parent / "hosts"))
sys.path.insert(0, str(Path(__file__).parent / "standins"))  # the Hub stand-in (hub_standin.py)
# The real vLLM servers of representative hosts, started once per module using them (tests/hosts/real_fixtures.py);
# where each run's time goes (tests/hosts/timing_report.py); tests that need a tool wait for its build (tools_ready.py).
pytest_plugins = ["real_fixtures", "timing_report", "tools_ready"]

# tqdm (under huggingface_hub's downloads) starts a monitor thread with its first progress bar. pyinfra_cli, imported
# by the first in-process inventory load, monkey-patches the process with gevent; with that thread alive, the import
# fails ("cannot release un-acquired lock" from importlib's module lock), so a module loading an inventory after one
# that fetched from the Hub stand-in would fail by order alone. No monitor thread: the bars work without it.
import tqdm  # noqa: E402

tqdm.tqdm.monitor_interval = 0
