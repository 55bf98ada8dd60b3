"""``engine: auto``, a resolver rather than an engine: on a Mac, MLX-LM; on NVIDIA GPUs, vLLM where it serves the
model at the wanted context, else Ollama (4-bit GGUF weights and its own KV cache fit where vLLM's do not). With
``model: auto``, Ollama also wins when it serves a stronger reasoning model than vLLM can on these GPUs (an 8 GB
card: Qwen3-8B at 4 bits over vLLM's 7B distill). The plan says which and why."""

from __future__ import annotations

from dataclasses import replace

from reasoning_stack.catalogue import find_model
from reasoning_stack.engines.mlx import ENGINE as MLX
from reasoning_stack.engines.ollama import ENGINE as OLLAMA
from reasoning_stack.engines.vllm import ENGINE as VLLM
from reasoning_stack.planning.types import PlanRequest, ServingPlan

NAME = "auto"
CANDIDATES = (VLLM, OLLAMA)  # what auto may resolve to on NVIDIA GPUs: its settings are checked for both
# A request for auto takes vLLM's default share, the one engine of the two that reads it.
PlanRequest.DEFAULT_UTILIZATION.update(
    {(NAME, release): share for (engine, release), share in list(PlanRequest.DEFAULT_UTILIZATION.items())
     if engine == VLLM.name})


def plan(req: PlanRequest) -> ServingPlan:
    """The plan of the engine auto resolves to for ``req``'s GPUs, saying why."""
    if MLX.runs_on(req.gpus):
        return MLX.plan(replace(req, engine=MLX.name))
    vllm = VLLM.plan(replace(req, engine=VLLM.name))
    other = OLLAMA.plan(replace(req, engine=OLLAMA.name, tensor_parallel_size=None, data_parallel_size=None))
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
