"""The serving planner's front door: a host's settings -> the planner's request -> the plan of its engine.

Each engine plans with its own memory model (``reasoning_stack.engines``); vLLM and SGLang share the layout search
on NVIDIA GPUs (``reasoning_stack.planning.gpu_search``). This module makes the request from the settings, hands
it to the engine and shows the result as a row of the ``reasoning-stack plan`` table.
"""

from __future__ import annotations

from reasoning_stack import engines
from reasoning_stack.gpus import Gpu
from reasoning_stack.models import planned_name
from reasoning_stack.planning.types import PlanRequest, ServingPlan, indices_text
from reasoning_stack.settings import StackSettings

__all__ = ["SUMMARY_HEADER", "PlanRequest", "ServingPlan", "make_plan", "plan_summary_row", "request_from_settings"]


def make_plan(req: PlanRequest) -> ServingPlan:
    """Plan one model instance with the request's engine; the plan either fits or says why not and what would."""
    return engines.make_plan(req)


SUMMARY_HEADER = ["host", "engine", "model", "quant", "TPxPPxDP", "GPUs", "context", "KV tokens", "full-ctx reqs",
                  "tok/s", "fits"]


def plan_summary_row(host: str, plan: ServingPlan) -> list[str]:
    """One row of the ``reasoning-stack plan`` table (columns: SUMMARY_HEADER)."""
    if not plan.fits:
        return [host, plan.engine, plan.model or "-", "-", "-", "-", "-", "-", "-", "-", "NO"]
    total = len(plan.gpus_used) + len(plan.gpus_idle)
    gpus = f"{len(plan.gpus_used)}/{total}" + (f" ({indices_text(plan.gpus_used)})" if plan.gpus_idle else "")
    speed = "?" if plan.decode_tokens_per_s is None else f"~{plan.decode_tokens_per_s:.0f}"
    return [
        host, plan.engine, plan.model, plan.quantization, plan.layout.label, gpus,
        str(plan.max_model_len), str(plan.kv_cache_tokens), f"{plan.max_concurrent_full_context:.1f}", speed, "yes",
    ]


def request_from_settings(settings: StackSettings, gpus: list[Gpu], nodes: int = 1) -> PlanRequest:
    """The planner's request for a host (``nodes`` > 1: every node of its cluster, each with these GPUs)."""
    model, quantization = planned_name(settings.model_name(), settings.quantization)
    return PlanRequest(
        gpus=tuple(gpus),
        model=model,
        quantization=quantization,
        max_model_len=settings.max_model_len,
        min_context=settings.min_context,
        gpu_memory_utilization=settings.gpu_memory_utilization,
        kv_cache_dtype=settings.kv_cache_dtype,
        enforce_eager=settings.enforce_eager,
        tensor_parallel_size=settings.tensor_parallel_size,
        data_parallel_size=settings.data_parallel_size,
        nodes=nodes,
        cluster_backend=settings.cluster_backend,
        served_model_name=settings.served_model_name,
        listen=settings.api_listen,
        port=settings.api_port,
        enable_prefix_caching=settings.enable_prefix_caching,
        enable_chunked_prefill=settings.enable_chunked_prefill,
        extra_args=tuple(settings.extra_args_for(settings.engine)),
        engine=settings.engine,
        thinking_default=settings.thinking_default,
        sampling_overrides=tuple(sorted(settings.sampling_overrides.items())),
        max_num_seqs=settings.max_num_seqs,
        max_num_batched_tokens=settings.max_num_batched_tokens,
        speculative_tokens=settings.speculative_tokens,
        release=settings.vllm_version,
    )
