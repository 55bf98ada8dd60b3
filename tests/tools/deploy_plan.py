"""The operations a deploy file adds for one host, from recorded facts, without connecting to anything.

    python tests/tools/deploy_plan.py CASE.json

CASE.json: {"deploy": "reasoning.py", "host": "spark", "data": {...host data...}, "facts": {"Arch": "aarch64",
...}}. Fact values are JSON; ``NvidiaGpus`` and ``NvidiaPciGpus`` name fixture files (tests/fixtures/nvidia-smi)
and the MemTotal they go with. The real deploy file runs through pyinfra's own loader (as the CLI does, in its
Prepare stage) with every ``host.get_fact`` answered from the case; a fact the case lacks stops the run naming
it, so a test cannot pass on a fact it never meant to give. Prints JSON: {"operations": [{"name", "commands"}],
"error": null, "log": [...]} or {"error": "...", "log": [...]}; "log" holds what the deploy logged while it
prepared (pyinfra's logger, as the CLI prints it). Runs in a process of its own: pyinfra's context is global.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "nvidia-smi"


def _facts(case: dict[str, Any]) -> dict[str, Any]:
    from reasoning_stack.gpus import parse_nvidia_smi_csv
    from reasoning_stack.pci import parse_lspci

    facts = dict(case["facts"])
    if "NvidiaGpus" in facts and isinstance(facts["NvidiaGpus"], dict) and "csv" in facts["NvidiaGpus"]:
        smi = facts["NvidiaGpus"]
        csv = (FIXTURES / smi["csv"]).read_text()
        facts["NvidiaGpus"] = {"gpus": parse_nvidia_smi_csv(csv, smi.get("memtotal_mib")), "error": None}
    if isinstance(facts.get("NvidiaPciGpus"), str):
        facts["NvidiaPciGpus"] = parse_lspci((FIXTURES / facts["NvidiaPciGpus"]).read_text().splitlines())
    return facts


def main(path: str) -> int:
    case = json.loads(Path(path).read_text())
    sys.path.insert(0, str(REPO))
    import pyinfra
    from pyinfra.api import Config, Inventory, State
    from pyinfra.api.host import Host
    from pyinfra.api.state import StateStage
    from pyinfra.context import ctx_config, ctx_host, ctx_inventory, ctx_state
    from pyinfra_cli.util import load_deploy_file

    facts = _facts(case)
    log: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            log.append(record.getMessage())

    logging.getLogger("pyinfra").addHandler(Collect(logging.INFO))
    logging.getLogger("pyinfra").setLevel(logging.INFO)

    def get_fact(_host: Host, cls: type, *_args: object, **_kwargs: object) -> object:
        if cls.__name__ not in facts:
            raise LookupError(f"the case gives no {cls.__name__} fact")
        return facts[cls.__name__]

    Host.get_fact = get_fact  # type: ignore[method-assign]
    pyinfra.is_cli = True  # local.include, as under the CLI
    inventory = Inventory(([(case["host"], case["data"])], {}))
    config = Config()
    state = State(check_for_changes=False)
    state.cwd = str(REPO / "deploys")
    ctx_state.set(state)
    ctx_config.set(config)
    ctx_inventory.set(inventory)
    state.init(inventory, config)
    for host in inventory:
        state.activate_host(host)
    state.set_stage(StateStage.Prepare)
    os.chdir(REPO / "deploys")
    try:
        load_deploy_file(state, str(REPO / "deploys" / case["deploy"]))
    except Exception as exc:  # the deploy's own refusal (PyinfraError), wrapped by pyinfra's loader
        inner: BaseException = exc
        while hasattr(inner, "exception"):  # pyinfra_cli's UnexpectedExternalError, once per included file
            inner = inner.exception
        print(json.dumps({"error": f"{type(inner).__name__}: {inner}", "log": log}))
        return 0
    host = inventory.get_host(case["host"])
    operations = []
    for op_hash in state.get_op_order():
        data = state.ops[host].get(op_hash)
        if data is None:
            continue
        commands: list[str] | None = []
        with ctx_host.use(host):
            try:
                for command in data.command_generator():
                    value = command.get_raw_value() if hasattr(command, "get_raw_value") else repr(command)
                    commands.append(str(value))
            except Exception:  # an operation that reads facts at run time: its name is what the plan shows
                commands = None
        operations.append({"name": sorted(state.op_meta[op_hash].names)[0], "commands": commands})
    print(json.dumps({"operations": operations, "error": None, "log": log}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
