"""SGLang's service on a Linux host: ``python3 -m sglang.launch_server`` in the pinned SGLang image. SGLang takes
its API key only as an option, so the key goes into a 0600 YAML file SGLang reads with ``--config`` (mounted
read-only), never onto the command line or into the unit."""

from __future__ import annotations

import json
from typing import Any

from reasoning_stack.planning.types import Instance
from reasoning_stack.render import render
from reasoning_stack.service_files import (
    CONFIG_DIR,
    HEALTH_PATH,
    READY_PATH,
    ServiceFiles,
    container_unit,
    hf_container_args,
    local_url,
    secret_values,
    stop_grace,
)

SECRET_MOUNT = "/etc/sglang/secrets.yaml"  # where an SGLang container reads its --config


def sglang_service(settings: Any, instance: Instance, host_gpu_count: int) -> ServiceFiles:
    """The unit, env file and 0600 config of one SGLang instance."""
    plan = instance.plan
    env_path = f"{CONFIG_DIR}/{instance.unit}.env"
    secret_path = f"{CONFIG_DIR}/{instance.unit}.yaml"
    hf_token, api_key = secret_values(settings)
    docker_args = [*hf_container_args(settings, instance, host_gpu_count, env_path), "--entrypoint", plan.command[0]]
    args = list(plan.command[1:])
    if api_key:
        docker_args += ["--volume", f"{secret_path}:{SECRET_MOUNT}:ro"]
        args += ["--config", SECRET_MOUNT]
    unit_text = container_unit("SGLang OpenAI API", instance, settings.sglang_image, docker_args, args,
                               stop_grace(plan))
    # VLLM_API_KEY in the env file is for the stack's own helpers (health wait, smoke test, status), which read
    # the key of every OpenAI API from there; SGLang itself ignores the variable.
    env_text = render("model-server.env.j2", unit_name=instance.unit, offline=settings.offline, hf_token=hf_token,
                      api_key=api_key)
    secret_text = (f"# Managed by reasoning-stack. SGLang options for {instance.unit} that are secrets; mode 0600.\n"
                   f"api-key: {json.dumps(api_key)}\n") if api_key else ""
    base = local_url(settings.api_listen, instance.port)
    return ServiceFiles(instance.unit, unit_text, env_path, env_text, instance.container, settings.sglang_image,
                        f"{base}{HEALTH_PATH}", f"{base}{READY_PATH}", secret_path if api_key else "", secret_text)
