"""What every engine on an NVIDIA GPU sees of its memory: CUDA's total, the CUDA context and NCCL beside any
budget, the default share on unified memory, and the KV-cache bytes a token takes on one GPU.

The engines' own memory models (``engines/vllm/memory.py``, ``engines/sglang/memory.py``,
``engines/ollama/library.py``) build on these; each constant names the measurements it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

from reasoning_stack.catalogue import GIB, MIB, ModelSpec
from reasoning_stack.gpus import Gpu
from reasoning_stack.kv_pool import KvPool, PackedKvPool, attention_bytes_per_token

# nvidia-smi's memory.total minus what CUDA reports as total: H100 80GB HBM3 81559 MiB vs 79.18 GiB,
# RTX 4090 24564 MiB vs 23.52 GiB, RTX 3090 24576 MiB vs 23.56 GiB (vLLM start-up lines "Free memory on
# device (x/23.52 GiB)"): 451-480 MiB. The larger figure is used.
CUDA_HIDDEN_MIB = 480

# Outside any engine's budget, per process: CUDA context (~0.5 GiB per process on consumer cards, as nvidia-smi
# lists it), plus NCCL communicators with more than one GPU.
CUDA_CONTEXT_GIB = 0.5
NCCL_GIB = 0.25

# gpu_memory_utilization where the GPU shares the system's memory (DGX Spark's GB10): the operating system,
# Docker, the page cache and the CPU side of every process live in the same pool, so vLLM's share stays at
# NVIDIA's DGX Spark playbook figure, 0.8 ("Fraction of unified memory vLLM may use", dgx-spark-playbooks
# nvidia/nemotron and nvidia/vllm README: --gpu-memory-utilization 0.8; lower it towards 0.70 to give memory
# back to the OS). On 121.7 GiB that leaves the system 24 GiB. Discrete GPUs keep vLLM's own default, 0.90.
UNIFIED_MEMORY_UTILIZATION = 0.80
DISCRETE_UTILIZATION = 0.90


def default_utilization(gpus: tuple[Gpu, ...] | list[Gpu]) -> float:
    """gpu_memory_utilization when none is set: 0.90, or 0.80 where the GPU shares the system's memory."""
    return UNIFIED_MEMORY_UTILIZATION if any(g.unified for g in gpus) else DISCRETE_UTILIZATION


def cuda_total_gib(gpu: Gpu) -> float:
    """The total memory an engine sees on ``gpu`` (CUDA's figure, not nvidia-smi's; on unified memory the system's
    MemTotal, which CUDA reports as the device total)."""
    return (gpu.memory_mib - (0 if gpu.unified else CUDA_HIDDEN_MIB)) * MIB / GIB


def batch_defaults(gpu: Gpu, max_num_batched_tokens: int | None = None, big_gpu_tier: bool = False,
                   unified_small_tier: bool = False) -> tuple[int, int]:
    """vLLM's ``vllm serve`` defaults (max_num_batched_tokens, max_num_seqs) for this GPU.

    ``EngineArgs.get_batch_defaults``: 8192 and 1024 on GPUs with at least 70 GiB that are not A100s, 2048 and 256
    on every other GPU (0.17.1). Later releases add a tier of 16384 and 1024 on GPUs of 160 GiB or more
    (``big_gpu_tier``, 0.28+) and keep a GB10 on the small tier (``unified_small_tier``, 0.33+). The layout search
    counts every GPU engine's requests at once by these. ``max_num_batched_tokens``, when the user sets it, replaces
    the first.
    """
    total = cuda_total_gib(gpu)
    if unified_small_tier and gpu.unified:
        return max_num_batched_tokens or 2048, 256
    if big_gpu_tier and total >= 160:
        return max_num_batched_tokens or 16384, 1024
    if total >= 70 and "a100" not in gpu.name.lower():
        return max_num_batched_tokens or 8192, 1024
    return max_num_batched_tokens or 2048, 256


def kv_bytes_per_token_per_gpu(model: ModelSpec, tp: int, pp: int, kv_dtype: str) -> int:
    """KV-cache bytes one token of context takes on one GPU in the full-attention layers (KV heads split by TP,
    layers by PP; MLA replicated). Sliding-window and linear-attention layers hold a fixed amount per request:
    ``kv_pool.py``. DeepSeek V4: its compressed entries and indexer keys, whole on every rank."""
    if model.compressed:
        return -(-model.kv_bytes_per_token() // pp)
    per_token = model.full_layers * attention_bytes_per_token(model, tp, kv_dtype)
    return -(-per_token // pp)


@dataclass(frozen=True)
class GpuBudget:
    """One GPU's memory under a configuration, in GiB (tokens and bytes where named)."""

    total: float  # what the engine sees
    requested: float  # the engine's share (vLLM: total x gpu_memory_utilization)
    weights: float
    activation: float
    non_torch: float
    kv_gib: float
    kv_per_token: int  # bytes per token on this GPU
    tokens: int  # KV-cache tokens (whole blocks)
    headroom: float  # total - requested x colocated instances
    headroom_needed: float
    blocks: int = 0  # KV-cache blocks in the pool (vLLM's num_gpu_blocks)
    pool: KvPool | PackedKvPool | None = None  # how blocks divide among requests

    @property
    def reserve(self) -> float:
        """Non-weight, non-KV memory inside the budget (profiling peak + non-torch)."""
        return self.activation + self.non_torch

    @property
    def headroom_ok(self) -> bool:
        """Whether context, NCCL and CUDA graphs fit beside the budget."""
        return self.headroom >= self.headroom_needed
