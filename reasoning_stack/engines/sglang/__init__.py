"""SGLang beside vLLM: RadixAttention shares the KV cache of common prompt prefixes. Its memory model
(``memory``), command line (``command``), the flags of its pinned release (``flags``, generated) and its service;
one host, GPUs of its own (it sizes its memory from what is free when it starts)."""

from __future__ import annotations

import difflib
from typing import Any

from reasoning_stack.arch import X86_64, check_image
from reasoning_stack.catalogue import ModelSpec
from reasoning_stack.cuda import GpuBudget
from reasoning_stack.engines.base import LayoutEngine, Uses
from reasoning_stack.engines.sglang import memory as sglang_memory
from reasoning_stack.engines.sglang.command import REASONING_PARSERS, command
from reasoning_stack.engines.sglang.flags import SGLANG_FLAGS, SGLANG_OWNED_FLAGS, SGLANG_VERSION
from reasoning_stack.engines.sglang.output import SglangOutput
from reasoning_stack.engines.sglang.service import sglang_service
from reasoning_stack.engines.sglang.settings import DEFAULT_IMAGE, SglangSettings
from reasoning_stack.gpus import Gpu
from reasoning_stack.planning.types import Instance, PlanRequest, ServingPlan
from reasoning_stack.service_files import ServiceFiles
from reasoning_stack.topology import ClusterNode

IMAGE_VERSION = SGLANG_VERSION
IMAGE = DEFAULT_IMAGE  # pinned once, in settings.py
# SGLang's pinned tag is not known to have an arm64 build with sm_121 kernels.
PINNED_ARCHES = {IMAGE: (X86_64,)}
MIN_DRIVER_BRANCH = 580
DEFAULT_PORT = 30000


class Sglang(LayoutEngine):
    """SGLang's OpenAI-compatible server (``sglang.launch_server``) in the pinned image."""

    name = "sglang"
    title = "SGLang"
    server_sampling = False
    sampling_source = "applies the model's generation_config.json"
    extra_args_setting = "sglang_extra_args"
    settings_group = SglangSettings
    max_seqs_flag = "--max-running-requests"
    memory = sglang_memory

    def model_problem(self, model: ModelSpec, quant: str | None = None) -> str | None:
        """What SGLang's planned memory rule does not cover: sliding-window, linear-attention and compressed
        (DeepSeek V4) layers (its own pools for them are not modelled here), MXFP4/NVFP4 weights, and reasoning
        parsers it lacks."""
        if model.sliding_layers or model.linear_layers or model.compressed:
            kind = ("DeepSeek V4's compressed attention" if model.compressed else "sliding-window"
                    if model.sliding_layers else "linear-attention (Gated DeltaNet)")
            return (f"{model.name}: the stack plans SGLang's memory for full-attention and MLA layers only, not "
                    f"{kind} layers; serve it with engine 'vllm', which plans each layer kind")
        if quant in ("mxfp4", "nvfp4"):
            return f"{model.name} {quant}: not planned for SGLang; serve it with engine 'vllm'"
        if model.reasoning_parser not in REASONING_PARSERS:
            return (f"{model.name}: no SGLang reasoning parser is mapped for vLLM's {model.reasoning_parser!r}; serve "
                    "it with engine 'vllm'")
        return None

    def images(self, settings: Any) -> list[str]:
        return [settings.sglang_image]

    def for_arch(self, settings: Any, arch: str) -> dict[str, object]:
        check_image("sglang_image", settings.sglang_image, arch, PINNED_ARCHES.get(settings.sglang_image),
                    "on aarch64 hosts use engine 'vllm' or 'ollama', or set sglang_image to an SGLang image built "
                    "for aarch64 with kernels for the GPU")
        return {}

    def check_settings(self, settings: Any, uses: Uses) -> None:
        """What SGLang instances cannot do beyond their capabilities: old drivers, flags the stack owns or the
        pinned SGLang lacks."""
        if not uses.any:
            if settings.sglang_extra_args:
                raise ValueError("sglang_extra_args: no instance of this host runs SGLang (engine 'sglang')")
            return
        branch = settings.nvidia_driver_branch
        if branch is not None and branch < MIN_DRIVER_BRANCH:
            raise ValueError(f"nvidia_driver_branch {branch}: {settings.sglang_image} is built on CUDA 13, which "
                             f"needs branch {MIN_DRIVER_BRANCH} or newer; unset it or pin {MIN_DRIVER_BRANCH}")
        for arg in settings.sglang_extra_args:
            if arg.startswith("-") and not arg.startswith("--"):
                raise ValueError(f"sglang_extra_args: {arg!r}: use the full --flag-name, short flags are not accepted")
            if not arg.startswith("--"):
                continue
            flag = arg.split("=", 1)[0].replace("_", "-")
            if flag in SGLANG_OWNED_FLAGS:
                raise ValueError(f"sglang_extra_args: {flag} is set by the stack; use {SGLANG_OWNED_FLAGS[flag]} "
                                 "instead")
            if settings.sglang_image.endswith(f":v{SGLANG_VERSION}-cu130") and flag not in SGLANG_FLAGS:
                close = difflib.get_close_matches(flag, sorted(SGLANG_FLAGS), n=1, cutoff=0.7)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ValueError(f"sglang_extra_args: {flag!r} is not a flag of `sglang.launch_server` in SGLang "
                                 f"{SGLANG_VERSION} (the pinned image); {hint}see its --help")

    # --- planning: the layout search with SGLang's memory model ------------------------------------------
    def finish(self, plan: ServingPlan, model: ModelSpec, req: PlanRequest, gpu: Gpu, eager: bool,
               seqs: int | None) -> None:
        fraction = sglang_memory.mem_fraction_static(model, gpu, plan.tensor_parallel_size,
                                                     plan.pipeline_parallel_size, eager, seqs)
        plan.gpu_memory_utilization = fraction
        plan.output = SglangOutput(fraction)
        plan.reasoning_parser = REASONING_PARSERS[model.reasoning_parser]
        plan.cuda_graph_gib_per_gpu = 0.0  # inside SGLang's reserve
        plan.command = ["python3", *command(plan, model, req)]

    def budget_words(self, model: ModelSpec, gpu: Gpu, tp: int, req: PlanRequest, eager: bool,
                     budget: GpuBudget) -> str:
        fraction = sglang_memory.mem_fraction_static(model, gpu, tp, req.nodes, eager)
        return (f"weights take {budget.weights:.1f} GiB per GPU of the {budget.requested:.1f} GiB SGLang keeps for "
                f"weights and KV cache (mem_fraction_static {fraction}, its own rule), leaving "
                f"{max(0.0, budget.kv_gib):.1f} GiB = {budget.tokens} tokens of KV cache "
                f"({budget.kv_per_token // 1024} KiB per token per GPU)")

    def headroom_words(self, model: ModelSpec, gpu: Gpu, tp: int, req: PlanRequest, eager: bool,
                       budget: GpuBudget) -> str:
        return (f"the KV cache would fit, but beside the {budget.requested:.1f} GiB SGLang keeps only "
                f"{budget.headroom:.2f} GiB remain for CUDA context, NCCL and its reserve, which need "
                f"{budget.headroom_needed:.2f} GiB")

    def higher_utilization(self, req: PlanRequest, model: ModelSpec) -> str | None:
        return None  # SGLang's own rule sets its share of the memory

    def describe(self, plan: ServingPlan) -> list[str]:
        assert isinstance(plan.output, SglangOutput)
        return [f"  SGLang: mem_fraction_static {plan.output.mem_fraction_static:g} (its own rule) keeps weights "
                f"{plan.weights_gib_per_gpu:.1f} GiB/GPU + KV cache {plan.kv_cache_gib_per_gpu:.1f} GiB/GPU = "
                f"{plan.kv_cache_tokens} tokens; {plan.reserve_gib_per_gpu:.1f} GiB/GPU left for activations "
                f"and CUDA graphs; {plan.max_concurrent_full_context:.1f} full-context requests at once"]

    # --- serving -------------------------------------------------------------------------------------------
    def service(self, settings: Any, instance: Instance, host_gpu_count: int,
                node: ClusterNode | None = None) -> ServiceFiles:
        return sglang_service(settings, instance, host_gpu_count)


ENGINE = Sglang()
