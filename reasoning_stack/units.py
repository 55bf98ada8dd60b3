"""The pyinfra steps every service of the stack shares: write its env file and unit, reload systemd and
restart only when one of them changed, keep it running and enabled; and the reverse, to retire a unit."""

from __future__ import annotations

import io
from collections.abc import Callable

from pyinfra import host
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.deb import DebPackages
from pyinfra.operations import apt, files, systemd
from pyinfra.operations.util import any_changed

from reasoning_stack.operations import secret_file
from reasoning_stack.services import ServiceFiles


def install_env_file(service: ServiceFiles) -> OperationMeta:
    """Write one service's env file (secrets: 0600, never shown in diffs)."""
    return secret_file(name=f"{service.unit} env file (0600)", dest=service.env_path, content=service.env_text)


def install_service(service: ServiceFiles, env: OperationMeta,
                    also_restart_on: tuple[OperationMeta, ...] = ()) -> Callable[[], bool]:
    """Deploy one service's unit (its env file was written by :func:`install_env_file`); returns the
    condition "it was (re)started in this run", for the health waits that follow."""
    unit = files.put(name=f"{service.unit} unit", src=io.StringIO(service.unit_text), dest=service.unit_path,
                     mode="644")
    systemd.daemon_reload(name="systemd daemon-reload", _if=unit.did_change)
    restarted = systemd.service(
        name=f"Restart {service.unit} for changed unit or env",
        service=f"{service.unit}.service",
        restarted=True,
        _if=any_changed(unit, env, *also_restart_on),
        _retries=2,  # systemctl can lose its D-Bus connection while packages restart services
        _retry_delay=5,
    )
    started = systemd.service(
        name=f"{service.unit} running and enabled",
        service=f"{service.unit}.service",
        running=True,
        enabled=True,
        _retries=2,
        _retry_delay=5,
    )
    return any_changed(restarted, started)


def retire_service(unit_path: str, env_path: str | None = None) -> None:
    """Stop and disable a unit the settings no longer ask for, and remove its files (data stays)."""
    unit_file = unit_path.rsplit("/", 1)[1]
    systemd.service(name=f"Stop {unit_file} (no longer wanted)", service=unit_file, running=False, enabled=False)
    files.file(name=f"Remove {unit_file}", path=unit_path, present=False)
    if env_path:
        files.file(name=f"Remove {unit_file} env file", path=env_path, present=False)
    systemd.daemon_reload(name="systemd daemon-reload")


def packages_present(name: str, packages: list[str]) -> OperationMeta:
    """Install apt packages (``name=version`` pins allowed), refreshing the package lists only when something
    is missing, so a run with nothing to install changes nothing however old the lists are."""
    installed = host.get_fact(DebPackages) or {}

    def missing(spec: str) -> bool:
        package, _, version = spec.partition("=")
        return package not in installed or bool(version) and version not in installed[package]

    if any(missing(p) for p in packages):
        apt.update(name=f"Update apt lists for: {name}", cache_time=600)
    return apt.packages(name=name, packages=packages, no_recommends=True)


def apt_source(name: str, path: str, line: str, also_update_on: tuple[OperationMeta, ...] = ()) -> OperationMeta:
    """Write a one-line apt source file and refresh the package lists only when it (or, for example, the
    keyring it names) changed."""
    source = files.put(name=name, src=io.StringIO(f"# Managed by reasoning-stack\n{line}\n"), dest=path, mode="644")
    apt.update(name=f"Update apt lists for: {name}", _if=any_changed(source, *also_update_on))
    return source
