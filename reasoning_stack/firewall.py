"""Host firewall rules the deploy manages (nftables): the stack's own ports, and nothing else.

One table of its own (``inet reasoning_stack``), loaded by the ``reasoning-firewall`` unit, so the operator's
ruleset is left alone. Its input chain accepts by default and drops only:

- Open WebUI's port, and vLLM's API ports when vLLM listens beyond loopback, from outside ``firewall_allow``;
- a cluster's own ports (torch.distributed, Ray's head) from anything but the cluster's nodes;
- a cluster node's exporters (node, DCGM) from anything but the head, whose Prometheus scrapes them;
- Open WebUI's PostgreSQL and Redis (which listen on 127.0.0.1 anyway) from anything but loopback.

Grafana's port joins Open WebUI's when Grafana listens beyond loopback. With the HTTPS proxy (``https``), its ports
take the place of the services' behind it, which then listen on loopback.

SSH and every other port are never touched, so a wrong network list cannot lock the operator out.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from reasoning_stack.monitoring import Monitoring
from reasoning_stack.planning.types import HostPlan
from reasoning_stack.proxy import Proxy
from reasoning_stack.render import render
from reasoning_stack.settings import StackSettings
from reasoning_stack.topology import Cluster

TABLE = "reasoning_stack"
# Ray's fixed ports besides the GCS port (ray_port): the dashboard and the client server.
RAY_FIXED_PORTS = (8265, 10001)


@dataclass(frozen=True)
class FirewallRules:
    """What the table allows: service ports for the listed networks, cluster ports for the nodes."""

    service_ports: tuple[int, ...]
    allowed_v4: tuple[str, ...]
    allowed_v6: tuple[str, ...]
    cluster_ports: tuple[int, ...] = ()
    nodes: tuple[str, ...] = ()
    exporter_ports: tuple[int, ...] = ()
    scraped_from: tuple[str, ...] = ()  # the head's address: the one let in to the exporter ports
    loopback_ports: tuple[int, ...] = ()  # Open WebUI's PostgreSQL and Redis: from this host only

    def text(self) -> str:
        """The nftables script (replaces the table atomically when loaded with ``nft -f``)."""
        return render("firewall.nft.j2", table=TABLE, rules=self)


def firewall_rules(settings: StackSettings, plan: HostPlan, host_name: str, cluster: Cluster | None,
                   node_addresses: tuple[str, ...] = (), monitoring: Monitoring | None = None,
                   proxy: Proxy | None = None) -> FirewallRules | None:
    """The rules for this host, or None when ``firewall_allow`` is unset (no firewall managed). ``monitoring``:
    what monitoring runs here (:func:`reasoning_stack.monitoring.monitoring_for`); ``proxy``: the HTTPS proxy
    (:func:`reasoning_stack.proxy.proxy_for`), whose ports are let in instead of the services' behind it."""
    if settings.firewall_allow is None:
        return None
    ports: list[int] = list(proxy.ports) if proxy is not None else []
    head = cluster is None or cluster.head == host_name
    if settings.openwebui_enabled and head and proxy is None:
        ports.append(settings.openwebui_port)
    if not ipaddress.ip_address(settings.api_listen).is_loopback and head:
        ports += [instance.port for instance in plan.instances]
    if (monitoring is not None and monitoring.grafana and proxy is None
            and not ipaddress.ip_address(settings.grafana_listen).is_loopback):
        ports.append(settings.grafana_port)
    exporter_ports: list[int] = []
    if monitoring is not None and monitoring.scraped_from:
        exporter_ports = [settings.node_exporter_port] + ([settings.dcgm_exporter_port] if monitoring.dcgm else [])
    networks = [ipaddress.ip_network(n, strict=False) for n in settings.firewall_allow]
    cluster_ports: list[int] = []
    if cluster is not None:
        cluster_ports = ([settings.ray_port, *RAY_FIXED_PORTS] if cluster.backend == "ray"
                         else [settings.cluster_port])
    return FirewallRules(
        tuple(sorted(set(ports))),
        tuple(str(n) for n in networks if n.version == 4),
        tuple(str(n) for n in networks if n.version == 6),
        tuple(sorted(set(cluster_ports))),
        tuple(sorted(node_addresses)),
        tuple(sorted(exporter_ports)),
        (monitoring.scraped_from,) if exporter_ports and monitoring is not None else (),
        tuple(sorted(getattr(settings, key) for key in settings.webui_database_ports())) if head else (),
    )
