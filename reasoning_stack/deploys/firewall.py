"""Host firewall rules for the stack's ports (nftables), when ``firewall_allow`` lists the networks let in.

Open WebUI's port (and Grafana's and vLLM's API ports when they listen beyond loopback) accept only those
networks; a cluster's ports accept only its nodes, and a node's exporters only the head. The rules live in a
table of their own, loaded by the ``reasoning-firewall`` unit: SSH and every other port are left alone. Unsetting
``firewall_allow`` removes them.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.files import File
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from reasoning_stack.context import (
    cluster_address,
    host_cluster,
    host_monitoring,
    host_plan,
    host_proxy,
    host_settings,
    settings_from_arguments,
)
from reasoning_stack.firewall import TABLE, firewall_rules
from reasoning_stack.operations import stack_file, unit_running
from reasoning_stack.prepared import prepared_fact
from reasoning_stack.render import render
from reasoning_stack.services import CONFIG_DIR, UNIT_DIR
from reasoning_stack.units import packages_present, retire_service, stack_directories

UNIT = "reasoning-firewall"

RULES = f"{CONFIG_DIR}/firewall.nft"


@deploy("Firewall for the stack's ports")
@settings_from_arguments(allow="firewall_allow")
def stack_firewall(allow: list[str] | None = None) -> None:
    """Host firewall rules for the stack's ports (nftables), when ``firewall_allow`` lists the networks let in.

    + allow: the networks let in to the stack's ports, e.g. ``["192.168.1.0/24"]`` (default: ``firewall_allow``;
      none: no rules written)

    .. code:: python

        stack_firewall(allow=["192.168.1.0/24"])
    """
    settings = host_settings()
    plan, _gpus = host_plan()
    cluster = host_cluster()
    nodes: tuple[str, ...] = ()
    if cluster is not None and settings.firewall_allow is not None:
        assert settings.cluster_interface is not None
        nodes = tuple(cluster_address(n, settings.cluster_interface) for n in cluster.nodes)
    rules = firewall_rules(settings, plan, host.name, cluster, nodes, host_monitoring(), host_proxy())

    if rules is not None:
        packages_present("nftables", ["nftables"])
        stack_directories()
        text = stack_file(name="Firewall rules (nftables table inet reasoning_stack)", dest=RULES,
                          content=rules.text(), mode="600")
        unit = stack_file(name=f"{UNIT} unit", dest=f"{UNIT_DIR}/{UNIT}.service",
                          content=render("firewall.service.j2", table=TABLE, rules_path=RULES), mode="644")
        systemd.daemon_reload(name="systemd daemon-reload", _if=unit.did_change)
        systemd.service(name="Load the changed firewall rules", service=f"{UNIT}.service", restarted=True,
                        _if=any_changed(text, unit))
        unit_running(name=f"{UNIT} active and enabled", service=f"{UNIT}.service")
    elif prepared_fact(host, File, path=f"{UNIT_DIR}/{UNIT}.service"):
        # firewall_allow unset after it was set: stopping the unit deletes the table.
        retire_service(f"{UNIT_DIR}/{UNIT}.service")
        files.file(name="Remove the firewall rules", path=RULES, present=False)
