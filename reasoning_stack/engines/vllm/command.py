"""vLLM's command line: the exact ``vllm serve`` arguments of a plan, and those that make a host one node of an mp
cluster."""

from __future__ import annotations

import json

from reasoning_stack.catalogue import ModelSpec, served_name
from reasoning_stack.engines.vllm.releases import RELEASES, VllmRelease
from reasoning_stack.planning.types import PlanRequest, ServingPlan
from reasoning_stack.topology import Cluster


def vllm_args(plan: ServingPlan, model: ModelSpec, req: PlanRequest,
              release: VllmRelease = RELEASES["0.17.1"]) -> list[str]:
    """The exact ``vllm serve`` argument list for ``release`` (the image's entrypoint is already ``vllm serve``).

    A release whose own default is the whole GPU (0.34's extensible KV cache) gets no --gpu-memory-utilization when
    the plan uses that default: an explicit share below 1 would only withhold memory (and vLLM warns of it)."""
    args = [
        plan.model_repo,
        "--served-model-name", served_name(model.slug, req.served_model_name),
        "--host", req.listen,
        "--port", str(req.port),
        "--max-model-len", str(plan.max_model_len),
    ]
    if not (release.default_utilization is None and plan.gpu_memory_utilization >= 1.0):
        args += ["--gpu-memory-utilization", f"{plan.gpu_memory_utilization:g}"]
    args += ["--tensor-parallel-size", str(plan.tensor_parallel_size)]
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
    if req.max_num_batched_tokens:
        args += ["--max-num-batched-tokens", str(req.max_num_batched_tokens)]
    if model.revision:
        args += ["--revision", model.revision]
    args.append("--enable-chunked-prefill" if req.enable_chunked_prefill else release.off("--enable-chunked-prefill"))
    args.append("--enable-prefix-caching" if req.enable_prefix_caching else release.off("--enable-prefix-caching"))
    args += ["--reasoning-parser", model.reasoning_parser]
    if model.tool_call_parser:
        args += ["--enable-auto-tool-choice", "--tool-call-parser", model.tool_call_parser]
    if model.thinking_switch and req.thinking_default != model.thinks_by_default:  # the template's default flipped
        args += ["--default-chat-template-kwargs", json.dumps({model.thinking_kwarg: req.thinking_default})]
    if req.sampling_overrides:
        args += ["--override-generation-config", json.dumps(dict(req.sampling_overrides), sort_keys=True)]
    if req.speculative_tokens:  # the checkpoint's own MTP head drafts (vLLM picks the model's MTP class), or the
        # drafter published beside it (vLLM reads a gemma4_assistant config as its gemma4_mtp drafter)
        draft: dict[str, object] = {"model": model.drafter} if model.drafter else {"method": "mtp"}
        args += ["--speculative-config", json.dumps({**draft, "num_speculative_tokens": req.speculative_tokens})]
    if model.trust_remote_code:
        args.append("--trust-remote-code")
    return args + list(req.extra_args)


def node_args(cluster: Cluster, host: str, head_address: str, port: int) -> list[str]:
    """The ``vllm serve`` arguments that make ``host`` one node of ``cluster`` with the mp backend (vLLM's own
    multi-node mode: every node runs ``vllm serve``, the others ``--headless``); none with Ray, where the
    head's one ``vllm serve`` places its workers on the Ray cluster."""
    if cluster.backend != "mp":
        return []
    rank = cluster.rank(host)
    args = ["--nnodes", str(len(cluster.nodes)), "--node-rank", str(rank), "--master-addr", head_address,
            "--master-port", str(port)]
    return args + (["--headless"] if rank else [])
