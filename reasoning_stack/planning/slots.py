"""What the one-host engines that hold a whole context per request slot (Ollama, MLX-LM) plan alike: the context a
request asks for, the setting that asked for it, and the strongest model that fits."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from reasoning_stack.catalogue import ModelSpec
from reasoning_stack.planning.types import PlanRequest


def wanted_context(req: PlanRequest, model: ModelSpec) -> int:
    """The context each request slot must hold: max_model_len if set, else min_context (at most native)."""
    return req.max_model_len if req.max_model_len else min(req.min_context, model.native_context)


def context_setting(req: PlanRequest) -> str:
    """The setting that asked for that context, for messages (``max_model_len 32768``)."""
    return f"max_model_len {req.max_model_len}" if req.max_model_len else f"min_context {req.min_context}"


def strongest(models: Iterable[ModelSpec], fits: Callable[[ModelSpec], bool]) -> ModelSpec | None:
    """The strongest reasoning model of ``models`` that ``fits`` (model: auto), or None."""
    return next((m for m in sorted(models, key=lambda m: -m.strength) if fits(m)), None)
