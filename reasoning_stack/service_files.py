"""What every engine's service is made of on a Linux host: where the stack keeps its files, the service's files
and URLs, and the ``docker run`` options a model server on Hugging Face weights shares. Engines build their
services from these (``engines/<name>/service.py``); ``reasoning_stack.services`` adds Open WebUI and Ray."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reasoning_stack.render import render
from reasoning_stack.topology import ClusterNode

if TYPE_CHECKING:
    from reasoning_stack.planning.types import Instance, ServingPlan

__all__ = [
    "CONFIG_DIR", "HEALTH_PATH", "HELPER_DIR", "READY_PATH", "SMOKE_TEST", "UNIT_DIR", "WAIT_HTTP",
    "ClusterNode", "ServiceFiles", "container_unit", "gpu_request", "hf_container_args", "local_url",
    "secret_values", "stop_grace"
]

CONFIG_DIR = "/etc/reasoning-stack"
UNIT_DIR = "/etc/systemd/system"
HELPER_DIR = "/usr/local/libexec/reasoning-stack"
WAIT_HTTP = f"{HELPER_DIR}/wait-http"
SMOKE_TEST = f"{HELPER_DIR}/smoke-test"
HEALTH_PATH = "/health"  # an OpenAI-compatible server's health and readiness (the model listed) paths
READY_PATH = "/v1/models"


@dataclass(frozen=True)
class ServiceFiles:
    """One systemd service: its unit name, unit text, env-file path and text, container and URLs."""

    unit: str
    unit_text: str
    env_path: str
    env_text: str
    container: str
    image: str
    health_url: str
    ready_url: str
    secret_path: str = ""  # a second 0600 file the service reads (SGLang: its --config with the API key)
    secret_text: str = ""
    api_base: str = ""  # where its API answers, when its health URL does not end in /health or /api/version

    @property
    def unit_path(self) -> str:
        return f"{UNIT_DIR}/{self.unit}.service"

    @property
    def base_url(self) -> str:
        """Where the service's API answers (its OpenAI-compatible /v1 sits below)."""
        if self.api_base:
            return self.api_base
        for suffix in ("/api/version", "/health"):
            if self.health_url.endswith(suffix):
                return self.health_url.removesuffix(suffix)
        return self.health_url


def local_url(listen: str, port: int) -> str:
    """The URL to reach a service on the host itself."""
    address = "127.0.0.1" if listen in ("0.0.0.0", "127.0.0.1") else listen
    if listen == "::":
        address = "::1"
    if ":" in address:
        address = f"[{address}]"
    return f"http://{address}:{port}"


def gpu_request(plan: ServingPlan, host_gpu_count: int) -> str:
    """The ``docker run --gpus`` value for the GPUs the plan assigns (``host_gpu_count``: every GPU of the
    host, also those ``gpu_indices`` keeps for other work)."""
    wanted = plan.gpus_used
    if not wanted or len(wanted) == host_gpu_count and wanted == list(range(host_gpu_count)):
        return "all"
    return '"device=' + ",".join(str(i) for i in wanted) + '"'


def hf_container_args(settings: Any, instance: Instance, host_gpu_count: int, env_path: str) -> list[str]:
    """``docker run`` options of a model server on Hugging Face weights: host network and IPC, the plan's GPUs,
    its env file and the host's Hugging Face cache; a folder model, read-only at the same path."""
    folder = [] if not instance.plan.model_repo.startswith("/") else [
        "--volume", f"{instance.plan.model_repo}:{instance.plan.model_repo}:ro"]
    return [
        "--network", "host",
        "--ipc", "host",
        "--gpus", gpu_request(instance.plan, host_gpu_count),
        "--env-file", env_path,
        "--volume", f"{settings.data_dir}/huggingface:/root/.cache/huggingface",
        *folder,
        "--label", "managed-by=reasoning-stack",
    ]


def stop_grace(plan: ServingPlan) -> int:
    """Seconds a model server gets to stop: a large model needs time to release its GPUs cleanly."""
    return 120 if plan.weights_gib_per_gpu * plan.tensor_parallel_size > 40 else 60


def secret_values(settings: Any) -> tuple[str, str]:
    """(Hugging Face token, API key) of the host, '' where unset: what a model server's env file holds."""
    return (settings.hf_token.get_secret_value() if settings.hf_token else "",
            settings.api_key.get_secret_value() if settings.api_key else "")


def container_unit(title: str, instance: Instance, image: str, docker_args: list[str], args: list[str],
                   grace: int) -> str:
    """The unit text of an instance whose engine runs in one container on this host (the model-server template)."""
    return render("model-server.service.j2", title=title, plan=instance.plan,
                  served_model_name=instance.served_model_name, container=instance.container, image=image,
                  docker_args=docker_args, args=args, stop_grace=grace, unit_name=instance.unit, after_units=[],
                  part_of=[])
