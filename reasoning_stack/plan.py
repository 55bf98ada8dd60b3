"""The serving planner: GPUs + model + wanted context -> layout, memory budget, KV cache, speed, vLLM args.

The memory of each GPU is divided the way vLLM 0.17.1 divides it (``reasoning_stack.memory``): KV cache
is what is left of ``total x gpu_memory_utilization`` after weights, the profiling peak and non-torch
memory; CUDA context, NCCL and CUDA graphs must fit beside that budget. A request needs its whole context
in KV cache, so ``max_model_len`` must not exceed the KV-cache tokens.

Every GPU serves: the planner compares the layouts that use all of a node's GPUs (``reasoning_stack.layout``:
tensor parallel over more GPUs, or data-parallel replicas) and picks one by the rule in :func:`_choose`.
Each plan carries a single-request speed estimate (``reasoning_stack.speed``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace

from reasoning_stack.catalogue import MODELS, ModelSpec, find_model
from reasoning_stack.engines import sglang
from reasoning_stack.gpus import Gpu
from reasoning_stack.layout import Layout, layouts, tp_problem, valid_tp_sizes
from reasoning_stack.memory import (
    GpuBudget,
    batch_defaults,
    cuda_graph_gib,
    default_utilization,
    gpu_budget,
    kv_bytes_per_token_per_gpu,
    max_safe_utilization,
)
from reasoning_stack.settings import StackSettings
from reasoning_stack.speed import TRACE_TOKENS, decode_speed

QUANT_PREFERENCE = ("bf16", "fp8", "awq", "gptq")  # best quality first
# max_num_seqs tried when vLLM's default (256, or 1024 on H100/H200) leaves too little KV cache: its
# profiling sampler pass holds max_num_seqs rows of logits, ~5.6 MiB each for a 152K vocabulary.
FEWER_SEQS = (64, 16)
CONTEXT_STEP = 1024
# The layout rule (see _choose): a layout that serves this many requests of the wanted context at once (or
# nearly the most any layout serves, when none reaches it) is good enough on concurrency, and then the
# faster decode for one request wins. Four is a small team's burst; beyond it, speed is what people feel.
ENOUGH_REQUESTS = 4
NEARLY = 0.9


@dataclass(frozen=True)
class PlanRequest:
    """What the planner is asked: the GPUs of one node, how many nodes, and the user's wishes."""

    gpus: tuple[Gpu, ...]
    model: str = "auto"
    quantization: str = "auto"
    max_model_len: int | None = None
    min_context: int = 16384
    gpu_memory_utilization: float | None = None  # None: 0.90, or 0.80 on unified memory (memory.default_utilization)
    kv_cache_dtype: str = "auto"
    enforce_eager: bool | None = None
    tensor_parallel_size: int | None = None
    data_parallel_size: int | None = None
    nodes: int = 1
    cluster_backend: str = "mp"  # how vLLM spans nodes: mp (--nnodes, added per node) or ray
    served_model_name: str | None = None
    listen: str = "127.0.0.1"
    port: int = 8000
    enable_prefix_caching: bool = True
    enable_chunked_prefill: bool = True
    extra_args: tuple[str, ...] = ()
    thinking_default: bool = True
    sampling_overrides: tuple[tuple[str, float], ...] = ()
    colocated: int = 1  # vLLM instances sharing these GPUs (each with this gpu_memory_utilization)
    max_num_seqs: int | None = None  # fixed by the caller; None = vLLM's default, fewer only if needed
    engine: str = "vllm"  # vllm | sglang | ollama | mlx | auto: whose memory model and command line
    wired_limit_mib: int = 0  # a Mac's raised iogpu.wired_limit_mb (0: Metal's default working set)

    def __post_init__(self) -> None:
        if self.gpu_memory_utilization is None:
            object.__setattr__(self, "gpu_memory_utilization", default_utilization(self.gpus))


@dataclass
class ServingPlan:
    """The planner's answer. ``fits`` False means: refuse, with ``reason`` and ``suggestions``."""

    fits: bool
    reason: str
    suggestions: list[str] = field(default_factory=list)
    model: str = ""
    model_repo: str = ""
    quantization: str = ""
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    data_parallel_size: int = 1
    layout_reason: str = ""  # why this layout (TP x PP x DP) over the others that use the GPUs
    nodes: int = 1
    gpu_memory_utilization: float = 0.9
    kv_cache_dtype: str = "auto"
    enforce_eager: bool = False
    max_num_seqs: int | None = None  # None = vLLM's default for the GPU
    max_model_len: int = 0
    weights_gib_per_gpu: float = 0.0
    kv_bytes_per_token: int = 0
    reserve_gib_per_gpu: float = 0.0  # profiling peak + non-torch memory, inside the budget
    activation_gib_per_gpu: float = 0.0  # the profiling peak (sampler pass over max_num_seqs rows)
    non_torch_gib_per_gpu: float = 0.0
    cuda_graph_gib_per_gpu: float = 0.0  # estimated pool, outside the budget; 0 with enforce_eager
    headroom_gib_per_gpu: float = 0.0  # memory beside the budget(s) ...
    headroom_needed_gib_per_gpu: float = 0.0  # ... and what CUDA context, NCCL and CUDA graphs need of it
    kv_cache_gib_per_gpu: float = 0.0
    kv_cache_tokens: int = 0  # per replica (each data-parallel replica has its own KV cache)
    max_concurrent_full_context: float = 0.0  # over all replicas
    gpu_name: str = ""
    gpu_memory_gib: float = 0.0
    gpus_used: list[int] = field(default_factory=list)
    gpus_idle: list[int] = field(default_factory=list)
    decode_tokens_per_s: float | None = None  # one request, short context (estimate)
    decode_tokens_per_s_at_context: float | None = None  # one request with max_model_len in its KV cache
    decode_bound_tokens_per_s: float | None = None  # the bandwidth bound the estimate sits under
    trace_seconds: float | None = None  # a 2,000-token reasoning trace, one request
    decode_efficiency: float = 0.0
    interconnect: str = "none"  # what tensor parallel talks over: nvlink | pcie | none
    speed_caveat: str = ""  # where no published figure checks the speed estimate
    memory_bandwidth_gb_s: float | None = None
    reasoning_parser: str = ""
    engine: str = "vllm"
    mem_fraction_static: float | None = None  # SGLang: share of memory for weights + KV cache
    environment: dict[str, str] = field(default_factory=dict)  # Ollama: the server's settings
    vllm_args: list[str] = field(default_factory=list)  # vLLM: the `vllm serve` arguments
    command: list[str] = field(default_factory=list)  # the exact command line the service runs
    alternatives: list[dict[str, object]] = field(default_factory=list)
    decode_rank_s: float = field(default=0.0, repr=False)  # layout ranking, also for unknown GPUs; not shown

    @property
    def layout(self) -> Layout:
        return Layout(self.tensor_parallel_size, self.pipeline_parallel_size, self.data_parallel_size)

    def to_json(self) -> dict[str, object]:
        """The JSON document of ``reasoning-stack plan --json``."""
        data = asdict(self)
        for key in ("weights_gib_per_gpu", "kv_cache_gib_per_gpu", "reserve_gib_per_gpu", "gpu_memory_gib",
                    "headroom_gib_per_gpu", "headroom_needed_gib_per_gpu", "activation_gib_per_gpu",
                    "non_torch_gib_per_gpu", "cuda_graph_gib_per_gpu"):
            data[key] = round(data[key], 2)
        data["max_concurrent_full_context"] = round(self.max_concurrent_full_context, 2)
        for key in ("decode_tokens_per_s", "decode_tokens_per_s_at_context", "decode_bound_tokens_per_s",
                    "trace_seconds"):
            data[key] = None if data[key] is None else round(data[key], 1)
        data["layout"] = self.layout.label
        data.pop("decode_rank_s")
        return data


def _budget(model: ModelSpec, quant: str, gpu: Gpu, tp: int, pp: int, req: PlanRequest, kv_dtype: str,
            eager: bool, seqs: int | None = None) -> GpuBudget:
    """One GPU's budget under the request's engine (vLLM's memory model unless another engine is asked)."""
    if req.engine == "sglang":
        return sglang.gpu_budget(model, quant, gpu, tp, pp, req.gpu_memory_utilization, kv_dtype, eager,
                                 req.colocated, seqs or _user_max_num_seqs(req))
    return gpu_budget(model, quant, gpu, tp, pp, req.gpu_memory_utilization, kv_dtype, eager, req.colocated,
                      seqs or _user_max_num_seqs(req))


def _seq_choices(req: PlanRequest) -> list[int | None]:
    """max_num_seqs values to try, vLLM's default first; only the user's when they set it."""
    if req.max_num_seqs:
        return [req.max_num_seqs]
    return [None, *FEWER_SEQS] if _user_max_num_seqs(req) is None else [None]


def _user_max_num_seqs(req: PlanRequest) -> int | None:
    """``--max-num-seqs`` (SGLang: ``--max-running-requests``) from the user's extra arguments, if given."""
    args = list(req.extra_args)
    flag = "--max-running-requests" if req.engine == "sglang" else "--max-num-seqs"
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args) and args[i + 1].isdigit():
            return int(args[i + 1])
        if arg.startswith(f"{flag}=") and arg.split("=", 1)[1].isdigit():
            return int(arg.split("=", 1)[1])
    return None


def _smallest_gpu(req: PlanRequest) -> Gpu:
    """The GPU every plan is made for: the node's smallest (each GPU of a layout holds the same share)."""
    return min(req.gpus, key=lambda g: g.memory_mib)


def _layouts(req: PlanRequest, model: ModelSpec, quant: str) -> list[Layout]:
    """Every layout of ``model`` at ``quant`` the node allows (the user's sizes when set)."""
    return layouts(model, quant, len(req.gpus), req.nodes, req.tensor_parallel_size, req.data_parallel_size)


def _by_gpus_used(options: list[Layout]) -> list[list[Layout]]:
    """Layouts grouped by the GPUs they use, most first: every GPU serves whenever a layout can."""
    counts = sorted({o.gpus_per_node for o in options}, reverse=True)
    return [[o for o in options if o.gpus_per_node == n] for n in counts]


def _wanted_context(req: PlanRequest, model: ModelSpec) -> int:
    return req.max_model_len if req.max_model_len else min(req.min_context, model.native_context)


def _seq_cap(req: PlanRequest, gpu: Gpu, seqs: int | None) -> int:
    return seqs or _user_max_num_seqs(req) or batch_defaults(gpu)[1]


def _fit_layout(req: PlanRequest, model: ModelSpec, quant: str, kv: str, layout: Layout, gpu: Gpu,
                wanted: int) -> ServingPlan | None:
    """``layout`` at its cheapest concession that reaches the wanted context, or None.

    Fewer concurrent sequences come before eager mode: eager changes no KV-cache figure, it only frees the
    CUDA-graph pool beside the budget, so it is used only when that room is short.
    """
    eager_choices = [False, True] if req.enforce_eager is None else [req.enforce_eager]
    for seqs in _seq_choices(req):
        for eager in eager_choices:
            budget = _budget(model, quant, gpu, layout.tp, layout.pp, req, kv, eager, seqs)
            if budget.tokens < wanted or not budget.headroom_ok:
                continue
            context = req.max_model_len or min(model.native_context, budget.tokens // CONTEXT_STEP * CONTEXT_STEP)
            return _make_plan(req, model, quant, gpu, layout, kv, eager, budget, context, seqs)
    return None


def _requests_at(plan: ServingPlan, context: int, cap: int) -> float:
    """Requests of ``context`` tokens the plan serves at once, over all its replicas."""
    return plan.data_parallel_size * min(plan.kv_cache_tokens / context, cap)


def _choose(req: PlanRequest, plans: list[ServingPlan], wanted: int) -> ServingPlan:
    """The layout rule: among the layouts that serve at least ENOUGH_REQUESTS requests of the wanted context
    at once (or nearly the most any serves, when none reaches that), the fastest single-request decode wins;
    a tie goes to the one serving more requests. The winner says why, against the runner-up."""
    gpu = _smallest_gpu(req)
    served = {id(p): _requests_at(p, wanted, _seq_cap(req, gpu, p.max_num_seqs)) for p in plans}
    best = max(served.values())
    enough = min(ENOUGH_REQUESTS, best * NEARLY)
    eligible = [p for p in plans if served[id(p)] >= enough]
    ranked = sorted(eligible, key=lambda p: (_seconds(p), -served[id(p)]))
    ranked += sorted((p for p in plans if p not in eligible), key=lambda p: -served[id(p)])
    winner = ranked[0]
    used = f"GPU(s) {_indices(winner.gpus_used)}"
    if len(ranked) == 1:
        why = ("the tensor_parallel_size/data_parallel_size you set" if req.tensor_parallel_size
               or req.data_parallel_size else f"the only layout of {winner.model} that fits")
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
    if winner.gpus_idle:
        winner.layout_reason += (f"; GPU(s) {_indices(winner.gpus_idle)} idle: no layout of {winner.model} "
                                 f"{winner.quantization} fits all {len(req.gpus)}")
    return winner


def _seconds(plan: ServingPlan) -> float:
    return plan.trace_seconds if plan.trace_seconds is not None else plan.decode_rank_s


def _speed_text(plan: ServingPlan) -> str:
    if plan.decode_tokens_per_s is None:
        return f"{plan.layout.label} ranked by bytes per token"
    return f"~{plan.decode_tokens_per_s:.0f} tokens/s"


def _indices(indices: list[int]) -> str:
    return ",".join(str(i) for i in indices)


def _try_model(req: PlanRequest, model: ModelSpec) -> ServingPlan | None:
    """The best configuration of ``model`` that reaches the wanted context, or None.

    Degrade the cheapest way first: the best weights format, then every GPU serving (fewer GPUs only when
    no layout of all of them fits), then fewer concurrent sequences, then an fp8 KV cache.
    """
    gpu = _smallest_gpu(req)
    quants = [req.quantization] if req.quantization != "auto" else list(QUANT_PREFERENCE)
    wanted = _wanted_context(req, model)
    if wanted > model.native_context:
        return None
    kv_choices = ["auto", "fp8"] if req.kv_cache_dtype == "auto" else [req.kv_cache_dtype]
    for quant in quants:
        if quant not in model.repos:
            continue
        for group in _by_gpus_used(_layouts(req, model, quant)):
            for kv in kv_choices:
                plans = [p for layout in group
                         if (p := _fit_layout(req, model, quant, kv, layout, gpu, wanted)) is not None]
                if plans:
                    return _choose(req, plans, wanted)
    return None


def plan_model(req: PlanRequest, slug: str) -> ServingPlan | None:
    """The best plan of catalogue model ``slug`` for ``req`` (None when it does not fit); no suggestions."""
    model = find_model(slug)
    if _request_problem(req, model):
        return None
    return _try_model(req, model)


def layout_plans(req: PlanRequest, plan: ServingPlan) -> list[ServingPlan]:
    """The plan's model, weights format and KV dtype in each other layout that uses the same GPUs."""
    model = find_model(plan.model)
    gpu = _smallest_gpu(req)
    wanted = _wanted_context(req, model)
    found = []
    for layout in _layouts(req, model, plan.quantization):
        if layout == plan.layout or layout.gpus_per_node != plan.layout.gpus_per_node:
            continue
        other = _fit_layout(req, model, plan.quantization, plan.kv_cache_dtype, layout, gpu, wanted)
        if other is not None:
            found.append(other)
    return found


def _make_plan(req: PlanRequest, model: ModelSpec, quant: str, gpu: Gpu, layout: Layout, kv: str,
               eager: bool, budget: GpuBudget, context: int, seqs: int | None) -> ServingPlan:
    tp, pp, dp = layout.tp, layout.pp, layout.dp
    indices = [g.index for g in req.gpus]
    per_gpu = kv_bytes_per_token_per_gpu(model, tp, pp, kv)
    speed = decode_speed(model, quant, gpu, tp, pp, per_gpu, context)
    plan = ServingPlan(
        fits=True,
        reason=f"{model.name} {quant} fits {tp * pp * dp}x {gpu.name} with {context} tokens of context",
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
        cuda_graph_gib_per_gpu=cuda_graph_gib(model, eager),
        headroom_gib_per_gpu=budget.headroom,
        headroom_needed_gib_per_gpu=budget.headroom_needed,
        kv_cache_gib_per_gpu=max(0.0, budget.kv_gib),
        kv_cache_tokens=budget.tokens,
        max_concurrent_full_context=dp * min(budget.tokens / context, _seq_cap(req, gpu, seqs)),
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
    plan.decode_rank_s = speed.ranking_seconds_per_token * TRACE_TOKENS
    plan.engine = req.engine
    if req.engine == "sglang":
        plan.gpu_memory_utilization = plan.mem_fraction_static = sglang.mem_fraction_static(
            model, gpu, tp, pp, eager, seqs or _user_max_num_seqs(req))
        plan.reasoning_parser = sglang.REASONING_PARSERS[model.reasoning_parser]
        plan.cuda_graph_gib_per_gpu = 0.0  # inside SGLang's reserve
        plan.command = ["python3", *sglang.command(plan, model, req)]
    else:
        plan.vllm_args = vllm_args(plan, model, req)
        plan.command = ["vllm", "serve", *plan.vllm_args]
    return plan


def vllm_args(plan: ServingPlan, model: ModelSpec, req: PlanRequest) -> list[str]:
    """The exact ``vllm serve`` argument list (the image's entrypoint is already ``vllm serve``)."""
    args = [
        plan.model_repo,
        "--served-model-name", req.served_model_name or model.slug,
        "--host", req.listen,
        "--port", str(req.port),
        "--max-model-len", str(plan.max_model_len),
        "--gpu-memory-utilization", f"{plan.gpu_memory_utilization:g}",
        "--tensor-parallel-size", str(plan.tensor_parallel_size),
    ]
    if plan.data_parallel_size > 1:
        args += ["--data-parallel-size", str(plan.data_parallel_size)]
    if plan.pipeline_parallel_size > 1:
        args += ["--pipeline-parallel-size", str(plan.pipeline_parallel_size)]
        if req.cluster_backend == "ray":
            args += ["--distributed-executor-backend", "ray"]
    if plan.kv_cache_dtype != "auto":
        args += ["--kv-cache-dtype", plan.kv_cache_dtype]
    if plan.enforce_eager:
        args.append("--enforce-eager")
    if plan.max_num_seqs:
        args += ["--max-num-seqs", str(plan.max_num_seqs)]
    args.append("--enable-chunked-prefill" if req.enable_chunked_prefill else "--no-enable-chunked-prefill")
    args.append("--enable-prefix-caching" if req.enable_prefix_caching else "--no-enable-prefix-caching")
    args += ["--reasoning-parser", model.reasoning_parser]
    if model.tool_call_parser:
        args += ["--enable-auto-tool-choice", "--tool-call-parser", model.tool_call_parser]
    if model.thinking_switch and not req.thinking_default:
        args += ["--default-chat-template-kwargs", json.dumps({"enable_thinking": False})]
    if req.sampling_overrides:
        args += ["--override-generation-config", json.dumps(dict(req.sampling_overrides), sort_keys=True)]
    if model.family == "deepseek-r1":
        args.append("--trust-remote-code")
    return args + list(req.extra_args)


def _refusal(req: PlanRequest, model: ModelSpec | None, why: str) -> ServingPlan:
    plan = ServingPlan(fits=False, reason=why, engine=req.engine)
    if model is not None:
        plan.model = model.slug
        gpu = _smallest_gpu(req)
        plan.gpu_name = gpu.name
        plan.gpu_memory_gib = gpu.memory_mib / 1024
    plan.suggestions = _suggestions(req, model)
    return plan


def _suggestions(req: PlanRequest, model: ModelSpec | None) -> list[str]:
    """What would fit instead: shorter context, fp8 KV cache, more GPUs, a smaller model, more nodes.

    Every suggestion is a plan the planner made, so its parallel sizes passed the same checks."""
    out: list[str] = []
    if model is not None:
        best = _longest_context(req, model)
        if best is not None and best.max_model_len < _wanted_context(req, model):
            seqs = f", max_num_seqs {best.max_num_seqs}" if best.max_num_seqs else ""
            out.append(f"max_model_len {best.max_model_len} fits ({best.quantization}, "
                       f"kv_cache_dtype {best.kv_cache_dtype}, layout {best.layout.label}{seqs})")
        if req.kv_cache_dtype != "fp8" and _try_model(replace(req, kv_cache_dtype="fp8"), model):
            out.append("kv_cache_dtype fp8 fits the wanted context")
        higher = _higher_utilization(req, model)
        if higher is not None:
            out.append(higher)
        if req.quantization != "auto" and _try_model(replace(req, quantization="auto"), model):
            out.append("quantization auto (another weights format) fits")
        if req.nodes == 1:
            for count in (2, 4, 8):
                if count > len(req.gpus):
                    more = replace(req, gpus=tuple(replace(req.gpus[0], index=i) for i in range(count)),
                                   tensor_parallel_size=None, data_parallel_size=None)
                    plan = _try_model(more, model)
                    if plan:
                        out.append(f"{count}x {req.gpus[0].name} fit (layout {plan.layout.label}, "
                                   f"tensor_parallel_size {plan.tensor_parallel_size})")
                        break
        for nodes in (2, 3, 4):
            if nodes > req.nodes:
                plan = _try_model(replace(req, nodes=nodes, tensor_parallel_size=None, data_parallel_size=None),
                                  model)
                if plan:
                    out.append(f"{nodes} nodes like this one (pipeline parallel {nodes}, tensor parallel "
                               f"{plan.tensor_parallel_size}) fit")
                    break
    smaller = _auto(replace(req, model="auto"), below=model.strength if model else None)
    if smaller.fits:
        out.append(f"model {smaller.model} fits ({smaller.quantization}, {smaller.max_model_len} tokens)")
    return out


def _most_generous(req: PlanRequest, model: ModelSpec, quant: str) -> Layout | None:
    """The allowed layout with the most GPUs per replica (the most memory one replica can have)."""
    options = _layouts(req, model, quant)
    return max(options, key=lambda o: (o.tp, -o.dp)) if options else None


def _higher_utilization(req: PlanRequest, model: ModelSpec) -> str | None:
    """A higher gpu_memory_utilization with CUDA graphs off, when that leaves room and fits."""
    if req.enforce_eager is False or req.engine != "vllm":
        return None
    gpu = _smallest_gpu(req)
    layout = _most_generous(req, model, next(iter(model.repos)))
    if layout is None:
        return None
    safe = min(0.98, max_safe_utilization(model, gpu, layout.tp, req.nodes, True, req.colocated))
    if safe <= req.gpu_memory_utilization:
        return None
    plan = _try_model(replace(req, gpu_memory_utilization=safe, enforce_eager=True), model)
    if plan is None:
        return None
    return (f"gpu_memory_utilization {safe:g} with enforce_eager true fits ({plan.quantization}, "
            f"kv_cache_dtype {plan.kv_cache_dtype}, layout {plan.layout.label}): "
            "without CUDA graphs the context needs less room beside vLLM's budget")


def _longest_context(req: PlanRequest, model: ModelSpec) -> ServingPlan | None:
    """The configuration of ``model`` with the longest context these GPUs allow (at least 4096 tokens)."""
    kv_choices = ["auto", "fp8"] if req.kv_cache_dtype == "auto" else [req.kv_cache_dtype]
    eager = True if req.enforce_eager is None else req.enforce_eager
    plans = [_try_model(replace(req, max_model_len=None, min_context=4096, kv_cache_dtype=kv, enforce_eager=eager,
                                max_num_seqs=seqs), model)
             for kv in kv_choices for seqs in _seq_choices(req)]
    found = [p for p in plans if p is not None]
    return max(found, key=lambda p: p.max_model_len) if found else None


def _auto(req: PlanRequest, below: int | None = None) -> ServingPlan:
    for model in sorted(MODELS.values(), key=lambda m: -m.strength):
        if below is not None and model.strength >= below:
            continue
        plan = _try_model(req, model)
        if plan is not None:
            plan.reason = f"auto: {plan.reason}"
            return plan
    return ServingPlan(fits=False, reason="no catalogue model fits these GPUs with the wanted context")


def _request_problem(req: PlanRequest, model: ModelSpec | None) -> str | None:
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


def make_plan(req: PlanRequest) -> ServingPlan:
    """Plan one model instance; the plan either fits or says why not and what would."""
    if req.engine == "mlx" or (req.engine == "auto" and any(g.apple for g in req.gpus)):
        from reasoning_stack.engines.mlx_plan import plan_mlx

        return plan_mlx(replace(req, engine="mlx"))
    if any(g.apple for g in req.gpus):
        return ServingPlan(fits=False, engine=req.engine, reason=f"engine {req.engine!r} needs NVIDIA GPUs; "
                           f"{req.gpus[0].name} is served by engine 'mlx' (MLX-LM)")
    if req.engine == "ollama":
        from reasoning_stack.engines.ollama_plan import plan_ollama

        return plan_ollama(req)
    if req.engine == "auto":
        return _auto_engine(req)
    if not req.gpus:
        return ServingPlan(fits=False, reason="no GPU: nvidia-smi reported none and no gpu_profile is set",
                           suggestions=["set gpu_profile (and gpu_count) in group_data to plan without a driver"])
    if req.model == "auto":
        problem = _request_problem(req, None)
        if problem:
            return ServingPlan(fits=False, reason=problem)
        plan = _auto(req)
        if not plan.fits:
            setting = f"max_model_len {req.max_model_len}" if req.max_model_len else f"min_context {req.min_context}"
            plan.reason = f"no catalogue model fits these GPUs with {setting}"
            plan.suggestions = _suggestions(req, None) or [f"a shorter {setting.split()[0]}", "more or larger GPUs"]
        return plan
    try:
        model = find_model(req.model)
    except KeyError as exc:
        return ServingPlan(fits=False, reason=str(exc.args[0]))
    if req.quantization != "auto" and req.quantization not in model.repos:
        return _refusal(req, model, f"{model.name} is not published as {req.quantization}; "
                        f"available: {', '.join(model.repos)}")
    problem = _request_problem(req, model)
    if problem:
        return _refusal(req, model, problem)
    plan = _try_model(req, model)
    if plan is not None:
        return plan
    return _refusal(req, model, _why_not(req, model))


def _auto_engine(req: PlanRequest) -> ServingPlan:
    """engine auto: vLLM where it serves the model at the wanted context, else Ollama (4-bit GGUF weights and
    its own KV cache fit where vLLM's do not). With ``model: auto``, Ollama also wins when it serves a
    stronger reasoning model than vLLM can on these GPUs (an 8 GB card: Qwen3-8B at 4 bits over vLLM's
    7B distill). The plan says which and why."""
    from reasoning_stack.engines.ollama_plan import plan_ollama

    vllm = make_plan(replace(req, engine="vllm"))
    other = plan_ollama(replace(req, engine="ollama", tensor_parallel_size=None, data_parallel_size=None))
    if vllm.fits and not (other.fits and req.model == "auto"
                          and find_model(other.model).strength > find_model(vllm.model).strength):
        vllm.reason = f"engine auto -> vLLM: {vllm.reason}"
        return vllm
    if not other.fits:
        vllm.reason = f"engine auto: neither vLLM nor Ollama fits: {vllm.reason} | Ollama: {other.reason}"
        return vllm
    if vllm.fits:
        why = (f"Ollama serves a stronger reasoning model here ({find_model(other.model).name} at 4 bits) than "
               f"vLLM can ({find_model(vllm.model).name} {vllm.quantization})")
    else:
        why = f"vLLM cannot serve it here ({vllm.reason.split(':')[0]})"
    other.reason = f"engine auto -> Ollama, because {why}: {other.reason}"
    return other


def _why_not(req: PlanRequest, model: ModelSpec) -> str:
    """The numbers behind a refusal, for the most generous configuration the user allowed."""
    gpu = _smallest_gpu(req)
    quants = [q for q in QUANT_PREFERENCE if q in model.repos] if req.quantization == "auto" else [req.quantization]
    layout = _most_generous(req, model, quants[-1])
    if layout is None:
        return (f"{model.name} {quants[-1]} has no tensor-parallel size that suits {len(req.gpus)} GPU(s): "
                f"{tp_problem(model, len(req.gpus), quants[-1])}")
    tp = layout.tp
    kv = "fp8" if req.kv_cache_dtype == "auto" else req.kv_cache_dtype
    eager = True if req.enforce_eager is None else req.enforce_eager
    seqs = _seq_choices(req)[-1]
    budget = _budget(model, quants[-1], gpu, tp, req.nodes, req, kv, eager, seqs)
    head = (f"{model.name} does not fit {tp * req.nodes}x {gpu.name} ({gpu.memory_mib / 1024:.1f} GiB each, "
            f"{budget.total:.2f} GiB to CUDA) with {_wanted_context(req, model)} tokens of context: at best "
            f"({quants[-1]}, tensor parallel {tp}, kv-cache {kv}{', eager' if eager else ''}"
            f"{f', max_num_seqs {seqs}' if seqs else ''}) ")
    if budget.tokens >= _wanted_context(req, model):
        safe = max_safe_utilization(model, gpu, tp, req.nodes, eager, req.colocated)
        return head + (
            f"the KV cache would fit, but beside the {budget.requested:.1f} GiB vLLM may use "
            f"(gpu_memory_utilization {req.gpu_memory_utilization:g}) only {budget.headroom:.2f} GiB remain for "
            f"CUDA context, NCCL and CUDA graphs, which need {budget.headroom_needed:.2f} GiB; "
            f"gpu_memory_utilization {safe:g} or less leaves enough"
        )
    if req.engine == "sglang":
        return head + (
            f"weights take {budget.weights:.1f} GiB per GPU of the {budget.requested:.1f} GiB SGLang keeps for "
            f"weights and KV cache (mem_fraction_static {sglang.mem_fraction_static(model, gpu, tp, req.nodes, eager)}"
            f", its own rule), leaving {max(0.0, budget.kv_gib):.1f} GiB = {budget.tokens} tokens of KV cache "
            f"({budget.kv_per_token // 1024} KiB per token per GPU)"
        )
    return head + (
        f"weights take {budget.weights:.1f} GiB per GPU, vLLM's profiling pass {budget.activation:.1f} GiB and "
        f"non-torch memory {budget.non_torch:.1f} GiB of the {budget.requested:.1f} GiB vLLM may use "
        f"(gpu_memory_utilization {req.gpu_memory_utilization:g}), leaving {max(0.0, budget.kv_gib):.1f} GiB = "
        f"{budget.tokens} tokens of KV cache ({budget.kv_per_token // 1024} KiB per token per GPU)"
    )


SUMMARY_HEADER = ["host", "engine", "model", "quant", "TPxPPxDP", "GPUs", "context", "KV tokens", "full-ctx reqs",
                  "tok/s", "fits"]


def plan_summary_row(host: str, plan: ServingPlan) -> list[str]:
    """One row of the ``reasoning-stack plan`` table (columns: SUMMARY_HEADER)."""
    if not plan.fits:
        return [host, plan.engine, plan.model or "-", "-", "-", "-", "-", "-", "-", "-", "NO"]
    total = len(plan.gpus_used) + len(plan.gpus_idle)
    gpus = f"{len(plan.gpus_used)}/{total}" + (f" ({_indices(plan.gpus_used)})" if plan.gpus_idle else "")
    speed = "?" if plan.decode_tokens_per_s is None else f"~{plan.decode_tokens_per_s:.0f}"
    return [
        host, plan.engine, plan.model, plan.quantization, plan.layout.label, gpus,
        str(plan.max_model_len), str(plan.kv_cache_tokens), f"{plan.max_concurrent_full_context:.1f}", speed, "yes",
    ]


def request_from_settings(settings: StackSettings, gpus: list[Gpu], nodes: int = 1) -> PlanRequest:
    """The planner's request for a host (``nodes`` > 1: every node of its cluster, each with these GPUs)."""
    return PlanRequest(
        gpus=tuple(gpus),
        model=settings.model,
        quantization=settings.quantization,
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
        listen=settings.vllm_listen,
        port=settings.vllm_port,
        enable_prefix_caching=settings.enable_prefix_caching,
        enable_chunked_prefill=settings.enable_chunked_prefill,
        extra_args=tuple(settings.extra_args_for(settings.engine)),
        engine=settings.engine,
        thinking_default=settings.thinking_default,
        sampling_overrides=tuple(sorted(settings.sampling_overrides.items())),
    )
