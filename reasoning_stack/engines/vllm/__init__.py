"""vLLM, the default engine: its image pins, memory model (``memory``), command line (``command``), the flags of
its pinned release (``flags``, generated) and what ``check`` refuses of them (``checks``), and its service."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from reasoning_stack.arch import AARCH64, X86_64, check_image
from reasoning_stack.catalogue import ModelSpec
from reasoning_stack.cuda import GpuBudget
from reasoning_stack.driver import planned_branch
from reasoning_stack.engines.base import LayoutEngine, Uses
from reasoning_stack.engines.vllm import memory as vllm_memory
from reasoning_stack.engines.vllm.checks import check_release_flags
from reasoning_stack.engines.vllm.command import vllm_args
from reasoning_stack.engines.vllm.output import VllmOutput
from reasoning_stack.engines.vllm.releases import (
    DEFAULT_RELEASE,
    NO_BUDGET_PARSERS,
    RELEASES,
    VllmRelease,
    driver_problem,
    running_release,
)
from reasoning_stack.engines.vllm.service import vllm_service
from reasoning_stack.engines.vllm.settings import VllmSettings
from reasoning_stack.gpus import Gpu
from reasoning_stack.models.architectures import version_tuple
from reasoning_stack.planning import gpu_search
from reasoning_stack.planning.types import Instance, PlanRequest, ServingPlan
from reasoning_stack.service_files import ServiceFiles
from reasoning_stack.topology import ClusterNode


def _image_arches(release: VllmRelease) -> dict[str, tuple[str, ...]]:
    """A release's images and the machines each is built for: one multi-arch tag from 0.21; before, the plain tag
    was amd64 only and the arm64 build a tag of its own (0.17.1's -cu130)."""
    if release.image == release.image_arm64:
        return {release.image: (X86_64, AARCH64)}
    return {release.image: (X86_64,), release.image_arm64: (AARCH64,)}


PINNED_ARCHES = {image: arches for r in RELEASES.values() for image, arches in _image_arches(r).items()}
# How each later regime divides the memory, said under a plan's figures.
MEMORY_WORDS = {
    "cudagraph-profiled": "CUDA graphs counted inside vLLM's budget (0.20+); context and NCCL beside it",
    "free-memory": "everything but the KV cache counted inside vLLM's budget from the GPU's free memory (0.27+)",
    "extensible": "KV cache sized after warm-up from what is free, less a margin (0.34's extensible KV cache)",
}


class Vllm(LayoutEngine):
    """vLLM's OpenAI-compatible server (``vllm serve``) in the pinned image."""

    name = "vllm"
    title = "vLLM"
    shares_gpus = True
    multi_node = True
    extra_args_setting = "vllm_extra_args"
    release_setting = "vllm_version"
    settings_group = VllmSettings
    max_seqs_flag = "--max-num-seqs"
    mtp_drafts = True  # --speculative-config method mtp
    fp8_kv_by_model = True  # GLM-5 on Blackwell (0.32/0.34: models/config.py, the SM120 sparse MLA backend)
    metrics_path = "/metrics"  # on the API port, never behind the API key (vLLM's security docs)
    memory = vllm_memory

    def release_for(self, req: PlanRequest) -> str:
        """The vLLM release ``req`` is planned for (the vllm_version setting, or the default release)."""
        return req.release or DEFAULT_RELEASE

    def first_release(self, version: str) -> str | None:
        """The oldest supported release at or after ``version`` (what serves a model that needs ``version``)."""
        newer = [v for v in RELEASES if version_tuple(v) >= version_tuple(version)]
        return min(newer, key=version_tuple) if newer else None

    def images(self, settings: Any) -> list[str]:
        return [settings.vllm_image]

    def for_arch(self, settings: Any, arch: str) -> dict[str, object]:
        image, setting = (settings.vllm_image_arm64, "vllm_image_arm64") if arch == AARCH64 else (
            settings.vllm_image, "vllm_image")
        check_image(setting, image, arch, PINNED_ARCHES.get(image))
        return {"vllm_image": image} if arch == AARCH64 else {}

    def kept_from_last_deploy(self, data: Mapping[str, Any], manifest: Mapping[str, Any] | None) -> dict[str, str]:
        """The release the host runs, when its group_data names neither a release nor an image: a host deployed
        on 0.17.1 stays there when the stack's default moves, until its operator moves it."""
        if {"vllm_version", "vllm_image", "vllm_image_arm64"} & set(data):
            return {}
        running = running_release(manifest)
        return {"vllm_version": running} if running and running != DEFAULT_RELEASE else {}

    def thinking_budget_problem(self, settings: Any, model: ModelSpec | None = None) -> str | None:
        release = self.settings_release(settings)
        if release.thinking_token_budget:
            if model is not None and model.reasoning_parser in NO_BUDGET_PARSERS:
                return (f"its reasoning parser {model.reasoning_parser!r} gives vLLM no end of reasoning to force, "
                        "so vLLM refuses a request's thinking_token_budget (reasoning_effort grades it instead)")
            return None
        honours = min((v for v, r in RELEASES.items() if r.thinking_token_budget), key=version_tuple)
        return (f"vLLM {release.version} (vllm_version) ignores a request's thinking_token_budget; vLLM {honours} "
                f"and later cap the reasoning with it: set vllm_version = {DEFAULT_RELEASE!r}")

    def settings_release(self, settings: Any) -> VllmRelease:
        """The vLLM release ``settings`` run."""
        return RELEASES[settings.vllm_version]

    def check_settings(self, settings: Any, uses: Uses) -> None:
        check_release_flags(settings.vllm_version, settings.vllm_extra_args)
        if uses.any:
            release = RELEASES[settings.vllm_version]
            for key in settings.sampling_overrides:
                if key not in release.sampling_keys:
                    honours = min((v for v, r in RELEASES.items() if key in r.sampling_keys), key=version_tuple)
                    raise ValueError(f"sampling_overrides: {key!r} is not honoured by vLLM {release.version} "
                                     f"(vllm_version; it takes {', '.join(release.sampling_keys)}); vLLM {honours} "
                                     f"honours it: set vllm_version = {honours!r} or newer, or remove {key!r}")
            if settings.cluster is not None and settings.cluster_backend == "ray" and not release.ray_dependency:
                raise ValueError(f"cluster_backend: 'ray' needs Ray inside the vLLM image; vLLM {release.version} no "
                                 "longer depends on Ray (since 0.18) and its image is not known to carry it: use "
                                 "cluster_backend 'mp' (vLLM's own multi-node mode, no Ray) or vllm_version '0.17.1'")
            # the driver the host will have: the pinned branch, or Debian 12's own (its non-free package)
            branch = planned_branch(settings.nvidia_driver_branch, settings.nvidia_driver)
            problem = driver_problem(settings.vllm_image, branch)
            if problem:
                setting = "nvidia_driver_branch" if settings.nvidia_driver_branch else "nvidia_driver"
                raise ValueError(f"{setting}: branch {branch}: {problem}")

    # --- planning: the layout search with vLLM's memory model --------------------------------------------
    def memory_options(self, req: PlanRequest) -> dict[str, Any]:
        return {"max_num_batched_tokens": req.max_num_batched_tokens, "prefix_caching": req.enable_prefix_caching,
                "release": self.release_for(req)}

    def default_max_seqs(self, gpu: Gpu, req: PlanRequest) -> int:
        """The planned release's own default (a 160 GiB tier from 0.28, a GB10 on the small tier from 0.33)."""
        return vllm_memory.release_batch_defaults(gpu, req.max_num_batched_tokens,
                                                  RELEASES[self.release_for(req)])[1]

    def finish(self, plan: ServingPlan, model: ModelSpec, req: PlanRequest, gpu: Gpu, eager: bool,
               seqs: int | None) -> None:
        plan.cuda_graph_gib_per_gpu = vllm_memory.cuda_graph_gib(model, eager)
        release = RELEASES[self.release_for(req)]
        plan.output = VllmOutput(vllm_args(plan, model, req, release), release.version,
                                 model.drafter if req.speculative_tokens else "")
        plan.command = ["vllm", "serve", *plan.output.args]

    def budget_words(self, model: ModelSpec, gpu: Gpu, tp: int, req: PlanRequest, eager: bool,
                     budget: GpuBudget) -> str:
        others = "non-torch memory" if RELEASES[self.release_for(req)].memory == "profiled" else (
            "context, graphs and margins")
        return (
            f"weights take {budget.weights:.1f} GiB per GPU, vLLM's profiling pass {budget.activation:.1f} GiB and "
            f"{others} {budget.non_torch:.1f} GiB of the {budget.requested:.1f} GiB vLLM may use "
            f"(gpu_memory_utilization {req.gpu_memory_utilization:g}), leaving {max(0.0, budget.kv_gib):.1f} GiB = "
            f"{budget.tokens} tokens of KV cache ({budget.kv_per_token // 1024} KiB per token per GPU)"
        )

    def headroom_words(self, model: ModelSpec, gpu: Gpu, tp: int, req: PlanRequest, eager: bool,
                       budget: GpuBudget) -> str:
        safe = vllm_memory.max_safe_utilization(model, gpu, tp, req.nodes, eager, req.colocated,
                                                self.release_for(req))
        return (f"the KV cache would fit, but beside the {budget.requested:.1f} GiB vLLM may use "
                f"(gpu_memory_utilization {req.gpu_memory_utilization:g}) only {budget.headroom:.2f} GiB remain for "
                f"CUDA context, NCCL and CUDA graphs, which need {budget.headroom_needed:.2f} GiB; "
                f"gpu_memory_utilization {safe:g} or less leaves enough")

    def higher_utilization(self, req: PlanRequest, model: ModelSpec) -> str | None:
        """A higher gpu_memory_utilization with CUDA graphs off, when that leaves room and fits."""
        if req.enforce_eager is False or req.engine != self.name:
            return None
        gpu = gpu_search.smallest_gpu(req)
        layout = gpu_search.most_generous(req, model, next(iter(model.repos)))
        if layout is None:
            return None
        safe = min(0.98, vllm_memory.max_safe_utilization(model, gpu, layout.tp, req.nodes, True, req.colocated,
                                                          self.release_for(req)))
        if safe <= req.gpu_memory_utilization:
            return None
        found = gpu_search.try_model(self, replace(req, gpu_memory_utilization=safe, enforce_eager=True), model)
        if found is None:
            return None
        return (f"gpu_memory_utilization {safe:g} with enforce_eager true fits ({found.quantization}, "
                f"kv_cache_dtype {found.kv_cache_dtype}, layout {found.layout.label}): "
                "without CUDA graphs the context needs less room beside vLLM's budget")

    def describe(self, plan: ServingPlan) -> list[str]:
        release = RELEASES[getattr(plan.output, "release", "") or DEFAULT_RELEASE]
        said = plan.kv_pool.words() if plan.kv_pool else ""
        pool = [f"  {said}"] if said else []
        if release.memory != "profiled":
            return [
                f"  vLLM {release.version}: weights {plan.weights_gib_per_gpu:.1f} GiB/GPU, profiling peak, context, "
                f"graphs and margins {plan.reserve_gib_per_gpu:.1f} GiB/GPU, KV cache "
                f"{plan.kv_cache_gib_per_gpu:.1f} GiB/GPU = {plan.kv_cache_tokens} tokens, "
                f"{plan.max_concurrent_full_context:.1f} full-context requests at once",
                f"  {MEMORY_WORDS[release.memory]}" + ("; CUDA graphs off (--enforce-eager)" if plan.enforce_eager
                                                      else ""),
            ] + pool
        return [
            f"  weights {plan.weights_gib_per_gpu:.1f} GiB/GPU, profiling peak + non-torch "
            f"{plan.reserve_gib_per_gpu:.1f} GiB/GPU, KV cache {plan.kv_cache_gib_per_gpu:.1f} GiB/GPU = "
            f"{plan.kv_cache_tokens} tokens, {plan.max_concurrent_full_context:.1f} full-context requests at once",
            f"  beside vLLM's budget: {plan.headroom_gib_per_gpu:.2f} GiB/GPU for CUDA context, NCCL and "
            f"CUDA graphs (needs {plan.headroom_needed_gib_per_gpu:.2f})"
            + ("; CUDA graphs off (--enforce-eager)" if plan.enforce_eager else ""),
        ] + pool

    # --- serving -------------------------------------------------------------------------------------------
    def service(self, settings: Any, instance: Instance, host_gpu_count: int,
                node: ClusterNode | None = None) -> ServiceFiles:
        return vllm_service(settings, instance, host_gpu_count, node)


ENGINE = Vllm()
# Each release's own gpu_memory_utilization default where none is set (0.34: 1.0, the extensible KV cache).
PlanRequest.DEFAULT_UTILIZATION.update(
    {(ENGINE.name, version): release.default_utilization or 1.0 for version, release in RELEASES.items()})
PlanRequest.DEFAULT_UTILIZATION[ENGINE.name, ""] = PlanRequest.DEFAULT_UTILIZATION[ENGINE.name, DEFAULT_RELEASE]
