"""Take the stack off a Linux host: its systemd units, containers' images, helpers, config and secrets.

    pyinfra inventories/home.py deploys/remove.py   # picks this file for a Linux host

Docker stays; the NVIDIA driver goes only with ``remove_driver``; weights and Open WebUI's data only when asked.
Open WebUI's PostgreSQL and Redis are stopped and disabled; its database goes only with ``remove_openwebui_data``
(then both packages are purged).
The monitoring's Prometheus and node exporter packages go with their data; Grafana's and DCGM's units and images.
"""

from __future__ import annotations

import re

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.files import FileContents, FindFiles, FindInFile
from pyinfra.operations import apt, files, server, systemd

from reasoning_stack import engines
from reasoning_stack.context import host_settings, settings_from_arguments
from reasoning_stack.driver import NVIDIA_FILES
from reasoning_stack.facts import HeldPackages, StackManifest
from reasoning_stack.monitoring import (
    ALERT_RULES,
    NODE_EXPORTER_DEFAULTS,
    PROMETHEUS_CONFIG,
    PROMETHEUS_DEFAULTS,
    PROMETHEUS_PACKAGES,
)
from reasoning_stack.openwebui.database import DB_MARKER, DB_MARKER_TEXT, DB_NAME, POSTGRES_CONF, REDIS_CONF
from reasoning_stack.openwebui.paths import data_dir
from reasoning_stack.operations import docker_image, docker_logout
from reasoning_stack.prepared import prepared_fact
from reasoning_stack.proxy import CADDY_PACKAGES, CADDYFILE, CADDYFILE_MARK
from reasoning_stack.services import LEGACY_APT_LOCK_CONF, UNIT_DIR
from reasoning_stack.settings import StackSettings
from reasoning_stack.units import remove_stack_files


@deploy("Remove the stack from a Linux host")
@settings_from_arguments(weights="remove_weights", openwebui_data="remove_openwebui_data", driver="remove_driver")
def remove_from_linux(weights: bool | None = None, openwebui_data: bool | None = None,
                      driver: bool | None = None) -> None:
    """Take the stack off a Linux host: its systemd units, containers' images, helpers, config and secrets.

    + weights: also remove the model weights (default: ``remove_weights``)
    + openwebui_data: also remove Open WebUI's accounts and chats (default: ``remove_openwebui_data``)
    + driver: also remove the NVIDIA driver (default: ``remove_driver``)

    .. code:: python

        remove_from_linux(weights=True)
    """
    settings = host_settings()

    units = sorted(prepared_fact(host, FindFiles, path=UNIT_DIR, fname="reasoning-*.service", maxdepth=1) or [])
    for path in units:
        unit = path.rsplit("/", 1)[1]
        systemd.service(name=f"Stop and disable {unit}", service=unit, running=False, enabled=False)
        files.file(name=f"Remove {unit}", path=path, present=False)
    if units:
        systemd.daemon_reload(name="systemd daemon-reload")

    manifest = prepared_fact(host, StackManifest) or {}
    images = {settings.vllm_image, settings.openwebui_image}
    images.update(u["image"] for u in manifest.get("units", []) if u.get("image"))
    for image in sorted(images):
        docker_image(name=f"Remove image {image}", image=image, present=False)
    # where an engine logs Docker in with a key, whether or not an instance still runs it
    for login in {e.registry_login(settings) for e in engines.registered()} - {None}:
        docker_logout(name=f"Docker logout from {login.registry}", registry=login.registry)

    # Monitoring: the distribution's Prometheus and node exporter the stack installed, purged with their data
    if any(u.get("kind") in ("prometheus", "exporter") for u in manifest.get("units", [])):
        installed = prepared_fact(host, DebPackages) or {}
        ours = [p for p in PROMETHEUS_PACKAGES if p in installed]
        if ours:
            apt.packages(name="Purge Prometheus and the node exporter (with their data)", packages=ours,
                         present=False, extra_uninstall_args="--purge")
        for path in (ALERT_RULES, PROMETHEUS_CONFIG, PROMETHEUS_DEFAULTS, NODE_EXPORTER_DEFAULTS):
            files.file(name=f"Remove {path}", path=path, present=False)

    # The HTTPS proxy: the distribution's Caddy the stack installed, purged with its config and its CA
    if prepared_fact(host, FindInFile, path=CADDYFILE, pattern=CADDYFILE_MARK):  # the stack's, on or switched off
        if "caddy" in (prepared_fact(host, DebPackages) or {}):
            apt.packages(name="Purge Caddy, the HTTPS proxy (its config and CA)", packages=list(CADDY_PACKAGES),
                         present=False, extra_uninstall_args="--purge")
        files.file(name=f"Remove {CADDYFILE}", path=CADDYFILE, present=False)

    _webui_database_removed(settings, any(u.get("kind") == "database" for u in manifest.get("units", [])))

    files.file(name="Remove the apt lock wait of earlier releases", path=LEGACY_APT_LOCK_CONF, present=False)
    remove_stack_files(settings, ("status", "ray", "grafana", "monitoring"))

    if settings.remove_driver:
        # NVIDIA's packages (driver, CUDA repository keyring, Container Toolkit), unheld first; their apt sources.
        nvidia = re.compile(r"^(nvidia-|libnvidia-|cuda-drivers|cuda-keyring|firmware-misc-nonfree$|libcuda|"
                            r"xserver-xorg-video-nvidia)")
        installed = sorted(p for p in (prepared_fact(host, DebPackages) or {}) if nvidia.match(p))
        held = [p for p in prepared_fact(host, HeldPackages) or [] if nvidia.match(p)]
        if held:
            server.shell(name="Release the driver packages' hold", commands=["apt-mark unhold " + " ".join(held)])
        if installed:
            apt.packages(name="Purge the NVIDIA driver and Container Toolkit", packages=installed, present=False,
                         extra_uninstall_args="--purge")
        for path in NVIDIA_FILES:
            files.file(name=f"Remove {path}", path=path, present=False)
        daemon = "\n".join(prepared_fact(host, FileContents, path="/etc/docker/daemon.json") or [])
        if '"nvidia"' in daemon:
            server.shell(
                name="Docker: drop the nvidia runtime",
                commands=["python3 -c \"import json; p='/etc/docker/daemon.json'; d=json.load(open(p)); "
                          "d.get('runtimes', {}).pop('nvidia', None); d.get('runtimes') == {} and d.pop('runtimes'); "
                          "json.dump(d, open(p, 'w'), indent=2)\" && systemctl restart docker"],
            )


def _webui_database_removed(settings: StackSettings, deployed: bool) -> None:
    """Open WebUI's PostgreSQL and Redis off the host: stopped and disabled, the stack's settings for them removed
    (``deployed``: the manifest lists them). Only with ``remove_openwebui_data`` (now or on a later removal: the
    marker in Open WebUI's data directory says its data is in PostgreSQL) the database and its role are dropped
    and both packages purged with their data."""
    marker = prepared_fact(host, FindInFile, path=f"{data_dir(settings)}/{DB_MARKER}",
                           pattern=DB_MARKER_TEXT)
    installed = prepared_fact(host, DebPackages) or {}
    if deployed:
        for unit in ("postgresql", "redis-server"):
            if any(p.startswith(unit) for p in installed):
                systemd.service(name=f"Stop and disable {unit}", service=f"{unit}.service", running=False,
                                enabled=False)
        files.line(name="Redis: drop the stack's include", path="/etc/redis/redis.conf",
                   line=f"include {REDIS_CONF}", present=False)
        files.file(name=f"Remove {REDIS_CONF}", path=REDIS_CONF, present=False)
        for path in prepared_fact(host, FindFiles, path="/etc/postgresql", fname=POSTGRES_CONF) or []:
            files.file(name=f"Remove {path}", path=path, present=False)
    if settings.remove_openwebui_data and (deployed or marker):
        ours = sorted(p for p in installed if re.match(r"^(postgresql|redis-server$|redis-tools$)", p))
        if "postgresql-common" in installed:
            server.shell(name="Drop Open WebUI's database and its role (asked for)",
                         commands=["systemctl start postgresql && for i in $(seq 60); do pg_isready -q && break; "
                                   f"sleep 1; done; runuser -u postgres -- dropdb --if-exists {DB_NAME} && "
                                   f"runuser -u postgres -- dropuser --if-exists {DB_NAME}"])
        if ours:
            apt.packages(name="Purge PostgreSQL and Redis with their data (asked for)", packages=ours,
                         present=False, extra_uninstall_args="--purge")
