"""Docker engine from the distribution's packages, with the daemon options from group_data."""

from pyinfra import host
from pyinfra.facts.deb import DebPackages
from pyinfra.operations import apt, files, systemd

from reasoning_stack.context import check_os, host_settings
from reasoning_stack.operations import json_file_merged

settings = host_settings()
check_os()

PACKAGES = ["docker.io", "python3", "ca-certificates"]
installed = host.get_fact(DebPackages)
missing = [p for p in PACKAGES if p not in installed]

files.directory(name="Docker config directory", path="/etc/docker", mode="755")
daemon_json = None
if settings.docker_daemon_options:
    # Written before the engine is installed, so its first start already uses these options.
    daemon_json = json_file_merged(
        name="Docker daemon options in /etc/docker/daemon.json",
        path="/etc/docker/daemon.json",
        options=settings.docker_daemon_options,
    )

if missing:
    apt.update(name="Update apt package lists", cache_time=3600)
apt.packages(name="Docker engine and helpers", packages=PACKAGES, no_recommends=True)

if daemon_json is not None:
    systemd.service(
        name="Restart Docker for changed daemon options",
        service="docker.service",
        restarted=True,
        _if=daemon_json.did_change,
    )
systemd.service(name="Docker running and enabled", service="docker.service", running=True, enabled=True)
