"""How vLLM divides one GPU's memory: the planner's memory model, term by term, for each release's regime.

vLLM 0.17.1's accounting (``vllm/v1/worker/gpu_worker.py: determine_available_memory`` and
``vllm/utils/mem_utils.py: memory_profiling``), the ``profiled`` regime:

- it may use ``requested = total x gpu_memory_utilization``, where ``total`` is what CUDA reports
  (``cudaMemGetInfo``), a little less than nvidia-smi's ``memory.total``;
- from that it subtracts the weights, the torch peak of its profiling pass (a forward pass of
  ``max_num_batched_tokens`` tokens, then a dummy sampler pass over ``max_num_seqs`` requests) and the
  non-torch memory that pass added; the rest is KV cache;
- the CUDA context and NCCL, set up before its baseline snapshot, and the CUDA-graph pool, captured after
  the KV cache is allocated, are *not* in that budget: they must fit in ``total x (1 - utilization)``.
  When they do not, vLLM starts and then dies of out-of-memory in graph capture or sampler warm-up;
  ``--enforce-eager`` removes the graph pool from that headroom.

Later releases count more inside the budget (``releases.py`` names each release's regime; the facts are in
``../shared/reference/vllm-releases.md`` section 5):

- ``cudagraph-profiled`` (0.20-0.26): a throw-away graph capture during profiling puts the graph pool inside the
  budget; context and NCCL stay outside;
- ``free-memory`` (0.27-0.33): the memory used beside the KV cache is read from the device's free memory before
  vLLM started and after profiling, so context, NCCL, weights, graphs and the profiling peak are all inside;
  nothing is left to fit outside but other processes;
- ``extensible`` (0.34): the KV cache is sized after warm-up and graph capture, from what is measured free then;
  ``gpu_memory_utilization`` defaults to 1.0 (the whole GPU), less a margin of at least 1 GiB (three quarters of
  the profiling peak when larger), the profiling peak itself and 0.5 GiB for allocations outside torch
  (``v1/worker/extensible_kv_cache.py: measure_kv_cache_bytes``).

Each constant below names the measurements it comes from (``tests/test_known_answers.py`` checks the
whole model against vLLM start-up logs, each regime against its own); what every engine shares (CUDA's total,
context, NCCL, the KV bytes of a token) is in ``reasoning_stack.cuda``.
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
from reasoning_stack.engines.vllm.releases import DEFAULT_RELEASE, RELEASES, VllmRelease
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

# The extensible KV cache's safety terms (0.34, ``extensible_kv_cache.py``): a margin of at least 1 GiB, or three
# quarters of the transient peak when that is larger, and 0.5 GiB kept for allocations outside torch.
EXTENSIBLE_MARGIN_GIB = 1.0
EXTENSIBLE_MARGIN_SHARE = 0.75
OUTSIDE_TORCH_GIB = 0.5

def release_batch_defaults(gpu: Gpu, max_num_batched_tokens: int | None, release: VllmRelease) -> tuple[int, int]:
    """(max_num_batched_tokens, max_num_seqs) ``release`` defaults to on ``gpu``."""
    return batch_defaults(gpu, max_num_batched_tokens, release.big_gpu_batch_tier, release.unified_small_batch_tier)


def activation_gib(model: ModelSpec, gpu: Gpu, max_num_seqs: int | None = None,
                   max_num_batched_tokens: int | None = None, release: str = DEFAULT_RELEASE) -> float:
    """Torch peak of vLLM's profiling pass: the dummy sampler over max_num_seqs rows of logits.

    The logits are gathered to the full vocabulary on every tensor-parallel rank, so this does not shrink
    with tensor parallelism. The forward pass's own peak at the default batch sizes is smaller than the
    sampler's (Qwen3-0.6B and Qwen3-32B measured 5.56 and 5.64 GiB on the same GPU), so only the hidden
    states the sampler reads are added. ``max_num_seqs`` (vLLM's flag) shrinks the sampler pass.
    """
    batched_tokens, default_seqs = release_batch_defaults(gpu, max_num_batched_tokens, RELEASES[release])
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


def _beside_weights(model: ModelSpec, tp: int, pp: int, eager: bool) -> float:
    """One instance's CUDA context, NCCL and CUDA-graph pool: what each regime counts either inside its budget or
    beside it."""
    return CUDA_CONTEXT_GIB + (NCCL_GIB if tp * pp > 1 else 0.0) + cuda_graph_gib(model, eager)


def _inside(model: ModelSpec, tp: int, pp: int, eager: bool, regime: str) -> float:
    """The part of context, NCCL and graphs the regime counts inside the budget: none under 0.17.1, the graph pool
    once graphs are profiled (0.20+), all of it once the budget is read from free memory (0.27+)."""
    if regime == "cudagraph-profiled":
        return cuda_graph_gib(model, eager)
    if regime in ("free-memory", "extensible"):
        return _beside_weights(model, tp, pp, eager)
    return 0.0


def headroom_needed_gib(model: ModelSpec, tp: int, pp: int, eager: bool, colocated: int = 1,
                        release: str = DEFAULT_RELEASE) -> float:
    """Memory outside vLLM's budget that each GPU must have for every instance: the part of context, NCCL and
    graphs its release's regime does not count inside (``_inside``)."""
    outside = _beside_weights(model, tp, pp, eager) - _inside(model, tp, pp, eager, RELEASES[release].memory)
    return outside * colocated


def kv_gib_of(regime: str, total: float, requested: float, weights: float, activation: float, inside: float,
              colocated: int = 1, context: float = CUDA_CONTEXT_GIB) -> float:
    """The KV cache a regime leaves one GPU, in GiB, from the terms vLLM logs: ``inside`` is what it counts beside
    weights and the profiling peak (non-torch memory, and context, NCCL and graphs where the regime counts them).

    ``extensible``: min(requested - the non-KV use measured since the context was made, what is free after warm-up
    less the margin) - the transient peak, the others on the GPU each holding their share."""
    if regime != "extensible":
        return requested - weights - activation - inside
    margin = max(EXTENSIBLE_MARGIN_GIB, EXTENSIBLE_MARGIN_SHARE * activation) + OUTSIDE_TORCH_GIB
    others = requested * (colocated - 1)
    non_kv = weights + inside - context
    return min(requested - non_kv, total - others - context - non_kv - margin) - activation


def gpu_budget(model: ModelSpec, quant: str, gpu: Gpu, tp: int, pp: int, util: float, kv_dtype: str,
               eager: bool, colocated: int = 1, max_num_seqs: int | None = None,
               max_num_batched_tokens: int | None = None, prefix_caching: bool = True,
               release: str = DEFAULT_RELEASE) -> GpuBudget:
    """The memory budget of one GPU for ``model`` at ``quant`` split ``tp`` x ``pp`` ways under ``release``'s
    regime; the KV cache divides into blocks of the release's size as vLLM's KV cache manager divides it for each
    layer kind (``kv_pool.py``). ``non_torch`` holds everything the regime counts beside weights and the
    profiling peak (context, NCCL, graphs and margins where it counts them)."""
    rel = RELEASES[release]
    total = cuda_total_gib(gpu)
    requested = total * util
    weights = weights_gib(model, quant) / (tp * pp)
    activation = activation_gib(model, gpu, max_num_seqs, max_num_batched_tokens, release)
    non_torch = non_torch_gib(tp, pp) + _inside(model, tp, pp, eager, rel.memory)
    kv_gib = kv_gib_of(rel.memory, total, requested, weights, activation, non_torch, colocated)
    if rel.memory == "extensible":
        non_torch = requested - weights - activation - kv_gib  # shown as one figure: all that is not KV
    per_token = kv_bytes_per_token_per_gpu(model, tp, pp, kv_dtype)
    batched = release_batch_defaults(gpu, max_num_batched_tokens, rel)[0]
    pool = kv_pool(model, tp, pp, kv_dtype, rel.in_flight_tokens(batched, pp), prefix_caching, rel.block_size)
    blocks = max(0, pool.blocks(max(0.0, kv_gib) * GIB) - rel.null_block)
    return GpuBudget(total, requested, weights, activation, non_torch, kv_gib, per_token,
                     pool.longest_request(blocks), total - requested * colocated,
                     headroom_needed_gib(model, tp, pp, eager, colocated, release), blocks, pool)


def max_safe_utilization(model: ModelSpec, gpu: Gpu, tp: int, pp: int, eager: bool, colocated: int = 1,
                         release: str = DEFAULT_RELEASE) -> float:
    """The highest gpu_memory_utilization (per instance, two decimals) that leaves the headroom needed."""
    total = cuda_total_gib(gpu)
    free_share = 1 - headroom_needed_gib(model, tp, pp, eager, colocated, release) / total
    if gpu.unified:  # the headroom is the system's too: never past the unified-memory share
        free_share = min(free_share, UNIFIED_MEMORY_UTILIZATION)
    return int(free_share / colocated * 100) / 100
