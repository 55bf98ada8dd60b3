"""Load an inventory file the way the ``pyinfra`` CLI does (with its ``group_data/``), without connecting."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pyinfra.api import Inventory
from pyinfra.api.host import Host

from reasoning_stack.settings import StackSettings
from reasoning_stack.validation import SettingsInvalid, validate_hosts


def load_inventory(path: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None) -> Inventory:
    """Build the pyinfra inventory of ``path``; ``group_data/`` is read beside it and in ``cwd``."""
    from pyinfra.context import ctx_config, ctx_state
    from pyinfra_cli.inventory import make_inventory

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"inventory file not found: {path}")
    cwd = str(Path(cwd or os.getcwd()).resolve())
    from pyinfra.api import Config, State

    # Inventory files may read pyinfra's context (as under the CLI); give them an empty one.
    with ctx_state.use(State()), ctx_config.use(Config()):
        return make_inventory(str(path), cwd=cwd)


def host_sources(inventory: Inventory, host: Host) -> dict[str, str]:
    """Where each data key of ``host`` was set: the inventory or a ``group_data/<group>.py`` file."""
    sources: dict[str, str] = {}
    for group in reversed(list(host.groups)):
        for key in inventory.get_group_data(group):
            sources[key] = f"group_data/{group}.py"
    for key in inventory.get_data():
        sources.setdefault(key, "group_data/all.py")
    for key in inventory.get_host_data(host.name):
        sources[key] = "the inventory"
    return sources


def iter_host_data(inventory: Inventory) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, str]]]:
    """(host name, merged data, key sources) for every host of the inventory."""
    for host in inventory:
        yield host.name, host.data.dict(), host_sources(inventory, host)


def validate_inventory(inventory: Inventory) -> dict[str, StackSettings]:
    """Validated settings of every host, clusters checked as a whole; raises SettingsInvalid listing every
    error of every host."""
    from reasoning_stack.cluster import cluster_errors

    hosts = list(iter_host_data(inventory))
    settings = validate_hosts(hosts)
    errors = cluster_errors(settings, {name: sources for name, _data, sources in hosts})
    if errors:
        raise SettingsInvalid(errors)
    return settings
