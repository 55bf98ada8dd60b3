"""Serving engines: one package each (``vllm``, ``sglang``, ``ollama``, ``mlx``, ``nim``) implementing
:class:`~reasoning_stack.engines.base.Engine`, and the registry that maps a setting's name to its engine.

The rest of the stack asks the registry (``get``, ``candidates``, ``make_plan``) and the engine it returns; it never
names an engine. ``auto`` is not an engine but a resolver (``engines/auto.py``). To add an engine: a package with an
``ENGINE``, registered here (or, from outside the package, with :func:`register`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reasoning_stack.engines import auto
from reasoning_stack.engines.base import Engine, RegistryLogin, Uses
from reasoning_stack.engines.mlx import ENGINE as MLX
from reasoning_stack.engines.nim import ENGINE as NIM
from reasoning_stack.engines.ollama import ENGINE as OLLAMA
from reasoning_stack.engines.sglang import ENGINE as SGLANG
from reasoning_stack.engines.vllm import ENGINE as VLLM
from reasoning_stack.gpus import Gpu
from reasoning_stack.models.quantization import FORMATS
from reasoning_stack.planning.types import PlanRequest, ServingPlan

__all__ = ["AUTO", "Engine", "Uses", "candidates", "default_for", "get", "make_plan", "names", "register",
           "registered", "registry_logins", "setting_values", "shares_gpus", "unregister", "uses"]

AUTO = auto.NAME
_REGISTRY: dict[str, Engine] = {}


def register(engine: Engine) -> Engine:
    """Make ``engine`` available under its name (a setting's value); returns it."""
    if not engine.name or engine.name == AUTO:
        raise ValueError(f"an engine needs a name other than {AUTO!r}")
    _REGISTRY[engine.name] = engine
    return engine


def unregister(name: str) -> None:
    """Remove an engine registered with :func:`register` (tests register engines of their own)."""
    _REGISTRY.pop(name, None)


for _builtin in (VLLM, SGLANG, OLLAMA, MLX, NIM):
    register(_builtin)


def names() -> tuple[str, ...]:
    """The registered engines' names, the default (vLLM) first."""
    return tuple(_REGISTRY)


def setting_values() -> tuple[str, ...]:
    """Every value the ``engine`` setting takes: each engine's name, and auto."""
    return (*names(), AUTO)


def quantization_values() -> tuple[str, ...]:
    """What the quantization setting takes: auto, the weights formats on NVIDIA GPUs (best first), then the
    formats of the engines' own."""
    return ("auto", *FORMATS, *(q for engine in registered() for q in engine.quantizations))


def registered() -> tuple[Engine, ...]:
    return tuple(_REGISTRY.values())


def get(name: str) -> Engine:
    """The engine named ``name``; a KeyError naming the valid ones otherwise (auto resolves per plan)."""
    if name not in _REGISTRY:
        raise KeyError(f"unknown engine {name!r}; valid: {', '.join(repr(n) for n in setting_values())}")
    return _REGISTRY[name]


def candidates(name: str) -> tuple[Engine, ...]:
    """The engines a setting's value may run: the engine itself, or those auto chooses between."""
    return auto.CANDIDATES if name == AUTO else (get(name),)


def shares_gpus(name: str) -> bool:
    """Whether instances of ``name`` may share GPUs with others (each engine auto may pick must)."""
    return all(e.shares_gpus for e in candidates(name))


def drafting_refusal(name: str) -> str | None:
    """Why engine setting ``name`` cannot draft with a model's MTP head (speculative_tokens): the first engine it
    may run that does not, in words; None when every one does."""
    unable = next((e for e in candidates(name) if not e.mtp_drafts), None)
    return f"{unable.title} (engine {name!r}) does not draft with the model's MTP head here" if unable else None


def default_for(gpus: Iterable[Gpu]) -> str:
    """The engine a what-if plan uses when none is named: the first that runs on these GPUs."""
    found = tuple(gpus)
    return next((e.name for e in registered() if found and e.runs_on(found)), VLLM.name)


def make_plan(req: PlanRequest) -> ServingPlan:
    """Plan one instance with its engine (auto: the engine it resolves to); the plan fits or says why not."""
    if req.engine == AUTO:
        return auto.plan(req)
    engine = get(req.engine)
    if req.gpus and not engine.runs_on(req.gpus) and not engine.apple_gpu:  # a Mac's engine says it itself
        other = next((e for e in registered() if e.runs_on(req.gpus)), None)
        served = f"; {req.gpus[0].name} is served by engine {other.name!r} ({other.title})" if other else ""
        return ServingPlan(fits=False, engine=req.engine, reason=f"engine {req.engine!r} needs NVIDIA GPUs{served}")
    plan = engine.plan(req)
    if not plan.fits and req.model != "auto":
        plan.suggestions[:0] = _other_engines(req, engine)  # the same model on the same GPUs comes first
    return plan


def _other_engines(req: PlanRequest, engine: Engine) -> list[str]:
    """Each other engine that fits the requested model on these GPUs, as a suggestion (its own formats, layout and
    slots: only the model, the GPUs and a wanted context carry over)."""
    found = []
    for other in registered():
        if other is engine or not other.offered_instead or not other.runs_on(req.gpus):
            continue
        plan = other.plan(req.for_engine(other.name, quantization="auto", tensor_parallel_size=None,
                                         data_parallel_size=None, max_num_seqs=None, max_num_batched_tokens=None))
        if plan.fits:
            found.append(f"engine {other.name!r} ({other.title}) fits it ({plan.quantization}, {plan.max_model_len} "
                         f"tokens): --engine {other.name}, or engine = {other.name!r} in group_data")
    return found


def uses(settings: Any) -> dict[str, Uses]:
    """How a host's settings use each registered engine (primary model and extra_models; auto uses both of the
    engines it chooses between)."""
    instances = [(True, settings.engine, settings.served_model_name)]
    instances += [(False, e.engine, e.served_model_name) for e in settings.extra_models]
    found = {engine.name: Uses(False, []) for engine in registered()}
    for primary, name, served in instances:
        for engine in candidates(name):
            found[engine.name].primary |= primary
            found[engine.name].served_names.append(served)
    return found


def registry_logins(settings: Any) -> list[RegistryLogin]:
    """The registry logins a host's Docker needs before its pulls: one per registry, from each engine its instances
    run (``Engine.registry_login``)."""
    used = uses(settings)
    found = [e.registry_login(settings) for e in registered() if used[e.name].any]
    return list({login.registry: login for login in found if login is not None}.values())
