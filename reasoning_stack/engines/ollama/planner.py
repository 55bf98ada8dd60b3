"""The planner's answer for an Ollama instance: which library tag, how long a context, how many parallel slots.

Every slot holds a whole context in the KV cache (``engines/ollama/library.py``), so the planner takes the most
slots (4, 2, then 1) whose contexts still reach the wanted length, then gives each slot the longest context that fits,
up to the model's native length. An f16 KV cache comes first, q8_0 only when f16 does not reach the context.
"""

from __future__ import annotations

from reasoning_stack.catalogue import MODELS, ModelSpec, find_model
from reasoning_stack.engines.ollama import library as ollama
from reasoning_stack.engines.ollama.output import OllamaOutput
from reasoning_stack.planning.slots import context_setting, strongest, wanted_context
from reasoning_stack.planning.types import CONTEXT_STEP, PlanRequest, ServingPlan

MIN_TASTE_CONTEXT = 4096  # shortest context a suggestion offers


def _fit(req: PlanRequest, model: ModelSpec) -> tuple[int, int, str, int] | None:
    """(context, parallel slots, KV type, KV tokens) of the best fit, or None."""
    wanted = wanted_context(req, model)
    if model.slug not in ollama.TAGS or wanted > model.native_context:
        return None
    kv_types = ["f16", "q8_0"] if req.kv_cache_dtype == "auto" else [ollama.KV_TYPES[req.kv_cache_dtype]]
    slots = [req.max_num_seqs] if req.max_num_seqs else list(ollama.PARALLEL_CHOICES)
    for kv_type in kv_types:
        tokens = ollama.max_tokens(model, req.gpus, kv_type)
        for parallel in slots:
            per_slot = tokens // parallel
            if per_slot >= wanted:
                context = req.max_model_len or min(model.native_context, per_slot // CONTEXT_STEP * CONTEXT_STEP)
                return context, parallel, kv_type, tokens
    return None


def plan_ollama(req: PlanRequest) -> ServingPlan:
    """Plan one Ollama instance: the catalogue model's library tag on every GPU of the node."""
    if req.model == "auto":
        best = strongest(MODELS.values(), lambda m: _fit(req, m) is not None)
        if best is None:
            setting = context_setting(req)
            return ServingPlan(fits=False, reason=f"no catalogue model fits these GPUs under Ollama with {setting}",
                               engine="ollama", suggestions=[f"a shorter {setting.split()[0]}"])
        plan = _make(req, best)
        plan.reason = f"auto: {plan.reason}"
        return plan
    model = find_model(req.model)
    if model.slug not in ollama.TAGS:
        return ServingPlan(fits=False, reason=f"{model.name} has no tag in Ollama's library", engine="ollama")
    if req.nodes > 1 or req.tensor_parallel_size or req.data_parallel_size:
        return ServingPlan(fits=False, engine="ollama", reason="Ollama splits a model's layers over the GPUs of one "
                           "host itself: leave tensor_parallel_size, data_parallel_size and clusters unset")
    if _fit(req, model) is not None:
        return _make(req, model)
    return _refusal(req, model)


def _make(req: PlanRequest, model: ModelSpec) -> ServingPlan:
    fit = _fit(req, model)
    assert fit is not None
    context, parallel, kv_type, tokens = fit
    tag = ollama.TAGS[model.slug]
    gpus = req.gpus
    smallest = min(gpus, key=lambda g: g.memory_mib)
    env = ollama.environment(req.listen, req.port, context, parallel, kv_type)
    return ServingPlan(
        fits=True,
        reason=f"{model.name} ({tag.tag}, {tag.size_gb:g} GB) fits {len(gpus)}x {smallest.name} under Ollama with "
               f"{parallel} request slot(s) of {context} tokens",
        model=model.slug,
        model_repo=tag.tag,
        quantization="q4_k_m",
        layout_reason=f"Ollama splits the layers over GPU(s) {','.join(str(g.index) for g in gpus)}; "
                      f"{parallel} parallel slot(s), each a whole context in the KV cache",
        gpu_memory_utilization=0.0,
        kv_cache_dtype="fp8" if kv_type != "f16" else "auto",
        max_num_seqs=parallel,
        max_model_len=context,
        weights_gib_per_gpu=tag.size_gib / len(gpus),
        kv_bytes_per_token=int(ollama.kv_bytes_per_token(model, kv_type)),
        reserve_gib_per_gpu=ollama.graph_gib(model),
        kv_cache_gib_per_gpu=ollama.kv_gib_available(model, gpus) / len(gpus),
        kv_cache_tokens=tokens,
        max_concurrent_full_context=min(parallel, tokens / context),
        gpu_name=smallest.name,
        gpu_memory_gib=smallest.memory_mib / 1024,
        gpus_used=[g.index for g in gpus],
        speed_caveat="no Ollama speed figure: the estimate is vLLM's",
        engine="ollama",
        command=["ollama", "serve"],
        output=OllamaOutput(env),
    )


def _refusal(req: PlanRequest, model: ModelSpec) -> ServingPlan:
    tag = ollama.TAGS[model.slug]
    gpus = req.gpus
    free = ollama.free_for_model_gib(gpus)
    kv_type = "f16" if req.kv_cache_dtype == "auto" else ollama.KV_TYPES[req.kv_cache_dtype]
    tokens = ollama.max_tokens(model, gpus, "q8_0" if req.kv_cache_dtype == "auto" else kv_type)
    why = (f"{model.name} ({tag.tag}, {tag.size_gb:g} GB) does not fit {len(gpus)}x {gpus[0].name} under Ollama "
           f"with {wanted_context(req, model)} tokens of context: {free:.1f} GiB can be scheduled, the weights take "
           f"{tag.size_gib:.1f} GiB and the compute graph {ollama.graph_gib(model) * len(gpus):.1f} GiB, leaving "
           f"{max(0.0, ollama.kv_gib_available(model, gpus)):.1f} GiB = {tokens} tokens of KV cache (q8_0) for "
           "one request slot")
    plan = ServingPlan(fits=False, reason=why, model=model.slug, engine="ollama", gpu_name=gpus[0].name,
                       gpu_memory_gib=gpus[0].memory_mib / 1024)
    longest = tokens // CONTEXT_STEP * CONTEXT_STEP
    if longest >= MIN_TASTE_CONTEXT and not req.max_num_seqs:
        plan.suggestions.append(f"max_model_len {min(longest, model.native_context)} fits (one request slot, "
                                "q8_0 KV cache)")
    smaller = plan_ollama(PlanRequest(**{**req.__dict__, "model": "auto"}))
    if smaller.fits and smaller.model != model.slug:
        plan.suggestions.append(f"model {smaller.model} fits ({smaller.model_repo}, {smaller.max_model_len} tokens)")
    return plan
