"""The real Prometheus (Debian 12's package) on the config and alert rules the deploy renders, scraping the real
vLLM (its CPU builds: 0.17.1, then 0.32.0, the current line's; a tiny Qwen3 model), the real node exporter and the
DCGM exporter stand-in (no GPU here), all started from the rendered files: every dashboard panel's queries return
data from what was scraped, the live figures ``status`` shows come back per instance, and the engine-down alert
fires once the engine stops.

What differs from a host: the ports are free loopback ports (set as settings, so the rendered files carry them),
the rule file sits in the test's folder (the config names it there), and scrapes run every 2 s
(``monitoring_scrape_interval``).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import prometheus_tools
import pytest
import real_engines
from prometheus_tools import Prometheus, query, wait_for
from testhosts import free_port

from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.monitoring import (
    ALERT_RULES,
    LIVE_QUERIES,
    NODE_EXPORTER_DEFAULTS,
    PANELS,
    PROMETHEUS_CONFIG,
    monitoring_for,
)
from reasoning_stack.monitoring.services import DCGM_UNIT
from reasoning_stack.platforms.linux import monitoring_files
from reasoning_stack.services import engine_service
from reasoning_stack.settings import SECRET_ENV_VARS
from reasoning_stack.validation import validate_host_data

pytestmark = pytest.mark.slow

API_KEY = "sk-monitoring-0123456789"
STANDINS = Path(__file__).parent / "standins"


@dataclass
class Monitored:
    prometheus: Prometheus
    vllm: real_engines.Server
    unit: str


def _args(defaults_text: str) -> list[str]:
    """The ARGS of a Debian /etc/default file."""
    line = next(x for x in defaults_text.splitlines() if x.startswith("ARGS="))
    return shlex.split(line.removeprefix("ARGS=").strip('"'))


@pytest.fixture(scope="module", params=real_engines.VLLM_RELEASES)
def monitored(request):
    release = request.param
    real_engines.require_vllm(release)
    prometheus_tools.tool("prometheus")
    workdir = Path(tempfile.mkdtemp(prefix="rs-monitoring-"))
    data = {"model": "qwen3-8b", "api_port": free_port(), "openwebui_port": free_port(),
            "prometheus_port": free_port(), "node_exporter_port": free_port(), "dcgm_exporter_port": free_port(),
            "monitoring_scrape_interval": "2s", "vllm_version": release}
    settings = validate_host_data("box", data, environ={SECRET_ENV_VARS["api_key"]: API_KEY})
    plan = plan_host(settings, gpus_from_profile("rtx-4090", 1))
    monitoring = monitoring_for(settings, plan, "box", None)
    assert monitoring is not None
    files = monitoring_files(settings, monitoring)
    rules = workdir / "reasoning-stack-alerts.yml"
    rules.write_text(files[ALERT_RULES])
    config = workdir / "prometheus.yml"
    config.write_text(files[PROMETHEUS_CONFIG].replace(ALERT_RULES, str(rules)))
    counters = workdir / "dcgm-counters.csv"
    counters.write_text(next(v for k, v in files.items() if k.endswith("dcgm-counters.csv")))
    dcgm_unit = files[f"/etc/systemd/system/{DCGM_UNIT}.service"]
    dcgm_args = real_engines.unit_server_args(dcgm_unit, settings.dcgm_exporter_image)
    dcgm_args[dcgm_args.index("-f") + 1] = str(counters)  # the unit mounts the same file at this path

    instance = plan.instances[0]
    service = engine_service(settings, instance, 1)
    hf_home = workdir / "huggingface"
    real_engines.tiny_model_cache("qwen3", hf_home, instance.plan.model_repo)
    vllm = real_engines.real_vllm("box-vllm", service.unit_text, service.image, service.env_text, hf_home, workdir)
    side: list[subprocess.Popen] = []
    prometheus = None
    try:
        vllm.launch()
        side.append(subprocess.Popen([str(prometheus_tools.tool("prometheus-node-exporter")),
                                      *_args(files[NODE_EXPORTER_DEFAULTS])],
                                     stdout=(workdir / "node.log").open("w"), stderr=subprocess.STDOUT))
        side.append(subprocess.Popen([sys.executable, str(STANDINS / "dcgm_exporter_standin.py"), *dcgm_args],
                                     env={"STANDIN_GPUS": "1", "PATH": "/usr/bin:/bin"},
                                     stdout=(workdir / "dcgm.log").open("w"), stderr=subprocess.STDOUT))
        prometheus_defaults = _args(files["/etc/default/prometheus"])
        assert f"--web.listen-address=127.0.0.1:{settings.prometheus_port}" in prometheus_defaults
        prometheus = Prometheus(config, workdir, settings.prometheus_port)
        vllm.wait()
        # a sample before the traffic, so that rates over it are the traffic's (a loaded machine may scrape late)
        wait_for(lambda: [r for r in query(prometheus.base, 'up{job="engine"} == 1')], 120, "the engine scraped")
        # traffic: answers that finish, one cut off by max_tokens, and a prompt sent twice (prefix cache)
        for max_tokens in (400, 400, 6):
            status, _headers, body = real_engines.http(
                "POST", f"{vllm.url}/v1/chat/completions", {
                    "model": instance.served_model_name, "max_tokens": max_tokens, "stream": True,
                    "messages": [{"role": "user", "content": "How many primes are below 30? " * 8}],
                    "chat_template_kwargs": {"enable_thinking": True}}, key=API_KEY)
            assert status == 200, body
        generated = vllm.metric("vllm:generation_tokens_total")
        wait_for(lambda: [r for r in query(prometheus.base, "sum(vllm:generation_tokens_total)")
                          if float(r["value"][1]) == generated], 120, "the traffic scraped")
        yield Monitored(prometheus, vllm, instance.unit)
    finally:
        if prometheus is not None:
            prometheus.stop()
        for process in side:
            process.terminate()
        vllm.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_every_target_is_scraped(monitored: Monitored):
    def all_up():
        up = {r["metric"]["job"]: r["value"][1] for r in query(monitored.prometheus.base, "up")}
        return up if up == {"engine": "1", "node": "1", "gpu": "1", "prometheus": "1"} else None

    try:
        wait_for(all_up, 90, "four targets scraped")
    except AssertionError:
        raise AssertionError(f"targets: {prometheus_tools.targets(monitored.prometheus.base)}") from None


@pytest.mark.parametrize("panel", PANELS, ids=[p.title for p in PANELS])
def test_every_dashboard_panel_returns_data(monitored: Monitored, panel):
    for expr, _legend in panel.queries:
        rows = wait_for(lambda e=expr: query(monitored.prometheus.base, e), 90, f"data for {panel.title}: {expr}",
                        every=2)
        assert all(len(r["value"]) == 2 for r in rows)
        if panel.section == "Engines":  # per instance, labelled as the legend says
            assert {r["metric"].get("unit") for r in rows} == {monitored.unit}, rows


def test_the_figures_are_the_engines_own(monitored: Monitored):
    generated = query(monitored.prometheus.base,
                      f'sum(vllm:generation_tokens_total{{unit="{monitored.unit}"}})')[0]["value"][1]
    assert float(generated) == monitored.vllm.metric("vllm:generation_tokens_total") > 0
    cut = query(monitored.prometheus.base, 'sum(vllm:request_success_total{finished_reason="length"})')
    assert float(cut[0]["value"][1]) == 1  # the one request stopped at max_tokens 6


def test_the_live_figures_status_shows_come_back_per_instance(monitored: Monitored):
    for name, expr in LIVE_QUERIES:
        rows = query(monitored.prometheus.base, expr)
        assert [r["metric"]["unit"] for r in rows] == [monitored.unit], (name, rows)
    tps = query(monitored.prometheus.base, dict(LIVE_QUERIES)["tokens_per_s"])
    assert float(tps[0]["value"][1]) > 0


def test_the_engine_down_alert_fires_once_the_engine_stops(monitored: Monitored):
    # last in this module: the engine does not come back
    assert not [a for a in prometheus_tools.alerts(monitored.prometheus.base) if a["labels"]["alertname"] ==
                "EngineDown"]
    monitored.vllm.stop()

    def firing():
        return [a for a in prometheus_tools.alerts(monitored.prometheus.base)
                if a["labels"]["alertname"] == "EngineDown" and a["state"] == "firing"]

    alert = wait_for(firing, 240, "EngineDown firing (for: 1m)", every=3)[0]
    assert alert["labels"]["unit"] == monitored.unit and alert["labels"]["severity"] == "critical"
    assert f"journalctl -u {monitored.unit}" in alert["annotations"]["fix"]
