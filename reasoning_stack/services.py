"""What goes on a host for the services beside the engines' own: a cluster node's Ray, and each instance's service
files from its engine (Open WebUI's are in ``reasoning_stack.openwebui``).

Pure functions of (settings, plan): the deploy files write these with pyinfra, the tests read them directly. The
paths and the parts every engine's service shares are in ``reasoning_stack.service_files``.
"""

from __future__ import annotations

from reasoning_stack import engines
from reasoning_stack.planning.types import Instance
from reasoning_stack.render import render
from reasoning_stack.service_files import (
    CONFIG_DIR,
    HELPER_DIR,
    SMOKE_TEST,
    UNIT_DIR,
    WAIT_HTTP,
    ClusterNode,
    ServiceFiles,
    gpu_request,
    local_url,
    secret_values,
)
from reasoning_stack.settings import StackSettings
from reasoning_stack.topology import RAY_CONTAINER, RAY_UNIT

__all__ = ["CONFIG_DIR", "HELPER_DIR", "RAY_CONTAINER", "RAY_UNIT", "SMOKE_TEST", "UNIT_DIR", "WAIT_HTTP",
           "ClusterNode", "ServiceFiles", "engine_service", "gpu_request", "local_url", "ray_service"]

RAY_WAIT = f"{HELPER_DIR}/ray-wait"
MP_WAIT = f"{HELPER_DIR}/mp-wait"
# The helpers every cluster node carries, beside wait-http and smoke-test: (path, template).
CLUSTER_HELPERS = ((RAY_WAIT, "ray-wait.py.j2"), (MP_WAIT, "mp-wait.py.j2"))
# Earlier releases set apt's lock wait system-wide here; the stack now waits in its own apt steps.
LEGACY_APT_LOCK_CONF = "/etc/apt/apt.conf.d/90reasoning-stack-lock-timeout"


def engine_service(settings: StackSettings, instance: Instance, host_gpu_count: int,
                   node: ClusterNode | None = None) -> ServiceFiles:
    """The service files of an instance, from its engine."""
    return engines.get(instance.engine).service(settings, instance, host_gpu_count, node)


def ray_service(settings: StackSettings, node: ClusterNode, gpu_count: int, unified: bool = False) -> ServiceFiles:
    """The Ray node of a cluster host: ``ray start --block`` in the foreground of the same pinned vLLM image,
    host networking and IPC, the GPUs and the Hugging Face cache (Ray runs vLLM's GPU workers here). On unified
    memory (DGX Spark) Ray's memory monitor is off: the page cache there looks like memory pressure and Ray
    would kill the workers (NVIDIA's DGX Spark playbook sets RAY_memory_monitor_refresh_ms=0)."""
    env_path = f"{CONFIG_DIR}/{RAY_UNIT}.env"
    docker_args = [
        "--network", "host",
        "--ipc", "host",
        "--gpus", "all",
        "--env-file", env_path,
        "--volume", f"{settings.data_dir}/huggingface:/root/.cache/huggingface",
        "--volume", f"{settings.data_dir}/ray:/tmp/ray",
        "--label", "managed-by=reasoning-stack",
        *node.env_args(),
        *(["--env", "RAY_memory_monitor_refresh_ms=0"] if unified else []),
        "--entrypoint", "ray",
    ]
    ray_args = ["start", "--block", "--node-ip-address", node.address, "--num-gpus", str(gpu_count),
                "--disable-usage-stats"]
    if node.is_head:
        ray_args += ["--head", "--port", str(settings.ray_port)]
    else:
        ray_args += ["--address", f"{node.head_address}:{settings.ray_port}"]
    unit_text = render("ray.service.j2", role="head" if node.is_head else "worker", cluster=node.cluster.name,
                       container=RAY_CONTAINER, image=settings.vllm_image, docker_args=docker_args,
                       ray_args=ray_args, unit_name=RAY_UNIT)
    env_text = render(
        "model-server.env.j2",
        unit_name=RAY_UNIT,
        offline=settings.offline,
        hf_token=secret_values(settings)[0],
        api_key="",
    )
    return ServiceFiles(RAY_UNIT, unit_text, env_path, env_text, RAY_CONTAINER, settings.vllm_image, "", "")
