"""vLLM's service on a Linux host: the pinned image's ``vllm serve`` in a systemd unit, its env file holding the
Hugging Face token and the API key (never the unit), and on a cluster node its part of the cluster's one server."""

from __future__ import annotations

from typing import Any

from reasoning_stack.engines.vllm.command import node_args
from reasoning_stack.engines.vllm.output import VllmOutput
from reasoning_stack.planning.types import Instance, unit_name
from reasoning_stack.render import render
from reasoning_stack.service_files import (
    CONFIG_DIR,
    HEALTH_PATH,
    READY_PATH,
    ServiceFiles,
    hf_container_args,
    local_url,
    secret_values,
    stop_grace,
)
from reasoning_stack.topology import RAY_UNIT, ClusterNode


def vllm_service(settings: Any, instance: Instance, host_gpu_count: int,
                 node: ClusterNode | None = None) -> ServiceFiles:
    """The unit and env file of one vLLM instance (on a cluster ``node``: its part of the cluster's one)."""
    plan = instance.plan
    env_path = f"{CONFIG_DIR}/{instance.unit}.env"
    docker_args = hf_container_args(settings, instance, host_gpu_count, env_path)
    assert isinstance(plan.output, VllmOutput)
    args, part_of = list(plan.output.args), []
    if node is not None:
        docker_args += node.env_args()
        if node.cluster.backend == "ray":
            # a Ray driver on the head's Ray node: its session directory (sockets) and GCS address
            docker_args += ["--volume", f"{settings.data_dir}/ray:/tmp/ray",
                            "--env", f"RAY_ADDRESS={node.head_address}:{settings.ray_port}"]
            part_of = [f"{RAY_UNIT}.service"]
        args += node_args(node.cluster, node.host, node.head_address, settings.cluster_port)
    unit_text = render(
        "model-server.service.j2",
        plan=plan,
        served_model_name=instance.served_model_name,
        container=instance.container,
        image=settings.vllm_image,
        docker_args=docker_args,
        args=args,
        stop_grace=stop_grace(plan),
        unit_name=instance.unit,
        after_units=([] if not instance.name else [f"{unit_name('vllm')}.service"]) + part_of,
        part_of=part_of,
    )
    hf_token, api_key = secret_values(settings)
    env_text = render("model-server.env.j2", unit_name=instance.unit, offline=settings.offline, hf_token=hf_token,
                      api_key=api_key)
    base = local_url(settings.api_listen, instance.port)
    return ServiceFiles(instance.unit, unit_text, env_path, env_text, instance.container, settings.vllm_image,
                        f"{base}{HEALTH_PATH}", f"{base}{READY_PATH}")
