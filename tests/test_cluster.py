"""Clusters before any host is touched: one head, nodes alike, the plan across nodes, the units each node gets."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reasoning_stack.cluster import Cluster, cluster_errors, find_clusters
from reasoning_stack.engines.vllm.command import node_args
from reasoning_stack.engines.vllm.service import vllm_service
from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.plan import PlanRequest, make_plan
from reasoning_stack.services import ClusterNode, ray_service
from reasoning_stack.validation import SettingsInvalid, validate_host_data

NODE = {"cluster": "r1", "cluster_interface": "enp65s0", "model": "deepseek-r1", "gpu_profile": "h100", "gpu_count": 8}


def _settings(**hosts: dict[str, object]):
    return {name: validate_host_data(name, {**NODE, **data}) for name, data in hosts.items()}


def test_full_r1_on_two_8x_h100_nodes():
    result = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("h100", 8)), model="deepseek-r1", nodes=2))
    assert result.fits and (result.tensor_parallel_size, result.pipeline_parallel_size) == (8, 2)
    assert result.gpus_used == list(range(8)) and result.max_model_len == 163840


def test_full_r1_on_one_8x_h200_node():
    result = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("h200", 8)), model="deepseek-r1"))
    assert result.fits and (result.tensor_parallel_size, result.pipeline_parallel_size) == (8, 1)


def test_a_cluster_too_small_is_refused_with_numbers_and_what_would_fit():
    result = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("h100", 4)), model="deepseek-r1", nodes=2))
    assert not result.fits
    assert "does not fit 8x NVIDIA H100 80 GB" in result.reason and "GiB per GPU" in result.reason
    assert any("nodes like this one" in tip for tip in result.suggestions)
    assert any(tip.startswith("model ") for tip in result.suggestions)


def test_exactly_one_head():
    none = _settings(a={"cluster_role": "worker"}, b={"cluster_role": "worker"})
    assert "needs exactly one head, has none" in str(cluster_errors(none)[0])
    two = _settings(a={"cluster_role": "head"}, b={"cluster_role": "head"})
    errors = cluster_errors(two)
    assert len(errors) == 2 and all("has 2 (a, b)" in str(e) for e in errors)
    alone = _settings(a={"cluster_role": "head"})
    assert "has only its head" in str(cluster_errors(alone)[0])


@pytest.mark.parametrize(("key", "value", "why"), [
    ("gpu_profile", "a100-80", "planned for the same GPUs"),
    ("vllm_image", "vllm/vllm-openai@sha256:" + "5" * 64, "Ray refuses mixed versions"),
    ("vllm_version", "0.32.0", "same vLLM release"),
    ("data_dir", "/srv/models", "same path on every node"),
    ("model", "qwq-32b", "serve one model together"),
])
def test_nodes_must_match_the_head(key, value, why):
    settings = _settings(head={"cluster_role": "head"}, w1={"cluster_role": "worker", key: value})
    errors = cluster_errors(settings, {"w1": {key: "group_data/r1_workers.py"}})
    assert len(errors) == 1
    text = str(errors[0])
    assert text.startswith(f"host 'w1': {key} (set in group_data/r1_workers.py):") and why in text


def test_cluster_settings_need_their_cluster():
    with pytest.raises(SettingsInvalid, match="cluster_interface is set but cluster is not"):
        validate_host_data("box", {"cluster_interface": "eth0"})
    with pytest.raises(SettingsInvalid, match="cluster_role is not set"):
        validate_host_data("box", {"cluster": "r1", "cluster_interface": "eth0"})
    with pytest.raises(SettingsInvalid, match="a cluster serves one model"):
        validate_host_data("box", {**NODE, "cluster_role": "head",
                                   "extra_models": [{"name": "x", "model": "qwen3-8b", "port": 8001}]})


def _node(backend: str, host: str) -> tuple[object, ClusterNode, object]:
    release = {"vllm_version": "0.17.1"} if backend == "ray" else {}  # Ray: the release whose image carries it
    settings = _settings(head={"cluster_role": "head", "cluster_backend": backend, **release},
                         w1={"cluster_role": "worker", "cluster_backend": backend, **release})
    cluster = find_clusters(settings)["r1"]
    plan = plan_host(settings[host], gpus_from_profile("h100", 8), len(cluster.nodes))
    assert plan.fits, plan.reason
    address = "10.0.0.1" if host == "head" else "10.0.0.2"
    return settings[host], ClusterNode(cluster, host, address, "10.0.0.1", "enp65s0"), plan.instances[0]


def test_mp_units_carry_rank_head_address_and_interfaces():
    settings, node, instance = _node("mp", "w1")
    unit = vllm_service(settings, instance, 8, node).unit_text
    assert "--nnodes 2 --node-rank 1 --master-addr 10.0.0.1 --master-port 29501 --headless" in unit
    for env in ("VLLM_HOST_IP=10.0.0.2", "NCCL_SOCKET_IFNAME=enp65s0", "GLOO_SOCKET_IFNAME=enp65s0"):
        assert f"--env {env}" in unit
    assert "--distributed-executor-backend" not in unit and "PartOf=" not in unit
    settings, head, instance = _node("mp", "head")
    assert "--node-rank 0" in vllm_service(settings, instance, 8, head).unit_text
    assert "--headless" not in vllm_service(settings, instance, 8, head).unit_text


def test_ray_units_start_ray_in_the_foreground_on_the_cluster_network():
    settings, worker, _instance = _node("ray", "w1")
    ray = ray_service(settings, worker, 8)
    assert ray.unit == "reasoning-ray" and "Restart=always" in ray.unit_text
    assert ("--entrypoint ray vllm/vllm-openai:v0.17.1 start --block --node-ip-address 10.0.0.2 --num-gpus 8 "
            "--disable-usage-stats --address 10.0.0.1:6379") in ray.unit_text
    assert "--env RAY_NODE_IP_ADDRESS=10.0.0.2" in ray.unit_text and "--ipc host" in ray.unit_text
    settings, head, instance = _node("ray", "head")
    assert "--head --port 6379" in ray_service(settings, head, 8).unit_text
    unit = vllm_service(settings, instance, 8, head).unit_text
    assert "--distributed-executor-backend ray" in unit and "PartOf=reasoning-ray.service" in unit
    assert "--env RAY_ADDRESS=10.0.0.1:6379" in unit and "/ray:/tmp/ray" in unit
    assert "--nnodes" not in unit


def test_node_args_follow_the_inventory_order():
    cluster = Cluster("r1", "h", ("w1", "w2"), "mp")
    assert node_args(cluster, "w2", "10.0.0.1", 29501)[:4] == ["--nnodes", "3", "--node-rank", "2"]
    assert node_args(Cluster("r1", "h", ("w1",), "ray"), "w1", "10.0.0.1", 29501) == []


def test_example_cluster_inventory_checks_and_plans_as_one_instance():
    run = [sys.executable, "-m", "reasoning_stack.cli"]
    check = subprocess.run([*run, "check", "inventories/cluster.py"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    plan = subprocess.run([*run, "plan", "inventories/cluster.py"], capture_output=True, text=True)
    assert plan.returncode == 0, plan.stderr
    rows = plan.stdout.split("\n\n")[0].splitlines()
    assert len(rows) == 2 and rows[1].startswith("r1 (2 nodes)") and "8x2x1" in rows[1]
    assert "r1-head (rank 0, API), r1-worker-1 (rank 1)" in plan.stdout
