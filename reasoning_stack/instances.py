"""Several vLLM instances on one host (the primary model plus ``extra_models``): who gets which GPUs.

Instances are planned together: first each model on GPUs of its own (as even a share as the count allows,
the spare GPUs going to the first instances that can use them), and only if that does not fit, all of
them sharing every GPU with ``gpu_memory_utilization`` split between them (each instance's CUDA context and
graphs then need room beside all the budgets). Either way no GPU is left idle when a layout can use it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import combinations

from reasoning_stack.gpus import Gpu
from reasoning_stack.memory import default_utilization
from reasoning_stack.plan import PlanRequest, ServingPlan, make_plan, request_from_settings
from reasoning_stack.settings import ExtraModel, StackSettings

PRIMARY_UNIT = "reasoning-vllm"
UNIT_PREFIX = "reasoning-"  # every engine's units: reasoning-<engine>[-<name>]


def unit_name(engine: str, name: str = "") -> str:
    """The systemd unit of an instance: ``reasoning-<engine>`` for the primary model, ``-<name>`` for extras.
    The engine is in the name, so switching an instance's engine retires the old unit."""
    return f"{UNIT_PREFIX}{engine}" + (f"-{name}" if name else "")


@dataclass(frozen=True)
class Instance:
    """One serving instance of a host (an engine's server) and its plan."""

    name: str  # "" for the primary model
    plan: ServingPlan
    port: int
    served_model_name: str

    @property
    def engine(self) -> str:
        return self.plan.engine

    @property
    def unit(self) -> str:
        return unit_name(self.engine, self.name)

    @property
    def container(self) -> str:
        return self.engine if not self.name else f"{self.engine}-{self.name}"


@dataclass(frozen=True)
class HostPlan:
    """Every instance of a host, or why they cannot run together."""

    fits: bool
    reason: str
    instances: tuple[Instance, ...] = ()
    layout: str = "single"  # single | split (own GPUs each) | shared (all GPUs shared)


def _extra_request(base: PlanRequest, extra: ExtraModel, extra_args: list[str]) -> PlanRequest:
    return replace(base, model=extra.model, quantization=extra.quantization, max_model_len=extra.max_model_len,
                   kv_cache_dtype=extra.kv_cache_dtype, served_model_name=extra.served_model_name,
                   port=extra.port, tensor_parallel_size=None, engine=extra.engine,
                   extra_args=tuple(extra_args))


def _requests(settings: StackSettings, gpus: list[Gpu], nodes: int = 1,
              wired_limit_mib: int = 0) -> list[tuple[str, PlanRequest]]:
    base = replace(request_from_settings(settings, gpus, nodes), wired_limit_mib=wired_limit_mib)
    return [("", base)] + [(e.name, _extra_request(base, e, settings.extra_args_for(e.engine)))
                           for e in settings.extra_models]


def _instances(named: list[tuple[str, PlanRequest]], plans: list[ServingPlan]) -> tuple[Instance, ...]:
    return tuple(
        Instance(name, plan, req.port,
                 plan.model_repo if plan.engine in ("ollama", "mlx") else req.served_model_name or plan.model)
        for (name, req), plan in zip(named, plans, strict=True)
    )


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
    if any(req.engine != "vllm" for _n, req in named):
        attempts.append("sharing the GPUs: only vLLM instances share GPUs (SGLang sizes its memory from what is free "
                        "when it starts)")
        return HostPlan(False, f"the {count} models do not fit {len(gpus)}x {gpus[0].name if gpus else 'GPU'} "
                        "together: " + " | ".join(attempts) + "; drop an extra model, pick smaller ones or shorter "
                        "contexts")
    util = round((settings.gpu_memory_utilization or default_utilization(gpus)) / count, 3)
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
