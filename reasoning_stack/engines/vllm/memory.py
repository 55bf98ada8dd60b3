"""How vLLM 0.17.1 divides one GPU's memory: the planner's memory model, term by term.

vLLM's accounting (``vllm/v1/worker/gpu_worker.py: determine_available_memory`` and
``vllm/utils/mem_utils.py: memory_profiling``):

- it may use ``requested = total x gpu_memory_utilization``, where ``total`` is what CUDA reports
  (``cudaMemGetInfo``), a little less than nvidia-smi's ``memory.total``;
- from that it subtracts the weights, the torch peak of its profiling pass (a forward pass of
  ``max_num_batched_tokens`` tokens, then a dummy sampler pass over ``max_num_seqs`` requests) and the
  non-torch memory that pass added; the rest is KV cache;
- the CUDA context and NCCL, set up before its baseline snapshot, and the CUDA-graph pool, captured after
  the KV cache is allocated, are *not* in that budget: they must fit in ``total x (1 - utilization)``.
  When they do not, vLLM starts and then dies of out-of-memory in graph capture or sampler warm-up;
  ``--enforce-eager`` removes the graph pool from that headroom.

Each constant below names the measurements it comes from (``tests/test_known_answers.py`` checks the
whole model against vLLM start-up logs); what every engine shares (CUDA's total, context, NCCL, the KV bytes of a
token) is in ``reasoning_stack.cuda``.
"""

from __future__ import annotations

from reasoning_stack.catalogue import GIB, MIB, ModelSpec, weights_gib
from reasoning_stack.cuda import (
    CUDA_CONTEXT_GIB,
    NCCL_GIB,
    UNIFIED_MEMORY_UTILIZATION,
    GpuBudget,
    batch_defaults,
    cuda_total_gib,
    kv_bytes_per_token_per_gpu,
)
from reasoning_stack.gpus import Gpu
from reasoning_stack.kv_pool import BLOCK, kv_pool

__all__ = ["BLOCK", "activation_gib", "cuda_graph_gib", "gpu_budget", "headroom_needed_gib", "max_safe_utilization"]

# Peak bytes per logit of vLLM's dummy sampler pass (bf16 logits, their fp32 copy, sort values and int64
# indices, softmax, cumsum, mask, exponential noise: PyTorch-native top-k/top-p, 0.17.1's default).
# Fitted to the "torch peak memory increase" vLLM logged on an H100 (max_num_seqs 1024) for Qwen3-0.6B
# (5.56 GiB, vocab 151936), Llama-3.1-8B (4.76 GiB, vocab 128256), Qwen3-32B (5.64 GiB) and gpt-oss-20b
# (7.38 GiB, vocab 201088): 38.3-38.4 bytes each, once the retained hidden states are taken off.
SAMPLER_BYTES_PER_LOGIT = 38.4

# Non-torch memory added by the profiling pass: 0.13-0.14 GiB with one GPU and 0.54-0.55 GiB with
# tensor parallel 2 on H100 (vLLM 0.11 debug logs); 0.47 GiB on an RTX 3090 for a model with extra
# attention workspaces. Planned at the upper end of each.
NON_TORCH_GIB = 0.45
NON_TORCH_PARALLEL_GIB = 0.6

def activation_gib(model: ModelSpec, gpu: Gpu, max_num_seqs: int | None = None,
                   max_num_batched_tokens: int | None = None) -> float:
    """Torch peak of vLLM's profiling pass: the dummy sampler over max_num_seqs rows of logits.

    The logits are gathered to the full vocabulary on every tensor-parallel rank, so this does not shrink
    with tensor parallelism. The forward pass's own peak at the default batch sizes is smaller than the
    sampler's (Qwen3-0.6B and Qwen3-32B measured 5.56 and 5.64 GiB on the same GPU), so only the hidden
    states the sampler reads are added. ``max_num_seqs`` (vLLM's flag) shrinks the sampler pass.
    """
    batched_tokens, default_seqs = batch_defaults(gpu, max_num_batched_tokens)
    requests = min(batched_tokens, max_num_seqs or default_seqs)
    sampler = requests * model.vocab_size * SAMPLER_BYTES_PER_LOGIT
    hidden = batched_tokens * model.hidden_size * 2
    return (sampler + hidden) / GIB


def non_torch_gib(tp: int, pp: int) -> float:
    """Non-torch memory vLLM's profiling pass adds (communication buffers, attention workspaces)."""
    return NON_TORCH_PARALLEL_GIB if tp * pp > 1 else NON_TORCH_GIB


def cuda_graph_gib(model: ModelSpec, eager: bool) -> float:
    """Estimated CUDA-graph pool (0 with ``--enforce-eager``).

    vLLM 0.11-0.2x logs show 0.1-1.3 GiB for 24-80 layer models (the pool grows with the number of
    piecewise graphs, one set per layer); estimated as 0.3 GiB + 10 MiB per layer.
    """
    return 0.0 if eager else 0.3 + model.layers * 10 * MIB / GIB


def headroom_needed_gib(model: ModelSpec, tp: int, pp: int, eager: bool, colocated: int = 1) -> float:
    """Memory outside vLLM's budget that each GPU must have: context, NCCL and graphs of every instance."""
    per_instance = CUDA_CONTEXT_GIB + (NCCL_GIB if tp * pp > 1 else 0.0) + cuda_graph_gib(model, eager)
    return per_instance * colocated


def gpu_budget(model: ModelSpec, quant: str, gpu: Gpu, tp: int, pp: int, util: float, kv_dtype: str,
               eager: bool, colocated: int = 1, max_num_seqs: int | None = None,
               max_num_batched_tokens: int | None = None, prefix_caching: bool = True) -> GpuBudget:
    """The memory budget of one GPU for ``model`` at ``quant`` split ``tp`` x ``pp`` ways; the KV cache divides
    into blocks as vLLM's KV cache manager divides it for each layer kind (``kv_pool.py``)."""
    total = cuda_total_gib(gpu)
    requested = total * util
    weights = weights_gib(model, quant) / (tp * pp)
    activation = activation_gib(model, gpu, max_num_seqs, max_num_batched_tokens)
    non_torch = non_torch_gib(tp, pp)
    kv_gib = requested - weights - activation - non_torch
    per_token = kv_bytes_per_token_per_gpu(model, tp, pp, kv_dtype)
    pool = kv_pool(model, tp, pp, kv_dtype, batch_defaults(gpu, max_num_batched_tokens)[0], prefix_caching)
    blocks = pool.blocks(max(0.0, kv_gib) * GIB)
    return GpuBudget(total, requested, weights, activation, non_torch, kv_gib, per_token,
                     pool.longest_request(blocks), total - requested * colocated,
                     headroom_needed_gib(model, tp, pp, eager, colocated), blocks, pool)


def max_safe_utilization(model: ModelSpec, gpu: Gpu, tp: int, pp: int, eager: bool, colocated: int = 1) -> float:
    """The highest gpu_memory_utilization (per instance, two decimals) that leaves the headroom needed."""
    total = cuda_total_gib(gpu)
    free_share = 1 - headroom_needed_gib(model, tp, pp, eager, colocated) / total
    if gpu.unified:  # the headroom is the system's too: never past the unified-memory share
        free_share = min(free_share, UNIFIED_MEMORY_UTILIZATION)
    return int(free_share / colocated * 100) / 100
