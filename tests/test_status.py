"""`reasoning-stack status`: the manifest the deploy leaves and the verdict on a host's report (the probe itself
runs on Docker test hosts in tests/e2e)."""

from __future__ import annotations

import ast

from reasoning_stack.cluster import Cluster
from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.status import HostStatus, format_report, manifest_text, probe_script, status_manifest
from reasoning_stack.validation import validate_host_data

SMI = ("0, NVIDIA GeForce RTX 4090, 24564, GPU-5a1c0c8e-3f4e-8d2b-91aa-0c7d2f6b4e10, 550.127.05, 8.9, "
       "00000000:01:00.0")


def _manifest(**settings):
    s = validate_host_data("box", {"model": "deepseek-r1-distill-qwen-7b", **settings}, environ={})
    return status_manifest(s, plan_host(s, gpus_from_profile("rtx-4090", 1)), "box", None)


def _report(manifest, **overrides):
    units = []
    for unit in manifest["units"]:
        entry = {"unit": unit["unit"], "kind": unit["kind"], "state": "active"}
        if unit["kind"] == "model-api":
            entry |= {"health": 200, "models": 200, "max_model_len": unit["max_model_len"],
                      "completion": {"status": 200, "seconds": 0.04, "error": ""},
                      "smoke_test": {"finished": "2026-11-24 10:00 UTC", "tokens_per_s": 61.5, "ttft_s": 0.21}}
        if unit["kind"] in ("openwebui", "grafana"):
            entry["health"] = 200
        if unit["kind"] == "prometheus":
            entry |= {"health": 200, "live": {"reasoning-vllm": {"kv_cache": 0.42, "running": 3, "waiting": 1,
                                                                  "tokens_per_s": 87.25}}}
        entry |= overrides.get(unit["unit"], {})
        units.append(entry)
    return {"manifest": manifest, "nvidia_smi": {"rc": 0, "output": SMI}, "units": units}


def test_manifest_names_every_unit_and_no_secret():
    manifest = _manifest(api_port=8100)
    assert [u["unit"] for u in manifest["units"]] == ["docker", "reasoning-vllm", "reasoning-openwebui", "prometheus",
                                                      "prometheus-node-exporter", "reasoning-dcgm-exporter",
                                                      "reasoning-grafana"]
    assert _manifest(api_port=8100, monitoring_enabled=False)["units"][-1]["unit"] == "reasoning-openwebui"
    vllm = manifest["units"][1]
    assert vllm["url"] == "http://127.0.0.1:8100" and vllm["served_model_name"] == "deepseek-r1-distill-qwen-7b"
    assert "KEY" not in manifest_text(manifest).upper()
    assert manifest_text(manifest) == manifest_text(_manifest(api_port=8100))  # stable: re-runs change nothing


def test_cluster_workers_list_their_own_units():
    s = validate_host_data("w", {"model": "qwq-32b", "cluster": "c", "cluster_role": "worker",
                                 "cluster_interface": "eth0", "cluster_backend": "ray", "vllm_version": "0.17.1"},
                          environ={})
    plan = plan_host(s, gpus_from_profile("rtx-4090", 1), 2)
    manifest = status_manifest(s, plan, "w", Cluster("c", "h", ("w",), "ray"))
    # a worker's Prometheus is the head's: it runs only the exporters the head scrapes
    assert [u["kind"] for u in manifest["units"]] == ["system", "ray-node", "exporter", "exporter"]
    assert manifest["role"] == "worker"


def test_a_healthy_report_has_no_problem():
    status = HostStatus("box", True, _report(_manifest()))
    assert status.healthy and status.gpus[0].name == "NVIDIA GeForce RTX 4090"
    text = format_report([status], {})
    assert "box: OK" in text and "GPUs: 1x NVIDIA GeForce RTX 4090 (24564 MiB), driver 550.127.05" in text
    assert "reasoning-vllm: active, serves deepseek-r1-distill-qwen-7b" in text and "61.5 tokens/s" in text
    # the live figures from the host's Prometheus, on the instance's line
    vllm_line = next(line for line in text.splitlines() if "reasoning-vllm:" in line)
    assert vllm_line.endswith("; now: KV cache 42%, 3 running, 1 waiting, 87.2 tokens/s over 5 min")
    assert "reasoning-grafana: active, /api/health 200" in text and "prometheus: active, /-/ready 200" in text


def test_each_instance_shows_the_release_it_runs():
    """The vLLM release each instance was planned and deployed for (vllm_version), on its status line; a manifest
    written before releases were recorded shows none."""
    for version in ("0.17.1", "0.34.0"):
        text = format_report([HostStatus("box", True, _report(_manifest(vllm_version=version)))], {})
        assert f"serves deepseek-r1-distill-qwen-7b (deepseek-ai/DeepSeek-R1-Distill-Qwen-7B) on vLLM {version}, " \
               "context" in text, text
    old = _manifest()
    for unit in old["units"]:
        unit.pop("release", None)
    assert " on vLLM" not in format_report([HostStatus("box", True, _report(old))], {})


def test_the_https_proxy_is_reported_with_what_it_serves():
    manifest = _manifest(https="internal", https_names=["chat.lab.test"], grafana_listen="0.0.0.0")
    assert manifest["units"][-1] == {"unit": "caddy", "kind": "proxy", "sites": {"Open WebUI": 443, "Grafana": 3443}}
    text = format_report([HostStatus("box", True, _report(manifest))], {})
    assert "caddy: active, HTTPS for Open WebUI on :443, Grafana on :3443" in text
    down = HostStatus("box", True, _report(manifest, caddy={"state": "failed"}))
    assert not down.healthy and "caddy is failed" in down.problems


def test_each_fault_is_named():
    manifest = _manifest()
    hung = {"completion": {"status": 0, "seconds": 3.0, "error": "timed out"}}
    status = HostStatus("box", True, _report(manifest, **{"reasoning-vllm": hung,
                                                          "reasoning-openwebui": {"state": "failed"},
                                                          "reasoning-grafana": {"health": 0},
                                                          "prometheus-node-exporter": {"state": "inactive"}}))
    assert status.problems == ["reasoning-vllm: a one-token completion failed (timed out; /health 200)",
                               "reasoning-openwebui is failed", "prometheus-node-exporter is inactive",
                               "reasoning-grafana: /api/health answered nothing"]
    broken = _report(manifest)
    broken["nvidia_smi"] = {"rc": 18, "output": "Failed to initialize NVML: Driver/library version mismatch"}
    assert HostStatus("box", True, broken).problems == [
        "nvidia-smi: Failed to initialize NVML: Driver/library version mismatch"]
    assert HostStatus("box", False, error="SSH connection failed").problems == ["unreachable: SSH connection failed"]
    assert HostStatus("box", True, {"manifest": None}).problems[0].startswith("not deployed")


def test_a_cluster_is_down_when_a_node_is():
    manifest = _manifest()
    ok, down = HostStatus("h", True, _report(manifest)), HostStatus("w", False, error="SSH connection failed")
    text = format_report([ok, down], {"c": Cluster("c", "h", ("w",), "mp")})
    assert "cluster c (2 nodes, mp): DOWN (w)" in text


def test_the_probe_is_valid_python():
    ast.parse(probe_script(5))


def test_an_unreachable_host_is_named_and_fails_the_status(tmp_path):
    """The real command against a host whose SSH port refuses (nothing listens there): reported, exit 1."""
    import json
    import socket
    import subprocess
    import sys
    from pathlib import Path

    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (tmp_path / "inventory.py").write_text(
        f'boxes = [("gone-box", {{"ssh_hostname": "127.0.0.1", "ssh_port": {port}}})]\n')
    command = str(Path(sys.executable).parent / "reasoning-stack")
    out = subprocess.run([command, "status", "--json", "--timeout", "5", "inventory.py"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr
    (host,) = json.loads(out.stdout)["hosts"]
    assert host["host"] == "gone-box" and not host["healthy"]
    assert host["problems"] == ["unreachable: SSH connection failed"]


def _mac_manifest(**settings):
    s = validate_host_data("mac", {"engine": "mlx", "gpu_profile": "m4-max-128", **settings}, environ={})
    return status_manifest(s, plan_host(s, gpus_from_profile("m4-max-128", 1)), "mac", None, platform="macos")


def test_a_macs_manifest_names_its_launchd_jobs_and_no_docker():
    manifest = _mac_manifest()
    assert manifest["platform"] == "macos"
    assert [(u["unit"], u["launchd"]) for u in manifest["units"]] == [
        ("reasoning-mlx", "com.reasoning-stack.mlx"), ("reasoning-openwebui", "com.reasoning-stack.openwebui")]
    mlx = manifest["units"][0]
    assert mlx["served_model_name"] == mlx["repo"] and mlx["repo"].startswith("mlx-community/")
    assert mlx["image"] == "mlx-lm==0.32.2" and mlx["url"] == "http://127.0.0.1:8000"
    assert mlx["smoke_record"] == "/var/lib/reasoning-stack/status/reasoning-mlx-smoke-test.json"


def test_a_healthy_mac_reports_its_chip_and_memory():
    manifest = _mac_manifest()
    report = _report(manifest)
    report["nvidia_smi"] = None
    report["mac"] = {"memsize": "137438953472", "brand": "Apple M4 Max", "macos": "15.6.1"}
    report["units"][0]["max_model_len"] = None  # MLX-LM's /v1/models gives no context length
    status = HostStatus("mac", True, report)
    assert status.healthy, status.problems
    text = format_report([status], {})
    assert "Mac: Apple M4 Max 128 GB of unified memory (131072 MiB), macOS 15.6.1" in text
    assert f"context {manifest['units'][0]['max_model_len']} (planned)" in text
    assert "nvidia-smi" not in text
    report["mac"] = {"memsize": "", "brand": "", "macos": ""}
    assert HostStatus("mac", True, report).problems == ["sysctl reported no memory size"]


MLX_JOB = ("system/com.reasoning-stack.mlx = {\n\tactive count = 1\n\tstate = running\n\tenvironment = {\n"
           "\t\tstate = ignored\n\t}\n\tpid = 4242\n\tlast exit code = (never exited)\n}\n")
WEBUI_JOB = "system/com.reasoning-stack.openwebui = {\n\tstate = not running\n\tlast exit code = 1\n}\n"
LAUNCHCTL = f"""#!/bin/sh
# stand-in for macOS's launchctl: `print system/LABEL` as launchd prints a job (tests only)
case "$2" in
  system/com.reasoning-stack.mlx) cat <<'JOB'
{MLX_JOB}JOB
  ;;
  system/com.reasoning-stack.openwebui) cat <<'JOB'
{WEBUI_JOB}JOB
  ;;
  *) echo "Could not find service \\"${{2#system/}}\\" in domain for system" >&2; exit 113;;
esac
"""
SYSCTL = """#!/bin/sh
case "$2" in hw.memsize) echo 137438953472;; machdep.cpu.brand_string) echo 'Apple M4 Max';; *) exit 1;; esac
"""


def test_the_probe_on_a_mac_reads_launchd_and_proves_mlx_with_a_completion(tmp_path):
    """The real probe, run here as on a Mac: launchctl, sysctl and sw_vers stand in for macOS's own, and the
    stand-in server answers for MLX-LM on loopback; Open WebUI's job has exited and nothing answers its port."""
    import json
    import subprocess
    import sys

    import real_openwebui as real
    from testhosts import free_port

    from reasoning_stack.render import render

    port, webui_port = free_port(), free_port()
    manifest = _mac_manifest(api_port=port, openwebui_port=webui_port)
    mlx = manifest["units"][0]
    mlx["smoke_record"] = str(tmp_path / "smoke.json")
    mlx["env_file"] = str(tmp_path / "reasoning-mlx.env")
    (tmp_path / "smoke.json").write_text(json.dumps({"finished": "2026-11-25 09:00 UTC", "tokens_per_s": 24.5,
                                                     "ttft_s": 0.8}))
    (tmp_path / "status.json").write_text(manifest_text(manifest))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("launchctl", LAUNCHCTL), ("sysctl", SYSCTL), ("sw_vers", "#!/bin/sh\necho 15.6.1\n")):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    probe = render("status-probe.py.j2", manifest_path=str(tmp_path / "status.json"),
                   nvidia_smi_query="nvidia-smi --query-gpu=name --format=csv", timeout=5)
    server = real.StandinVllm(mlx["served_model_name"], port, "", tmp_path).start()  # MLX-LM: no API key
    try:
        out = subprocess.run([sys.executable, "-"], input=probe, capture_output=True, text=True, timeout=60,
                             env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    finally:
        server.stop()
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["nvidia_smi"] is None and report["mac"]["brand"] == "Apple M4 Max"
    status = HostStatus("mac", True, report)
    assert status.problems == ["reasoning-openwebui is not running, last exit code 1"]
    mlx_report = report["units"][0]
    assert mlx_report["state"] == "active" and mlx_report["completion"]["status"] == 200
    text = format_report([status], {})
    assert "mac: DOWN" in text and "Mac: Apple M4 Max 128 GB" in text and "24.5 tokens/s" in text


def test_a_manifest_of_an_earlier_release_is_still_judged():
    """Hosts deployed before every engine had its package call their API units "vllm-api"."""
    manifest = _manifest()
    for unit in manifest["units"]:
        if unit["kind"] == "model-api":
            unit["kind"] = "vllm-api"
    hung = {"completion": {"status": 0, "seconds": 3.0, "error": "timed out"}, "kind": "vllm-api",
            "health": 200}
    status = HostStatus("box", True, _report(manifest, **{"reasoning-vllm": hung}))
    assert status.problems == ["reasoning-vllm: a one-token completion failed (timed out; /health 200)"]
    assert "one-token completion FAILED" in format_report([status], {})
