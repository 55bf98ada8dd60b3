"""The whole stack on a host, and its removal: the layers in order, for the platform the host is.

    from reasoning_stack.deploys import reasoning_stack
    reasoning_stack()          # in your own pyinfra deploy file, for the hosts of the inventory

Settings of every host are validated and every host's serving plan is made before any host is changed.
"""

from __future__ import annotations

import io

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files

from reasoning_stack.context import check_os, host_cluster, host_is_mac, host_plan, host_settings
from reasoning_stack.deploys.cluster import cluster_node
from reasoning_stack.deploys.docker import docker_engine
from reasoning_stack.deploys.firewall import stack_firewall
from reasoning_stack.deploys.macos import mac_stack
from reasoning_stack.deploys.nvidia import nvidia_gpus
from reasoning_stack.deploys.openwebui import open_webui
from reasoning_stack.deploys.remove_linux import remove_from_linux
from reasoning_stack.deploys.remove_macos import remove_from_mac
from reasoning_stack.deploys.serving import model_servers
from reasoning_stack.facts import MacHardware
from reasoning_stack.status import MANIFEST, manifest_text, status_manifest


@deploy("Reasoning stack")
def reasoning_stack() -> None:
    """Every layer of the stack on the current host: on Linux Docker, the NVIDIA driver and toolkit, the firewall,
    the model servers (or the host's part of a cluster) and Open WebUI; on a Mac its own deploy. Then the status
    manifest that ``reasoning-stack status`` reads (no secret in it)."""
    host_settings()  # validates every host of the inventory, before any operation exists
    mac = host_is_mac()  # an Apple Silicon Mac has a deploy of its own
    if not mac:
        check_os()
    host_plan()  # refuses a model that cannot fit, with the numbers, before any host is changed
    if mac:
        mac_stack()
    else:
        docker_engine()
        nvidia_gpus()
        stack_firewall()  # the stack's ports are filtered before its services start
        # A cluster node serves its part of the cluster's one model; any other host serves its own models.
        if host_cluster():
            cluster_node()
        else:
            model_servers()
        open_webui()
    manifest = status_manifest(host_settings(), host_plan()[0], host.name, host_cluster(), mac=mac)
    files.put(name="Status manifest", src=io.StringIO(manifest_text(manifest)), dest=MANIFEST, mode="600")


@deploy("Remove the reasoning stack")
def remove_stack() -> None:
    """Take the stack off the current host: its services, units, helpers, config and images (weights, Open WebUI's
    data and the NVIDIA driver only when asked; Docker and Homebrew stay)."""
    host_settings()  # validates every host of the inventory before any is changed
    if host.get_fact(MacHardware) is not None:
        remove_from_mac()
    else:
        remove_from_linux()
