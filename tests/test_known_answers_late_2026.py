"""Known answers for the late-2026 presets (issue 40), from published vLLM start-up logs, and the real configs of
their quantized repos planning as the presets do.

- QWEN38_5090: a report of seven vLLM 0.26.1 logs of Qwen3.8-27B-NVFP4 (NVIDIA ModelOpt, ``quant_algo
  MIXED_PRECISION``: W4A16_NVFP4 MLP and lm_head, FP8 attention and Gated DeltaNet projections) on one RTX 5090
  (public code index, file id 61652519493): "Free memory on device (30.86/31.36 GiB)", model weights 19.78 GiB
  (the checkpoint 20.42 GiB, with its vision tower and MTP head), kv-cache fp8, prefix caching, max-num-seqs 1,
  max-num-batched-tokens 2048: "Available KV cache memory: 7.33 GiB", "GPU KV cache size: 227,886 tokens",
  "Maximum concurrency for 196,608 tokens per request: 1.16x".
- TALOS: mitchross/talos-argocd-proxmox#1995: Qwen3.8-27B-FP8, tensor parallel 2 on RTX 3090s, kv-cache fp8,
  prefix caching: "GPU KV cache size: 302,921 tokens", "Maximum concurrency for 131,072 tokens per request: 2.31x"
  from 4.99 GiB of KV cache per GPU.

The issue's bounds: weights within 10%, KV blocks per request within 5% of what the log's concurrency implies.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reasoning_stack.catalogue import GIB, MODELS, weights_gib
from reasoning_stack.kv_pool import kv_pool
from reasoning_stack.models import resolve
from reasoning_stack.models.spec import BYTES_PER_PARAM

NVIDIA_QWEN36_27B = Path(__file__).parent / "fixtures" / "models" / "nvidia--Qwen3.6-27B-NVFP4"  # its config.json


def test_qwen38_27b_nvfp4_weights_within_10_percent_of_the_log():
    """Module by module (FP8 attention, NVFP4 MLP): 18.3 GiB against 19.78 loaded (the vision tower, about 0.8
    GiB, is not counted yet); every module at NVFP4, as the format's name suggests, would plan 17.2 GiB."""
    model = MODELS["qwen3.8-27b"]
    planned = weights_gib(model, "nvfp4")
    assert planned == pytest.approx(19.78, rel=0.10)
    all_nvfp4 = ((model.params_b - model.embed_params_b) * BYTES_PER_PARAM["nvfp4"] + model.embed_params_b * 2)
    assert planned - all_nvfp4 * 1e9 / GIB > 1.0  # the FP8 projections weigh a gigabyte more


def test_qwen38_27b_kv_concurrency_on_an_rtx_5090():
    pool = kv_pool(MODELS["qwen3.8-27b"], 1, 1, "fp8", batched_tokens=2048, prefix_caching=True)
    assert pool.block_size == 1568  # one attention page holds a Gated DeltaNet state at fp8
    blocks = pool.blocks(7.33 * GIB)
    assert pool.concurrency(blocks, 196608) == pytest.approx(1.16, rel=0.05)
    assert int(pool.concurrency(blocks, 196608) * 196608) == pytest.approx(227886, rel=0.01)  # 0.24+'s "size"


def test_qwen38_27b_kv_concurrency_at_tensor_parallel_2():
    pool = kv_pool(MODELS["qwen3.8-27b"], 2, 1, "fp8", batched_tokens=8192, prefix_caching=True)
    assert pool.concurrency(pool.blocks(4.99 * GIB), 131072) == pytest.approx(2.31, rel=0.05)


def test_nvidias_own_qwen36_27b_nvfp4_config_plans_as_the_preset():
    """The repo's real config.json (its 290 quantized_layers entries, from aiconfigurator's copy) in a folder: the
    same format, the same weights and the same KV geometry as the preset's compact description."""
    folder = resolve(str(NVIDIA_QWEN36_27B))
    preset = MODELS["qwen3.6-27b"]
    assert list(folder.repos) == ["nvfp4"]
    assert weights_gib(folder, "nvfp4") == pytest.approx(weights_gib(preset, "nvfp4"), rel=1e-9)
    for field in ("layers", "linear_layers", "kv_heads", "head_dim", "linear", "native_context", "reasoning_parser"):
        assert getattr(folder, field) == getattr(preset, field), field
    assert kv_pool(folder, 1, 1, "fp8", 8192).block_size == kv_pool(preset, 1, 1, "fp8", 8192).block_size == 1568


def test_a_mixed_precision_checkpoint_needs_blackwell_for_its_nvfp4_modules():
    from reasoning_stack.models.quantization import gpu_problem, weights_format

    config = {"quantization_config": {"quant_method": "modelopt", "quant_algo": "MIXED_PRECISION",
                                      "quantized_layers": {"model.layers.0.mlp": {"quant_algo": "W4A16_NVFP4"},
                                                           "model.layers.0.self_attn.q_proj": {"quant_algo": "FP8"}}}}
    assert weights_format(config) == ("nvfp4", False)
    assert gpu_problem("nvfp4", "8.9") and gpu_problem("nvfp4", "12.0") is None
    fp8_only = {"quantization_config": {**config["quantization_config"], "quantized_layers": {
        "model.layers.0.mlp": {"quant_algo": "FP8"}}}}
    assert weights_format(fp8_only) == ("fp8", False)
