"""Grafana's dashboard for the stack, one panel per question an operator asks, and its provisioning files.

The README's panel table is :data:`PANELS`; a test runs every panel's queries on the real Prometheus scraping a
real vLLM server and its exporters, and each must return data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import yaml

DATASOURCE_UID = "reasoning-prometheus"
DASHBOARD_UID = "reasoning-stack"
FOLDER = "Reasoning stack"
BY = "host, unit"  # every engine panel is per instance
DASHBOARDS_IN_CONTAINER = "/etc/grafana/reasoning-stack-dashboards"


@dataclass(frozen=True)
class Panel:
    """One panel: its title, the question it answers, its PromQL queries (legend per query) and unit."""

    title: str
    question: str
    queries: tuple[tuple[str, str], ...]  # (expr, legend)
    unit: str = "short"
    section: str = "Engines"


def _quantiles(metric: str) -> tuple[tuple[str, str], ...]:
    return tuple((f"histogram_quantile({q}, sum by (le, {BY}) (rate({metric}_bucket[5m])))",
                  f"p{int(q * 100)} {{{{host}}}} {{{{unit}}}}") for q in (0.5, 0.95))


PANELS: tuple[Panel, ...] = (
    Panel("KV cache use", "How full is each instance's KV cache? Near 100%, new requests wait and running ones "
          "are preempted.", ((f"max by ({BY}) (vllm:kv_cache_usage_perc)", "{{host}} {{unit}}"),), "percentunit"),
    Panel("Requests running and waiting", "How many requests run, and how many queue behind them?",
          ((f"sum by ({BY}) (vllm:num_requests_running)", "running {{host}} {{unit}}"),
           (f"sum by ({BY}) (vllm:num_requests_waiting)", "waiting {{host}} {{unit}}"))),
    Panel("Preemptions", "Does the KV cache run out mid-generation, so vLLM recomputes requests?",
          ((f"sum by ({BY}) (rate(vllm:num_preemptions_total[5m]))", "{{host}} {{unit}}"),), "ops"),
    Panel("Time to first token", "How long does a person wait before anything streams (p50, p95)?",
          _quantiles("vllm:time_to_first_token_seconds"), "s"),
    Panel("Inter-token latency", "How smoothly does it stream once started (p50, p95)?",
          _quantiles("vllm:inter_token_latency_seconds"), "s"),
    Panel("Generated tokens per second", "How fast does each instance decode, all requests together?",
          ((f"sum by ({BY}) (rate(vllm:generation_tokens_total[1m]))", "{{host}} {{unit}}"),)),
    Panel("Prefix-cache hit rate", "How much of each prompt is served from cache (system prompts, long chats)?",
          ((f"sum by ({BY}) (rate(vllm:prefix_cache_hits_total[5m])) / "
            f"sum by ({BY}) (rate(vllm:prefix_cache_queries_total[5m]))", "{{host}} {{unit}}"),), "percentunit"),
    Panel("Requests cut off by max_tokens", "What share of requests stop at max_tokens, a reasoning trace cut "
          "off before its answer?",
          ((f'sum by ({BY}) (rate(vllm:request_success_total{{finished_reason="length"}}[15m])) / '
            f"sum by ({BY}) (rate(vllm:request_success_total[15m]))", "{{host}} {{unit}}"),), "percentunit"),
    Panel("GPU memory used", "How much of each GPU's memory is taken (vLLM reserves its share at start)?",
          (("DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)", "{{host}} GPU {{gpu}}"),),
          "percentunit", "GPUs"),
    Panel("GPU utilisation", "Are the GPUs busy, or waiting on something else?",
          (("DCGM_FI_DEV_GPU_UTIL", "{{host}} GPU {{gpu}}"),), "percent", "GPUs"),
    Panel("GPU temperature", "Is any GPU running hot (throttling starts in the high 80s C)?",
          (("DCGM_FI_DEV_GPU_TEMP", "{{host}} GPU {{gpu}}"),), "celsius", "GPUs"),
    Panel("GPU power", "How much power does each GPU draw?",
          (("DCGM_FI_DEV_POWER_USAGE", "{{host}} GPU {{gpu}}"),), "watt", "GPUs"),
    Panel("GPU XID errors", "Has a GPU reported an XID error (the driver's own fault codes)?",
          (("DCGM_FI_DEV_XID_ERRORS", "{{host}} GPU {{gpu}}"),), "short", "GPUs"),
    Panel("Disk free", "How much room is left for model weights?",
          (('node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"} / '
            'node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"}', "{{host}} {{mountpoint}}"),),
          "percentunit", "Hosts"),
)


def dashboard_json() -> str:
    """The dashboard Grafana provisions (stable text: an unchanged deploy rewrites nothing)."""
    panels: list[dict[str, object]] = []
    y = 0
    for section in dict.fromkeys(p.section for p in PANELS):
        panels.append({"type": "row", "title": section, "collapsed": False, "id": len(panels) + 1,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        y += 1
        for i, panel in enumerate(p for p in PANELS if p.section == section):
            panels.append({
                "type": "timeseries", "title": panel.title, "description": panel.question, "id": len(panels) + 1,
                "datasource": {"type": "prometheus", "uid": DATASOURCE_UID},
                "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": y + 8 * (i // 2)},
                "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
                "targets": [{"refId": chr(ord("A") + n), "expr": expr, "legendFormat": legend,
                             "datasource": {"type": "prometheus", "uid": DATASOURCE_UID}}
                            for n, (expr, legend) in enumerate(panel.queries)],
            })
        y += 8 * ((sum(1 for p in PANELS if p.section == section) + 1) // 2)
    dashboard = {"uid": DASHBOARD_UID, "title": "Reasoning stack", "tags": ["reasoning-stack"], "editable": False,
                 "schemaVersion": 39, "time": {"from": "now-3h", "to": "now"}, "refresh": "30s", "panels": panels}
    return json.dumps(dashboard, indent=1, sort_keys=True) + "\n"


def grafana_provisioning(prometheus_port: int) -> dict[str, str]:
    """Grafana's provisioning files, by path under its provisioning folder: the Prometheus data source and the
    dashboards folder (the dashboard itself is in ``dashboards/reasoning-stack.json``)."""
    datasource = {"apiVersion": 1, "datasources": [{
        "name": "Prometheus", "type": "prometheus", "uid": DATASOURCE_UID, "access": "proxy", "isDefault": True,
        "url": f"http://127.0.0.1:{prometheus_port}", "editable": False}]}
    provider = {"apiVersion": 1, "providers": [{
        "name": "reasoning-stack", "folder": FOLDER, "type": "file", "disableDeletion": True,
        "allowUiUpdates": False, "options": {"path": DASHBOARDS_IN_CONTAINER}}]}
    header = "# Managed by reasoning-stack: edits are replaced on the next deploy.\n"
    return {"datasources/reasoning-stack.yml": header + yaml.safe_dump(datasource, sort_keys=False),
            "dashboards/reasoning-stack.yml": header + yaml.safe_dump(provider, sort_keys=False)}
