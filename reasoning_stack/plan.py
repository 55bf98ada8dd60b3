"""The serving planner: GPUs + model + wanted context -> parallelism, memory budget, KV cache, vLLM args.

The memory of each GPU is divided the way vLLM 0.17.1 divides it (``reasoning_stack.memory``): KV cache
is what is left of ``total x gpu_memory_utilization`` after weights, the profiling peak and non-torch
memory; CUDA context, NCCL and CUDA graphs must fit beside that budget. A request needs its whole context
in KV cache, so ``max_model_len`` must not exceed the KV-cache tokens.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace

from reasoning_stack.catalogue import MODELS, ModelSpec, find_model
from reasoning_stack.gpus import Gpu
from reasoning_stack.memory import (
    GpuBudget,
    batch_defaults,
    cuda_graph_gib,
    gpu_budget,
    kv_bytes_per_token_per_gpu,
    max_safe_utilization,
)
from reasoning_stack.settings import StackSettings

QUANT_PREFERENCE = ("bf16", "fp8", "awq", "gptq")  # best quality first
# max_num_seqs tried when vLLM's default (256, or 1024 on H100/H200) leaves too little KV cache: its
# profiling sampler pass holds max_num_seqs rows of logits, ~5.6 MiB each for a 152K vocabulary.
FEWER_SEQS = (64, 16)
CONTEXT_STEP = 1024


@dataclass(frozen=True)
class PlanRequest:
    """What the planner is asked: the GPUs of one node, how many nodes, and the user's wishes."""

    gpus: tuple[Gpu, ...]
    model: str = "auto"
    quantization: str = "auto"
    max_model_len: int | None = None
    min_context: int = 16384
    gpu_memory_utilization: float = 0.90
    kv_cache_dtype: str = "auto"
    enforce_eager: bool | None = None
    tensor_parallel_size: int | None = None
    nodes: int = 1
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
    kv_cache_tokens: int = 0
    max_concurrent_full_context: float = 0.0
    gpu_name: str = ""
    gpu_memory_gib: float = 0.0
    gpu_indices: list[int] = field(default_factory=list)
    reasoning_parser: str = ""
    vllm_args: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """The JSON document of ``reasoning-stack plan --json``."""
        data = asdict(self)
        for key in ("weights_gib_per_gpu", "kv_cache_gib_per_gpu", "reserve_gib_per_gpu", "gpu_memory_gib",
                    "headroom_gib_per_gpu", "headroom_needed_gib_per_gpu", "activation_gib_per_gpu",
                    "non_torch_gib_per_gpu", "cuda_graph_gib_per_gpu"):
            data[key] = round(data[key], 2)
        data["max_concurrent_full_context"] = round(self.max_concurrent_full_context, 2)
        return data


def _budget(model: ModelSpec, quant: str, gpu: Gpu, tp: int, pp: int, req: PlanRequest, kv_dtype: str,
            eager: bool, seqs: int | None = None) -> GpuBudget:
    return gpu_budget(model, quant, gpu, tp, pp, req.gpu_memory_utilization, kv_dtype, eager, req.colocated,
                      seqs or _user_max_num_seqs(req))


def _seq_choices(req: PlanRequest) -> list[int | None]:
    """max_num_seqs values to try, vLLM's default first; only the user's when they set it."""
    if req.max_num_seqs:
        return [req.max_num_seqs]
    return [None, *FEWER_SEQS] if _user_max_num_seqs(req) is None else [None]


def _user_max_num_seqs(req: PlanRequest) -> int | None:
    """``--max-num-seqs`` from the user's extra vLLM arguments, if given."""
    args = list(req.extra_args)
    for i, arg in enumerate(args):
        if arg == "--max-num-seqs" and i + 1 < len(args) and args[i + 1].isdigit():
            return int(args[i + 1])
        if arg.startswith("--max-num-seqs=") and arg.split("=", 1)[1].isdigit():
            return int(arg.split("=", 1)[1])
    return None


def _tp_choices(req: PlanRequest, model: ModelSpec) -> list[int]:
    per_node = len(req.gpus)
    if req.tensor_parallel_size:
        return [req.tensor_parallel_size]
    if req.nodes > 1:
        return [per_node]
    heads = model.kv_heads if not model.mla else 128
    return [tp for tp in (1, 2, 4, 8, 16) if tp <= per_node and (heads % tp == 0 or tp % heads == 0)]


def _wanted_context(req: PlanRequest, model: ModelSpec) -> int:
    return req.max_model_len if req.max_model_len else min(req.min_context, model.native_context)


def _try_model(req: PlanRequest, model: ModelSpec) -> ServingPlan | None:
    """The best configuration of ``model`` that reaches the wanted context, or None."""
    gpu = min(req.gpus, key=lambda g: g.memory_mib)
    quants = [req.quantization] if req.quantization != "auto" else list(QUANT_PREFERENCE)
    wanted = _wanted_context(req, model)
    if wanted > model.native_context:
        return None
    eager_choices = [False, True] if req.enforce_eager is None else [req.enforce_eager]
    seq_choices = _seq_choices(req)
    for quant in quants:
        if quant not in model.repos:
            continue
        # Degrade the cheapest way first: more GPUs, then fewer concurrent sequences, then fp8 KV cache.
        # Eager mode changes no KV-cache figure; it frees the CUDA-graph pool beside the budget, so it is
        # used only when that room is short.
        kv_choices = ["auto", "fp8"] if req.kv_cache_dtype == "auto" else [req.kv_cache_dtype]
        for kv in kv_choices:
            for tp in _tp_choices(req, model):
                pp = req.nodes
                for seqs in seq_choices:
                    for eager in eager_choices:
                        budget = _budget(model, quant, gpu, tp, pp, req, kv, eager, seqs)
                        if budget.tokens < wanted or not budget.headroom_ok:
                            continue
                        if req.max_model_len:
                            context = req.max_model_len
                        else:
                            context = min(model.native_context, budget.tokens // CONTEXT_STEP * CONTEXT_STEP)
                        return _make_plan(req, model, quant, gpu, tp, pp, kv, eager, budget, context, seqs)
    return None


def _make_plan(req: PlanRequest, model: ModelSpec, quant: str, gpu: Gpu, tp: int, pp: int, kv: str,
               eager: bool, budget: GpuBudget, context: int, seqs: int | None) -> ServingPlan:
    plan = ServingPlan(
        fits=True,
        reason=f"{model.name} {quant} fits {tp * pp}x {gpu.name} with {context} tokens of context",
        model=model.slug,
        model_repo=model.repos[quant],
        quantization=quant,
        tensor_parallel_size=tp,
        pipeline_parallel_size=pp,
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
        max_concurrent_full_context=min(budget.tokens / context,
                                        seqs or _user_max_num_seqs(req) or batch_defaults(gpu)[1]),
        gpu_name=gpu.name,
        gpu_memory_gib=gpu.memory_mib / 1024,
        gpu_indices=[g.index for g in req.gpus][:tp],
        reasoning_parser=model.reasoning_parser,
    )
    plan.vllm_args = vllm_args(plan, model, req)
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
    if plan.pipeline_parallel_size > 1:
        args += ["--pipeline-parallel-size", str(plan.pipeline_parallel_size),
                 "--distributed-executor-backend", "ray"]
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
    plan = ServingPlan(fits=False, reason=why)
    if model is not None:
        plan.model = model.slug
        gpu = min(req.gpus, key=lambda g: g.memory_mib)
        plan.gpu_name = gpu.name
        plan.gpu_memory_gib = gpu.memory_mib / 1024
    plan.suggestions = _suggestions(req, model)
    return plan


def _suggestions(req: PlanRequest, model: ModelSpec | None) -> list[str]:
    """What would fit instead: shorter context, fp8 KV cache, more GPUs, a smaller model, more nodes."""
    out: list[str] = []
    if model is not None:
        best = _longest_context(req, model)
        if best is not None and best.max_model_len < _wanted_context(req, model):
            seqs = f", max_num_seqs {best.max_num_seqs}" if best.max_num_seqs else ""
            out.append(f"max_model_len {best.max_model_len} fits ({best.quantization}, "
                       f"kv_cache_dtype {best.kv_cache_dtype}, tensor_parallel_size {best.tensor_parallel_size}"
                       f"{seqs})")
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
                                   tensor_parallel_size=None)
                    if _try_model(more, model):
                        out.append(f"{count}x {req.gpus[0].name} with tensor_parallel_size {count} fits")
                        break
        for nodes in (2, 3, 4):
            if nodes > req.nodes and _try_model(replace(req, nodes=nodes, tensor_parallel_size=None), model):
                out.append(f"{nodes} nodes like this one (pipeline parallel {nodes}) fit")
                break
    smaller = _auto(replace(req, model="auto"), below=model.strength if model else None)
    if smaller.fits:
        out.append(f"model {smaller.model} fits ({smaller.quantization}, {smaller.max_model_len} tokens)")
    return out


def _higher_utilization(req: PlanRequest, model: ModelSpec) -> str | None:
    """A higher gpu_memory_utilization with CUDA graphs off, when that leaves room and fits."""
    if req.enforce_eager is False:
        return None
    gpu = min(req.gpus, key=lambda g: g.memory_mib)
    tp = max(_tp_choices(req, model) or [1])
    safe = min(0.98, max_safe_utilization(model, gpu, tp, req.nodes, True, req.colocated))
    if safe <= req.gpu_memory_utilization:
        return None
    plan = _try_model(replace(req, gpu_memory_utilization=safe, enforce_eager=True), model)
    if plan is None:
        return None
    return (f"gpu_memory_utilization {safe:g} with enforce_eager true fits ({plan.quantization}, "
            f"kv_cache_dtype {plan.kv_cache_dtype}, tensor_parallel_size {plan.tensor_parallel_size}): "
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


def make_plan(req: PlanRequest) -> ServingPlan:
    """Plan one model instance; the plan either fits or says why not and what would."""
    if not req.gpus:
        return ServingPlan(fits=False, reason="no GPU: nvidia-smi reported none and no gpu_profile is set",
                           suggestions=["set gpu_profile (and gpu_count) in group_data to plan without a driver"])
    if req.model == "auto":
        plan = _auto(req)
        if not plan.fits:
            plan.suggestions = _suggestions(req, None) or [
                f"a shorter min_context than {req.min_context}", "more or larger GPUs"]
        return plan
    try:
        model = find_model(req.model)
    except KeyError as exc:
        return ServingPlan(fits=False, reason=str(exc.args[0]))
    if req.quantization != "auto" and req.quantization not in model.repos:
        return _refusal(req, model, f"{model.name} is not published as {req.quantization}; "
                        f"available: {', '.join(model.repos)}")
    wanted = _wanted_context(req, model)
    if wanted > model.native_context:
        return _refusal(req, model, f"max_model_len {wanted} is longer than {model.name}'s native context "
                        f"{model.native_context}")
    if req.tensor_parallel_size and req.tensor_parallel_size > len(req.gpus):
        return _refusal(req, model, f"tensor_parallel_size {req.tensor_parallel_size} needs "
                        f"{req.tensor_parallel_size} GPUs, the node has {len(req.gpus)}")
    plan = _try_model(req, model)
    if plan is not None:
        return plan
    return _refusal(req, model, _why_not(req, model))


def _why_not(req: PlanRequest, model: ModelSpec) -> str:
    """The numbers behind a refusal, for the most generous configuration the user allowed."""
    gpu = min(req.gpus, key=lambda g: g.memory_mib)
    quants = [q for q in QUANT_PREFERENCE if q in model.repos] if req.quantization == "auto" else [req.quantization]
    tp = max(_tp_choices(req, model) or [1])
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
    return head + (
        f"weights take {budget.weights:.1f} GiB per GPU, vLLM's profiling pass {budget.activation:.1f} GiB and "
        f"non-torch memory {budget.non_torch:.1f} GiB of the {budget.requested:.1f} GiB vLLM may use "
        f"(gpu_memory_utilization {req.gpu_memory_utilization:g}), leaving {max(0.0, budget.kv_gib):.1f} GiB = "
        f"{budget.tokens} tokens of KV cache ({budget.kv_per_token // 1024} KiB per token per GPU)"
    )


def plan_summary_row(host: str, plan: ServingPlan) -> list[str]:
    """One row of the ``reasoning-stack plan`` table."""
    if not plan.fits:
        return [host, plan.model or "-", "-", "-", "-", "-", "-", "NO"]
    return [
        host, plan.model, plan.quantization, f"{plan.tensor_parallel_size}x{plan.pipeline_parallel_size}",
        str(plan.max_model_len), str(plan.kv_cache_tokens), f"{plan.max_concurrent_full_context:.1f}", "yes",
    ]


def request_from_settings(settings: StackSettings, gpus: list[Gpu], nodes: int = 1) -> PlanRequest:
    """The planner's request for a host: its GPUs (facts or declared profile) and its settings."""
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
        nodes=nodes,
        served_model_name=settings.served_model_name,
        listen=settings.vllm_listen,
        port=settings.vllm_port,
        enable_prefix_caching=settings.enable_prefix_caching,
        enable_chunked_prefill=settings.enable_chunked_prefill,
        extra_args=tuple(settings.vllm_extra_args),
        thinking_default=settings.thinking_default,
        sampling_overrides=tuple(sorted(settings.sampling_overrides.items())),
    )
