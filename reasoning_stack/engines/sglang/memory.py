"""SGLang's memory model: how SGLang 0.5.23 divides one GPU, so the plan and the server agree on the KV cache.

Memory, as SGLang 0.5.23 divides one GPU (sources in the wheel of that release):

- ``--mem-fraction-static`` is the share of the GPU memory for weights *plus* KV cache
  (``srt/arg_groups/memory_hook.py``, ``handle_gpu_memory_settings``). The rest is left for activations and
  CUDA graphs.
- Its default is ``(gpu_mem - reserved) / gpu_mem`` with ``gpu_mem`` the device's total memory in MiB and
  ``reserved = 512 + max(chunked_prefill_size, 2048) x 1.5 + tp x pp / 8 x 1024 + graph reserve`` MiB, at
  least 10 GiB on GPUs over 60 GiB. The graph reserve (``reserve_for_graph_mb``) is 2 MiB per decode
  batch size captured, plus the prefill graphs (8 MiB each, 1.5 GiB with MLA attention). The chunked-prefill
  size and the largest decode batch depend on the GPU class (the same function).
- The KV pool is what the static share leaves after the weights: SGLang measures the free memory before
  loading the weights (``pre_model_load_memory``) and keeps ``pre_model_load_memory x (1 - mem_fraction_static)``
  free after the pool (``model_executor/model_runner_components/kv_pool_runtime.py``), so
  ``kv = pre_model_load_memory x mem_fraction_static - weights``. The pool has ``kv // cell_size`` tokens, the
  cell being every layer's K and V for one token on this GPU.

The stack passes ``--mem-fraction-static`` explicitly, computed by SGLang's own rule, so the plan and the
server agree on the KV-cache size.
"""

from __future__ import annotations

from reasoning_stack.catalogue import GIB, MIB, ModelSpec, weights_gib
from reasoning_stack.cuda import CUDA_CONTEXT_GIB, NCCL_GIB, GpuBudget, cuda_total_gib, kv_bytes_per_token_per_gpu
from reasoning_stack.gpus import Gpu

PREFILL_GRAPHS = 32  # prefill CUDA-graph batch sizes counted in the graph reserve (8 MiB each)


def gpu_class_defaults(gpu: Gpu, tp: int) -> tuple[int, int]:
    """SGLang's (chunked_prefill_size, largest decode CUDA-graph batch) for this GPU class."""
    mem = cuda_total_gib(gpu) * 1024
    if mem < 20 * 1024:
        return 2048, 8
    if mem < 35 * 1024:
        return 4096, 48 if tp < 4 else 160
    if mem < 60 * 1024:
        return 4096, 32 if tp < 4 else 160
    if mem < 160 * 1024:
        return 8192, 256 if tp < 4 else 512
    return 16384, 512


def reserved_mib(model: ModelSpec, gpu: Gpu, tp: int, pp: int, eager: bool, max_running: int | None) -> float:
    """SGLang's reserve for activations and CUDA graphs, in MiB (``handle_gpu_memory_settings``)."""
    chunked, decode_bs = gpu_class_defaults(gpu, tp)
    if max_running:
        decode_bs = min(decode_bs, max_running)
    reserved = 512 + max(chunked, 2048) * 1.5 + tp * pp / 8 * 1024
    if not eager:
        reserved += decode_bs * 2 + (1.5 * 1024 if model.mla else PREFILL_GRAPHS * 8)
    if cuda_total_gib(gpu) * 1024 > 60 * 1024:
        reserved = max(reserved, 10 * 1024)
    return reserved


def mem_fraction_static(model: ModelSpec, gpu: Gpu, tp: int, pp: int, eager: bool,
                        max_running: int | None = None) -> float:
    """The ``--mem-fraction-static`` SGLang itself would choose (three decimals, as it rounds)."""
    mem = cuda_total_gib(gpu) * 1024
    return round((mem - reserved_mib(model, gpu, tp, pp, eager, max_running)) / mem, 3)


def gpu_budget(model: ModelSpec, quant: str, gpu: Gpu, tp: int, pp: int, util: float, kv_dtype: str,
               eager: bool, colocated: int = 1, max_num_seqs: int | None = None,
               fraction: float | None = None) -> GpuBudget:
    """One GPU's memory under SGLang (the same shape as vLLM's budget, ``engines/vllm/memory.py``).

    ``util`` is ignored: SGLang sizes its static share by its own rule (``fraction`` gives another, as
    ``--mem-fraction-static`` would). ``requested`` is that share of the memory free before the weights load,
    ``activation`` the reserve beside it."""
    del util  # SGLang's own rule decides the static share
    total = cuda_total_gib(gpu)
    fraction = fraction or mem_fraction_static(model, gpu, tp, pp, eager, max_num_seqs)
    pre_load = total - CUDA_CONTEXT_GIB - (NCCL_GIB if tp * pp > 1 else 0.0)
    static = pre_load * fraction
    weights = weights_gib(model, quant) / (tp * pp)
    kv_gib = static - weights
    per_token = kv_bytes_per_token_per_gpu(model, tp, pp, kv_dtype)
    tokens = max(0, int(kv_gib * GIB // per_token))
    reserve = reserved_mib(model, gpu, tp, pp, eager, max_num_seqs) * MIB / GIB
    # Beside the static share: CUDA context, NCCL, and SGLang's own reserve for activations and graphs
    # (pre_model_load_memory x (1 - fraction)); with one instance on the GPU that is exactly what is left.
    needed = (total - pre_load) + pre_load * (1 - fraction) * colocated - 1e-9
    return GpuBudget(total, static, weights, reserve, 0.0, kv_gib, per_token, tokens, total - static * colocated,
                     needed)
