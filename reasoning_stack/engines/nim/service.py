"""NIM's service on a Linux host: the model-free NIM image in a systemd unit, told by its env file which model to
serve (``NIM_MODEL_PATH``), under which name and on which port; the planned vLLM flags follow the image as its
arguments (NIM passes vLLM's own flag names to its vLLM). NIM downloads the weights itself into its cache
(``<data_dir>/nim``, at ``/opt/nim/.cache``). NIM takes no API key the stack relies on, so its server stays on
loopback and its env file holds no key; the NGC API key is not in it either (the deploy's registry login reads it
from a 0600 file of its own)."""

from __future__ import annotations

from typing import Any

from reasoning_stack.engines.nim.output import NimOutput
from reasoning_stack.planning.types import Instance
from reasoning_stack.render import env_quote
from reasoning_stack.service_files import (
    CONFIG_DIR,
    READY_PATH,
    ServiceFiles,
    container_unit,
    gpu_request,
    local_url,
    secret_values,
    stop_grace,
)

CACHE_MOUNT = "/opt/nim/.cache"  # NIM_CACHE_PATH's default inside the image
HEALTH_PATH = "/v1/health/ready"  # answers 200 only once the engine has loaded the model
METRICS_PATH = "/v1/metrics"


def cache_dir(settings: Any) -> str:
    """Where NIM keeps what it downloads on the host."""
    return f"{settings.data_dir}/nim"


def nim_environment(settings: Any, instance: Instance) -> dict[str, str]:
    """The variables NIM reads: the model, its served name, the port, the profile asked for, the cache."""
    plan = instance.plan
    assert isinstance(plan.output, NimOutput)
    env = {"NIM_MODEL_PATH": plan.output.model_path, "NIM_SERVED_MODEL_NAME": instance.served_model_name,
           "NIM_SERVER_PORT": str(instance.port), "NIM_CACHE_PATH": CACHE_MOUNT}
    if settings.nim_model_profile:
        env["NIM_MODEL_PROFILE"] = settings.nim_model_profile
    return env


def nim_service(settings: Any, instance: Instance, host_gpu_count: int) -> ServiceFiles:
    """The unit and env file of one NIM instance."""
    plan = instance.plan
    env_path = f"{CONFIG_DIR}/{instance.unit}.env"
    folder = [] if not plan.model_repo.startswith("/") else [
        "--volume", f"{plan.model_repo}:{plan.model_repo}:ro"]
    docker_args = [
        "--network", "host",
        "--ipc", "host",
        "--gpus", gpu_request(plan, host_gpu_count),
        "--user", "root",  # the cache folder is root's, as the stack's other data
        "--env-file", env_path,
        "--volume", f"{cache_dir(settings)}:{CACHE_MOUNT}",
        *folder,
        "--label", "managed-by=reasoning-stack",
    ]
    unit_text = container_unit("NVIDIA NIM", instance, settings.nim_image, docker_args, plan.command[1:],
                               stop_grace(plan))
    hf_token, _api_key = secret_values(settings)
    lines = [f"# Managed by reasoning-stack. Settings for {instance.unit}; mode 0600, read by docker --env-file."]
    lines += [f"{key}={env_quote(value)}" for key, value in nim_environment(settings, instance).items()]
    if hf_token:
        lines.append(f"HF_TOKEN={env_quote(hf_token)}")
    base = local_url(settings.api_listen, instance.port)
    return ServiceFiles(instance.unit, unit_text, env_path, "\n".join(lines) + "\n", instance.container,
                        settings.nim_image, f"{base}{HEALTH_PATH}", f"{base}{READY_PATH}", api_base=base)
