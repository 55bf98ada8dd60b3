"""SGLang's command line: the exact ``python3 -m sglang.launch_server`` arguments of a plan."""

from __future__ import annotations

import json

from reasoning_stack.catalogue import ModelSpec, served_name
from reasoning_stack.engines.sglang.output import SglangOutput
from reasoning_stack.planning.types import PlanRequest, ServingPlan

# SGLang spells its reasoning parsers with a hyphen (docs/advanced_features/separate_reasoning; the
# --reasoning-parser choices of 0.5.23); vLLM's names are deepseek_r1 and qwen3.
REASONING_PARSERS = {"deepseek_r1": "deepseek-r1", "qwen3": "qwen3", "glm45": "glm45"}


def command(plan: ServingPlan, model: ModelSpec, req: PlanRequest) -> list[str]:
    """The exact command the SGLang container runs (after ``--entrypoint python3``'s ``python3``)."""
    assert isinstance(plan.output, SglangOutput)
    args = [
        "-m", "sglang.launch_server",
        "--model-path", plan.model_repo,
        "--served-model-name", served_name(model.slug, req.served_model_name),
        "--host", req.listen,
        "--port", str(req.port),
        "--tp-size", str(plan.tensor_parallel_size),
        "--context-length", str(plan.max_model_len),
        "--mem-fraction-static", f"{plan.output.mem_fraction_static:g}",
        "--reasoning-parser", REASONING_PARSERS[model.reasoning_parser],
        "--enable-metrics",
    ]
    if plan.data_parallel_size > 1:
        args += ["--dp-size", str(plan.data_parallel_size)]
    if plan.kv_cache_dtype == "fp8":
        args += ["--kv-cache-dtype", "fp8_e4m3"]
    if plan.enforce_eager:
        args.append("--disable-cuda-graph")
    if plan.max_num_seqs:
        args += ["--max-running-requests", str(plan.max_num_seqs)]
    if not req.enable_prefix_caching:
        args.append("--disable-radix-cache")
    if model.thinking_switch and req.thinking_default != model.thinks_by_default:  # the template's default flipped
        args += ["--default-chat-template-kwargs", json.dumps({model.thinking_kwarg: req.thinking_default})]
    if model.trust_remote_code:
        args.append("--trust-remote-code")
    return args + list(req.extra_args)
