"""Several vLLM instances on one host (the primary model plus ``extra_models``): who gets which GPUs.

Instances are planned together: first one model per GPU (or per equal share of the GPUs), and only if that
does not fit, all of them sharing every GPU with ``gpu_memory_utilization`` split between them (each
instance's CUDA context and graphs then need room beside all the budgets).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from reasoning_stack.gpus import Gpu
from reasoning_stack.plan import PlanRequest, ServingPlan, make_plan, request_from_settings
from reasoning_stack.settings import ExtraModel, StackSettings

PRIMARY_UNIT = "reasoning-vllm"


@dataclass(frozen=True)
class Instance:
    """One vLLM instance of a host and its plan."""

    name: str  # "" for the primary model
    plan: ServingPlan
    port: int
    served_model_name: str

    @property
    def unit(self) -> str:
        return PRIMARY_UNIT if not self.name else f"{PRIMARY_UNIT}-{self.name}"

    @property
    def container(self) -> str:
        return "vllm" if not self.name else f"vllm-{self.name}"


@dataclass(frozen=True)
class HostPlan:
    """Every instance of a host, or why they cannot run together."""

    fits: bool
    reason: str
    instances: tuple[Instance, ...] = ()
    layout: str = "single"  # single | split (own GPUs each) | shared (all GPUs shared)


def _extra_request(base: PlanRequest, extra: ExtraModel) -> PlanRequest:
    return replace(base, model=extra.model, quantization=extra.quantization, max_model_len=extra.max_model_len,
                   kv_cache_dtype=extra.kv_cache_dtype, served_model_name=extra.served_model_name,
                   port=extra.port, tensor_parallel_size=None)


def _requests(settings: StackSettings, gpus: list[Gpu]) -> list[tuple[str, PlanRequest]]:
    base = request_from_settings(settings, gpus)
    return [("", base)] + [(e.name, _extra_request(base, e)) for e in settings.extra_models]


def _instances(named: list[tuple[str, PlanRequest]], plans: list[ServingPlan]) -> tuple[Instance, ...]:
    return tuple(
        Instance(name, plan, req.port, req.served_model_name or plan.model)
        for (name, req), plan in zip(named, plans, strict=True)
    )


def plan_host(settings: StackSettings, gpus: list[Gpu]) -> HostPlan:
    """Plan the primary model and every extra model of a host together."""
    named = _requests(settings, gpus)
    if len(named) == 1:
        plan = make_plan(named[0][1])
        if not plan.fits:
            return HostPlan(False, plan.reason + _tips(plan))
        return HostPlan(True, plan.reason, _instances(named, [plan]))

    count = len(named)
    attempts: list[str] = []
    if len(gpus) >= count:
        share = len(gpus) // count
        split = [replace(req, gpus=tuple(gpus[i * share:(i + 1) * share])) for i, (_n, req) in enumerate(named)]
        plans = [make_plan(req) for req in split]
        if all(p.fits for p in plans):
            return HostPlan(True, f"{count} models, {share} GPU(s) each", _instances(named, plans), "split")
        attempts.append("one per GPU: " + "; ".join(_label(n, p) for (n, _r), p in zip(named, plans, strict=True)
                                                    if not p.fits))
    util = round(settings.gpu_memory_utilization / count, 3)
    shared = [replace(req, gpu_memory_utilization=util, colocated=count) for _n, req in named]
    plans = [make_plan(req) for req in shared]
    if all(p.fits for p in plans):
        return HostPlan(True, f"{count} models sharing {len(gpus)} GPU(s), gpu_memory_utilization {util} each",
                        _instances(named, plans), "shared")
    attempts.append(f"sharing the GPUs at gpu_memory_utilization {util} each: "
                    + "; ".join(_label(n, p) for (n, _r), p in zip(named, plans, strict=True) if not p.fits))
    return HostPlan(False, f"the {count} models do not fit {len(gpus)}x {gpus[0].name if gpus else 'GPU'} together: "
                    + " | ".join(attempts) + "; drop an extra model, pick smaller ones or shorter contexts")


def _label(name: str, plan: ServingPlan) -> str:
    return f"{name or 'primary'} ({plan.model or '?'}): {plan.reason}"


def _tips(plan: ServingPlan) -> str:
    return "".join(f"\n  - instead: {tip}" for tip in plan.suggestions)
