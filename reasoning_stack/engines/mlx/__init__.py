"""MLX-LM on Apple Silicon Macs: the mlx-community quantizations and how a Mac's memory divides (``memory``), the
planner (``planner``); one model on one Mac, on loopback (its server has no API key), as a launchd job
(``service``)."""

from __future__ import annotations

from typing import Any

from reasoning_stack.catalogue import GPUS
from reasoning_stack.engines.base import Engine, Uses
from reasoning_stack.engines.mlx.memory import QUANTIZATIONS as MLX_FORMATS
from reasoning_stack.engines.mlx.planner import plan_mlx
from reasoning_stack.engines.mlx.service import mlx_job
from reasoning_stack.engines.mlx.settings import MlxSettings
from reasoning_stack.launchd import LaunchdJob
from reasoning_stack.planning.types import Instance, PlanRequest, ServingPlan

VERSION = "0.32.2"  # mlx-lm from PyPI, pinned; its server's flags are checked by tests/tools/mlx-argcheck
DEFAULT_PORT = 8080  # mlx_lm.server's own default
QUANTIZATIONS = tuple(MLX_FORMATS)  # the mlx-community formats, best first (memory.py)


class Mlx(Engine):
    """``mlx_lm.server`` from the pinned MLX-LM in a virtual environment on the Mac."""

    name = "mlx"
    settings_group = MlxSettings
    title = "MLX-LM"
    version = VERSION
    platform = "macos"
    apple_gpu = True
    takes_api_key = False
    gpu_layouts = False
    served_as_repo = True
    quantizations = QUANTIZATIONS

    def check_settings(self, settings: Any, uses: Uses) -> None:
        """MLX-LM serves one model on one Mac, on loopback (its server has no API key), from mlx-community weights;
        a Mac or an MLX format with another engine is refused."""
        mac = settings.gpu_profile is not None and GPUS[settings.gpu_profile].apple
        if not uses.primary:
            if mac:
                raise ValueError(f"gpu_profile {settings.gpu_profile!r} is an Apple Silicon Mac: set engine = 'mlx'")
            if settings.quantization.startswith("mlx-"):
                raise ValueError(f"quantization {settings.quantization!r} is an MLX format: engine 'mlx' only")
            return
        if settings.gpu_profile is not None and not mac:
            raise ValueError(f"engine 'mlx' serves on Apple Silicon Macs; gpu_profile {settings.gpu_profile!r} is an "
                             "NVIDIA GPU: use engine 'vllm', 'sglang' or 'ollama'")
        if settings.quantization not in ("auto", *QUANTIZATIONS):
            choices = ", ".join(repr(q) for q in ("auto", *QUANTIZATIONS[:-1])) + f" or {QUANTIZATIONS[-1]!r}"
            raise ValueError(f"quantization {settings.quantization!r}: engine 'mlx' loads mlx-community weights; use "
                             f"{choices}")
        if settings.extra_models or settings.cluster is not None:
            raise ValueError("engine 'mlx': MLX-LM serves one model on one Mac; remove extra_models and cluster")
        if settings.vllm_extra_args or settings.sglang_extra_args:
            raise ValueError("vllm_extra_args / sglang_extra_args: not used by engine 'mlx'; remove them")

    def plan(self, req: PlanRequest) -> ServingPlan:
        return plan_mlx(req)

    def describe(self, plan: ServingPlan) -> list[str]:
        return [f"  MLX-LM: {plan.model_repo} {plan.weights_gib_per_gpu:.1f} GiB, runtime "
                f"{plan.reserve_gib_per_gpu:.1f} GiB, KV cache (bf16) {plan.kv_cache_gib_per_gpu:.1f} GiB = "
                f"{plan.kv_cache_tokens} tokens: {plan.max_num_seqs} request(s) of {plan.max_model_len}, the rest "
                "kept as the prompt cache for reuse"]

    def launchd_job(self, settings: Any, instance: Instance, user: str) -> LaunchdJob:
        return mlx_job(settings, instance, user, VERSION)

    def status_image(self, settings: Any) -> str:
        return f"mlx-lm=={VERSION}"


ENGINE = Mlx()
