"""The operations the real deploy files add for one host, from recorded facts (tests/tools/deploy_plan.py runs
them through pyinfra's own loader; no host is contacted): aarch64 DGX Sparks beside an x86_64 box."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

TOOL = Path(__file__).parent / "tools" / "deploy_plan.py"

UBUNTU_2404 = {"name": "Ubuntu", "major": 24, "minor": 4,
               "release_meta": {"ID": "ubuntu", "VERSION_ID": "24.04", "PRETTY_NAME": "Ubuntu 24.04.3 LTS"}}
# Facts of a box with nothing of the stack on it yet (Docker and the toolkit still to install).
FRESH = {
    "LinuxDistribution": UBUNTU_2404, "DebPackages": {"python3": ["3.12.3"]}, "File": None, "Directory": None,
    "FindFiles": [], "FindInFile": None, "FileContents": None, "Sha256File": None, "NvidiaKernelState": {},
    "NvidiaTopology": {},
    "SecureBoot": False, "AptSources": [], "DockerImageId": None, "HfWeights": {"snapshots": [], "complete": False},
    "FreeDiskBytes": 3 * 10**12, "DpkgInterrupted": False, "HeldPackages": [], "StackManifest": None,
    "MacHardware": None,  # sw_vers is not there: not a Mac
}
# A DGX Spark as DGX OS 7 ships it: Ubuntu 24.04 on aarch64, the 580 driver working, nvidia-smi's memory [N/A].
SPARK = {**FRESH, "Arch": "aarch64", "KernelVersion": "6.17.0-1008-nvidia", "NvidiaPciGpus": "gb10x1.lspci",
         "NvidiaGpus": {"csv": "gb10x1.csv", "memtotal_mib": 124610}}


def _plan(data: dict[str, Any], facts: dict[str, Any], deploy: str = "reasoning.py", tmp: Path | None = None) -> dict:
    assert tmp is not None
    case = tmp / "case.json"
    case.write_text(json.dumps({"deploy": deploy, "host": "spark", "data": data, "facts": facts}))
    out = subprocess.run([sys.executable, str(TOOL), str(case)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _names(result: dict) -> list[str]:
    """The operations' own names (before each: its deploys' names, "Reasoning stack | Model servers | ...")."""
    assert result["error"] is None, result["error"]
    return [op["name"].split(" | ")[-1] for op in result["operations"]]


def test_a_spark_as_dgx_os_ships_it_keeps_its_driver_and_pulls_the_arm64_vllm(tmp_path: Path):
    result = _plan({"nvidia_driver": "preinstalled"}, SPARK, tmp=tmp_path)
    names = _names(result)
    assert "Serving image vllm/vllm-openai:v0.34.0" in names  # one multi-arch tag, built on CUDA 13
    assert not any("v0.17.1" in n for n in names)
    assert not any("NVIDIA driver" in n or "nouveau" in n or "CUDA repository" in n for n in names)
    assert "Weights of openai/gpt-oss-120b (~64.1 GiB, resumable)" in names
    assert "Open WebUI image ghcr.io/open-webui/open-webui:v0.12.4" in names
    assert names[-1] == "Status manifest"


def test_a_drafter_beside_the_model_is_downloaded_before_the_start(tmp_path: Path):
    data = {"nvidia_driver": "preinstalled", "model": "gemma-4-31b", "speculative_tokens": 2}
    names = _names(_plan(data, SPARK, tmp=tmp_path))
    model = next(n for n in names if n.startswith("Weights of google/gemma-4-31B-it "))
    drafter = "Weights of google/gemma-4-31B-it-assistant, the drafter beside it (~0.9 GiB, resumable)"
    assert drafter in names and names.index(model) < names.index(drafter) < names.index(
        next(n for n in names if n.startswith("Restart reasoning-vllm"))), names
    plain = _names(_plan({"nvidia_driver": "preinstalled", "model": "gemma-4-31b"}, SPARK, tmp=tmp_path))
    assert not any("assistant" in n for n in plain)


def test_an_arm64_box_without_a_driver_gets_nvidias_sbsa_repository(tmp_path: Path):
    facts = {**SPARK, "NvidiaGpus": None}  # no nvidia-smi yet: the GPU comes from lspci and the declared profile
    result = _plan({"gpu_profile": "gb10"}, facts, deploy="nvidia.py", tmp=tmp_path)
    ops = {op["name"].split(" | ")[-1]: op for op in result["operations"]} if result["error"] is None else {}
    assert result["error"] is None, result["error"]
    (keyring,) = ops["NVIDIA CUDA repository keyring"]["commands"]
    assert "/compute/cuda/repos/ubuntu2404/sbsa/cuda-keyring_1.1-1_all.deb" in keyring
    assert "nvidia-open-580" in ops["NVIDIA driver 580 (open kernel modules)"]["commands"][0]
    assert "docker pull vllm/vllm-openai:v0.34.0" in ops["Serving image vllm/vllm-openai:v0.34.0"]["commands"][0]


def test_sglang_on_a_spark_found_by_its_facts_is_refused_before_any_operation(tmp_path: Path):
    result = _plan({"engine": "sglang", "nvidia_driver": "preinstalled"}, SPARK, tmp=tmp_path)
    assert result["error"] is not None and "operations" not in result
    assert "host 'spark'" in result["error"] and "sglang_image" in result["error"]
    assert "has no aarch64 build" in result["error"]


def test_the_same_deploy_on_an_x86_64_box_pulls_the_plain_vllm_image(tmp_path: Path):
    facts = {**FRESH, "Arch": "x86_64", "KernelVersion": "6.8.0-45-generic", "NvidiaPciGpus": "rtx-4090x1.lspci",
             "NvidiaGpus": {"csv": "rtx-4090x1.csv"}}
    names = _names(_plan({"nvidia_driver": "preinstalled"}, facts, tmp=tmp_path))
    assert "Serving image vllm/vllm-openai:v0.34.0" in names
    assert not any("cu130" in n for n in names)


def test_the_deploy_says_what_the_host_lets_in_before_it_changes_anything(tmp_path: Path):
    facts = {**FRESH, "Arch": "x86_64", "KernelVersion": "6.8.0-45-generic", "NvidiaPciGpus": "rtx-4090x1.lspci",
             "NvidiaGpus": {"csv": "rtx-4090x1.csv"}}
    data = {"nvidia_driver": "preinstalled", "ssh_hostname": "192.0.2.10"}
    log = _plan(data, facts, tmp=tmp_path)["log"]
    start = log.index("spark (192.0.2.10) lets in:")
    assert log[start + 1].split()[:6] == ["Open", "WebUI", "http://192.0.2.10:3000", "from", "every", "network"]
    assert any("model API" in line and "from this host only" in line for line in log[start:])
    assert any(line.startswith("warning: host 'spark': Open WebUI answers http://192.0.2.10:3000 from every network")
               for line in log)
    # behind a firewall that lets one network in: said so, and no warning
    log = _plan({**data, "firewall_allow": ["192.0.2.0/24"]}, facts, tmp=tmp_path)["log"]
    assert any("Open WebUI" in line and "192.0.2.0/24 only" in line for line in log)
    assert not any(line.startswith("warning:") for line in log)


def test_a_fact_the_case_does_not_give_stops_the_tool(tmp_path: Path):
    facts = {k: v for k, v in SPARK.items() if k != "Arch"}
    result = _plan({}, facts, tmp=tmp_path)
    assert result["error"] == "LookupError: the case gives no Arch fact"


# A Mac as its owner has it: macOS 15 on an M4 Max with 128 GB, Homebrew there, its Python 3.12 not yet.
MAC = {
    "Arch": "arm64", "File": None, "Directory": None, "FindFiles": [], "StackManifest": None, "LaunchdStatus": {},
    "PipPackages": {}, "HfWeights": {"snapshots": [], "complete": False}, "FreeDiskBytes": 2 * 10**12,
    "MacHardware": {"memsize": 137438953472, "brand": "Apple M4 Max", "wired_limit_mib": 0, "macos": "15.6.1",
                    "arch": "arm64", "brew": True, "python": False},
}
MAC_DATA = {"engine": "mlx", "ssh_user": "alice", "openwebui_admin_email": "admin@localhost"}


def _ops(result: dict) -> dict[str, list[str] | None]:
    assert result["error"] is None, result["error"]
    return {op["name"].split(" | ")[-1]: op["commands"] for op in result["operations"]}


def test_a_mac_gets_homebrew_python_pinned_environments_launchd_jobs_and_checks(tmp_path: Path):
    ops = _ops(_plan(MAC_DATA, MAC, tmp=tmp_path))
    names = list(ops)
    assert ops["Homebrew python@3.12"] == ["/opt/homebrew/bin/brew install python@3.12"]
    assert ops["MLX-LM 0.32.2"] == ["/opt/reasoning-stack/mlx/bin/pip install mlx-lm==0.32.2"]
    assert ops["Open WebUI 0.12.4"] == ["/opt/reasoning-stack/open-webui/bin/pip install open-webui==0.12.4"]
    # the operator is told where the generated admin password is, as on Linux
    (notice,) = ops["Where the Open WebUI admin password is"]  # type: ignore[misc]
    assert "admin@localhost; its password: sudo cat /etc/reasoning-stack/openwebui-admin.env" in notice
    weights = "Weights of mlx-community/gpt-oss-120b-MXFP4-Q8 (~61.2 GiB, resumable)"
    (download,) = ops[weights]  # type: ignore[misc]
    assert "sudo -u alice env HF_HOME=/var/lib/reasoning-stack/huggingface" in download
    assert "/opt/reasoning-stack/mlx/bin/hf download mlx-community/gpt-oss-120b-MXFP4-Q8" in download
    # the order a person expects: weights before the server starts, health before the smoke test
    order = [weights, "com.reasoning-stack.mlx plist", "com.reasoning-stack.mlx loaded in launchd",
             "Wait for MLX-LM to load gpt-oss-120b (/health, up to 1800s)",
             "Smoke test: one reasoning question to mlx-community/gpt-oss-120b-MXFP4-Q8",
             "com.reasoning-stack.openwebui plist", "Wait for Open WebUI /health"]
    assert [names.index(n) for n in order] == sorted(names.index(n) for n in order)
    (load,) = ops["com.reasoning-stack.mlx loaded in launchd"]  # type: ignore[misc]
    assert "launchctl bootstrap system /Library/LaunchDaemons/com.reasoning-stack.mlx.plist" in load
    (wait,) = ops["Wait for MLX-LM to load gpt-oss-120b (/health, up to 1800s)"]  # type: ignore[misc]
    assert "--log /var/lib/reasoning-stack/logs/mlx.log" in wait
    assert not any("docker" in n.lower() or "nvidia" in n.lower() or "apt" in n.lower() for n in names)


def test_a_mac_with_python_and_running_jobs_needs_no_install_or_bootstrap(tmp_path: Path):
    facts = {**MAC, "MacHardware": {**MAC["MacHardware"], "python": True},
             "LaunchdStatus": {"com.reasoning-stack.mlx": True, "com.reasoning-stack.openwebui": True},
             "HfWeights": {"snapshots": ["abc"], "complete": True}}
    ops = _ops(_plan(MAC_DATA, facts, tmp=tmp_path))
    assert "Homebrew python@3.12" not in ops
    assert ops["com.reasoning-stack.mlx loaded in launchd"] == []  # a no-op: launchd already runs it


@pytest.mark.parametrize("data, facts, message", [
    ({"engine": "mlx", "ssh_user": "alice"}, {**FRESH, "Arch": "x86_64"},
     "engine 'mlx' runs on Apple Silicon Macs, and this host is not macOS; use engine 'vllm', 'sglang', 'ollama' or "
     "'nim'"),
    ({"ssh_user": "alice"}, MAC, "engine 'vllm' needs NVIDIA GPUs on Linux, and this host is a Mac (macOS); use "
                                 "engine 'mlx' here"),
    ({**MAC_DATA, "gpu_profile": "m3-max-64"}, MAC, "disagrees with the Mac, an Apple M4 Max 128 GB"),
    ({**MAC_DATA, "ssh_user": "root"}, MAC, "not root: set mac_user"),
    (MAC_DATA, {**MAC, "MacHardware": {**MAC["MacHardware"], "brew": False}}, "Homebrew is not installed"),
    ({**MAC_DATA, "https": "internal"}, MAC, "https 'internal' is not deployed on this platform yet; set https = "
                                             "'off' for this host"),
    ({**MAC_DATA, "openwebui_users": 60}, {**MAC, "Cpus": 12},
     "Open WebUI on PostgreSQL (chosen by openwebui_database 'auto' for openwebui_users 60) is not deployed on "
     "this platform yet; set openwebui_database = 'sqlite' for this host"),
    ({**MAC_DATA, "firewall_allow": ["192.168.1.0/24"]}, MAC, "firewall_allow ['192.168.1.0/24'] is not deployed on "
                                                              "this platform yet: no packet filter would limit"),
])
def test_what_a_mac_deploy_refuses_before_any_operation(tmp_path: Path, data: dict, facts: dict, message: str):
    result = _plan(data, facts, tmp=tmp_path)
    assert result["error"] is not None and message in result["error"], result
    assert "host 'spark'" in result["error"]  # the case's host name, as a person reads it


# The same Mac with the stack on it: both jobs loaded in launchd, their plists, the environments and data there.
MAC_DEPLOYED = {**MAC, "MacHardware": {**MAC["MacHardware"], "python": True}, "File": {"mode": 644},
                "Directory": {"mode": 755},
                "FindFiles": ["/Library/LaunchDaemons/com.reasoning-stack.mlx.plist",
                              "/Library/LaunchDaemons/com.reasoning-stack.openwebui.plist"],
                "LaunchdStatus": {"com.reasoning-stack.mlx": True, "com.reasoning-stack.openwebui": False,
                                  "com.apple.something": True}}


def test_removing_the_stack_from_a_mac_boots_out_its_jobs_and_keeps_weights_and_homebrew(tmp_path: Path):
    result = _plan(MAC_DATA, MAC_DEPLOYED, deploy="remove.py", tmp=tmp_path)
    ops = {op["name"].split(" | ")[-1]: op["commands"] for op in _plan_ok(result)}
    (bootout,) = ops["Stop com.reasoning-stack.mlx and take it out of launchd"]  # type: ignore[misc]
    assert bootout.startswith("launchctl bootout system/com.reasoning-stack.mlx;")
    assert ops["Stop com.reasoning-stack.openwebui and take it out of launchd"]  # loaded, though not running
    assert ops["Remove com.reasoning-stack.mlx.plist"] == [
        "rm -f /Library/LaunchDaemons/com.reasoning-stack.mlx.plist"]
    assert ops["Remove the MLX-LM and Open WebUI virtual environments"] == ["rm -rf /opt/reasoning-stack"]
    assert ops["Remove the stack's config and secrets"] == ["rm -rf /etc/reasoning-stack"]
    assert not any("com.apple" in name or "brew" in name.lower() for name in ops)  # not the stack's: left alone
    assert not any("weights" in name or "Open WebUI's data" in name for name in ops)  # kept unless asked for
    names = list(ops)  # a job is out of launchd before its plist and programs go
    assert names.index("Stop com.reasoning-stack.mlx and take it out of launchd") < names.index(
        "Remove the MLX-LM and Open WebUI virtual environments")
    asked = _plan({**MAC_DATA, "remove_weights": True, "remove_openwebui_data": True}, MAC_DEPLOYED,
                  deploy="remove.py", tmp=tmp_path)
    asked_ops = {op["name"].split(" | ")[-1]: op["commands"] for op in _plan_ok(asked)}
    assert asked_ops["Remove the model weights (asked for)"] == ["rm -rf /var/lib/reasoning-stack/huggingface"]
    assert asked_ops["Remove Open WebUI's data (asked for)"] == ["rm -rf /var/lib/reasoning-stack/open-webui"]


def test_removing_from_a_mac_that_has_nothing_left_changes_nothing(tmp_path: Path):
    result = _plan(MAC_DATA, {**MAC, "LaunchdStatus": {"com.apple.something": True}}, deploy="remove.py",
                   tmp=tmp_path)
    assert all(op["commands"] == [] for op in _plan_ok(result)), result


def test_removing_from_a_linux_box_stops_its_units_and_keeps_the_driver(tmp_path: Path):
    facts = {**FRESH, "Arch": "x86_64", "FindFiles": ["/etc/systemd/system/reasoning-vllm.service"],
             "Directory": {"mode": 755}, "File": {"mode": 644}, "SystemdStatus": {"reasoning-vllm.service": True},
             "SystemdEnabled": {"reasoning-vllm.service": True},
             # deployed on 0.17.1 before the default moved: that is the image to remove
             "StackManifest": {"units": [{"unit": "reasoning-vllm", "engine": "vllm", "release": "vLLM 0.17.1"}]}}
    ops = {op["name"].split(" | ")[-1]: op["commands"] for op in _plan_ok(
        _plan({}, facts, deploy="remove.py", tmp=tmp_path))}
    assert "Stop and disable reasoning-vllm.service" in ops and "Remove image vllm/vllm-openai:v0.17.1" in ops
    assert not any("launchd" in name or "NVIDIA" in name for name in ops)


def _plan_ok(result: dict) -> list[dict]:
    assert result["error"] is None, result["error"]
    return result["operations"]


def test_a_users_own_deploy_calls_the_stacks_deploy_functions(tmp_path: Path):
    """The layers are @deploy functions: a deploy file of one's own picks some of them, with pyinfra's own
    arguments, and gets exactly their operations."""
    mine = tmp_path / "my_deploy.py"
    mine.write_text("from reasoning_stack.deploys import docker_engine, model_servers\n\n"
                    "docker_engine()\nmodel_servers(_sudo=True)\n")
    facts = {**FRESH, "Arch": "x86_64", "KernelVersion": "6.8.0-45-generic", "NvidiaPciGpus": "rtx-4090x1.lspci",
             "NvidiaGpus": {"csv": "rtx-4090x1.csv"}}
    result = _plan({"nvidia_driver": "preinstalled"}, facts, deploy=str(mine), tmp=tmp_path)
    assert result["error"] is None, result["error"]
    layers = {op["name"].split(" | ")[0] for op in result["operations"]}
    assert layers == {"Docker engine", "Model servers"}
    names = _names(result)
    assert "Docker running and enabled" in names and "reasoning-vllm unit" in names
    assert not any("Open WebUI" in n or "NVIDIA" in n for n in names)


def test_monitoring_is_configured_before_its_packages_install_on_a_fresh_box(tmp_path: Path):
    facts = {**FRESH, "Arch": "x86_64", "KernelVersion": "6.8.0-45-generic", "NvidiaPciGpus": "rtx-4090x1.lspci",
             "NvidiaGpus": {"csv": "rtx-4090x1.csv"}}
    result = _plan({"nvidia_driver": "preinstalled"}, facts, tmp=tmp_path)
    names = _names(result)
    ops = {op["name"].split(" | ")[-1]: op for op in result["operations"]}
    install = names.index("Prometheus and the node exporter")
    # the packages' conffiles first (apt keeps them): Prometheus never starts on its all-interfaces default
    for written in ("Node exporter: listen address", "Prometheus: loopback only, retention",
                    "Prometheus: scrape jobs", "Prometheus: the stack's alert rules"):
        assert names.index(written) < install, written
    assert "prometheus prometheus-node-exporter" in " ".join(ops["Prometheus and the node exporter"]["commands"])
    assert names.index("prometheus running and enabled") > install
    assert "DCGM exporter image nvcr.io/nvidia/k8s/dcgm-exporter:4.4.2-4.7.1-ubuntu22.04" in names
    assert "Grafana image grafana/grafana:12.2.0" in names and "Wait for Grafana /api/health" in names
    assert "Grafana admin password (generated once, kept)" in names
    assert names.index("Grafana dashboard: Reasoning stack") < names.index("reasoning-grafana running and enabled")
    off = _names(_plan({"nvidia_driver": "preinstalled", "monitoring_enabled": False}, facts, tmp=tmp_path))
    assert not any("Prometheus" in n or "Grafana" in n or "DCGM" in n for n in off)


def test_https_writes_the_caddyfile_before_caddy_installs_then_fetches_its_ca(tmp_path: Path):
    facts = {**FRESH, "Arch": "x86_64", "KernelVersion": "6.8.0-45-generic", "NvidiaPciGpus": "rtx-4090x1.lspci",
             "NvidiaGpus": {"csv": "rtx-4090x1.csv"}}
    data = {"nvidia_driver": "preinstalled", "https": "internal", "https_names": ["chat.lab.test"]}
    result = _plan(data, facts, tmp=tmp_path)
    names = _names(result)
    install = names.index("Caddy (the HTTPS proxy)")
    # the package's conffile first (apt keeps it): Caddy never serves its welcome page
    assert names.index("Caddy: the stack's HTTPS sites") < install < names.index("caddy running and enabled")
    assert names.index("reasoning-openwebui running and enabled") < install  # the services come up first
    order = ["caddy running and enabled", "Wait for Caddy's CA (up to 60 s)",
             "CA certificate to trust, fetched to ca/spark.crt"]
    assert [names.index(n) for n in order] == sorted(names.index(n) for n in order)
    off = _names(_plan({"nvidia_driver": "preinstalled"}, facts, tmp=tmp_path))
    assert not any("Caddy" in n for n in off)


def test_a_team_box_sets_up_postgresql_and_redis_before_open_webui_starts(tmp_path: Path):
    facts = {**FRESH, "Arch": "x86_64", "KernelVersion": "6.8.0-45-generic", "NvidiaPciGpus": "rtx-4090x1.lspci",
             "NvidiaGpus": {"csv": "rtx-4090x1.csv"}, "Cpus": 16, "WebuiDatabaseState": "missing"}
    result = _plan({"nvidia_driver": "preinstalled", "openwebui_users": 120}, facts, tmp=tmp_path)
    names = _names(result)
    ops = {op["name"].split(" | ")[-1]: op for op in result["operations"]}
    ready = "Open WebUI's database: PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379, 8 Open WebUI workers"
    order = ["PostgreSQL and Redis (Open WebUI's database)", "openwebui-db helper", ready,
             "reasoning-openwebui running and enabled"]
    assert [names.index(n) for n in order] == sorted(names.index(n) for n in order)
    assert "postgresql redis-server python3-psycopg2" in " ".join(ops[order[0]]["commands"])
    (setup,) = ops[ready]["commands"]
    assert "openwebui-db setup --env-file /etc/reasoning-stack/openwebui-db.env" in setup
    assert "--max-connections 660" in setup  # 8 workers, two pools of 40 each, and 20 to spare
    assert not any("SQLite into PostgreSQL" in n for n in names)  # no SQLite data on a fresh box
    alone = _names(_plan({"nvidia_driver": "preinstalled"}, {**facts, "Cpus": None}, tmp=tmp_path))
    assert not any("PostgreSQL" in n or "openwebui-db" in n for n in alone)


def test_a_host_whose_chats_are_in_postgresql_is_not_switched_back_to_sqlite(tmp_path: Path):
    facts = {**FRESH, "Arch": "x86_64", "KernelVersion": "6.8.0-45-generic", "NvidiaPciGpus": "rtx-4090x1.lspci",
             "NvidiaGpus": {"csv": "rtx-4090x1.csv"},
             "FindInFile": ["Open WebUI keeps its accounts and chats in PostgreSQL (database openwebui), not here."]}
    result = _plan({"nvidia_driver": "preinstalled", "openwebui_database": "sqlite"}, facts, tmp=tmp_path)
    assert result["error"] is not None and "Open WebUI would start empty" in result["error"], result
    assert "Keep openwebui_database = 'postgresql' for this host; nothing was changed" in result["error"]


def test_a_new_open_webui_image_on_postgresql_is_preceded_by_a_pg_dump(tmp_path: Path):
    facts = {**FRESH, "Arch": "x86_64", "KernelVersion": "6.8.0-45-generic", "NvidiaPciGpus": "rtx-4090x1.lspci",
             "NvidiaGpus": {"csv": "rtx-4090x1.csv"}, "Cpus": 4, "WebuiDatabaseState": "ready",
             "StackManifest": {"units": [{"unit": "reasoning-openwebui", "kind": "openwebui",
                                          "image": "ghcr.io/open-webui/open-webui:v0.12.3"}]}}
    result = _plan({"nvidia_driver": "preinstalled", "openwebui_database": "postgresql"}, facts, tmp=tmp_path)
    names = _names(result)
    ops = {op["name"].split(" | ")[-1]: op for op in result["operations"]}
    dump = next(n for n in names if n.endswith("(pg_dump)"))
    assert "ghcr.io/open-webui/open-webui:v0.12.3 -> ghcr.io/open-webui/open-webui:v0.12.4" in dump
    assert ops[dump]["commands"] == ["/usr/local/libexec/reasoning-stack/openwebui-db backup --out "
                                     "/var/lib/reasoning-stack/backups/webui-v0.12.3.pgdump"]
    assert names.index(dump) < names.index("reasoning-openwebui running and enabled")
    assert not any("SQLite's own online backup" in n or n.startswith("Back up") and "pg_dump" not in n
                   for n in names)


def test_per_person_keys_keep_the_usage_record_for_root(tmp_path: Path):
    facts = {**FRESH, "Arch": "x86_64", "KernelVersion": "6.8.0-45-generic", "NvidiaPciGpus": "rtx-4090x1.lspci",
             "NvidiaGpus": {"csv": "rtx-4090x1.csv"}}
    off = _names(_plan({"nvidia_driver": "preinstalled"}, facts, tmp=tmp_path))
    assert not any("usage record" in n for n in off)
    result = _plan({"nvidia_driver": "preinstalled", "openwebui_api_keys": "everyone",
                    "openwebui_model_groups": {"deepseek-r1-distill-qwen-7b": ["research"]}}, facts, tmp=tmp_path)
    names = _names(result)
    ops = {op["name"].split(" | ")[-1]: op for op in result["operations"]}
    record = "Open WebUI usage record (root only)"
    assert names.index("Open WebUI data") < names.index(record) < names.index("reasoning-openwebui running and enabled")
    assert any("chmod 700 /var/lib/reasoning-stack/open-webui/audit" in c for c in ops[record]["commands"]), ops[record]


LINUX_4090 = {**FRESH, "Arch": "x86_64", "KernelVersion": "6.8.0-45-generic", "NvidiaPciGpus": "rtx-4090x1.lspci",
              "NvidiaGpus": {"csv": "rtx-4090x1.csv"}}
WEBUI_ADMIN_AND_CLOUD = {
    "openwebui_admin_email": "admin@localhost",
    "openwebui_cloud": [{"name": "deepseek", "base_url": "https://api.deepseek.com/v1",
                         "models": ["deepseek-reasoner"]}],
}
# Open WebUI's steps around its start (reasoning_stack/openwebui/after_start.py), in their order, on every platform.
BEFORE_START = ["Open WebUI secret key (generated once, kept)", "Open WebUI admin password (generated once, kept)",
                "Where the Open WebUI admin password is"]
AFTER_START = ["Open WebUI sign-up policy 'pending' holds after its first account",
               "Open WebUI model entries (names and advice)",
               "Open WebUI functions (the 'Reply cut off' filter)",
               "Open WebUI shows each model by a name a person understands, with its prompting advice, and says "
               "when a reply was cut off",
               "Cloud connections offer their listed models (a warning, never a failure)"]


def test_both_platforms_run_open_webuis_one_after_start_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A Linux box and a Mac get the same steps around Open WebUI's start, in the same order: the secrets before it
    starts, then once it answers the sign-up policy, the model entries and the cloud connections' check."""
    monkeypatch.setenv("REASONING_STACK_DEEPSEEK_API_KEY", "sk-test-not-real")
    linux = _ops(_plan({"nvidia_driver": "preinstalled", **WEBUI_ADMIN_AND_CLOUD}, LINUX_4090, tmp=tmp_path))
    mac = _ops(_plan({**MAC_DATA, **WEBUI_ADMIN_AND_CLOUD}, MAC, tmp=tmp_path))
    for ops in (linux, mac):
        names = list(ops)
        steps = [n for n in names if n in BEFORE_START + AFTER_START]
        assert steps == BEFORE_START + AFTER_START
        health = names.index("Wait for Open WebUI /health")
        assert all(names.index(n) < health for n in BEFORE_START)
        assert all(names.index(n) > health for n in AFTER_START)
        (check,) = ops[AFTER_START[-1]]  # type: ignore[misc]
        assert ("/usr/local/libexec/reasoning-stack/cloud-models /etc/reasoning-stack/reasoning-openwebui.env "
                "deepseek=1:deepseek-reasoner") in check  # after the one local model's connection
        assert "cloud-models helper" in ops  # the helper it runs is on the host
        (entries,) = ops[AFTER_START[3]]  # type: ignore[misc]
        assert "--functions /etc/reasoning-stack/openwebui-functions.json" in str(entries), entries


def test_a_users_own_deploy_gives_open_webui_its_port(tmp_path: Path):
    """``open_webui(port=3001)`` from one's own deploy file: Open WebUI's env file and health wait use 3001. The
    value is checked as the same setting in group_data is: beside monitoring (Grafana's default port is 3001) the
    deploy stops before any operation, naming the host, both settings and Grafana's default."""
    mine = tmp_path / "my_deploy.py"
    mine.write_text("from reasoning_stack.deploys import open_webui\n\nopen_webui(port=3001)\n")
    data = {"nvidia_driver": "preinstalled", "monitoring_enabled": False}
    result = _plan(data, LINUX_4090, deploy=str(mine), tmp=tmp_path)
    ops = _ops(result)
    assert {op["name"].split(" | ")[0] for op in result["operations"]} == {"Open WebUI"}
    (wait,) = ops["Wait for Open WebUI /health"]  # type: ignore[misc]
    assert "http://127.0.0.1:3001/health" in wait and ":3000" not in wait
    default = _ops(_plan(data, LINUX_4090, tmp=tmp_path))
    (wait,) = default["Wait for Open WebUI /health"]  # type: ignore[misc]
    assert "http://127.0.0.1:3000/health" in wait
    beside_grafana = _plan({"nvidia_driver": "preinstalled"}, LINUX_4090, deploy=str(mine), tmp=tmp_path)
    assert beside_grafana["error"] == ("PyinfraError: host 'spark': grafana_port: grafana_port 3001 is already "
                                       "openwebui_port's port; monitoring needs a port of its own (default 3001)")


BOX_4090 = {**FRESH, "Arch": "x86_64", "KernelVersion": "6.8.0-45-generic", "NvidiaPciGpus": "rtx-4090x1.lspci",
            "NvidiaGpus": {"csv": "rtx-4090x1.csv"}}
RAN_0_17_1 = {"units": [{"unit": "reasoning-vllm", "kind": "openai", "engine": "vllm", "release": "vLLM 0.17.1",
                         "image": "vllm/vllm-openai:v0.17.1"}]}
# A manifest from before releases were recorded: the image's tag names it.
RAN_0_17_1_UNRECORDED = {"units": [{"unit": "reasoning-vllm", "kind": "openai", "image": "vllm/vllm-openai:v0.17.1"}]}


@pytest.mark.parametrize("manifest", [RAN_0_17_1, RAN_0_17_1_UNRECORDED], ids=["recorded", "before-releases"])
def test_a_host_deployed_on_an_older_vllm_keeps_it_until_its_operator_moves_it(manifest: dict, tmp_path: Path):
    """The stack's default release moved to 0.34.0: a host whose last deploy runs 0.17.1 and whose group_data names
    no release keeps 0.17.1 (its image, its command line) and the deploy says how to move; naming a release moves
    it; a new host gets the default."""
    kept = _plan({"nvidia_driver": "preinstalled"}, {**BOX_4090, "StackManifest": manifest}, tmp=tmp_path)
    names = _names(kept)
    assert "Serving image vllm/vllm-openai:v0.17.1" in names and not any("v0.34.0" in n for n in names)
    assert ("host 'spark' keeps vllm_version = '0.17.1', what its last deploy runs (its group_data names none; the "
            "default is now '0.34.0'): set vllm_version = '0.34.0' to move it") in "\n".join(kept["log"])
    moved = _plan({"nvidia_driver": "preinstalled", "vllm_version": "0.34.0"},
                  {**BOX_4090, "StackManifest": manifest}, tmp=tmp_path)
    assert "Serving image vllm/vllm-openai:v0.34.0" in _names(moved) and "keeps vllm_version" not in str(moved["log"])
    fresh = _plan({"nvidia_driver": "preinstalled"}, BOX_4090, tmp=tmp_path)
    assert "Serving image vllm/vllm-openai:v0.34.0" in _names(fresh) and "keeps vllm_version" not in str(fresh["log"])


def _my_deploy(tmp_path: Path, code: str) -> str:
    mine = tmp_path / "my_deploy.py"
    mine.write_text(f"from reasoning_stack.deploys import *  # noqa: F403\n\n{code}\n")
    return str(mine)


def test_the_whole_stacks_arguments_hold_for_every_layer_and_the_manifest(tmp_path: Path):
    """``reasoning_stack(model=..., openwebui_port=...)``: the model servers fetch and serve that model, Open WebUI
    waits on that port, and the manifest says so; without arguments the host's own data is deployed."""
    data = {"nvidia_driver": "preinstalled", "monitoring_enabled": False}
    mine = _my_deploy(tmp_path, 'reasoning_stack(model="qwen3-8b", openwebui_port=3002)')
    ops = _ops(_plan(data, LINUX_4090, deploy=mine, tmp=tmp_path))
    assert any(name.startswith("Weights of Qwen/Qwen3-8B") for name in ops), list(ops)
    (wait,) = ops["Wait for Open WebUI /health"]  # type: ignore[misc]
    assert "http://127.0.0.1:3002/health" in wait
    assert list(ops)[-1] == "Status manifest"
    own = _ops(_plan(data, LINUX_4090, tmp=tmp_path))
    assert not any(name.startswith("Weights of Qwen/Qwen3-8B") for name in own)
    (wait,) = own["Wait for Open WebUI /health"]  # type: ignore[misc]
    assert "http://127.0.0.1:3000/health" in wait


def test_a_layers_arguments_hold_for_that_layer_alone(tmp_path: Path):
    data = {"nvidia_driver": "preinstalled"}
    result = _plan(data, LINUX_4090, deploy=_my_deploy(tmp_path, 'model_servers(model="qwen3-8b", port=8010)'),
                   tmp=tmp_path)
    ops = _ops(result)
    assert {op["name"].split(" | ")[0] for op in result["operations"]} == {"Model servers"}
    assert any(name.startswith("Weights of Qwen/Qwen3-8B") for name in ops), list(ops)
    assert any("8010" in " ".join(commands or []) for commands in ops.values())


@pytest.mark.parametrize(("call", "error"), [
    ("reasoning_stack(max_model_len=12)",
     "PyinfraError: host 'spark': max_model_len (set in reasoning_stack()'s arguments): got 12; Input should be "
     "greater than or equal to 1024"),
    ("reasoning_stack(openwebui_prot=3001)",
     "PyinfraError: host 'spark': openwebui_prot (set in reasoning_stack()'s arguments): unknown setting; did you "
     "mean 'openwebui_port'?"),
    ("stack_monitoring(grafana_port=3000)",
     "PyinfraError: host 'spark': grafana_port (set in stack_monitoring()'s arguments): grafana_port 3000 is "
     "already openwebui_port's port; monitoring needs a port of its own (default 3001)"),
    ('reasoning_stack(hf_token="hf_not_a_real_token")',
     "PyinfraError: host 'spark': hf_token (reasoning_stack()'s arguments): a secret is not taken as an argument "
     "(it would sit in a deploy file); export HF_TOKEN in the environment you deploy from (value not shown)"),
])
def test_a_bad_argument_stops_the_deploy_before_any_operation(tmp_path: Path, call: str, error: str):
    result = _plan({"nvidia_driver": "preinstalled"}, LINUX_4090, deploy=_my_deploy(tmp_path, call), tmp=tmp_path)
    assert result["error"] == error
    assert "operations" not in result
    assert "hf_not_a_real_token" not in json.dumps(result)


def test_an_argument_that_moves_a_door_is_said_aloud_before_any_operation(tmp_path: Path):
    """``open_webui(port=3005)`` alone: the deploy says what the host now lets in, with the warning for a door open
    to every network, as ``reasoning_stack()`` does for group_data; said once, not again by a layer below. An
    argument that moves no door (an image) adds no line."""
    data = {"nvidia_driver": "preinstalled", "monitoring_enabled": False, "ssh_hostname": "192.0.2.10"}
    moved = _plan(data, LINUX_4090, deploy=_my_deploy(tmp_path, "open_webui(port=3005)"), tmp=tmp_path)
    assert moved["error"] is None, moved["error"]
    assert moved["log"].count("spark (192.0.2.10) lets in:") == 1
    assert any(line.split()[:6] == ["Open", "WebUI", "http://192.0.2.10:3005", "from", "every", "network"]
               for line in moved["log"])
    assert any(line.startswith("warning: host 'spark': Open WebUI answers http://192.0.2.10:3005")
               for line in moved["log"])
    closed = _plan(data, LINUX_4090, deploy=_my_deploy(tmp_path, 'open_webui(listen="127.0.0.1")'), tmp=tmp_path)
    assert closed["log"].count("spark (192.0.2.10) lets in:") == 1
    assert not any(line.startswith("warning:") for line in closed["log"])
    image = 'open_webui(image="ghcr.io/open-webui/open-webui:v0.12.4")'
    same = _plan(data, LINUX_4090, deploy=_my_deploy(tmp_path, image), tmp=tmp_path)
    assert not any("lets in" in line for line in same["log"])
    whole = _plan(data, LINUX_4090, deploy=_my_deploy(tmp_path, "reasoning_stack(openwebui_port=3005)"),
                  tmp=tmp_path)
    assert whole["log"].count("spark (192.0.2.10) lets in:") == 1


def test_the_readmes_own_deploy_example_runs_as_written(tmp_path: Path):
    """The README's "From your own pyinfra deploy" file, as written: its layers and nothing else, Open WebUI on the
    port it gives."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme[readme.index("### From your own pyinfra deploy"):]
    code = section[section.index("```python\n") + len("```python\n"):section.index("```\n", 10)]
    mine = tmp_path / "my_deploy.py"
    mine.write_text(code)
    result = _plan({"nvidia_driver": "preinstalled"}, LINUX_4090, deploy=str(mine), tmp=tmp_path)
    ops = _ops(result)
    assert {op["name"].split(" | ")[0] for op in result["operations"]} == {"Docker engine", "Model servers",
                                                                          "Open WebUI"}
    (wait,) = ops["Wait for Open WebUI /health"]  # type: ignore[misc]
    assert "http://127.0.0.1:3080/health" in wait


NGC_KEY = "nvapi-plan-SECRET-31"


def test_a_nim_box_logs_docker_in_with_the_key_from_a_file_before_it_pulls(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch):
    """engine nim with an NGC API key: the key goes to its 0600 file, docker login reads it through stdin, both
    before the first pull; the key is in no command. Logged in already, with the file unchanged: no login."""
    monkeypatch.setenv("NGC_API_KEY", NGC_KEY)
    facts = {**FRESH, "Arch": "x86_64", "KernelVersion": "6.8.0-45-generic", "NvidiaPciGpus": "rtx-4090x1.lspci",
             "NvidiaGpus": {"csv": "rtx-4090x1.csv"}, "FileDigest": None, "DockerRegistryLogins": []}
    data = {"nvidia_driver": "preinstalled", "engine": "nim", "model": "deepseek-r1-distill-qwen-7b"}
    ops = _plan_ok(_plan(data, facts, tmp=tmp_path))
    names = [op["name"].split(" | ")[-1] for op in ops]
    key_file = "/etc/reasoning-stack/registry-nvcr.io.key"
    login = f"Docker login to nvcr.io (NGC API key, read from {key_file})"
    pull = "Serving image nvcr.io/nim/nvidia/vllm-model-free-nim:2.1.6"
    assert names.index("NGC API key for nvcr.io (0600)") < names.index(login) < names.index(pull), names
    commands = {op["name"].split(" | ")[-1]: op["commands"] for op in ops}
    assert commands[login] == [f"docker login nvcr.io --username '$oauthtoken' --password-stdin < {key_file}"]
    assert not [op for op in ops if NGC_KEY in json.dumps(op["commands"])]
    assert "Wait for reasoning-nim to load deepseek-r1-distill-qwen-7b (/v1/health/ready, up to 1800s)" in names

    again = {**facts, "DockerRegistryLogins": ["nvcr.io"],
             "FileDigest": {"sha1": hashlib.sha1(NGC_KEY.encode()).hexdigest(), "mode": "600", "user": "root",
                            "group": "root"}}
    commands = {op["name"].split(" | ")[-1]: op["commands"] for op in _plan_ok(_plan(data, again, tmp=tmp_path))}
    assert commands[login] in ([], None), commands[login]


def test_removing_a_nim_box_logs_docker_out_of_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NGC_API_KEY", NGC_KEY)
    facts = {**FRESH, "Arch": "x86_64", "FindFiles": ["/etc/systemd/system/reasoning-nim.service"],
             "Directory": {"mode": 755}, "File": {"mode": 644}, "SystemdStatus": {"reasoning-nim.service": True},
             "SystemdEnabled": {"reasoning-nim.service": True}, "DockerRegistryLogins": ["nvcr.io"],
             "StackManifest": {"units": [{"unit": "reasoning-nim", "engine": "nim",
                                          "image": "nvcr.io/nim/nvidia/vllm-model-free-nim:2.1.6"}]}}
    ops = {op["name"].split(" | ")[-1]: op["commands"] for op in _plan_ok(
        _plan({"engine": "nim"}, facts, deploy="remove.py", tmp=tmp_path))}
    assert ops["Docker logout from nvcr.io"] == ["docker logout nvcr.io"]
    assert "Remove image nvcr.io/nim/nvidia/vllm-model-free-nim:2.1.6" in ops
