"""What the chosen plan costs: the best few other choices for the same GPUs, so a person sees the trade.

Shown by ``reasoning-stack plan`` (and under ``alternatives`` in ``--json``): another layout of the same
model, an fp8 KV cache, fewer requests at once or (a model with sliding-window layers) a smaller batch, a stronger
model whatever its context, and the same model in a smaller weights format or a smaller model; the requests, the
batch, the format and the smaller model only when they serve much more context or many more requests at once. Each is a
plan the planner made, so it fits and its parallel sizes passed the same checks.
"""

from __future__ import annotations

from dataclasses import replace

from reasoning_stack import engines
from reasoning_stack.catalogue import MODELS, find_model
from reasoning_stack.planning.gpu_search import FEWER_SEQS, QUANT_PREFERENCE, GpuEngine, layout_plans, plan_model
from reasoning_stack.planning.types import PlanRequest, ServingPlan

MUCH_MORE = 2.0  # a smaller model is worth showing when it serves this many times the context or requests
SHORTEST_USEFUL_CONTEXT = 8192  # a stronger model below this context is no real choice for reasoning
# Each request's sliding-window layers hold their window plus every batched token in flight (twice the batch under
# vLLM 0.26+'s async scheduling): a model with many sliding layers serves far more context with a small batch.
SLIDING_MODEL_BATCH = 2048


def alternatives(req: PlanRequest, chosen: ServingPlan, limit: int = 4) -> list[dict[str, object]]:
    """Up to ``limit`` other choices for ``req``'s GPUs, each with what it gains and what it costs (none for an
    engine that plans no GPU layouts)."""
    if not chosen.fits or not engines.get(chosen.engine).gpu_layouts:
        return []
    engine: GpuEngine = engines.get(chosen.engine)  # type: ignore[assignment]
    found: list[tuple[str, ServingPlan]] = []
    others = sorted(layout_plans(engine, req, chosen), key=lambda p: -p.max_concurrent_full_context)
    found += [(f"layout {p.layout.label}", p) for p in others[:2]]
    pinned = replace(req, model=chosen.model, quantization=chosen.quantization,
                     tensor_parallel_size=chosen.tensor_parallel_size, data_parallel_size=chosen.data_parallel_size)
    if chosen.kv_cache_dtype == "auto" and req.kv_cache_dtype == "auto":
        fp8 = plan_model(engine, replace(pinned, kv_cache_dtype="fp8"), chosen.model)
        if fp8 is not None and fp8.kv_cache_tokens > chosen.kv_cache_tokens:
            found.append(("kv_cache_dtype fp8", fp8))
    if chosen.max_num_seqs is None and not req.max_num_seqs:  # vLLM's default sampler peak, kept while 16K fit
        fewer = plan_model(engine, replace(pinned, max_num_seqs=FEWER_SEQS[0]), chosen.model)
        if fewer is not None and fewer.max_model_len >= MUCH_MORE * chosen.max_model_len:
            found.append((f"max_num_seqs {FEWER_SEQS[0]}", fewer))
    if find_model(chosen.model).sliding_layers and req.max_num_batched_tokens is None:
        batch = plan_model(engine, replace(pinned, max_num_batched_tokens=SLIDING_MODEL_BATCH), chosen.model)
        if batch is not None and _much_more(batch, chosen):
            found.append((f"max_num_batched_tokens {SLIDING_MODEL_BATCH}", batch))
    smaller_weights = _smaller_format(engine, pinned, chosen)
    if smaller_weights is not None:
        found.append((f"quantization {smaller_weights.quantization}", smaller_weights))
    strength = find_model(chosen.model).strength
    free = replace(req, quantization="auto", kv_cache_dtype="auto", tensor_parallel_size=None,
                   data_parallel_size=None, max_model_len=None)
    stronger = _first_fit(engine, replace(free, min_context=SHORTEST_USEFUL_CONTEXT),
                          [m for m in _by_strength() if m.strength > strength])
    if stronger is not None:  # listed whatever its context: a stronger model may also be longer and faster
        found.append((f"model {stronger.model}", stronger))
    for model in _by_strength():
        if model.strength >= strength or not model.strength:  # an unranked model is not known to be the weaker
            continue
        smaller = plan_model(engine, free, model.slug)
        if smaller is not None and _much_more(smaller, chosen):
            found.append((f"model {smaller.model}", smaller))
            break
    return [_describe(change, plan, chosen) for change, plan in found[:limit]]


def _much_more(plan: ServingPlan, chosen: ServingPlan) -> bool:
    return (plan.max_model_len >= MUCH_MORE * chosen.max_model_len
            or plan.max_concurrent_full_context >= MUCH_MORE * max(chosen.max_concurrent_full_context, 0.1))


def _smaller_format(engine: GpuEngine, pinned: PlanRequest, chosen: ServingPlan) -> ServingPlan | None:
    """The same model in a smaller weights format of its own (the planner picks the best-quality format that
    fits the shortest useful context) when that serves much more context or many more requests."""
    formats = list(find_model(chosen.model).repos)
    later = [f for f in QUANT_PREFERENCE if f in formats and QUANT_PREFERENCE.index(f) >
             QUANT_PREFERENCE.index(chosen.quantization)] if chosen.quantization in QUANT_PREFERENCE else []
    free = replace(pinned, tensor_parallel_size=None, data_parallel_size=None, max_model_len=None)
    for fmt in later:
        plan = plan_model(engine, replace(free, quantization=fmt), chosen.model)
        if plan is not None and _much_more(plan, chosen):
            return plan
    return None


def _by_strength():
    return sorted(MODELS.values(), key=lambda m: -m.strength)


def _first_fit(engine: GpuEngine, req: PlanRequest, models) -> ServingPlan | None:
    for model in models:
        plan = plan_model(engine, req, model.slug)
        if plan is not None:
            return plan
    return None


def _describe(change: str, plan: ServingPlan, chosen: ServingPlan) -> dict[str, object]:
    speed = ""  # no bandwidth figure for the GPU: no speed to compare
    if plan.decode_tokens_per_s is not None and chosen.decode_tokens_per_s is not None:
        speed = (f", ~{plan.decode_tokens_per_s:.0f} tokens/s for one request "
                 f"(now ~{chosen.decode_tokens_per_s:.0f})")
    theirs, ours = find_model(plan.model).strength, find_model(chosen.model).strength
    quality = ("" if theirs == ours else "reasoning not ranked here (no AIME figure recorded); "
               if not theirs or not ours else "stronger reasoning; " if theirs > ours else "weaker reasoning; ")
    trade = (f"{quality}{plan.max_model_len} tokens of context (now {chosen.max_model_len}), "
             f"{plan.max_concurrent_full_context:.1f} full-context requests at once (now "
             f"{chosen.max_concurrent_full_context:.1f}){speed}")
    if plan.kv_cache_dtype == "fp8" and chosen.kv_cache_dtype != "fp8":
        trade += "; fp8 KV cache: attention reads 8-bit keys and values"
    if change.startswith("max_num_seqs"):
        trade += f"; at most {plan.max_num_seqs} requests decode at once"
    if change.startswith("max_num_batched_tokens"):
        trade += (f"; prompts are read {SLIDING_MODEL_BATCH} tokens a step, so a long prompt's first token comes "
                  "later")
    return {
        "change": change,
        "model": plan.model,
        "quantization": plan.quantization,
        "layout": plan.layout.label,
        "kv_cache_dtype": plan.kv_cache_dtype,
        "max_model_len": plan.max_model_len,
        "max_concurrent_full_context": round(plan.max_concurrent_full_context, 2),
        "decode_tokens_per_s": None if plan.decode_tokens_per_s is None else round(plan.decode_tokens_per_s, 1),
        "trade": trade,
    }
