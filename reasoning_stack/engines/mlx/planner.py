"""The planner's answer for an MLX-LM instance on a Mac: which mlx-community quantization, how long a context,
how many requests decoded at once.

8 bits first (closest to the original weights), 4 bits when 8 do not leave ``min_context``; then the most
requests at once (4, 2, 1) that each get the model's whole context, else the most whose contexts still reach the
wanted length, each given the longest context that fits (a reasoning trace is long: one person with the whole
context beats four with a cut one). The Mac's memory beyond Metal's working set stays macOS's.
"""

from __future__ import annotations

from reasoning_stack.catalogue import GIB, MODELS, ModelSpec, find_model
from reasoning_stack.engines.mlx import memory as mlx
from reasoning_stack.planning.slots import context_setting, strongest, wanted_context
from reasoning_stack.planning.types import CONTEXT_STEP, PlanRequest, ServingPlan


def _fit(req: PlanRequest, model: ModelSpec) -> tuple[int, int, int, int] | None:
    """(bits, context, slots, KV tokens) of the best fit, or None."""
    wanted = wanted_context(req, model)
    if model.slug not in mlx.REPOS or wanted > model.native_context:
        return None
    mac = req.gpus[0]
    quants = tuple(mlx.QUANTIZATIONS.values()) if req.quantization == "auto" else (
        (mlx.QUANTIZATIONS[req.quantization],) if req.quantization in mlx.QUANTIZATIONS else ())
    for bits in quants:
        if bits not in mlx.REPOS[model.slug]:
            continue
        tokens = mlx.kv_tokens(model, bits, mac, req.wired_limit_mib)
        choices = [req.max_num_seqs] if req.max_num_seqs else mlx.SLOTS
        # the most requests that each get the whole context; else the most that each reach the wanted one
        for goal in (req.max_model_len or model.native_context, wanted):
            for slots in choices:
                per_slot = tokens // slots
                if per_slot >= goal:
                    context = req.max_model_len or min(model.native_context, per_slot // CONTEXT_STEP * CONTEXT_STEP)
                    return bits, context, slots, tokens
    return None


def plan_mlx(req: PlanRequest) -> ServingPlan:
    """Plan one MLX-LM instance on the Mac ``req.gpus[0]`` (its unified memory; ``req.wired_limit_mib``: a raised
    ``iogpu.wired_limit_mb``)."""
    if not req.gpus or not req.gpus[0].apple:
        return ServingPlan(fits=False, engine="mlx", reason="engine 'mlx' serves on Apple Silicon Macs; on NVIDIA "
                           "GPUs use engine 'vllm', 'sglang' or 'ollama'")
    if req.nodes > 1 or req.tensor_parallel_size or req.data_parallel_size:
        return ServingPlan(fits=False, engine="mlx", reason="MLX-LM serves a model on one Mac: leave "
                           "tensor_parallel_size, data_parallel_size and clusters unset")
    if req.quantization not in ("auto", *mlx.QUANTIZATIONS):
        return ServingPlan(fits=False, engine="mlx", reason=f"quantization {req.quantization!r} is not an "
                           f"mlx-community format; use {_choices()}")
    if req.model == "auto":
        best = strongest((MODELS[s] for s in mlx.REPOS), lambda m: _fit(req, m) is not None)
        if best is None:
            return ServingPlan(fits=False, engine="mlx", reason="no catalogue model with an mlx-community "
                               f"quantization fits {req.gpus[0].name} with {context_setting(req)}")
        plan = _make(req, best)
        plan.reason = f"auto: {plan.reason}"
        return plan
    model = find_model(req.model)
    if model.slug not in mlx.REPOS:
        known = ", ".join(mlx.REPOS)
        return ServingPlan(fits=False, engine="mlx", reason=f"{model.name} has no mlx-community quantization the "
                           f"stack knows; models with one: {known}")
    if _fit(req, model) is not None:
        return _make(req, model)
    return _refusal(req, model)


def _make(req: PlanRequest, model: ModelSpec) -> ServingPlan:
    fit = _fit(req, model)
    assert fit is not None
    bits, context, slots, tokens = fit
    mac = req.gpus[0]
    repo = mlx.REPOS[model.slug][bits]
    kv_per_token = model.kv_bytes_per_token(2)
    working_set = mlx.working_set_gib(mac, req.wired_limit_mib)
    # the prompt cache keeps finished requests' KV for reuse: only what the running requests leave of the plan
    cache_bytes = max(0, tokens - slots * context) * kv_per_token
    sampling = {**model.sampling, **dict(req.sampling_overrides)}
    thinking = req.thinking_default if model.thinking_switch else None
    args = mlx.server_args(repo, req.listen, req.port, context, slots, cache_bytes, sampling, thinking)
    weights = mlx.weights_gib(model, bits)
    return ServingPlan(
        fits=True,
        reason=f"{model.name} ({bits}-bit MLX, {weights:.1f} GiB) fits {mac.name} with {slots} request(s) at once "
               f"of {context} tokens",
        model=model.slug,
        model_repo=repo,
        quantization=f"mlx-{bits}bit",
        layout_reason=f"one Mac: Metal's working set {working_set:.1f} GiB of {mac.memory_mib * 1024**2 / GIB:.0f} "
                      f"GiB (the rest stays macOS's); {slots} request(s) decoded at once, each a whole context",
        gpu_memory_utilization=round(working_set * GIB / (mac.memory_mib * 1024**2), 3),
        max_num_seqs=slots,
        max_model_len=context,
        weights_gib_per_gpu=weights,
        kv_bytes_per_token=kv_per_token,
        reserve_gib_per_gpu=mlx.RUNTIME_GIB,
        kv_cache_gib_per_gpu=tokens * kv_per_token / GIB,  # the whole pool; what running requests leave is the
        # prompt cache (--prompt-cache-bytes)
        kv_cache_tokens=tokens,
        max_concurrent_full_context=min(slots, tokens / context),
        gpu_name=mac.name,
        gpu_memory_gib=mac.memory_mib / 1024,
        gpus_used=[mac.index],
        speed_caveat="no estimate for MLX-LM (expect less than vLLM on an NVIDIA card of the same memory bandwidth)",
        engine="mlx",
        command=["mlx_lm.server", *args],
    )


def _refusal(req: PlanRequest, model: ModelSpec) -> ServingPlan:
    mac = req.gpus[0]
    bits = min(mlx.REPOS[model.slug])
    working_set = mlx.working_set_gib(mac, req.wired_limit_mib)
    weights = mlx.weights_gib(model, bits)
    tokens = mlx.kv_tokens(model, bits, mac, req.wired_limit_mib)
    why = (f"{model.name} does not fit {mac.name} under MLX-LM with {wanted_context(req, model)} tokens of context: "
           f"Metal keeps {working_set:.1f} GiB on the GPU, the {bits}-bit weights take {weights:.1f} GiB and the "
           f"runtime {mlx.RUNTIME_GIB:g} GiB, leaving {max(0.0, working_set - weights - mlx.RUNTIME_GIB):.1f} GiB = "
           f"{tokens} tokens of KV cache for one request")
    plan = ServingPlan(fits=False, reason=why, model=model.slug, engine="mlx", gpu_name=mac.name,
                       gpu_memory_gib=mac.memory_mib / 1024)
    longest = tokens // CONTEXT_STEP * CONTEXT_STEP
    if longest >= 4096 and not req.max_num_seqs:
        plan.suggestions.append(f"max_model_len {min(longest, model.native_context)} fits ({bits}-bit, one request)")
    smaller = plan_mlx(PlanRequest(**{**req.__dict__, "model": "auto"}))
    if smaller.fits and smaller.model != model.slug:
        plan.suggestions.append(f"model {smaller.model} fits ({smaller.model_repo}, {smaller.max_model_len} tokens)")
    return plan


def _choices() -> str:
    """"'auto', 'mlx-8bit' or 'mlx-4bit'": the quantization values of engine 'mlx', for a message."""
    names = [repr(q) for q in ("auto", *mlx.QUANTIZATIONS)]
    return ", ".join(names[:-1]) + " or " + names[-1]
