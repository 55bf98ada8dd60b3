"""Metrics, dashboards and alerts for reasoning workloads: pure functions of (settings, plan) the deploy writes.

- ``scrape``: what Prometheus scrapes (every engine's ``/metrics`` over loopback, the node and DCGM exporters; a
  cluster head: every node's exporters over the cluster network) and its config file;
- ``alerts``: the alert rules, each naming its fix;
- ``dashboard``: Grafana's dashboard, one panel per question an operator asks, and its provisioning files;
- ``services``: the Grafana and DCGM exporter units, and the live figures ``status`` asks Prometheus for.

Where each runs: Prometheus and Grafana on a single box or a cluster's head; the exporters on every node.
"""

from __future__ import annotations

from reasoning_stack.monitoring.alerts import ALERTS, Alert, alert_rules_text
from reasoning_stack.monitoring.dashboard import PANELS, Panel, dashboard_json, grafana_provisioning
from reasoning_stack.monitoring.scrape import (
    ALERT_RULES,
    NODE_EXPORTER_DEFAULTS,
    PROMETHEUS_CONFIG,
    PROMETHEUS_DEFAULTS,
    PROMETHEUS_PACKAGES,
    Monitoring,
    ScrapeJob,
    monitoring_for,
    node_exporter_defaults,
    prometheus_config,
    prometheus_defaults,
)
from reasoning_stack.monitoring.services import (
    DCGM_COUNTERS,
    DCGM_UNIT,
    GRAFANA_ADMIN_ENV,
    GRAFANA_UNIT,
    LIVE_QUERIES,
    dcgm_counters_csv,
    dcgm_service,
    grafana_service,
    prometheus_entry,
)

__all__ = ["ALERTS", "ALERT_RULES", "DCGM_COUNTERS", "DCGM_UNIT", "GRAFANA_ADMIN_ENV", "GRAFANA_UNIT", "LIVE_QUERIES",
           "NODE_EXPORTER_DEFAULTS", "PANELS", "PROMETHEUS_CONFIG", "PROMETHEUS_DEFAULTS",
           "PROMETHEUS_PACKAGES", "Alert", "Monitoring",
           "Panel", "ScrapeJob", "alert_rules_text", "dashboard_json", "dcgm_counters_csv", "dcgm_service",
           "grafana_provisioning", "grafana_service", "monitoring_for", "node_exporter_defaults",
           "prometheus_config", "prometheus_defaults", "prometheus_entry"]
