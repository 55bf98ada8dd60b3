"""Several serving instances on one host (the primary model plus ``extra_models``): who gets which GPUs.

Instances are planned together: first each model on GPUs of its own (as even a share as the count allows,
the spare GPUs going to the first instances that can use them), and only if that does not fit, all of
them sharing every GPU with ``gpu_memory_utilization`` split between them (each instance's CUDA context and
graphs then need room beside all the budgets). Either way no GPU is left idle when a layout can use it.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations

from reasoning_stack import engines
from reasoning_stack.catalogue import served_name
from reasoning_stack.gpus import Gpu
from reasoning_stack.plan import make_plan, request_from_settings
from reasoning_stack.planning.types import UNIT_PREFIX, HostPlan, Instance, PlanRequest, ServingPlan, unit_name
from reasoning_stack.settings import ExtraModel, StackSettings

__all__ = ["UNIT_PREFIX", "HostPlan", "Instance", "plan_host", "unit_name"]



def _extra_request(base: PlanRequest, extra: ExtraModel, extra_args: list[str]) -> PlanRequest:
    return replace(base, model=extra.model, quantization=extra.quantization, max_model_len=extra.max_model_len,
                   kv_cache_dtype=extra.kv_cache_dtype, served_model_name=extra.served_model_name,
                   port=extra.port, tensor_parallel_size=None, engine=extra.engine,
                   extra_args=tuple(extra_args), speculative_tokens=0)  # the primary model's setting only


def _requests(settings: StackSettings, gpus: list[Gpu], nodes: int = 1,
              wired_limit_mib: int = 0) -> list[tuple[str, PlanRequest]]:
    base = replace(request_from_settings(settings, gpus, nodes), wired_limit_mib=wired_limit_mib)
    return [("", base)] + [(e.name, _extra_request(base, e, settings.extra_args_for(e.engine)))
                           for e in settings.extra_models]


def _instances(named: list[tuple[str, PlanRequest]], plans: list[ServingPlan]) -> tuple[Instance, ...]:
    return tuple(
        Instance(name, plan, req.port,
                 plan.model_repo if _served_as_repo(plan) else served_name(plan.model, req.served_model_name))
        for (name, req), plan in zip(named, plans, strict=True)
    )


def _served_as_repo(plan: ServingPlan) -> bool:
    """Whether the plan's engine serves under the plan's repository or tag (a refused plan keeps its name)."""
    return plan.engine in engines.names() and engines.get(plan.engine).served_as_repo


def plan_host(settings: StackSettings, gpus: list[Gpu], nodes: int = 1, wired_limit_mib: int = 0) -> HostPlan:
    """Plan the primary model and every extra model of a host together (``nodes``: the size of the host's
    cluster; a cluster serves its one model across them; ``wired_limit_mib``: a Mac's raised GPU limit)."""
    named = _requests(settings, gpus, nodes, wired_limit_mib)
    if len(named) == 1:
        plan = make_plan(named[0][1])
        if not plan.fits:
            return HostPlan(False, plan.reason + _tips(plan))
        return HostPlan(True, plan.reason, _instances(named, [plan]))

    count = len(named)
    attempts: list[str] = []
    plans: list[ServingPlan] = []
    for sizes in _shares(len(gpus), count):
        starts = [sum(sizes[:i]) for i in range(count)]
        split = [replace(req, gpus=tuple(gpus[start:start + size]))
                 for (_n, req), start, size in zip(named, starts, sizes, strict=True)]
        plans = [make_plan(req) for req in split]
        if all(p.fits for p in plans):
            shares = "+".join(str(n) for n in sizes)
            return HostPlan(True, f"{count} models on GPUs of their own ({shares})", _instances(named, plans),
                            "split")
    if plans:
        attempts.append("GPUs of their own: " + "; ".join(
            _label(n, p) for (n, _r), p in zip(named, plans, strict=True) if not p.fits))
    if not all(engines.shares_gpus(req.engine) for _n, req in named):
        attempts.append("sharing the GPUs: only vLLM instances share GPUs (SGLang sizes its memory from what is free "
                        "when it starts)")
        return HostPlan(False, f"the {count} models do not fit {len(gpus)}x {gpus[0].name if gpus else 'GPU'} "
                        "together: " + " | ".join(attempts) + "; drop an extra model, pick smaller ones or shorter "
                        "contexts")
    util = round(named[0][1].gpu_memory_utilization / count, 3)  # the primary's share (its release's default)
    shared = [replace(req, gpu_memory_utilization=util, colocated=count) for _n, req in named]
    plans = [make_plan(req) for req in shared]
    if all(p.fits for p in plans):
        return HostPlan(True, f"{count} models sharing {len(gpus)} GPU(s), gpu_memory_utilization {util} each",
                        _instances(named, plans), "shared")
    attempts.append(f"sharing the GPUs at gpu_memory_utilization {util} each: "
                    + "; ".join(_label(n, p) for (n, _r), p in zip(named, plans, strict=True) if not p.fits))
    return HostPlan(False, f"the {count} models do not fit {len(gpus)}x {gpus[0].name if gpus else 'GPU'} together: "
                    + " | ".join(attempts) + "; drop an extra model, pick smaller ones or shorter contexts")


def _shares(gpus: int, count: int) -> list[list[int]]:
    """Ways to give ``count`` instances GPUs of their own using every GPU: as even as possible, the spare
    GPUs to the earlier instances first (the primary model before the extras)."""
    if gpus < count:
        return []
    base, spare = divmod(gpus, count)
    return [[base + (1 if i in extra else 0) for i in range(count)] for extra in combinations(range(count), spare)]


def _label(name: str, plan: ServingPlan) -> str:
    return f"{name or 'primary'} ({plan.model or '?'}): {plan.reason}"


def _tips(plan: ServingPlan) -> str:
    return "".join(f"\n  - instead: {tip}" for tip in plan.suggestions)
