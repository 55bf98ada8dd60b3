"""Docker engine from the distribution's packages, with the daemon options from group_data."""

from __future__ import annotations

from typing import Any

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.deb import DebPackages
from pyinfra.operations import files, systemd

from reasoning_stack.context import host_settings, settings_from_arguments
from reasoning_stack.operations import json_file_merged, unit_running
from reasoning_stack.platforms.linux import check_os
from reasoning_stack.prepared import prepared_fact
from reasoning_stack.services import LEGACY_APT_LOCK_CONF
from reasoning_stack.units import packages_present


@deploy("Docker engine")
@settings_from_arguments(daemon_options="docker_daemon_options")
def docker_engine(daemon_options: dict[str, Any] | None = None) -> None:
    """Docker engine from the distribution's packages, with the daemon options from group_data.

    + daemon_options: Docker's ``daemon.json`` keys (default: the host's ``docker_daemon_options``)

    .. code:: python

        docker_engine(daemon_options={"log-driver": "local"})
    """
    settings = host_settings()
    check_os(host)

    # apt steps wait (up to apt_lock_timeout) for a lock that unattended upgrades holds: see units.packages_present.
    files.file(name="No system-wide apt lock wait (earlier releases set one)", path=LEGACY_APT_LOCK_CONF,
               present=False)
    files.directory(name="Docker config directory", path="/etc/docker", mode="755")
    daemon_json = None
    if settings.docker_daemon_options:
        # Written before the engine is installed, so its first start already uses these options.
        daemon_json = json_file_merged(
            name="Docker daemon options in /etc/docker/daemon.json",
            path="/etc/docker/daemon.json",
            options=settings.docker_daemon_options,
        )

    docker_was_installed = "docker.io" in (prepared_fact(host, DebPackages) or {})
    packages_present("Docker engine and helpers", ["docker.io", "python3", "ca-certificates"])

    if daemon_json is not None and docker_was_installed:
        # A freshly installed engine already started with these options; an existing one needs a restart.
        systemd.service(
            name="Restart Docker for changed daemon options",
            service="docker.service",
            restarted=True,
            _if=daemon_json.did_change,
            _retries=2,
            _retry_delay=5,
        )
    unit_running(name="Docker running and enabled", service="docker.service", _retries=2, _retry_delay=5)
