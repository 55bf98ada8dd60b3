"""The whole stack on a host, and its removal: the layers in order, for the platform the host is.

    from reasoning_stack.deploys import reasoning_stack
    reasoning_stack()          # in your own pyinfra deploy file, for the hosts of the inventory

Settings of every host are validated and every host's serving plan is made before any host is changed.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files

from reasoning_stack import platforms
from reasoning_stack.context import (
    host_cluster,
    host_plan,
    host_platform,
    host_proxy,
    host_settings,
    say_what_the_host_lets_in,
    settings_from_arguments,
)
from reasoning_stack.deploys.cluster import cluster_node
from reasoning_stack.deploys.docker import docker_engine
from reasoning_stack.deploys.firewall import stack_firewall
from reasoning_stack.deploys.https import stack_https
from reasoning_stack.deploys.macos import mac_stack
from reasoning_stack.deploys.monitoring import stack_monitoring
from reasoning_stack.deploys.nvidia import nvidia_gpus
from reasoning_stack.deploys.remove_linux import remove_from_linux
from reasoning_stack.deploys.remove_macos import remove_from_mac
from reasoning_stack.deploys.serving import model_servers
from reasoning_stack.manifest import MANIFEST, manifest_text
from reasoning_stack.openwebui.deploy import open_webui


@deploy("Linux host")
@settings_from_arguments(model="model", engine="engine")
def linux_stack(model: str | None = None, engine: str | None = None, **other_settings: Any) -> None:
    """Every layer on a Linux host: Docker, the NVIDIA driver and toolkit, the firewall, the model servers (or the
    host's part of a cluster), Open WebUI, the monitoring and the HTTPS proxy.

    + model: the primary model (default: the host's ``model``)
    + engine: an engine's name, or auto (default: ``engine``; docs/engines.md lists them)
    + other_settings: any other setting by its group_data name, for every layer (``openwebui_port=3001``)

    .. code:: python

        linux_stack(model="qwen3-8b", monitoring_enabled=False)
    """
    docker_engine()
    nvidia_gpus()
    stack_firewall()  # the stack's ports are filtered before its services start
    # A cluster node serves its part of the cluster's one model; any other host serves its own models.
    if host_cluster():
        cluster_node()
    else:
        model_servers()
    open_webui()
    stack_monitoring()
    stack_https()  # in front of the services, once they are up


@deploy("Reasoning stack")
@settings_from_arguments(model="model", engine="engine")
def reasoning_stack(model: str | None = None, engine: str | None = None, **other_settings: Any) -> None:
    """Every layer of the stack on the current host, as its platform deploys them (Linux: ``linux_stack``; a Mac:
    ``mac_stack``), then the status manifest that ``reasoning-stack status`` reads (no secret in it).

    + model: the primary model: a preset, a Hugging Face repo or a folder (default: the host's ``model``)
    + engine: an engine's name, or auto (default: ``engine``; docs/engines.md lists them)
    + other_settings: any other setting by its group_data name (``openwebui_port=3001``), for every layer and the
      manifest; secrets stay in the environment, as in group_data

    Arguments are checked as group_data is, and hold for every host the deploy file runs for. ``reasoning-stack
    check`` and ``plan`` read group_data only: what a deploy file gives here, they do not see.

    .. code:: python

        reasoning_stack(model="qwen3-8b", max_model_len=32768)
    """
    host_settings()  # validates every host of the inventory, before any operation exists
    platform = host_platform()  # the host's kind, and its checks (a Mac asked for vLLM stops here)
    host_plan()  # refuses a model that cannot fit, with the numbers, before any host is changed
    host_proxy()  # https on a platform that has no proxy yet (a Mac) stops here
    say_what_the_host_lets_in()
    PLATFORM_DEPLOYS[platform][0]()
    manifest = platform.manifest(host_settings(), host_plan()[0], host.name, host_cluster())
    files.put(name="Status manifest", src=io.StringIO(manifest_text(manifest)), dest=MANIFEST, mode="600",
              create_remote_dir=False)  # every platform's layers made the config directory


# Each platform's layers and its removal, by platform (every one of reasoning_stack.platforms.PLATFORMS).
PLATFORM_DEPLOYS: dict[platforms.Platform, tuple[Callable[[], None], Callable[[], None]]] = {
    platforms.LINUX: (linux_stack, remove_from_linux),
    platforms.MACOS: (mac_stack, remove_from_mac),
}


@deploy("Remove the reasoning stack")
def remove_stack() -> None:
    """Take the stack off the current host, as its platform removes it: its services, units, helpers, config and
    images (weights, Open WebUI's data and the NVIDIA driver only when asked; Docker and Homebrew stay)."""
    host_settings()  # validates every host of the inventory before any is changed
    PLATFORM_DEPLOYS[platforms.detect(host)][1]()
