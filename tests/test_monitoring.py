"""Monitoring, as planned and rendered: what Prometheus scrapes where, its files (checked by the real promtool), the
alert rules (the real ``promtool test rules``), the dashboard, Grafana's provisioning, the firewall around a cluster
node's exporters, and the settings' checks. The real Prometheus scraping a real vLLM is tests/test_monitoring_real.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import prometheus_tools
import pytest
import yaml

from reasoning_stack.cluster import Cluster
from reasoning_stack.firewall import firewall_rules
from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.monitoring import (
    ALERT_RULES,
    ALERTS,
    PANELS,
    PROMETHEUS_CONFIG,
    alert_rules_text,
    dashboard_json,
    grafana_provisioning,
    grafana_service,
    monitoring_for,
)
from reasoning_stack.monitoring.dashboard import DATASOURCE_UID
from reasoning_stack.platforms.linux import monitoring_files
from reasoning_stack.validation import SettingsInvalid, validate_host_data

REPO = Path(__file__).resolve().parents[1]
RULE_TESTS = Path(__file__).parent / "monitoring" / "alerts.test.yml"


def _box(environ=None, **data):
    settings = validate_host_data("box", {"model": "deepseek-r1-distill-qwen-7b", **data}, environ=environ or {})
    return settings, plan_host(settings, gpus_from_profile("rtx-4090", 2))


def _targets(monitoring, job: str) -> list[tuple[str, dict]]:
    return [(address, dict(labels)) for j in monitoring.jobs if j.name == job for address, labels in j.targets]


def test_a_box_scrapes_every_engine_instance_and_its_exporters_over_loopback():
    settings, plan = _box(extra_models=[{"name": "fast", "model": "qwen3-8b", "port": 8001}], api_listen="0.0.0.0",
                          environ={"REASONING_STACK_VLLM_API_KEY": "sk-x"})
    monitoring = monitoring_for(settings, plan, "box", None)
    assert monitoring is not None and monitoring.prometheus and monitoring.grafana and monitoring.dcgm
    assert [j.name for j in monitoring.jobs] == ["engine", "node", "gpu", "prometheus"]
    assert _targets(monitoring, "engine") == [
        ("127.0.0.1:8000", {"host": "box", "unit": "reasoning-vllm",
                            "served_model_name": "deepseek-r1-distill-qwen-7b"}),
        ("127.0.0.1:8001", {"host": "box", "unit": "reasoning-vllm-fast", "served_model_name": "qwen3-8b"}),
    ]
    assert _targets(monitoring, "node") == [("127.0.0.1:9100", {"host": "box"})]
    assert _targets(monitoring, "gpu") == [("127.0.0.1:9400", {"host": "box"})]
    assert monitoring.exporter_address == "127.0.0.1" and not monitoring.scraped_from


def test_engines_without_metrics_are_not_scraped_and_switches_are_honoured():
    settings = validate_host_data("small", {"model": "qwen3-8b", "engine": "ollama"}, environ={})
    monitoring = monitoring_for(settings, plan_host(settings, gpus_from_profile("rtx-4090", 1)), "small", None)
    assert monitoring is not None and _targets(monitoring, "engine") == []  # Ollama has no /metrics
    settings, plan = _box(dcgm_exporter_enabled=False, grafana_enabled=False)
    monitoring = monitoring_for(settings, plan, "box", None)
    assert monitoring is not None and [j.name for j in monitoring.jobs] == ["engine", "node", "prometheus"]
    assert not monitoring.grafana
    settings, plan = _box(monitoring_enabled=False)
    assert monitoring_for(settings, plan, "box", None) is None


def _cluster_node(name: str, role: str):
    data = {"model": "qwq-32b", "cluster": "c", "cluster_role": role, "cluster_interface": "eth1",
            "cluster_backend": "ray", "vllm_version": "0.17.1", "firewall_allow": ["192.168.1.0/24"]}
    settings = validate_host_data(name, data, environ={})
    return settings, plan_host(settings, gpus_from_profile("rtx-4090", 1), 2)


ADDRESSES = {"head": "10.0.0.1", "worker": "10.0.0.2"}
CLUSTER = Cluster("c", "head", ("head", "worker"), "ray")


def test_a_cluster_head_scrapes_every_node_over_the_cluster_network():
    settings, plan = _cluster_node("head", "head")
    head = monitoring_for(settings, plan, "head", CLUSTER, ADDRESSES)
    assert head is not None and head.prometheus
    assert _targets(head, "node") == [("127.0.0.1:9100", {"host": "head"}), ("10.0.0.2:9100", {"host": "worker"})]
    assert _targets(head, "gpu") == [("127.0.0.1:9400", {"host": "head"}), ("10.0.0.2:9400", {"host": "worker"})]
    assert [t[0] for t in _targets(head, "engine")] == ["127.0.0.1:8000"]
    settings, plan = _cluster_node("worker", "worker")
    worker = monitoring_for(settings, plan, "worker", CLUSTER, ADDRESSES)
    assert worker is not None and not worker.prometheus and not worker.grafana and worker.jobs == ()
    assert worker.exporter_address == "10.0.0.2" and worker.scraped_from == "10.0.0.1"
    files = monitoring_files(settings, worker)
    assert PROMETHEUS_CONFIG not in files  # the head's Prometheus scrapes it
    assert "--web.listen-address=10.0.0.2:9100" in files["/etc/default/prometheus-node-exporter"]
    unit = files["/etc/systemd/system/reasoning-dcgm-exporter.service"]
    assert " -a 10.0.0.2:9400" in unit and "--gpus all" in unit


def test_the_firewall_lets_only_the_head_reach_a_nodes_exporters():
    settings, plan = _cluster_node("worker", "worker")
    worker = monitoring_for(settings, plan, "worker", CLUSTER, ADDRESSES)
    rules = firewall_rules(settings, plan, "worker", CLUSTER, tuple(ADDRESSES.values()), worker)
    assert rules is not None and rules.exporter_ports == (9100, 9400) and rules.scraped_from == ("10.0.0.1",)
    text = rules.text()
    assert "ip saddr { 10.0.0.1 } tcp dport { 9100, 9400 } accept" in text
    assert text.index("tcp dport { 9100, 9400 } accept") < text.index("tcp dport { 9100, 9400 } drop")
    settings, plan = _cluster_node("head", "head")
    head = monitoring_for(settings, plan, "head", CLUSTER, ADDRESSES)
    head_rules = firewall_rules(settings, plan, "head", CLUSTER, tuple(ADDRESSES.values()), head)
    assert head_rules is not None and head_rules.exporter_ports == ()  # its exporters listen on loopback
    assert 3001 not in head_rules.service_ports  # Grafana on loopback needs no rule


def test_grafana_beyond_loopback_is_let_in_only_from_firewall_allow():
    settings, plan = _box(grafana_listen="0.0.0.0", firewall_allow=["192.168.1.0/24"])
    rules = firewall_rules(settings, plan, "box", None, (), monitoring_for(settings, plan, "box", None))
    assert rules is not None and rules.service_ports == (3000, 3001)
    assert "ip saddr { 192.168.1.0/24 } tcp dport { 3000, 3001 } accept" in rules.text()


def test_the_rendered_prometheus_config_passes_the_real_promtool(tmp_path: Path):
    promtool = prometheus_tools.tool("promtool")
    settings, plan = _box(extra_models=[{"name": "fast", "model": "qwen3-8b", "port": 8001}])
    files = monitoring_files(settings, monitoring_for(settings, plan, "box", None))
    (tmp_path / "reasoning-stack-alerts.yml").write_text(files[ALERT_RULES])
    config = files[PROMETHEUS_CONFIG].replace(ALERT_RULES, str(tmp_path / "reasoning-stack-alerts.yml"))
    (tmp_path / "prometheus.yml").write_text(config)
    out = subprocess.run([promtool, "check", "config", tmp_path / "prometheus.yml"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in out.stdout
    assert 'ARGS="--web.listen-address=127.0.0.1:9090 --storage.tsdb.retention.time=15d' in files[
        "/etc/default/prometheus"]


def test_every_alert_fires_on_its_condition_in_the_real_promtool(tmp_path: Path):
    promtool = prometheus_tools.tool("promtool")
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    (tmp_path / "reasoning-stack-alerts.yml").write_text(alert_rules_text())
    out = subprocess.run([promtool, "test", "rules", RULE_TESTS.name], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    cases = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    fired = {t["alertname"] for case in cases for t in case["alert_rule_test"] if t["exp_alerts"]}
    assert fired == {a.name for a in ALERTS}  # every rule has a case where it fires
    # and a wrong threshold is caught: the same cases fail on rules that never fire for a full KV cache
    (tmp_path / "reasoning-stack-alerts.yml").write_text(alert_rules_text().replace("> 0.9", "> 0.99"))
    out = subprocess.run([promtool, "test", "rules", RULE_TESTS.name], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode != 0 and "alertname: KvCacheFull" in out.stdout + out.stderr


def test_every_alert_names_a_fix_and_every_panel_its_question():
    for alert in ALERTS:
        assert alert.fix.endswith(".") and len(alert.fix) > 40, alert.name
        assert re.fullmatch(r"\d+m", alert.for_), alert.name
    for panel in PANELS:
        assert "?" in panel.question, panel.title


def test_the_dashboard_has_every_panel_on_the_provisioned_data_source():
    dashboard = json.loads(dashboard_json())
    shown = [p for p in dashboard["panels"] if p["type"] == "timeseries"]
    assert [p["title"] for p in shown] == [p.title for p in PANELS]
    assert {p["datasource"]["uid"] for p in shown} == {DATASOURCE_UID}
    assert [t["expr"] for t in shown[0]["targets"]] == [q for q, _legend in PANELS[0].queries]
    provisioning = grafana_provisioning(9090)
    source = yaml.safe_load(provisioning["datasources/reasoning-stack.yml"])["datasources"][0]
    assert source["uid"] == DATASOURCE_UID and source["url"] == "http://127.0.0.1:9090"
    assert dashboard_json() == dashboard_json()  # stable text: a re-run rewrites nothing


def test_grafana_is_on_loopback_and_its_password_stays_in_0600_files():
    settings, _plan = _box()
    service = grafana_service(settings)
    assert "GF_SERVER_HTTP_ADDR=127.0.0.1\nGF_SERVER_HTTP_PORT=3001\n" in service.env_text
    assert "GF_SECURITY_ADMIN_PASSWORD" not in service.env_text  # generated on the host, in grafana-admin.env
    assert "--env-file /etc/reasoning-stack/grafana-admin.env" in service.unit_text
    given = validate_host_data("box", {"model": "qwen3-8b"},
                               environ={"REASONING_STACK_GRAFANA_ADMIN_PASSWORD": "Gr4fana-secret"})
    service = grafana_service(given)
    assert "GF_SECURITY_ADMIN_PASSWORD=Gr4fana-secret" in service.env_text
    assert "Gr4fana-secret" not in service.unit_text and "grafana-admin.env" not in service.unit_text


@pytest.mark.parametrize(("data", "words"), [
    ({"monitoring_retention": "15 days"}, ["monitoring_retention", "'15d'"]),
    ({"monitoring_scrape_interval": "1h"}, ["monitoring_scrape_interval", "'15s'"]),
    ({"grafana_port": 3000}, ["grafana_port 3000", "openwebui_port", "default 3001"]),
    ({"prometheus_port": 8000}, ["prometheus_port 8000", "api_port"]),
    ({"grafana_image": "grafana/grafana:latest"}, ["grafana_image", "pin a version tag"]),
    ({"grafana_listen": "everywhere"}, ["grafana_listen", "IP address"]),
])
def test_a_wrong_monitoring_setting_names_the_key_and_what_would_work(data, words):
    with pytest.raises(SettingsInvalid) as caught:
        validate_host_data("box", {"model": "qwen3-8b", **data}, environ={})
    for word in words:
        assert word in str(caught.value)


def test_the_readme_shows_every_panel_and_alert():
    readme = (REPO / "docs" / "monitoring.md").read_text()
    for panel in PANELS:
        assert f"| {panel.title} |" in readme, panel.title
    for alert in ALERTS:
        assert f"| `{alert.name}` |" in readme, alert.name
