"""End to end: monitoring on a Debian 12 test host through the real pyinfra CLI. Prometheus and the node exporter
are Debian's own packages from its mirror; vLLM, Grafana and the DCGM exporter are the stand-in images (no
registry, no GPU here). Deployed, it binds every port to loopback, scrapes every target, shows the provisioned
dashboard, feeds `status` its live figures, changes nothing on a re-run, and goes with `deploys/remove.py`.

The tests in this module run in order and share the host.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
import standin_repo
import testhosts
import tiny_models
from prometheus_tools import wait_for

from reasoning_stack.bench import DEFAULT_AIPERF_PYTHON
from reasoning_stack.settings import (
    DEFAULT_DCGM_EXPORTER_IMAGE,
    DEFAULT_GRAFANA_IMAGE,
    DEFAULT_OPENWEBUI_IMAGE,
    DEFAULT_VLLM_IMAGE,
)

pytestmark = pytest.mark.slow

IMAGES = [DEFAULT_VLLM_IMAGE, DEFAULT_OPENWEBUI_IMAGE, DEFAULT_GRAFANA_IMAGE, DEFAULT_DCGM_EXPORTER_IMAGE]
SETTINGS: dict[str, object] = {
    **testhosts.standin_settings(standin_repo.MOUNT),
    "model": "deepseek-r1-distill-qwen-7b",
    "api_key": "sk-monitoring-SECRET-0123456789",
    "health_timeout": 60,
    "nvidia_cdi": True,
    "monitoring_enabled": True,
    "monitoring_scrape_interval": "2s",
}
PORTS = {"prometheus": 9090, "node exporter": 9100, "DCGM exporter": 9400, "Grafana": 3001}


class Box(testhosts.Box):
    def get(self, url: str, auth: tuple[str, str] | None = None) -> tuple[int, object]:
        """A GET from the host itself (the ports are on its loopback): (status, JSON body or None)."""
        script = ("import base64, json, sys, urllib.request, urllib.error\n"
                  "r = urllib.request.Request(sys.argv[1])\n"
                  "if len(sys.argv) > 2: r.add_header('Authorization', 'Basic ' + "
                  "base64.b64encode(sys.argv[2].encode()).decode())\n"
                  "try:\n    body = urllib.request.urlopen(r, timeout=10).read(); print(200); print(body.decode())\n"
                  "except urllib.error.HTTPError as e:\n    print(e.code); print('null')\n"
                  "except OSError:\n    print(0); print('null')\n")
        args = [url] + ([":".join(auth)] if auth else [])
        out = self.host.exec("python3", "-c", script, *args).stdout.decode().split("\n", 1)
        body = out[1].strip() if len(out) > 1 else "null"
        try:
            return int(out[0]), json.loads(body)
        except json.JSONDecodeError:
            return int(out[0]), body


@pytest.fixture(scope="module")
def box():
    testhosts.require_docker()
    image, key = testhosts.image_and_key()
    repos = standin_repo.build(Path(tempfile.mkdtemp(prefix="rs-repos-")), os.uname().release)
    hosts: list[testhosts.TestHost] = []
    try:
        hosts.append(testhosts.start_host(image, "mon-box", key, user="root", repos=repos))
        yield Box(hosts[0], testhosts.standin_rootfs(image), SETTINGS)
    finally:
        testhosts.remove_hosts(hosts)


def _log(text: str) -> str:
    return text.split('{"plan"', 1)[0][-6000:]


def _changed(data: dict) -> list[str]:
    return [op["name"].split(" | ")[-1] for op in data["results"]["operations"] if op["success"]]


def test_monitoring_deploys_with_every_port_on_loopback(box: Box):
    rc, data, text = box.deploy("docker.py")  # the images are loaded into the host's own Docker
    assert rc == 0, _log(text)
    testhosts.load_standin_images(box.host, box.rootfs, IMAGES)
    rc, data, text = box.deploy()
    assert rc == 0, _log(text)
    assert "Grafana admin: admin; its password: sudo cat /etc/reasoning-stack/grafana-admin.env" in text
    for unit in ("prometheus", "prometheus-node-exporter", "reasoning-grafana", "reasoning-dcgm-exporter"):
        assert box.host.sh(f"systemctl is-active {unit}").strip() == "active", unit
    listening = box.host.sh("ss -ltnH | awk '{print $4}'").split()
    for what, port in PORTS.items():
        assert f"127.0.0.1:{port}" in listening, (what, listening)
        assert not [a for a in listening if a.endswith(f":{port}") and not a.startswith("127.0.0.1:")], what
    # Debian's packages kept the files the stack wrote before installing them
    assert "--web.listen-address=127.0.0.1:9090" in box.host.sh("cat /etc/default/prometheus")
    assert box.host.sh("stat -c '%a %U' /etc/reasoning-stack/grafana-admin.env").strip() == "600 root"


def test_prometheus_scrapes_every_target_and_grafana_shows_the_dashboard(box: Box):
    def all_up():
        status, body = box.get("http://127.0.0.1:9090/api/v1/query?query=up")
        up = {r["metric"]["job"]: r["value"][1] for r in body["data"]["result"]} if status == 200 else {}
        return up if up == {"engine": "1", "node": "1", "gpu": "1", "prometheus": "1"} else None

    wait_for(all_up, 120, "every target up", every=2)
    status, body = box.get("http://127.0.0.1:9090/api/v1/query?query=DCGM_FI_DEV_FB_USED")
    assert status == 200 and body["data"]["result"][0]["metric"]["host"] == "mon-box"
    status, rules = box.get("http://127.0.0.1:9090/api/v1/rules")
    assert status == 200 and len(rules["data"]["groups"][0]["rules"]) == 9
    password = box.host.sh("cat /etc/reasoning-stack/grafana-admin.env").strip().split("=", 1)[1]
    assert box.get("http://127.0.0.1:3001/api/dashboards/uid/reasoning-stack", ("admin", "wrong"))[0] == 401
    status, body = box.get("http://127.0.0.1:3001/api/dashboards/uid/reasoning-stack", ("admin", password))
    assert status == 200 and body["dashboard"]["title"] == "Reasoning stack"
    assert password not in box.host.sh("cat /etc/systemd/system/reasoning-grafana.service")


def test_a_rerun_changes_nothing(box: Box):
    rc, data, text = box.deploy()
    assert rc == 0, _log(text)
    assert data["results"]["totals"]["success"] == 0, _changed(data)


def test_status_shows_the_live_figures_of_each_instance(box: Box):
    box.host.sh("python3 -c \"import json, urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:8000/v1/chat/"
                "completions', json.dumps({'model': 'deepseek-r1-distill-qwen-7b', 'messages': [{'role': 'user', "
                "'content': 'hi'}]}).encode(), {'Content-Type': 'application/json', 'Authorization': "
                "'Bearer sk-monitoring-SECRET-0123456789'})).read()\"")

    def live():
        rc, report, text = box.project.status()
        units = {u["unit"]: u for u in report["hosts"][0]["report"]["units"]} if report else {}
        figures = (units.get("prometheus") or {}).get("live", {}).get("reasoning-vllm", {})
        return (rc, report, units, figures) if figures.get("tokens_per_s") else None

    rc, report, units, figures = wait_for(live, 120, "live figures in status", every=2)
    assert rc == 0 and report["hosts"][0]["healthy"], report["hosts"][0]["problems"]
    assert set(figures) == {"kv_cache", "running", "waiting", "tokens_per_s"}
    assert units["prometheus"]["health"] == 200 and units["reasoning-grafana"]["health"] == 200
    box.host.sh("systemctl stop reasoning-grafana")
    try:
        rc, report, _text = box.project.status()
    finally:
        box.host.sh("systemctl start reasoning-grafana")
    assert rc == 1 and report["hosts"][0]["problems"][0].startswith("reasoning-grafana is "), report["hosts"][0]
    assert len(report["hosts"][0]["problems"]) == 1


def test_bench_measures_the_endpoint_through_an_ssh_tunnel_and_status_shows_it(box: Box, tmp_path: Path):
    python = Path(os.environ.get("AIPERF_PYTHON", DEFAULT_AIPERF_PYTHON))
    if not python.exists():
        message = f"AIPerf is not installed ({python}); scripts/test runs tests/tools/aiperf/setup.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    tokenizer = tmp_path / "tokenizer"  # the R1 distill's tokenizer family, offline (AIPerf counts tokens with it)
    subprocess.run([str(python), str(Path(tiny_models.__file__)), "r1", str(tokenizer)], check=True, timeout=300)
    bench = ("bench", "--concurrency", "1,2", "--output-tokens", "32", "--input-tokens", "16", "--tokenizer",
             str(tokenizer), "--aiperf-python", str(python), "--out", str(tmp_path / "results"))
    out = box.project.command(*bench, timeout=900)
    assert out.returncode == 0, out.stderr[-4000:] + out.stdout
    lines = out.stdout.splitlines()
    assert lines[0].startswith("mon-box reasoning-vllm (deepseek-r1-distill-qwen-7b): plan ")
    assert [line.split()[0] for line in lines[2:4]] == ["1", "2"]
    assert "Profiling: " in out.stderr  # AIPerf's progress bars while it runs
    saved = json.loads(Path(next(x.split(": ", 1)[1] for x in lines if "saved: " in x)).read_text())
    assert [p["concurrency"] for p in saved["points"]] == [1, 2] and saved["points"][0]["errors"] == 0
    assert Path(next(x.split(": ", 1)[1].strip() for x in lines if "plot: " in x)).read_text().count("<svg") == 1
    record = json.loads(box.host.sh("cat /var/lib/reasoning-stack/status/reasoning-vllm-bench.json"))
    assert record["points"] == saved["points"]
    rc, report, _text = box.project.status()
    units = {u["unit"]: u for u in report["hosts"][0]["report"]["units"]}
    assert units["reasoning-vllm"]["bench"]["finished"] == saved["finished"]
    # an endpoint that does not answer: named, with why, and nothing measured
    box.host.sh("systemctl stop reasoning-vllm")
    try:
        out = box.project.command(*bench, timeout=300)
    finally:
        box.host.sh("systemctl start reasoning-vllm")
    assert out.returncode == 1
    assert "host 'mon-box': reasoning-vllm (http://127.0.0.1:8000 on the host) does not answer /health through " \
           "the SSH tunnel" in out.stderr


def test_remove_takes_the_monitoring_off(box: Box):
    rc, data, text = box.deploy("remove.py")
    assert rc == 0, _log(text)
    for package in ("prometheus", "prometheus-node-exporter"):
        assert box.host.exec("dpkg", "-s", package, check=False).returncode != 0, package
    listening = box.host.sh("ss -ltnH | awk '{print $4}'").split()
    assert not [a for a in listening if int(a.rsplit(":", 1)[1]) in PORTS.values()], listening
    for path in ("/etc/prometheus/reasoning-stack-alerts.yml", "/etc/default/prometheus",
                 "/var/lib/reasoning-stack/grafana", "/var/lib/prometheus/metrics2"):
        assert box.host.exec("test", "-e", path, check=False).returncode != 0, path
    for image in (DEFAULT_GRAFANA_IMAGE, DEFAULT_DCGM_EXPORTER_IMAGE):
        assert box.host.exec("docker", "image", "inspect", image, check=False).returncode != 0, image
    rc, data, text = box.deploy("remove.py")
    assert rc == 0 and data["results"]["totals"]["success"] == 0, _changed(data)
