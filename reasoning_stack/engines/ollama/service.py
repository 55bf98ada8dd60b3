"""Ollama's service on a Linux host: ``ollama serve`` in the pinned Ollama image, its settings (context, parallel
slots, KV cache type, keep-alive) from the plan in the env file, its models under ``<data_dir>/ollama``. Health is
``/api/version``; ready when ``/api/tags`` lists the model's tag, which the pull helper fetches after start."""

from __future__ import annotations

from typing import Any

from reasoning_stack.engines.ollama.output import OllamaOutput
from reasoning_stack.planning.types import Instance
from reasoning_stack.service_files import (
    CONFIG_DIR,
    HELPER_DIR,
    ServiceFiles,
    container_unit,
    gpu_request,
    local_url,
)

OLLAMA_PULL = f"{HELPER_DIR}/ollama-pull"
HEALTH_PATH = "/api/version"  # Ollama's own API: up, and the tags it has (the model once pulled)
READY_PATH = "/api/tags"


def ollama_service(settings: Any, instance: Instance, host_gpu_count: int) -> ServiceFiles:
    """The unit and env file of one Ollama instance."""
    plan = instance.plan
    env_path = f"{CONFIG_DIR}/{instance.unit}.env"
    docker_args = [
        "--network", "host",
        "--gpus", gpu_request(plan, host_gpu_count),
        "--env-file", env_path,
        "--volume", f"{settings.data_dir}/ollama:/root/.ollama",
        "--label", "managed-by=reasoning-stack",
        "--entrypoint", "/usr/bin/ollama",
    ]
    unit_text = container_unit("Ollama", instance, settings.ollama_image, docker_args, plan.command[1:], 30)
    lines = [f"# Managed by reasoning-stack. Settings for {instance.unit} (from the serving plan); mode 0600."]
    assert isinstance(plan.output, OllamaOutput)
    lines += [f"{key}={value}" for key, value in sorted(plan.output.environment.items())]
    if settings.offline:
        lines.append("# offline: models are pre-staged under <data_dir>/ollama; nothing is pulled")
    base = local_url(settings.api_listen, instance.port)
    return ServiceFiles(instance.unit, unit_text, env_path, "\n".join(lines) + "\n", instance.container,
                        settings.ollama_image, f"{base}{HEALTH_PATH}", f"{base}{READY_PATH}")


def ollama_manifest(settings: Any, tag: str) -> str:
    """Where Ollama keeps a pulled tag's manifest on the host (present = the model is there)."""
    name, _, version = tag.partition(":")
    return f"{settings.data_dir}/ollama/models/manifests/registry.ollama.ai/library/{name}/{version or 'latest'}"
