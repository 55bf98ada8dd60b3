"""The real pyinfra CLI, instrumented: where a deploy's seconds go.

    python bench/pyinfra_profile.py OUT.json -y --json INVENTORY DEPLOY

Runs ``pyinfra_cli.main`` in this process with pyinfra's SSH connector, fact gathering, connecting and operation
execution timed, and writes to OUT.json: seconds connecting, preparing (the deploy files run and gather facts) and
executing operations, every fact gathered (by class, with its seconds) and every command sent over SSH (by phase).
pyinfra's own output is unchanged.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter, defaultdict
from typing import Any

from pyinfra.api import connect as api_connect
from pyinfra.api import facts as api_facts
from pyinfra.api import operations as api_operations
from pyinfra.connectors.ssh import SSHConnector

PHASE = {"now": "prepare"}
STATS: dict[str, Any] = {"phases": defaultdict(float), "facts": [], "commands": []}


def _timed(module: Any, name: str, phase: str) -> None:
    original = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        before, PHASE["now"] = PHASE["now"], phase
        start = time.monotonic()
        try:
            return original(*args, **kwargs)
        finally:
            STATS["phases"][phase] += time.monotonic() - start
            PHASE["now"] = before

    setattr(module, name, wrapper)


def _patch() -> None:
    _timed(api_connect, "connect_all", "connect")
    _timed(api_operations, "run_ops", "execute")
    original_fact = api_facts._get_fact

    def get_fact(state: Any, host: Any, cls: type, *args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        try:
            return original_fact(state, host, cls, *args, **kwargs)
        finally:
            STATS["facts"].append({"fact": cls.__name__, "host": host.name, "phase": PHASE["now"],
                                   "seconds": round(time.monotonic() - start, 4)})

    api_facts._get_fact = get_fact
    original_run = SSHConnector.run_shell_command

    def run_shell_command(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        try:
            return original_run(self, command, *args, **kwargs)
        finally:
            STATS["commands"].append({"phase": PHASE["now"], "host": self.host.name,
                                      "seconds": round(time.monotonic() - start, 4),
                                      "command": str(getattr(command, "get_masked_value", lambda: command)())[:160]})

    SSHConnector.run_shell_command = run_shell_command
    original_put = SSHConnector.put_file

    def put_file(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        try:
            return original_put(self, *args, **kwargs)
        finally:
            STATS["commands"].append({"phase": PHASE["now"], "host": self.host.name, "command": "(upload)",
                                      "seconds": round(time.monotonic() - start, 4)})

    SSHConnector.put_file = put_file


def summary(stats: dict[str, Any], total: float) -> dict[str, Any]:
    """The figures the bench prints: seconds per phase, facts and commands counted."""
    facts = Counter(f["fact"] for f in stats["facts"])
    fact_seconds: dict[str, float] = defaultdict(float)
    for fact in stats["facts"]:
        fact_seconds[fact["fact"]] += fact["seconds"]
    return {
        "total_s": round(total, 2),
        "phases_s": {k: round(v, 2) for k, v in stats["phases"].items()},
        "prepare_s": round(total - sum(stats["phases"].values()), 2),
        "facts": len(stats["facts"]),
        "facts_by_class": dict(facts.most_common()),
        "fact_seconds_by_class": {k: round(v, 3) for k, v in sorted(fact_seconds.items(), key=lambda kv: -kv[1])},
        "commands": len(stats["commands"]),
        "commands_by_phase": dict(Counter(c["phase"] for c in stats["commands"])),
        "command_seconds": round(sum(c["seconds"] for c in stats["commands"]), 2),
        "commands_list": stats["commands"],
    }


def main() -> int:
    out, argv = sys.argv[1], sys.argv[2:]
    _patch()
    from pyinfra_cli.main import main as pyinfra_main

    sys.argv = ["pyinfra", *argv]
    start = time.monotonic()
    code = 0
    try:
        pyinfra_main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        with open(out, "w") as handle:
            json.dump(summary(STATS, time.monotonic() - start), handle, indent=1)
    return code


if __name__ == "__main__":
    sys.exit(main())
