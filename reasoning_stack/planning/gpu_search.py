"""The layout search on NVIDIA GPUs that vLLM and SGLang share: GPUs + model + wanted context -> layout, KV cache,
speed, through the engine's own memory model and command line.

The engine (``engines/vllm``, ``engines/sglang``) says how one GPU's memory divides (``gpu_budget``) and finishes a
plan with its command line (``finish``); this module compares the layouts that use all of a node's GPUs
(``reasoning_stack.layout``: tensor parallel over more GPUs, or data-parallel replicas), degrades the cheapest way
first when nothing fits, and explains a refusal with the numbers and what would fit instead. A request needs its
whole context in KV cache, so ``max_model_len`` never exceeds the KV-cache tokens. Each plan carries a
single-request speed estimate (``reasoning_stack.speed``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from reasoning_stack.catalogue import MODELS, ModelSpec, find_model
from reasoning_stack.cuda import GpuBudget, kv_bytes_per_token_per_gpu
from reasoning_stack.gpus import Gpu
from reasoning_stack.layout import Layout, layouts, tp_problem, valid_tp_sizes
from reasoning_stack.models.architectures import version_tuple
from reasoning_stack.models.quantization import FORMATS, gpu_problem, kernel_words
from reasoning_stack.models.spec import with_draft_head
from reasoning_stack.planning.types import CONTEXT_STEP, PlanRequest, ServingPlan, indices_text
from reasoning_stack.speed import TRACE_TOKENS, decode_speed

QUANT_PREFERENCE = FORMATS  # best quality first
# max_num_seqs tried when vLLM's default (256, or 1024 on H100/H200) leaves too little KV cache: its
# profiling sampler pass holds max_num_seqs rows of logits, ~5.6 MiB each for a 152K vocabulary.
FEWER_SEQS = (64, 16)
# The layout rule (see _choose): a layout that serves this many requests of the wanted context at once (or
# nearly the most any layout serves, when none reaches it) is good enough on concurrency, and then the
# faster decode for one request wins. Four is a small team's burst; beyond it, speed is what people feel.
ENOUGH_REQUESTS = 4
NEARLY = 0.9


class GpuEngine(Protocol):
    """What the search asks of an engine that plans NVIDIA GPU layouts (vLLM, SGLang)."""

    name: str
    title: str
    max_seqs_flag: str  # the flag that caps requests at once (vLLM --max-num-seqs, SGLang --max-running-requests)
    fp8_kv_by_model: bool  # left to choose, it caches a model at fp8 on the GPUs the model names (vLLM: GLM-5)

    def gpu_budget(self, model: ModelSpec, quant: str, gpu: Gpu, tp: int, pp: int, req: PlanRequest, kv_dtype: str,
                   eager: bool, seqs: int | None) -> GpuBudget:
        """One GPU's memory under this engine."""
        ...

    def finish(self, plan: ServingPlan, model: ModelSpec, req: PlanRequest, gpu: Gpu, eager: bool,
               seqs: int | None) -> None:
        """Complete a plan that fits: the engine's own figures and its exact command line."""
        ...

    def budget_words(self, model: ModelSpec, gpu: Gpu, tp: int, req: PlanRequest, eager: bool,
                     budget: GpuBudget) -> str:
        """How the budget leaves too little KV cache, in words, for a refusal."""
        ...

    def headroom_words(self, model: ModelSpec, gpu: Gpu, tp: int, req: PlanRequest, eager: bool,
                       budget: GpuBudget) -> str:
        """How the room beside the budget is too small for what the engine needs there, for a refusal."""
        ...

    def higher_utilization(self, req: PlanRequest, model: ModelSpec) -> str | None:
        """A suggestion to give the engine more of each GPU, when that fits; None when there is none."""
        ...

    def model_problem(self, model: ModelSpec, quant: str | None = None) -> str | None:
        """Why the engine's planning does not cover the model (at the weights format), or None."""
        ...

    def default_max_seqs(self, gpu: Gpu, req: PlanRequest) -> int:
        """The engine's own cap on requests at once on ``gpu`` when none is set (its release's batch defaults)."""
        ...


def _budget(engine: GpuEngine, model: ModelSpec, quant: str, gpu: Gpu, tp: int, pp: int, req: PlanRequest,
            kv_dtype: str, eager: bool, seqs: int | None = None) -> GpuBudget:
    """One GPU's budget under the engine's memory model."""
    return engine.gpu_budget(model, quant, gpu, tp, pp, req, kv_dtype, eager, seqs or _user_max_num_seqs(engine, req))


def _seq_choices(engine: GpuEngine, req: PlanRequest) -> list[int | None]:
    """max_num_seqs values to try, vLLM's default first; only the user's when they set it."""
    if req.max_num_seqs:
        return [req.max_num_seqs]
    return [None, *FEWER_SEQS] if _user_max_num_seqs(engine, req) is None else [None]


def _user_max_num_seqs(engine: GpuEngine, req: PlanRequest) -> int | None:
    """The engine's cap on requests at once (``--max-num-seqs``, SGLang's ``--max-running-requests``) from the
    user's extra arguments, if given."""
    args = list(req.extra_args)
    flag = engine.max_seqs_flag
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args) and args[i + 1].isdigit():
            return int(args[i + 1])
        if arg.startswith(f"{flag}=") and arg.split("=", 1)[1].isdigit():
            return int(arg.split("=", 1)[1])
    return None


def smallest_gpu(req: PlanRequest) -> Gpu:
    """The GPU every plan is made for: the node's smallest (each GPU of a layout holds the same share)."""
    return min(req.gpus, key=lambda g: g.memory_mib)


def _layouts(req: PlanRequest, model: ModelSpec, quant: str) -> list[Layout]:
    """Every layout of ``model`` at ``quant`` the node allows (the user's sizes when set)."""
    return layouts(model, quant, len(req.gpus), req.nodes, req.tensor_parallel_size, req.data_parallel_size)


def _by_gpus_used(options: list[Layout]) -> list[list[Layout]]:
    """Layouts grouped by the GPUs they use, most first: every GPU serves whenever a layout can."""
    counts = sorted({o.gpus_per_node for o in options}, reverse=True)
    return [[o for o in options if o.gpus_per_node == n] for n in counts]


def wanted_context(req: PlanRequest, model: ModelSpec) -> int:
    return req.max_model_len if req.max_model_len else min(req.min_context, model.native_context)


def _seq_cap(engine: GpuEngine, req: PlanRequest, gpu: Gpu, seqs: int | None) -> int:
    return seqs or _user_max_num_seqs(engine, req) or engine.default_max_seqs(gpu, req)


def _fit_layout(engine: GpuEngine, req: PlanRequest, model: ModelSpec, quant: str, kv: str, layout: Layout, gpu: Gpu,
                wanted: int) -> ServingPlan | None:
    """``layout`` at its cheapest concession that reaches the wanted context, or None.

    Fewer concurrent sequences come before eager mode: it costs decode speed, so it is used only when the room is
    short (beside the budget under vLLM 0.17.1, where the CUDA-graph pool lives; inside it from 0.20, where the
    pool takes KV cache).
    """
    eager_choices = [False, True] if req.enforce_eager is None else [req.enforce_eager]
    for eager in eager_choices:
        for seqs in _seq_choices(engine, req):
            budget = _budget(engine, model, quant, gpu, layout.tp, layout.pp, req, kv, eager, seqs)
            if budget.tokens < wanted or not budget.headroom_ok:
                continue
            context = req.max_model_len or min(model.native_context, budget.tokens // CONTEXT_STEP * CONTEXT_STEP)
            return _make_plan(engine, req, model, quant, gpu, layout, kv, eager, budget, context, seqs)
    return None


def _requests_at(plan: ServingPlan, context: int, cap: int) -> float:
    """Requests of ``context`` tokens the plan serves at once, over all its replicas."""
    return plan.data_parallel_size * min(plan.requests_at(context), cap)


def _choose(engine: GpuEngine, req: PlanRequest, plans: list[ServingPlan], wanted: int) -> ServingPlan:
    """The layout rule: among the layouts that serve at least ENOUGH_REQUESTS requests of the wanted context
    at once (or nearly the most any serves, when none reaches that), the fastest single-request decode wins;
    a tie goes to the one serving more requests. The winner says why, against the runner-up."""
    gpu = smallest_gpu(req)
    served = {id(p): _requests_at(p, wanted, _seq_cap(engine, req, gpu, p.max_num_seqs)) for p in plans}
    best = max(served.values())
    enough = min(ENOUGH_REQUESTS, best * NEARLY)
    eligible = [p for p in plans if served[id(p)] >= enough]
    ranked = sorted(eligible, key=lambda p: (_seconds(p), -served[id(p)]))
    ranked += sorted((p for p in plans if p not in eligible), key=lambda p: -served[id(p)])
    winner = ranked[0]
    used = f"GPU(s) {indices_text(winner.gpus_used)}"
    if len(ranked) == 1:
        only = (f"the only layout of {winner.model} that fits" if req.nodes == 1 else
                f"the only layout of {winner.model} over {req.nodes} nodes (one pipeline stage on each)")
        why = ("the tensor_parallel_size/data_parallel_size you set" if req.tensor_parallel_size
               or req.data_parallel_size else only)
        winner.layout_reason = f"{winner.layout.label} (TPxPPxDP) on {used}: {why}"
    else:
        other = ranked[1]
        mine, theirs = served[id(winner)], served[id(other)]
        if other in eligible:
            why = (f"decodes one request faster ({_speed_text(winner)} vs {_speed_text(other)}) and serves "
                   f"{mine:.1f} requests of {wanted} tokens at once ({theirs:.1f} for {other.layout.label}; "
                   f"{ENOUGH_REQUESTS} are enough before speed decides)")
        else:
            why = (f"serves {mine:.1f} requests of {wanted} tokens at once, {other.layout.label} only "
                   f"{theirs:.1f} (speed decides only between layouts serving {enough:.1f} or more)")
        winner.layout_reason = f"{winner.layout.label} (TPxPPxDP) on {used} over {other.layout.label}: {why}"
    if req.nodes > 1:
        one_node = try_model(engine, replace(req, nodes=1, tensor_parallel_size=None, data_parallel_size=None),
                             find_model(winner.model))
        if one_node is not None:
            winner.layout_reason += (f"; {winner.model} fits one node of these ({one_node.layout.label}): each node "
                                     "serving it on its own (no cluster) serves more people with no network hop")
    if winner.gpus_idle:
        winner.layout_reason += (f"; GPU(s) {indices_text(winner.gpus_idle)} idle: no layout of {winner.model} "
                                 f"{winner.quantization} fits all {len(req.gpus)}")
    return winner


def _seconds(plan: ServingPlan) -> float:
    return plan.trace_seconds if plan.trace_seconds is not None else plan.decode_rank_s


def _speed_text(plan: ServingPlan) -> str:
    if plan.decode_tokens_per_s is None:
        return f"{plan.layout.label} ranked by bytes per token"
    return f"~{plan.decode_tokens_per_s:.0f} tokens/s"


def kv_choices(engine: GpuEngine, req: PlanRequest, model: ModelSpec, gpu: Gpu) -> list[str]:
    """The KV-cache dtypes to try, best first: the model dtype, then fp8, or only the one the operator set. Where
    vLLM itself caches the model at fp8 on this GPU when left to choose (GLM-5 on Blackwell), fp8 only: the plan
    sizes what the release will allocate."""
    if req.kv_cache_dtype != "auto":
        return [req.kv_cache_dtype]
    if engine.fp8_kv_by_model and gpu.compute_cap.split(".")[0] in model.fp8_kv_on:
        return ["fp8"]
    return ["auto", "fp8"]


def release_serves(engine: GpuEngine, req: PlanRequest, model: ModelSpec) -> bool:
    """Whether the engine release ``req`` is planned for serves ``model``'s architecture (engines that do not plan
    per release serve every model they take): ``auto`` and a refusal's suggestions offer only what it serves."""
    release = engine.release_for(req)
    return not release or version_tuple(model.min_vllm) <= version_tuple(release)


def _drafting_words(model: ModelSpec, tokens: int) -> str:
    """What drafting adds to the plan, for its reason line."""
    if model.mtp_layers:
        return (f"its MTP head drafting {tokens} token(s) a step: {model.mtp_params_b:g}B parameters and one more "
                "layer of KV cache counted")
    return (f"its drafter {model.draft_repo} drafting {tokens} token(s) a step: {model.draft_params_b:g}B 16-bit "
            "parameters counted; it reads the model's own KV cache")


def try_model(engine: GpuEngine, req: PlanRequest, model: ModelSpec) -> ServingPlan | None:
    """The best configuration of ``model`` that reaches the wanted context, or None.

    Degrade the cheapest way first: the best weights format, then every GPU serving (fewer GPUs only when
    no layout of all of them fits), then fewer concurrent sequences, then an fp8 KV cache.
    """
    if req.speculative_tokens and not model.drafts:
        return None
    model = with_draft_head(model, req.speculative_tokens)
    gpu = smallest_gpu(req)
    quants = [req.quantization] if req.quantization != "auto" else list(QUANT_PREFERENCE)
    wanted = wanted_context(req, model)
    if wanted > model.native_context or engine.model_problem(model) or not release_serves(engine, req, model):
        return None
    kvs = kv_choices(engine, req, model, gpu)
    for quant in quants:
        if quant not in model.repos or gpu_problem(quant, gpu.compute_cap) or engine.model_problem(model, quant):
            continue
        for group in _by_gpus_used(_layouts(req, model, quant)):
            for kv in kvs:
                plans = [p for layout in group
                         if (p := _fit_layout(engine, req, model, quant, kv, layout, gpu, wanted)) is not None]
                if plans:
                    return _choose(engine, req, plans, wanted)
    return None


def plan_model(engine: GpuEngine, req: PlanRequest, slug: str) -> ServingPlan | None:
    """The best plan of catalogue model ``slug`` for ``req`` (None when it does not fit); no suggestions."""
    model = find_model(slug)
    if _request_problem(req, model, engine):
        return None
    return try_model(engine, req, model)


def layout_plans(engine: GpuEngine, req: PlanRequest, plan: ServingPlan) -> list[ServingPlan]:
    """The plan's model, weights format and KV dtype in each other layout that uses the same GPUs."""
    model = with_draft_head(find_model(plan.model), req.speculative_tokens)
    gpu = smallest_gpu(req)
    wanted = wanted_context(req, model)
    found = []
    for layout in _layouts(req, model, plan.quantization):
        if layout == plan.layout or layout.gpus_per_node != plan.layout.gpus_per_node:
            continue
        other = _fit_layout(engine, req, model, plan.quantization, plan.kv_cache_dtype, layout, gpu, wanted)
        if other is not None:
            found.append(other)
    return found


def _make_plan(engine: GpuEngine, req: PlanRequest, model: ModelSpec, quant: str, gpu: Gpu, layout: Layout, kv: str,
               eager: bool, budget: GpuBudget, context: int, seqs: int | None) -> ServingPlan:
    tp, pp, dp = layout.tp, layout.pp, layout.dp
    indices = [g.index for g in req.gpus]
    per_gpu = kv_bytes_per_token_per_gpu(model, tp, pp, kv)
    speed = decode_speed(model, quant, gpu, tp, pp, per_gpu, context)
    plan = ServingPlan(
        fits=True,
        reason=f"{model.name} {quant} fits {tp * pp * dp}x {gpu.name} with {context} tokens of context"
        + (f" ({words})" if (words := kernel_words(quant, gpu.compute_cap)) else "")
        + (f" (kv-cache fp8: what vLLM itself chooses for {model.name} on this GPU)"
           if req.kv_cache_dtype == "auto" and kv_choices(engine, req, model, gpu) == ["fp8"] else "")
        + (f" ({_drafting_words(model, req.speculative_tokens)})" if req.speculative_tokens else ""),
        model=model.slug,
        model_repo=model.repos[quant],
        quantization=quant,
        tensor_parallel_size=tp,
        pipeline_parallel_size=pp,
        data_parallel_size=dp,
        nodes=req.nodes,
        gpu_memory_utilization=req.gpu_memory_utilization,
        kv_cache_dtype=kv,
        enforce_eager=eager,
        max_num_seqs=seqs,
        max_model_len=context,
        weights_gib_per_gpu=budget.weights,
        kv_bytes_per_token=kv_bytes_per_token_per_gpu(model, 1, 1, kv),
        reserve_gib_per_gpu=budget.reserve,
        activation_gib_per_gpu=budget.activation,
        non_torch_gib_per_gpu=budget.non_torch,
        headroom_gib_per_gpu=budget.headroom,
        headroom_needed_gib_per_gpu=budget.headroom_needed,
        kv_cache_gib_per_gpu=max(0.0, budget.kv_gib),
        kv_cache_tokens=budget.tokens,
        kv_cache_blocks=budget.blocks,
        kv_block_size=budget.pool.block_size if budget.pool else 0,
        kv_blocks_per_request=budget.pool.request_blocks(context) if budget.pool else 0,
        kv_pool=budget.pool,
        gpu_name=gpu.name,
        gpu_memory_gib=gpu.memory_mib / 1024,
        gpus_used=indices[:tp * dp],
        gpus_idle=indices[tp * dp:],
        decode_tokens_per_s=speed.tokens_per_s,
        decode_tokens_per_s_at_context=speed.tokens_per_s_at_context,
        decode_bound_tokens_per_s=speed.bound_tokens_per_s,
        trace_seconds=speed.trace_seconds,
        decode_efficiency=speed.efficiency,
        interconnect=speed.interconnect,
        speed_caveat=speed.caveat,
        memory_bandwidth_gb_s=speed.bandwidth_gb_s,
        reasoning_parser=model.reasoning_parser,
    )
    plan.max_concurrent_full_context = dp * min(plan.requests_at(context), _seq_cap(engine, req, gpu, seqs))
    plan.decode_rank_s = speed.ranking_seconds_per_token * TRACE_TOKENS
    plan.engine = req.engine
    engine.finish(plan, model, req, gpu, eager, seqs or _user_max_num_seqs(engine, req))
    return plan


def _refusal(engine: GpuEngine, req: PlanRequest, model: ModelSpec | None, why: str) -> ServingPlan:
    plan = ServingPlan(fits=False, reason=why, engine=req.engine)
    if model is not None:
        plan.model = model.slug
        gpu = smallest_gpu(req)
        plan.gpu_name = gpu.name
        plan.gpu_memory_gib = gpu.memory_mib / 1024
    plan.suggestions = _suggestions(engine, req, model)
    return plan


def _suggestions(engine: GpuEngine, req: PlanRequest, model: ModelSpec | None) -> list[str]:
    """What would fit instead, in the order a person weighs them: the same model on the same GPUs (shorter context,
    fp8 KV cache, more of the memory, another weights format), the strongest model that fits these GPUs, then more
    GPUs, then more nodes.

    Every suggestion is a plan the planner made, so its parallel sizes passed the same checks."""
    out: list[str] = []
    if model is not None:
        best = _longest_context(engine, req, model)
        if best is not None and best.max_model_len < wanted_context(req, model):
            seqs = f", max_num_seqs {best.max_num_seqs}" if best.max_num_seqs else ""
            out.append(f"max_model_len {best.max_model_len} fits ({best.quantization}, "
                       f"kv_cache_dtype {best.kv_cache_dtype}, layout {best.layout.label}{seqs})")
        if req.kv_cache_dtype != "fp8" and try_model(engine, replace(req, kv_cache_dtype="fp8"), model):
            out.append("kv_cache_dtype fp8 fits the wanted context")
        higher = engine.higher_utilization(req, model)
        if higher is not None:
            out.append(higher)
        if req.quantization != "auto" and try_model(engine, replace(req, quantization="auto"), model):
            out.append("quantization auto (another weights format) fits")
    instead = _auto(engine, replace(req, model="auto"))  # the strongest that fits, weaker or stronger
    if instead.fits:
        out.append(f"model {instead.model} fits ({instead.quantization}, {instead.max_model_len} tokens)")
    if model is not None:
        if req.nodes == 1:
            for count in (2, 4, 8):
                if count > len(req.gpus):
                    more = replace(req, gpus=tuple(replace(req.gpus[0], index=i) for i in range(count)),
                                   tensor_parallel_size=None, data_parallel_size=None)
                    plan = try_model(engine, more, model)
                    if plan:
                        out.append(f"{count}x {req.gpus[0].name} fit (layout {plan.layout.label}, "
                                   f"tensor_parallel_size {plan.tensor_parallel_size})")
                        break
        for nodes in (2, 3, 4):
            if nodes > req.nodes:
                plan = try_model(engine, replace(req, nodes=nodes, tensor_parallel_size=None, data_parallel_size=None),
                                  model)
                if plan:
                    out.append(f"{nodes} nodes like this one (pipeline parallel {nodes}, tensor parallel "
                               f"{plan.tensor_parallel_size}) fit")
                    break
    return out


def most_generous(req: PlanRequest, model: ModelSpec, quant: str) -> Layout | None:
    """The allowed layout with the most GPUs per replica (the most memory one replica can have)."""
    options = _layouts(req, model, quant)
    return max(options, key=lambda o: (o.tp, -o.dp)) if options else None


def _longest_context(engine: GpuEngine, req: PlanRequest, model: ModelSpec) -> ServingPlan | None:
    """The configuration of ``model`` with the longest context these GPUs allow (at least 4096 tokens)."""
    eager = True if req.enforce_eager is None else req.enforce_eager
    plans = [try_model(engine, replace(req, max_model_len=None, min_context=4096, kv_cache_dtype=kv,
                                       enforce_eager=eager, max_num_seqs=seqs), model)
             for kv in kv_choices(engine, req, model, smallest_gpu(req)) for seqs in _seq_choices(engine, req)]
    found = [p for p in plans if p is not None]
    return max(found, key=lambda p: p.max_model_len) if found else None


def _auto(engine: GpuEngine, req: PlanRequest) -> ServingPlan:
    """The strongest catalogue model that fits the request's GPUs."""
    for model in sorted(MODELS.values(), key=lambda m: -m.strength):
        plan = try_model(engine, req, model)
        if plan is not None:
            plan.reason = f"auto: {plan.reason}"
            return plan
    return ServingPlan(fits=False, reason="no catalogue model fits these GPUs with the wanted context")


def _request_problem(req: PlanRequest, model: ModelSpec | None, engine: GpuEngine | None = None) -> str | None:
    """A wish no model or layout can meet, naming the setting at fault; None when there is none."""
    per_node = len(req.gpus)
    if req.tensor_parallel_size and req.tensor_parallel_size > per_node:
        return (f"tensor_parallel_size {req.tensor_parallel_size} needs {req.tensor_parallel_size} GPUs per node, "
                f"the node has {per_node}")
    if req.data_parallel_size and (req.tensor_parallel_size or 1) * req.data_parallel_size > per_node:
        return (f"data_parallel_size {req.data_parallel_size} x tensor_parallel_size {req.tensor_parallel_size or 1} "
                f"needs {(req.tensor_parallel_size or 1) * req.data_parallel_size} GPUs, the node has {per_node}")
    if req.data_parallel_size and req.data_parallel_size > 1 and req.nodes > 1:
        return "data_parallel_size above 1 is not planned across nodes; leave it unset on a cluster"
    if model is None:
        longest = max(MODELS.values(), key=lambda m: m.native_context)
        if req.max_model_len and req.max_model_len > longest.native_context:
            return (f"max_model_len {req.max_model_len} is longer than every catalogue model's native context "
                    f"(the longest: {longest.slug}, {longest.native_context})")
        if req.tensor_parallel_size and not any(
                tp_problem(m, req.tensor_parallel_size, q) is None for m in MODELS.values() for q in m.repos):
            return f"tensor_parallel_size {req.tensor_parallel_size} suits no catalogue model"
        return None
    problem = engine.model_problem(model, req.quantization if req.quantization != "auto" else None) if engine else None
    if problem:
        return problem
    if req.speculative_tokens and engine and not engine.mtp_drafts:
        return f"speculative_tokens {req.speculative_tokens}: {engine.title} does not draft with an MTP head here"
    if req.speculative_tokens and not model.drafts:
        drafting = ", ".join(m.slug for m in MODELS.values() if m.drafts)
        shipped = (f"ships {model.mtp_unserved} multi-token-prediction (MTP) modules, which vLLM has no drafter for"
                   if model.mtp_unserved else
                   f"ships no multi-token-prediction (MTP) head, and the size of its drafter {model.draft_repo} is "
                   "not on record, so the planner cannot count it (--speculative-config in vllm_extra_args serves "
                   "it unplanned)" if model.draft_repo else
                   "ships no multi-token-prediction (MTP) head to draft with")
        return (f"speculative_tokens {req.speculative_tokens}: {model.name} {shipped}; set speculative_tokens = 0, "
                f"or serve a model vLLM drafts for ({drafting})")
    release = engine.release_for(req) if engine else ""
    if engine and not release_serves(engine, req, model):
        serves = engine.first_release(model.min_vllm)
        way = (f"set vllm_version = {serves!r} (plan --vllm-version {serves})" if serves
               else "no supported vLLM release serves it yet")
        return (f"{model.name} needs vLLM {model.min_vllm} or newer (its architecture's first release); vLLM "
                f"{release} is planned: {way}")
    gpu = smallest_gpu(req)
    quants = [req.quantization] if req.quantization != "auto" else list(model.repos)
    unsupported = [gpu_problem(q, gpu.compute_cap) for q in quants]
    if all(unsupported):
        return f"{model.name} on {gpu.name}: {unsupported[0]}"
    if req.max_model_len and req.max_model_len > model.native_context:
        return (f"max_model_len {req.max_model_len} is longer than {model.name}'s native context "
                f"{model.native_context}")
    if req.tensor_parallel_size:
        quants = [req.quantization] if req.quantization != "auto" else list(model.repos)
        problems = [tp_problem(model, req.tensor_parallel_size, q) for q in quants]
        if all(problems):
            valid = sorted({t for q in quants for t in valid_tp_sizes(model, q, per_node)})
            return (f"tensor_parallel_size {req.tensor_parallel_size} does not suit {model.name}: {problems[0]}; "
                    f"sizes that do on {per_node} GPU(s): {', '.join(map(str, valid)) or 'none'}")
    return None


def _why_not(engine: GpuEngine, req: PlanRequest, model: ModelSpec) -> str:
    """The numbers behind a refusal, for the most generous configuration the user allowed."""
    model = with_draft_head(model, req.speculative_tokens)
    gpu = smallest_gpu(req)
    quants = [q for q in QUANT_PREFERENCE if q in model.repos] if req.quantization == "auto" else [req.quantization]
    runnable = [q for q in quants if gpu_problem(q, gpu.compute_cap) is None]  # NVFP4 is no "best" below Blackwell
    quants = runnable or quants
    layout = most_generous(req, model, quants[-1])
    if layout is None:
        return (f"{model.name} {quants[-1]} has no tensor-parallel size that suits {len(req.gpus)} GPU(s): "
                f"{tp_problem(model, len(req.gpus), quants[-1])}")
    tp = layout.tp
    kv = "fp8" if req.kv_cache_dtype == "auto" else req.kv_cache_dtype
    eager = True if req.enforce_eager is None else req.enforce_eager
    seqs = _seq_choices(engine, req)[-1]
    budget = _budget(engine, model, quants[-1], gpu, tp, req.nodes, req, kv, eager, seqs)
    head = (f"{model.name} does not fit {tp * req.nodes}x {gpu.name} ({gpu.memory_mib / 1024:.1f} GiB each, "
            f"{budget.total:.2f} GiB to CUDA) with {wanted_context(req, model)} tokens of context: at best "
            f"({quants[-1]}, tensor parallel {tp}, kv-cache {kv}{', eager' if eager else ''}"
            f"{f', max_num_seqs {seqs}' if seqs else ''}) ")
    if budget.tokens >= wanted_context(req, model):
        return head + engine.headroom_words(model, gpu, tp, req, eager, budget)
    return head + engine.budget_words(model, gpu, tp, req, eager, budget)


def plan(engine: GpuEngine, req: PlanRequest) -> ServingPlan:
    """Plan one instance of ``engine`` on NVIDIA GPUs; the plan either fits or says why not and what would."""
    if not req.gpus:
        return ServingPlan(fits=False, reason="no GPU: nvidia-smi reported none and no gpu_profile is set",
                           suggestions=["set gpu_profile (and gpu_count) in group_data to plan without a driver"])
    if req.model == "auto":
        problem = _request_problem(req, None)
        if problem:
            return ServingPlan(fits=False, reason=problem)
        found = _auto(engine, req)
        if not found.fits:
            setting = f"max_model_len {req.max_model_len}" if req.max_model_len else f"min_context {req.min_context}"
            found.reason = f"no catalogue model fits these GPUs with {setting}"
            found.suggestions = (_suggestions(engine, req, None)
                                 or [f"a shorter {setting.split()[0]}", "more or larger GPUs"])
        return found
    try:
        model = find_model(req.model)
    except KeyError as exc:
        return ServingPlan(fits=False, reason=str(exc.args[0]))
    if req.quantization != "auto" and req.quantization not in model.repos:
        return _refusal(engine, req, model, f"{model.name} is not published as {req.quantization}; "
                        f"available: {', '.join(f'{q} ({repo})' for q, repo in model.repos.items())}")
    problem = _request_problem(req, model, engine)
    if problem:
        return _refusal(engine, req, model, problem)
    found_plan = try_model(engine, req, model)
    if found_plan is not None:
        return found_plan
    return _refusal(engine, req, model, _why_not(engine, req, model))
