"""MLX-LM's launchd job on a Mac: ``mlx_lm.server`` from the pinned release, serving the planned instance as the
Mac's own account, offline (the deploy downloads the weights first)."""

from __future__ import annotations

from typing import Any

from reasoning_stack.launchd import LABEL_PREFIX, MLX_VENV, PATH, LaunchdJob, launchd_job
from reasoning_stack.planning.types import Instance
from reasoning_stack.service_files import local_url

MLX_LABEL = LABEL_PREFIX + "mlx"  # the launchd job the deploy loads and `status` reads


def mlx_job(settings: Any, instance: Instance, user: str, version: str) -> LaunchdJob:
    """MLX-LM's server for the planned instance, as ``user``."""
    plan = instance.plan
    args = [f"{MLX_VENV}/bin/mlx_lm.server", *plan.command[1:]]
    base = local_url(settings.api_listen, instance.port)
    environment = {"HF_HOME": f"{settings.data_dir}/huggingface", "HF_HUB_OFFLINE": "1", "HOME": settings.data_dir,
                   "PATH": PATH}
    return launchd_job(MLX_LABEL.removeprefix(LABEL_PREFIX), f"MLX-LM {version} serving {plan.model_repo}", args, user,
                       settings, environment, f"{base}/health", f"{base}/v1/models")
