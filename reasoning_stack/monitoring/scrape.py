"""What Prometheus scrapes on a host, and the files of Debian/Ubuntu's Prometheus and node-exporter packages.

A single box scrapes itself over loopback: every engine instance's metrics (on its API port; vLLM serves them
without the API key), the node exporter and the DCGM exporter. A cluster's head scrapes its own the same way and
every other node's exporters at their cluster addresses; those bind to that address only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from reasoning_stack import engines
from reasoning_stack.planning.types import HostPlan
from reasoning_stack.service_files import local_url
from reasoning_stack.topology import Cluster

PROMETHEUS_CONFIG = "/etc/prometheus/prometheus.yml"  # the packages' conffiles: written before they are installed
PROMETHEUS_DEFAULTS = "/etc/default/prometheus"
NODE_EXPORTER_DEFAULTS = "/etc/default/prometheus-node-exporter"
ALERT_RULES = "/etc/prometheus/reasoning-stack-alerts.yml"
LOOPBACK = "127.0.0.1"
PROMETHEUS_PACKAGES = ("prometheus", "prometheus-node-exporter")  # the distribution's, on a head; workers: the 2nd


@dataclass(frozen=True)
class ScrapeJob:
    """One Prometheus job: its targets (``host:port``) with the labels each carries."""

    name: str
    targets: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    metrics_path: str = "/metrics"

    def config(self, interval: str) -> dict[str, Any]:
        return {"job_name": self.name, "metrics_path": self.metrics_path, "scrape_interval": interval,
                "static_configs": [{"targets": [address], "labels": dict(labels)}
                                   for address, labels in self.targets]}


@dataclass(frozen=True)
class Monitoring:
    """What monitoring runs on one host, and what its Prometheus scrapes."""

    host: str
    prometheus: bool  # Prometheus (and Grafana, when enabled) run here: a single box or a cluster's head
    grafana: bool
    dcgm: bool
    exporter_address: str  # where this host's exporters bind: loopback, or a cluster node's own address
    jobs: tuple[ScrapeJob, ...] = ()
    scraped_from: str = ""  # a cluster node that is not the head: the head's address, the one let in
    engine_units: tuple[str, ...] = field(default=())  # the instances whose metrics are scraped here


def monitoring_for(settings: Any, plan: HostPlan, host_name: str, cluster: Cluster | None,
                   addresses: Mapping[str, str] | None = None) -> Monitoring | None:
    """The monitoring of this host, or None when ``monitoring_enabled`` is off. ``addresses``: every cluster
    node's address on the cluster network (a cluster only)."""
    if not settings.monitoring_enabled:
        return None
    head = cluster is None or cluster.head == host_name
    addresses = addresses or {}
    own = LOOPBACK if cluster is None or head else addresses[host_name]
    dcgm = bool(settings.dcgm_exporter_enabled)
    if not head:
        assert cluster is not None
        return Monitoring(host_name, False, False, dcgm, own, scraped_from=addresses[cluster.head])
    engine_targets = []
    for instance in plan.instances:
        path = engines.get(instance.engine).metrics_path
        if path:
            address = local_url(settings.api_listen, instance.port).removeprefix("http://")
            engine_targets.append((address, path, (("host", host_name), ("unit", instance.unit),
                                                   ("served_model_name", instance.served_model_name))))
    jobs = []
    for path in sorted({t[1] for t in engine_targets}):
        jobs.append(ScrapeJob("engine", tuple((a, labels) for a, p, labels in engine_targets if p == path), path))
    nodes = [host_name] + [n for n in (cluster.nodes if cluster else ()) if n != host_name]

    def where(node: str, port: int) -> str:
        return f"{LOOPBACK if node == host_name else addresses[node]}:{port}"

    jobs.append(ScrapeJob("node", tuple((where(n, settings.node_exporter_port), (("host", n),)) for n in nodes)))
    if dcgm:
        jobs.append(ScrapeJob("gpu", tuple((where(n, settings.dcgm_exporter_port), (("host", n),)) for n in nodes)))
    jobs.append(ScrapeJob("prometheus", ((f"{LOOPBACK}:{settings.prometheus_port}", (("host", host_name),)),)))
    return Monitoring(host_name, True, bool(settings.grafana_enabled), dcgm, own, tuple(jobs),
                      engine_units=tuple(labels[1][1] for _a, _p, labels in engine_targets))


def prometheus_config(settings: Any, monitoring: Monitoring) -> str:
    """``/etc/prometheus/prometheus.yml``: the stack's alert rules and its scrape jobs."""
    interval = settings.monitoring_scrape_interval
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval,
                   "external_labels": {"stack": "reasoning-stack"}},
        "rule_files": [ALERT_RULES],
        "scrape_configs": [job.config(interval) for job in monitoring.jobs],
    }
    return ("# Managed by reasoning-stack: edits are replaced on the next deploy.\n"
            + yaml.safe_dump(config, sort_keys=False, default_flow_style=False))


def prometheus_defaults(settings: Any) -> str:
    """``/etc/default/prometheus``: loopback only, the retention, and the package's web console off."""
    args = [f"--web.listen-address={LOOPBACK}:{settings.prometheus_port}",
            f"--storage.tsdb.retention.time={settings.monitoring_retention}",
            f"--config.file={PROMETHEUS_CONFIG}"]
    return ("# Managed by reasoning-stack: edits are replaced on the next deploy.\n"
            f'ARGS="{" ".join(args)}"\n')


def node_exporter_defaults(settings: Any, monitoring: Monitoring) -> str:
    """``/etc/default/prometheus-node-exporter``: bound to loopback, or to a cluster node's own address."""
    return ("# Managed by reasoning-stack: edits are replaced on the next deploy.\n"
            f'ARGS="--web.listen-address={monitoring.exporter_address}:{settings.node_exporter_port}"\n')
