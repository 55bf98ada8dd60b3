"""Load an inventory file the way the ``pyinfra`` CLI does (with its ``group_data/``), without connecting.

Mistakes in the files themselves (a syntax error, an exception while importing, a group written as a tuple, host
data that is not a dict) are reported as :class:`InventoryInvalid` naming the file and line, never a traceback.
"""

from __future__ import annotations

import ast
import difflib
import os
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pyinfra.api import Inventory
from pyinfra.api.host import Host

from reasoning_stack.settings import StackSettings
from reasoning_stack.validation import SettingError, SettingsInvalid, validate_hosts


class InventoryInvalid(Exception):
    """An inventory or group_data file that cannot be read as one: the message names the file and line."""


def load_inventory(path: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None) -> Inventory:
    """Build the pyinfra inventory of ``path``; ``group_data/`` is read beside it and in ``cwd``."""
    from pyinfra.api import Config, State
    from pyinfra.context import ctx_config, ctx_state
    from pyinfra_cli.inventory import make_inventory
    from pyinfra_cli.util import exec_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"inventory file not found: {path}")
    cwd = str(Path(cwd or os.getcwd()).resolve())
    unread = unread_group_data([path.resolve().parent, Path(cwd)])
    if unread:
        raise InventoryInvalid("\n".join(unread))
    # Inventory files may read pyinfra's context (as under the CLI); give them an empty one.
    with ctx_state.use(State()), ctx_config.use(Config()):
        try:
            _check_groups(path, exec_file(str(path), return_locals=True))
            inventory = make_inventory(str(path), cwd=cwd)
        except InventoryInvalid:
            raise
        except Exception as exc:  # noqa: BLE001 - user code: any error is reported with its file and line
            raise InventoryInvalid(_file_error(exc, path)) from None
    if not list(inventory):
        raise InventoryInvalid(f"{path}: no hosts: list them in a group, e.g. gpu_boxes = [(\"gpu-box\", "
                               "{\"ssh_hostname\": \"192.0.2.10\"})]; nothing was changed on any host")
    return inventory


UNREAD_SUFFIXES = (".yml", ".yaml", ".json", ".toml")


def unread_group_data(folders: list[Path]) -> list[str]:
    """Errors for settings files in ``folders``' group_data/ that pyinfra would not read (it reads only Python
    files): a ``gpu_boxes.yml`` would be ignored without a word, so it is refused, with the way to write it."""
    found = []
    for folder in dict.fromkeys(folders):  # each folder once, in order
        for file in sorted((folder / "group_data").glob("*")):
            if file.suffix in UNREAD_SUFFIXES:
                found.append(f"group_data/{file.name}: pyinfra reads only Python group_data files, so its settings "
                             f"would be ignored; write them as group_data/{file.stem}.py, one `key = value` per line "
                             "(`reasoning-stack settings --group-data` prints every key); nothing was changed on any "
                             "host")
    return found


def _file_error(exc: BaseException, inventory: Path) -> str:
    """'file, line N: ErrorType: words' for an error raised while reading an inventory or group_data file."""
    original = getattr(exc, "exception", exc)  # pyinfra wraps errors in user code
    filename = getattr(exc, "filename", None)
    line = None
    if isinstance(original, SyntaxError):
        filename, line = original.filename or filename, original.lineno
        words = f"syntax error: {original.msg}"
    else:
        try:
            text = str(original)
        except Exception:  # noqa: BLE001 - an exception whose own str() fails
            text = ""
        words = f"{type(original).__name__}: {text}" if text else f"{type(original).__name__} raised"
        frames = traceback.extract_tb(getattr(original, "_traceback", None) or original.__traceback__)
        users = [f for f in frames if filename and Path(f.filename).resolve() == Path(filename).resolve()]
        if users:
            line = users[-1].lineno
        elif frames and "site-packages" not in frames[-1].filename:
            filename, line = frames[-1].filename, frames[-1].lineno
    if filename is None:
        filename, words = str(inventory), f"cannot be read as an inventory: {words}"
    where = f"{_shown(filename)}, line {line}" if line else _shown(filename)
    return f"{where}: {words}; nothing was changed on any host"


def _shown(filename: str) -> str:
    try:
        return str(Path(filename).resolve().relative_to(Path.cwd()))
    except ValueError:
        return filename


def _check_groups(path: Path, attrs: Mapping[str, Any]) -> None:
    """Groups shaped so that pyinfra would make the wrong hosts: a tuple of characters, host data not a dict."""
    lines = _assignment_lines(path)
    for name, value in attrs.items():
        if name.startswith("_") or not isinstance(value, list | tuple):
            continue
        where = f"{_shown(str(path))}, line {lines.get(name, '?')}: group {name!r}"
        if isinstance(value, tuple):
            if len(value) == 2 and isinstance(value[0], list) and isinstance(value[1], dict):
                value = value[0]  # pyinfra's (hosts, group data) form
            else:
                raise InventoryInvalid(f"{where} is a tuple, which pyinfra reads as (hosts, data) and so as one host "
                                       f"per character: write a list, {name} = [(\"gpu-box\", {{...}})]; "
                                       "nothing was changed on any host")
        for index, item in enumerate(value):
            if isinstance(item, str):
                continue
            if not isinstance(item, tuple) or len(item) != 2 or not isinstance(item[0], str):
                raise InventoryInvalid(f"{where}, entry {index + 1}: each host is a name or (name, {{data}}), "
                                       f"not a {type(item).__name__}; nothing was changed on any host")
            if not isinstance(item[1], dict):
                raise InventoryInvalid(f"{where}, host {item[0]!r}: its data must be a dict like "
                                       f"{{\"ssh_hostname\": \"192.0.2.10\"}}, not a {type(item[1]).__name__}; "
                                       "nothing was changed on any host")


def _assignment_lines(path: Path) -> dict[str, int]:
    """The line of each top-level assignment of a Python file."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except SyntaxError:
        return {}
    return {target.id: node.lineno for node in tree.body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)}


def unused_group_data(inventory: Inventory, path: str | os.PathLike[str]) -> list[str]:
    """Warnings for group_data files whose name matches no group of this inventory, nor of another inventory
    file beside it (the shipped examples share one group_data/): pyinfra ignores them without a word."""
    groups = {name for name, hosts in inventory.groups.items() if hosts}
    siblings: set[str] = set()
    for other in Path(path).resolve().parent.glob("*.py"):
        siblings.update(_assignment_lines(other))
    warnings = []
    for name in sorted(inventory.group_data):
        if name in groups or name == "all" or name in siblings or not inventory.group_data[name]:
            continue
        close = difflib.get_close_matches(name, sorted(groups), n=1, cutoff=0.6)
        hint = f"; did you mean group_data/{close[0]}.py?" if close else "; add the group to the inventory or rename it"
        warnings.append(f"group_data/{name}.py matches no group of {Path(path).name}, so its settings are not used"
                        + hint)
    return warnings


def renamed_settings(inventory: Inventory) -> list[str]:
    """Warnings for settings set under a name they had before a rename: they still work, under the new name."""
    from reasoning_stack.settings import RENAMED_SETTINGS

    found: dict[tuple[str, str], list[str]] = {}
    for name, data, sources in iter_host_data(inventory):
        for old in RENAMED_SETTINGS:
            if old in data:
                found.setdefault((old, sources.get(old) or "the inventory"), []).append(name)
    return [f"{old} (set in {source}, for {', '.join(hosts)}) is now {RENAMED_SETTINGS[old]}: rename it; the old name "
            "still works" for (old, source), hosts in sorted(found.items())]


def host_address(host: Host) -> str:
    """How the inventory reaches a host: its ssh_hostname, else its name."""
    return str(host.data.get("ssh_hostname") or host.name)


def duplicate_hosts(inventory: Inventory) -> list[SettingError]:
    """Hosts that name the same machine (address and SSH port): one box deployed twice over, at odds with itself."""
    seen: dict[tuple[str, int], str] = {}
    errors = []
    for host in inventory:
        address = host_address(host)
        if address.startswith("@"):
            continue  # a connector (@local, @docker/...), not an address
        key = (address, int(host.data.get("ssh_port") or 22))
        if key in seen:
            errors.append(SettingError(host.name, "ssh_hostname", (
                f"{key[0]} port {key[1]} is also host {seen[key]!r}: one machine listed twice would be deployed twice "
                "over; list it once (put it in several groups for shared settings)"), "the inventory"))
        else:
            seen[key] = host.name
    return errors


def ssh_port_taken(inventory: Inventory, settings: dict[str, StackSettings]) -> list[SettingError]:
    """A service port that is the host's own ``ssh_port`` (sshd on another port than 22): the service could not
    bind it, or would take the port pyinfra reaches the host through."""
    errors = []
    for host in inventory:
        ssh_port = int(host.data.get("ssh_port") or 22)
        mine = settings.get(host.name)
        if mine is None or ssh_port == 22:
            continue  # port 22 itself is refused by the settings
        ports = {"api_port": mine.api_port, **({"openwebui_port": mine.openwebui_port} if mine.openwebui_enabled
                                                else {}),
                 **{f"extra_models[{e.name}].port": e.port for e in mine.extra_models}}
        for key, port in ports.items():
            if port == ssh_port:
                errors.append(SettingError(host.name, key, f"{port} is this host's ssh_port (sshd listens there and "
                                                           "pyinfra connects through it): pick another port",
                                           "the inventory"))
    return errors


def hosts_without_address(inventory: Inventory) -> list[str]:
    """Warnings for hosts with no ``ssh_hostname`` whose name is no address either: pyinfra then connects to the
    literal name, which works only where DNS or ~/.ssh/config knows it."""
    import ipaddress

    warnings = []
    for host in inventory:
        if host.data.get("ssh_hostname") or host.name.startswith("@"):
            continue
        try:
            ipaddress.ip_address(host.name)
            continue
        except ValueError:
            pass
        if "." not in host.name:
            warnings.append(f"host {host.name!r} has no ssh_hostname: pyinfra will connect to the name "
                            f"{host.name!r} itself; set ssh_hostname (its address) unless DNS or ~/.ssh/config "
                            "resolves that name")
    return warnings


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
    duplicates = duplicate_hosts(inventory)
    try:
        settings = validate_hosts(hosts)
    except SettingsInvalid as exc:
        raise SettingsInvalid(duplicates + exc.errors) from None
    errors = duplicates + ssh_port_taken(inventory, settings) + cluster_errors(
        settings, {name: sources for name, _data, sources in hosts})
    if errors:
        raise SettingsInvalid(errors)
    return settings


def plain_http_shared(settings: Mapping[str, StackSettings]) -> list[str]:
    """Warnings for hosts that open Open WebUI to networks (``firewall_allow``) over plain HTTP: passwords and chats
    cross the network in clear text."""
    return [f"host {name!r}: Open WebUI is open to {', '.join(s.firewall_allow or [])} over plain HTTP (passwords and "
            "chats in clear text); set https = 'internal' (the stack's own CA) or 'acme' (a real domain)"
            for name, s in settings.items()
            if s.firewall_allow and s.https == "off" and s.openwebui_enabled and s.cluster_role != "worker"]
