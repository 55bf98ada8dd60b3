"""Validate the data of every host of an inventory before any host is contacted.

Host data mixes pyinfra's own keys (``ssh_user``, ``_sudo``, ...) with this stack's settings. pyinfra's keys
pass through; every other key must be a setting. An error names the host, the key, the bad value and what
would be valid (the closest setting name for a typo).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from reasoning_stack.settings import (
    RENAMED_SETTINGS,
    SECRET_SETTINGS,
    CloudConnection,
    ExtraModel,
    StackSettings,
    setting_names,
)

# Settings whose values are never repeated in a message: they may carry a secret by mistake.
_NO_ECHO = {"vllm_extra_args", "sglang_extra_args", "openwebui_cloud"}
# Settings whose values are lists of models of their own: their unknown keys get suggestions too.
_NESTED = {"extra_models": ExtraModel, "openwebui_cloud": CloudConnection}


@dataclass(frozen=True)
class SettingError:
    """One problem with one key of one host."""

    host: str
    key: str
    message: str
    source: str = ""

    def __str__(self) -> str:
        where = f" (set in {self.source})" if self.source else ""
        return f"host {self.host!r}: {self.key}{where}: {self.message}"


class SettingsInvalid(Exception):
    """Raised when one or more hosts have invalid settings; carries every error found."""

    def __init__(self, errors: list[SettingError]):
        self.errors = errors
        super().__init__(format_errors(errors))


def format_errors(errors: Iterable[SettingError]) -> str:
    """A human message listing every error, one per line."""
    errors = list(errors)
    hosts = sorted({e.host for e in errors})
    head = f"invalid settings for {len(hosts)} host(s): {', '.join(hosts)}; nothing was changed on any host"
    return "\n".join([head, *(f"  - {e}" for e in errors)])


def pyinfra_data_keys() -> set[str]:
    """Keys pyinfra itself reads from host data: connector settings and global operation arguments."""
    from pyinfra.api.arguments import all_global_arguments
    from pyinfra.connectors import docker, dockerssh, local, ssh

    keys: set[str] = {name for name, _ in all_global_arguments()}
    for module in (ssh, local, docker, dockerssh):
        keys.update(getattr(module, "connector_data_meta", {}).keys())
        connector_classes = [v for v in vars(module).values() if isinstance(v, type) and hasattr(v, "data_meta")]
        for cls in connector_classes:
            keys.update(cls.data_meta.keys())
    return keys


def _closest(key: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _describe_value(value: Any) -> str:
    if isinstance(value, str) and len(value) > 60:
        return repr(value[:57] + "...")
    return repr(value)


def validate_host_data(host: str, data: Mapping[str, Any], sources: Mapping[str, str] | None = None,
                       environ: Mapping[str, str] | None = None) -> StackSettings:
    """Validate one host's merged data; return its settings or raise :class:`SettingsInvalid`.

    ``sources`` maps a key to where it was set (``group_data/all.py``) for friendlier messages. Secrets are read
    from ``environ`` (the process environment by default), never from ``data``.
    """
    sources = sources or {}
    environ = os.environ if environ is None else environ
    names = setting_names()
    passthrough = pyinfra_data_keys()
    errors: list[SettingError] = []
    settings_data: dict[str, Any] = {}
    for old, new in RENAMED_SETTINGS.items():
        if old in data and new in data:
            errors.append(SettingError(host, old, f"renamed {new}, which is set too; remove {old}",
                                       sources.get(old, "")))
    data = {RENAMED_SETTINGS.get(k, k): v for k, v in data.items()}
    sources = {RENAMED_SETTINGS.get(k, k): v for k, v in sources.items()}
    for key, value in data.items():
        if key in passthrough or key.startswith("__"):
            continue
        if key in SECRET_SETTINGS:
            if value is not None:  # never echoed: the value is the secret
                variable = data.get(SECRET_SETTINGS[key]) or StackSettings.model_fields[SECRET_SETTINGS[key]].default
                errors.append(SettingError(host, key, (
                    f"a secret in host data is shown by pyinfra (debug-inventory, --debug) and kept in a file: remove "
                    f"it and export {variable} in the environment you deploy from (value not shown; "
                    f"{SECRET_SETTINGS[key]} names another variable)"), sources.get(key, "")))
            continue
        if key not in names:
            suggestion = _closest(key, names) or _closest(key, passthrough)
            hint = f"did you mean {suggestion!r}?" if suggestion else "see docs/settings.md for the valid names"
            errors.append(SettingError(host, key, f"unknown setting; {hint}", sources.get(key, "")))
            continue
        settings_data[key] = value
    for key, env_key in SECRET_SETTINGS.items():
        variable = settings_data.get(env_key, StackSettings.model_fields[env_key].default)
        if isinstance(variable, str) and environ.get(variable):  # an empty variable counts as unset
            settings_data[key] = environ[variable]
    settings_data["openwebui_cloud"] = _cloud_keys(host, settings_data.get("openwebui_cloud"), environ, errors,
                                                   sources.get("openwebui_cloud", ""))
    if settings_data["openwebui_cloud"] is None:
        del settings_data["openwebui_cloud"]
    try:
        settings = StackSettings.model_validate(settings_data)
    except ValidationError as exc:
        raise SettingsInvalid(errors + setting_errors(host, exc, sources)) from None
    if errors:
        raise SettingsInvalid(errors)
    return settings


def setting_errors(host: str, exc: ValidationError, sources: Mapping[str, str] | None = None) -> list[SettingError]:
    """pydantic's errors for one host's settings as the stack says them: the key at fault (a check across several
    settings names it first in its message), the value given unless it may be a secret, a suggestion for an unknown
    nested key, and where the key was set (``sources``)."""
    sources = sources or {}
    names = setting_names()
    errors = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(settings)"
        top = str(err["loc"][0]) if err["loc"] else ""
        bad = f"got {_describe_value(err.get('input'))}; " if top and "input" in err else ""
        if top in SECRET_SETTINGS or top in _NO_ECHO or top.endswith("_env"):  # *_env: the secret by mistake
            bad = ""  # never echo a secret back (extra arguments may carry one: the message names the flag)
        message = err["msg"].removeprefix("Value error, ")
        if not top and message.split(" ", 1)[0].rstrip(":") in names:
            # a check across several settings: its message starts with the setting at fault
            key = top = message.split(" ", 1)[0].rstrip(":")
            message = message.removeprefix(f"{key}: ")
        if err["type"] == "extra_forbidden" and top in _NESTED:
            valid = list(_NESTED[top].model_fields)
            suggestion = _closest(str(err["loc"][-1]), valid)
            hint = f"did you mean {suggestion!r}?" if suggestion else f"valid keys: {', '.join(valid)}"
            bad, message = "", f"unknown key; {hint}"
        errors.append(SettingError(host, key, f"{bad}{message}", sources.get(top, "")))
    return errors


def validate_hosts(hosts: Iterable[tuple[str, Mapping[str, Any], Mapping[str, str]]]) -> dict[str, StackSettings]:
    """Validate several hosts at once; every error of every host is collected before raising."""
    result: dict[str, StackSettings] = {}
    errors: list[SettingError] = []
    for name, data, sources in hosts:
        try:
            result[name] = validate_host_data(name, data, sources)
        except SettingsInvalid as exc:
            errors.extend(exc.errors)
    if errors:
        raise SettingsInvalid(errors)
    return result


def _cloud_keys(host: str, connections: object, environ: Mapping[str, str], errors: list[SettingError],
                source: str) -> object:
    """The cloud connections with each API key read from the environment; a key written into host data is
    refused (never echoed)."""
    if not isinstance(connections, list):
        return connections
    with_keys = []
    for connection in connections:
        if isinstance(connection, dict):
            connection = dict(connection)
            if connection.pop("api_key", None) is not None:
                errors.append(SettingError(host, "openwebui_cloud", (
                    f"connection {connection.get('name')!r}: a secret in host data is shown by pyinfra and kept in "
                    "a file: remove api_key and export the key in the environment you deploy from (value not "
                    "shown)"), source))
            name = connection.get("name")
            variable = connection.get("api_key_env") or (
                f"REASONING_STACK_{name.upper().replace('-', '_')}_API_KEY" if isinstance(name, str) else "")
            if variable and environ.get(variable):
                connection["api_key"] = environ[variable]
        with_keys.append(connection)
    return with_keys
