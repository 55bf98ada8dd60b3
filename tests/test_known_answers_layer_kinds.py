"""Known answers for the models of today: weights loaded, KV memory available and maximum concurrency as vLLM printed
them at start-up, for gpt-oss (sliding-window layers), a Qwen3 MoE model and the Gated DeltaNet hybrids.

Sources (each a published vLLM start-up log):

- LLMD: llm-d/llm-d-benchmark ``config_explorer/empirical-vllm-memory-results.md``: vLLM 0.11.0 on one H100
  (79.18 GiB), utilization 0.9, max-model-len 16000: gpt-oss-20b "Model loading took 13.47 GiB", peak activation
  7.38 GiB, non-torch 0.13 GiB, "Available KV cache memory: 50.28 GiB"; gpt-oss-120b loading took 64.38 GiB.
- GPTOSS_3090: vllm-project/vllm#22331: gpt-oss-20b on one RTX 3090 (the gptoss image, Marlin MXFP4): "Model
  loading took 12.8848 GiB" -- the checkpoint's size: Marlin pads less than Hopper's kernels. The planner takes
  Hopper's padded figure on every GPU, so on Ampere/Ada it plans about 0.6 GiB too much weights, never too little.
- QWEN3_MOE: vllm-project/vllm#17469 (and the Qwen3 usage guide #17327): vLLM 0.8.5, Qwen/Qwen3-30B-A3B, tensor
  parallel 4 on A10s: "Model loading took 14.2474 GiB" per GPU.
- CLUB3090: noonghunna/club-3090 issues #652 and #612: Qwen3.6-35B-A3B (the Qwen3.5-35B-A3B architecture) on one
  RTX 5090, kv-cache fp8, prefix caching, max-num-batched-tokens 8192, max-model-len 131072: "Available KV cache
  memory: 6.01 GiB" -> "Maximum concurrency for 131,072 tokens per request: 4.35x"; 5.98 GiB -> 4.33x.
- TALOS: mitchross/talos-argocd-proxmox#1995: a 27B Qwen hybrid (16 full-attention layers of 64, 4 KV heads x 256,
  48 Gated DeltaNet layers: the Qwen3.5-27B geometry), tensor parallel 2, kv-cache fp8, prefix caching:
  "Setting attention block size to 1568", 4.99 GiB of KV cache per GPU -> "Maximum concurrency for 131,072 tokens
  per request: 2.31x". The same block size is logged at tensor parallel 1 (noonghunna/club-3090#1047).

The KV accounting these check is vLLM 0.17.1's (``kv_pool.py`` cites the files); the logs come from
releases whose KV cache manager computes the same figures. Target: within 15%.
"""

from __future__ import annotations

import pytest

from reasoning_stack.catalogue import GIB, MODELS, weights_gib
from reasoning_stack.engines.vllm.memory import activation_gib, gpu_budget
from reasoning_stack.gpus import Gpu, gpus_from_profile
from reasoning_stack.kv_pool import kv_pool

SEED = "0.17.1"  # the release these start-up logs are of (later releases: test_known_answers_releases.py)

H100 = gpus_from_profile("h100")[0]
A10 = Gpu(0, "NVIDIA A10", 23028, compute_cap="8.6")  # nvidia-smi's memory.total of an A10


def test_gpt_oss_20b_on_an_h100_matches_llmd():
    model = MODELS["gpt-oss-20b"]
    assert weights_gib(model, "mxfp4") == pytest.approx(13.47, rel=0.02)
    assert activation_gib(model, H100, release=SEED) == pytest.approx(7.38, rel=0.02)
    budget = gpu_budget(model, "mxfp4", H100, 1, 1, 0.9, "auto", eager=False, release=SEED)
    assert budget.kv_gib == pytest.approx(50.28, rel=0.15)
    assert abs(budget.kv_gib - 50.28) / 50.28 < 0.02  # in fact within 2%


def test_gpt_oss_20b_weights_on_an_rtx_3090_within_15_percent():
    planned = weights_gib(MODELS["gpt-oss-20b"], "mxfp4")
    assert planned == pytest.approx(12.8848, rel=0.15) and planned >= 12.8848  # errs on the safe side


def test_gpt_oss_120b_weights_as_loaded():
    assert weights_gib(MODELS["gpt-oss-120b"], "mxfp4") == pytest.approx(64.38, rel=0.02)


def test_qwen3_moe_weights_per_gpu_at_tensor_parallel_4():
    budget = gpu_budget(MODELS["qwen3-30b-a3b"], "bf16", A10, 4, 1, 0.9, "auto", eager=True, release=SEED)
    assert budget.weights == pytest.approx(14.2474, rel=0.02)


@pytest.mark.parametrize("kv_gib, concurrency", [(6.01, 4.35), (5.98, 4.33)])
def test_qwen35_moe_hybrid_concurrency_from_its_kv_memory(kv_gib, concurrency):
    pool = kv_pool(MODELS["qwen3.5-35b-a3b"], 1, 1, "fp8", batched_tokens=8192, prefix_caching=True)
    blocks = pool.blocks(kv_gib * GIB)
    assert pool.concurrency(blocks, 131072) == pytest.approx(concurrency, rel=0.15)
    assert pool.concurrency(blocks, 131072) == pytest.approx(concurrency, abs=0.02)  # vLLM's own arithmetic


def test_qwen35_dense_hybrid_block_size_and_concurrency():
    model = MODELS["qwen3.5-27b"]
    assert kv_pool(model, 1, 1, "fp8", 8192).block_size == 1568
    pool = kv_pool(model, 2, 1, "fp8", 8192)
    assert pool.block_size == 1568
    assert pool.concurrency(pool.blocks(4.99 * GIB), 131072) == pytest.approx(2.31, abs=0.02)


def test_sliding_layers_hold_a_window_not_the_context():
    """gpt-oss keeps every other layer's cache to 128 tokens + one step's batch: planning every layer at the
    whole context (the old model) overstates its KV cache about 2x."""
    model = MODELS["gpt-oss-120b"]
    pool = kv_pool(model, 1, 1, "auto", 8192)
    per_request = pool.request_blocks(131072) * pool.block_bytes
    every_layer = 131072 * 2 * model.layers * model.kv_heads * model.head_dim * 2
    assert 1.8 < every_layer / per_request < 2.0  # the sliding group still holds window + one batch of 8192
    assert pool.sliding_groups == 1 and pool.full_groups == 1 and pool.group_size == 18


def test_linear_layers_hold_a_state_not_the_context():
    """Qwen3-Next's 36 Gated DeltaNet layers keep a fixed state per request: the KV cache at the whole context is
    about a quarter of every-layer accounting, plus the states."""
    model = MODELS["qwen3-next-80b-a3b-thinking"]
    pool = kv_pool(model, 2, 1, "auto", 8192, prefix_caching=True)
    assert pool.full_groups == 1 and pool.state_groups == 3 and pool.state_pages == 2
    per_request = pool.request_blocks(262144) * pool.block_bytes
    every_layer = 262144 * 2 * model.layers * (model.kv_heads // 2) * model.head_dim * 2
    assert 3.5 < every_layer / per_request < 4.0
    # one attention page holds a state page (vLLM raises the block size to make it so)
    assert pool.page_bytes >= model.linear.state_bytes(2)


def test_a_request_needs_the_state_pages_even_when_short():
    pool = kv_pool(MODELS["qwen3.5-35b-a3b"], 1, 1, "fp8", 8192, prefix_caching=False)
    assert pool.request_blocks(1) == 1 + 3  # one attention block, one state page per state group
    assert pool.longest_request(3) == 0
