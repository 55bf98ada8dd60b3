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
        if unit["kind"] == "vllm-api":
            entry |= {"health": 200, "models": 200, "max_model_len": unit["max_model_len"],
                      "completion": {"status": 200, "seconds": 0.04, "error": ""},
                      "smoke_test": {"finished": "2026-11-24 10:00 UTC", "tokens_per_s": 61.5, "ttft_s": 0.21}}
        if unit["kind"] == "openwebui":
            entry["health"] = 200
        entry |= overrides.get(unit["unit"], {})
        units.append(entry)
    return {"manifest": manifest, "nvidia_smi": {"rc": 0, "output": SMI}, "units": units}


def test_manifest_names_every_unit_and_no_secret():
    manifest = _manifest(vllm_port=8100)
    assert [u["unit"] for u in manifest["units"]] == ["docker", "reasoning-vllm", "reasoning-openwebui"]
    vllm = manifest["units"][1]
    assert vllm["url"] == "http://127.0.0.1:8100" and vllm["served_model_name"] == "deepseek-r1-distill-qwen-7b"
    assert "KEY" not in manifest_text(manifest).upper()
    assert manifest_text(manifest) == manifest_text(_manifest(vllm_port=8100))  # stable: re-runs change nothing


def test_cluster_workers_list_their_own_units():
    s = validate_host_data("w", {"model": "qwq-32b", "cluster": "c", "cluster_role": "worker",
                                 "cluster_interface": "eth0", "cluster_backend": "ray"}, environ={})
    plan = plan_host(s, gpus_from_profile("rtx-4090", 1), 2)
    manifest = status_manifest(s, plan, "w", Cluster("c", "h", ("w",), "ray"))
    assert [u["kind"] for u in manifest["units"]] == ["system", "ray-node"]
    assert manifest["role"] == "worker"


def test_a_healthy_report_has_no_problem():
    status = HostStatus("box", True, _report(_manifest()))
    assert status.healthy and status.gpus[0].name == "NVIDIA GeForce RTX 4090"
    text = format_report([status], {})
    assert "box: OK" in text and "GPUs: 1x NVIDIA GeForce RTX 4090 (24564 MiB), driver 550.127.05" in text
    assert "reasoning-vllm: active, serves deepseek-r1-distill-qwen-7b" in text and "61.5 tokens/s" in text


def test_each_fault_is_named():
    manifest = _manifest()
    hung = {"completion": {"status": 0, "seconds": 3.0, "error": "timed out"}}
    status = HostStatus("box", True, _report(manifest, **{"reasoning-vllm": hung,
                                                          "reasoning-openwebui": {"state": "failed"}}))
    assert status.problems == ["reasoning-vllm: a one-token completion failed (timed out; /health 200)",
                               "reasoning-openwebui is failed"]
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
