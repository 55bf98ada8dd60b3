"""Ollama: 4-bit GGUF models from its library for small cards and quick starts. Its tags and memory
(``library``), its planner (context x parallel slots, ``planner``) and its service; no API key, so loopback only;
the model is pulled through the running server."""

from __future__ import annotations

from typing import Any

from reasoning_stack.arch import AARCH64, X86_64, check_image
from reasoning_stack.engines.base import Engine, Uses
from reasoning_stack.engines.ollama.library import TAGS
from reasoning_stack.engines.ollama.output import OllamaOutput
from reasoning_stack.engines.ollama.planner import plan_ollama
from reasoning_stack.engines.ollama.service import (
    HEALTH_PATH,
    OLLAMA_PULL,
    READY_PATH,
    ollama_manifest,
    ollama_service,
)
from reasoning_stack.engines.ollama.settings import DEFAULT_IMAGE, OllamaSettings
from reasoning_stack.planning.types import Instance, PlanRequest, ServingPlan
from reasoning_stack.service_files import ServiceFiles
from reasoning_stack.topology import ClusterNode

IMAGE = DEFAULT_IMAGE  # pinned once, in settings.py
PINNED_ARCHES = {IMAGE: (X86_64, AARCH64)}  # a multi-architecture image (linux/amd64 and linux/arm64)
DEFAULT_PORT = 11434


class Ollama(Engine):
    """``ollama serve`` in the pinned image, the planned model pulled from Ollama's library."""

    name = "ollama"
    title = "Ollama"
    openai_api = False
    health_path = HEALTH_PATH
    ready_path = READY_PATH
    takes_api_key = False
    server_sampling = False
    sampling_source = "takes sampling from the model's own Modelfile"
    thinking_off_per_request = False
    gpu_layouts = False
    served_as_repo = True
    startup = "pull"
    pull_helper = OLLAMA_PULL
    settings_group = OllamaSettings

    def images(self, settings: Any) -> list[str]:
        return [settings.ollama_image]

    def for_arch(self, settings: Any, arch: str) -> dict[str, object]:
        check_image("ollama_image", settings.ollama_image, arch, PINNED_ARCHES.get(settings.ollama_image))
        return {}

    def served_name(self, model: str, requested: str | None) -> str:
        return TAGS[model].tag if model in TAGS else requested or model

    def check_settings(self, settings: Any, uses: Uses) -> None:
        """An Ollama model is served under its library tag: no served_model_name."""
        if any(uses.served_names):
            raise ValueError("served_model_name: an Ollama model is served under its library tag "
                             "(deepseek-r1:7b); leave served_model_name unset for Ollama instances")

    def plan(self, req: PlanRequest) -> ServingPlan:
        return plan_ollama(req)

    def describe(self, plan: ServingPlan) -> list[str]:
        assert isinstance(plan.output, OllamaOutput)
        env = plan.output.environment
        return [f"  Ollama: {plan.model_repo} {plan.weights_gib_per_gpu:.1f} GiB/GPU, compute graph "
                f"{plan.reserve_gib_per_gpu:.1f} GiB/GPU, KV cache ({env['OLLAMA_KV_CACHE_TYPE']}) "
                f"{plan.kv_cache_tokens} tokens: {env['OLLAMA_NUM_PARALLEL']} slot(s) of {plan.max_model_len}"]

    def service(self, settings: Any, instance: Instance, host_gpu_count: int,
                node: ClusterNode | None = None) -> ServiceFiles:
        return ollama_service(settings, instance, host_gpu_count)

    def helpers(self) -> list[tuple[str, str]]:
        return [(OLLAMA_PULL, "ollama-pull.py.j2")]

    def data_dirs(self, settings: Any) -> list[tuple[str, str]]:
        return [("Ollama models", f"{settings.data_dir}/ollama")]

    def model_store(self, settings: Any, instance: Instance) -> str:
        return ollama_manifest(settings, instance.plan.model_repo)

    def webui_entry(self, model_name: str, plan: ServingPlan) -> tuple[str | None, dict[str, object]]:
        # A num_ctx Open WebUI sends to Ollama wins over the server's OLLAMA_CONTEXT_LENGTH (a person may set one
        # on the entry): the entry carries the planned context, so every chat sends it.
        return f"{model_name} (Ollama {plan.model_repo})", {"num_ctx": plan.max_model_len}


ENGINE = Ollama()
