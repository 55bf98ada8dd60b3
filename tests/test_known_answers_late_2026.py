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

- GEMMA4_5090: a published vLLM 0.20.2 log of nvidia/Gemma-4-26B-A4B-NVFP4 (NVFP4 experts; attention, the dense
  MLPs, the routers, lm_head and the vision tower 16-bit by its ignore list) on one RTX 5090 (public code index,
  file id 56816929356): checkpoint 17.50 GiB, "Model loading took 17.89 GiB", kv-cache fp8_e4m3, prefix caching,
  max-num-batched-tokens 16384, max-model-len 256000, TRITON_ATTN forced: "Available KV cache memory: 4.58 GiB",
  "GPU KV cache size: 286,007 tokens", "Maximum concurrency for 256,000 tokens per request: 1.12x".
- GEMMA4_49878: vllm-project/vllm#49878 (frank-2077's arithmetic, "exactly matches the reported v0.26.0 error"):
  gemma-4-31B at max-num-batched-tokens 32768, 262144 tokens, 16-bit KV: one request needs 45.79 GiB before 0.26
  and 70.79 GiB from it, async scheduling's two batches in flight doubling each sliding group's reservation.
- GEMMA4_SAFETENSORS: the safetensors' parameter totals of google/gemma-4-26B-A4B-it (25,805,936,206) and
  google/gemma-4-31B-it (31,273,088,876), vision tower included (Hugging Face's listing, public code index file id
  71355564543).

- NEMOTRON_CASCADE: a published vLLM 0.20.1 (nightly) log of chankhavu/Nemotron-Cascade-2-30B-A3B-NVFP4, a
  Nemotron-3-Nano-30B-A3B derivative of the same geometry (public code index, file id 51923877316): kv-cache
  fp8_e4m3, mamba-ssm-cache-dtype float32, prefix caching off (the release's default for it), max-num-batched-tokens
  32768, max-model-len 256000: checkpoint 18.01 GiB, "Model loading took 18.54 GiB", "Setting attention block size
  to 4176 tokens", "Add 1 padding layers", "Available KV cache memory: 3.72 GiB", "GPU KV cache size: 1,206,303
  tokens", "Maximum concurrency for 256,000 tokens per request: 4.71x".

- MINIMAX_SPARK: eugr/spark-vllm-docker#396: vLLM 0.29.1 on two DGX Sparks (tensor parallel 2), MiniMax-M2.7 AWQ
  (the attention of MiniMax-M2.5: 62 layers of 8 KV heads of 128), 16-bit KV cache, max-model-len 196608: at
  utilization 0.80 "Available KV cache memory: 22.5 GiB", "To serve at least one request with the model's max seq
  len (196608), 23.25 GiB KV cache is needed", "the estimated maximum model length is 190272"; at 0.85 28.74 GiB
  of KV cache, 240,816 tokens, 1.22x at 196,608.
- MINIMAX_H100: MiniMax-AI/MiniMax-M2.5#30: the FP8 release on four nodes of four H100s (tensor parallel 4,
  pipeline parallel 4): "Model loading took 13.2 GiB memory" on each of the 16 workers.

- KIMI_K2: moonshotai/Kimi-K2-Thinking "weighs in at 594GB" (its native INT4 release; banandre.com, November 2025);
  vllm-project/recipes' Kimi-K2 tensor parallel 8: 715,072 tokens of KV cache from 46.8 GiB a GPU (MLA's latent,
  whole on every rank; ../shared/reference/models-late-2026.md section 3.5).

- GLM51_H200: a vLLM 0.19.1 (nightly) start-up log of zai-org/GLM-5.1-FP8 at tensor parallel 8 on eight H200s,
  enforce-eager, 16-bit KV cache (public code index, file id 60894650985): "Setting kv cache block size to 64 for
  DEEPSEEK_V32_INDEXER backend", "Model loading took 89.34 GiB", "Available KV cache memory: 32.11 GiB", "GPU KV
  cache size: 344,192 tokens", "Maximum concurrency for 202,752 tokens per request: 1.70x".

The issue's bounds: weights within 10%, KV blocks per request within 5% of what the log's concurrency implies.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reasoning_stack.catalogue import GIB, MODELS, weights_gib
from reasoning_stack.engines.vllm.releases import RELEASES
from reasoning_stack.kv_pool import kv_pool
from reasoning_stack.models import resolve
from reasoning_stack.models.presets import GEMMA4_THINK, NEMOTRON3_PATTERN, THINK_SWITCH, shipped_config
from reasoning_stack.models.quantization import module_kinds
from reasoning_stack.models.spec import BYTES_PER_PARAM


def _model_folder(root: Path, name: str, **files: object) -> Path:
    """A model folder as a repo ships it: each keyword a JSON file of that name (config, tokenizer_config, ...)."""
    folder = root / name
    folder.mkdir()
    for stem, content in files.items():
        (folder / f"{stem}.json").write_text(json.dumps(content))
    return folder


def _qwen36_27b_nvfp4_folder(root: Path) -> Path:
    """A folder laid out as nvidia/Qwen3.6-27B-NVFP4 ships its config.json: the vision tower's and the language
    model's own sections, and ModelOpt MIXED_PRECISION naming each module of each layer (401 quantized_layers
    entries: every Gated DeltaNet and attention projection FP8, every MLP projection and lm_head W4A16_NVFP4; the
    MTP head in the ignore list)."""
    layers, layer_types = 64, (["linear_attention"] * 3 + ["full_attention"]) * 16
    fp8, nvfp4 = {"quant_algo": "FP8"}, {"quant_algo": "W4A16_NVFP4", "group_size": 16}
    modules: dict[str, dict] = {"lm_head": nvfp4}
    for i, kind in enumerate(layer_types):
        prefix = f"model.language_model.layers.{i}"
        attention = (("linear_attn", ("in_proj_qkv", "in_proj_z", "out_proj")) if kind == "linear_attention"
                     else ("self_attn", ("q_proj", "k_proj", "v_proj", "o_proj")))
        modules.update({f"{prefix}.{attention[0]}.{proj}": fp8 for proj in attention[1]})
        modules.update({f"{prefix}.mlp.{proj}": nvfp4 for proj in ("gate_proj", "up_proj", "down_proj")})
    config = {
        "architectures": ["Qwen3_5ForConditionalGeneration"], "model_type": "qwen3_5", "language_model_only": False,
        "tie_word_embeddings": False,
        "vision_config": {"model_type": "qwen3_5_vision", "depth": 27, "hidden_size": 1152, "intermediate_size": 4304,
                          "num_heads": 16, "out_hidden_size": 5120, "spatial_merge_size": 2, "hidden_act":
                          "gelu_pytorch_tanh"},
        "text_config": {
            "model_type": "qwen3_5_text", "num_hidden_layers": layers, "layer_types": layer_types,
            "full_attention_interval": 4, "hidden_size": 5120, "intermediate_size": 17408, "num_attention_heads": 24,
            "num_key_value_heads": 4, "head_dim": 256, "linear_num_key_heads": 16, "linear_num_value_heads": 48,
            "linear_key_head_dim": 128, "linear_value_head_dim": 128, "linear_conv_kernel_dim": 4,
            "mamba_ssm_dtype": "float32", "mtp_num_hidden_layers": 1, "vocab_size": 248320,
            "max_position_embeddings": 262144, "tie_word_embeddings": False},
        "quantization_config": {"quant_method": "modelopt", "quant_algo": "MIXED_PRECISION",
                                "quantized_layers": modules, "ignore": ["mtp*", "mtp.layers.0*"],
                                "kv_cache_scheme": {"num_bits": 8, "type": "float", "dynamic": False}},
    }
    assert len(modules) == 401
    return _model_folder(root, "Qwen3.6-27B-NVFP4", config=config, tokenizer_config={"chat_template": THINK_SWITCH})


def test_qwen38_27b_nvfp4_weights_within_10_percent_of_the_log():
    """Module by module (FP8 attention, NVFP4 MLP) with the 16-bit vision tower: 19.1 GiB against 19.78 loaded
    (the MTP head vLLM may also load is not counted); every module at NVFP4, as the format's name suggests, would
    plan 17.2 GiB."""
    model = MODELS["qwen3.8-27b"]
    planned = weights_gib(model, "nvfp4")
    assert planned == pytest.approx(19.78, rel=0.05)
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


def test_a_qwen36_27b_nvfp4_folder_plans_as_the_preset(tmp_path: Path):
    """A folder with the repo's config.json, every module named: the same format, the same weights and the same
    KV geometry as the preset's compact description."""
    folder = resolve(str(_qwen36_27b_nvfp4_folder(tmp_path)))
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


def test_gemma4_26b_nvfp4_weights_within_10_percent_of_the_log():
    """Module by module: NVFP4 experts, the 16-bit attention, dense MLPs and routers its ignore list keeps, and the
    vision tower: 17.45 GiB against 17.89 loaded. Every module at NVFP4 would plan 2.9 GiB too little."""
    model = MODELS["gemma-4-26b-a4b"]
    planned = weights_gib(model, "nvfp4")
    assert planned == pytest.approx(17.89, rel=0.05)
    all_nvfp4 = ((model.params_b - model.embed_params_b) * BYTES_PER_PARAM["nvfp4"] + model.embed_params_b * 2)
    assert planned - all_nvfp4 * 1e9 / GIB > 2.5


def test_gemma4_parameters_match_their_safetensors():
    """The geometry (two head sizes, V read from K in the global layers, experts beside a dense MLP) and the gated
    vision tower's estimate add up to the checkpoints' own parameter totals."""
    for slug, total in (("gemma-4-26b-a4b", 25.806), ("gemma-4-31b", 31.273)):
        model = MODELS[slug]
        assert model.params_b + model.vision_params_b == pytest.approx(total, rel=0.005), slug
    assert MODELS["gemma-4-26b-a4b"].active_params_b == pytest.approx(3.8, rel=0.02)  # the card's "3.8B active"


def test_gemma4_26b_kv_concurrency_on_an_rtx_5090():
    """Five sliding groups (8 KV heads x 256) and one global group (2 x 512, half the bytes a token, so blocks of 32
    tokens for pages of one size); each sliding group holds window - 1 + 16384 batched tokens per request."""
    pool = kv_pool(MODELS["gemma-4-26b-a4b"], 1, 1, "fp8", batched_tokens=16384, prefix_caching=True, block_size=16)
    assert (pool.block_size, pool.sliding_block, pool.full_groups, pool.sliding_groups) == (32, 16, 1, 5)
    blocks = pool.blocks(4.58 * GIB)
    assert pool.concurrency(blocks, 256000) == pytest.approx(1.12, rel=0.05)
    assert pool.concurrency(blocks, 256000) * 256000 == pytest.approx(286007, rel=0.01)  # "GPU KV cache size"


def test_gemma4_31b_sliding_reservation_doubles_from_vllm_0_26():
    pool = kv_pool(MODELS["gemma-4-31b"], 1, 1, "auto", batched_tokens=32768, block_size=16)
    assert pool.request_blocks(262144) * pool.block_bytes / GIB == pytest.approx(45.79, abs=0.005)
    in_flight = RELEASES["0.34.0"].in_flight_tokens(32768)
    assert (in_flight, RELEASES["0.32.0"].in_flight_tokens(32768, pp=2)) == (65536, 98304)
    assert RELEASES["0.17.1"].in_flight_tokens(32768, pp=2) == 32768
    doubled = kv_pool(MODELS["gemma-4-31b"], 1, 1, "auto", batched_tokens=in_flight, block_size=16)
    assert doubled.request_blocks(262144) * doubled.block_bytes / GIB == pytest.approx(70.79, abs=0.005)


def _gemma4_nvfp4_folder(root: Path) -> Path:
    """A folder laid out as nvidia/Gemma-4-26B-A4B-NVFP4 ships: config.json with its text_config, vision_config
    and a quantization_config whose ignore list names each layer's modules one by one (93 entries), and the
    generation config."""
    layers = 30
    ignore = ["lm_head", "model.embed_vision*",
              *(f"model.language_model.layers.{i}.{module}*" for i in range(layers)
                for module in ("mlp", "router", "self_attn")), "model.vision_tower*"]
    config = {
        "architectures": ["Gemma4ForConditionalGeneration"], "model_type": "gemma4", "tie_word_embeddings": True,
        "vision_soft_tokens_per_image": 280,
        "text_config": {
            "model_type": "gemma4_text", "num_hidden_layers": layers, "hidden_size": 2816,
            "layer_types": (["sliding_attention"] * 5 + ["full_attention"]) * 5, "sliding_window": 1024,
            "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 256, "num_global_key_value_heads": 2,
            "global_head_dim": 512, "attention_k_eq_v": True, "num_kv_shared_layers": 0, "intermediate_size": 2112,
            "enable_moe_block": True, "num_experts": 128, "top_k_experts": 8, "moe_intermediate_size": 704,
            "vocab_size": 262144, "max_position_embeddings": 262144, "tie_word_embeddings": True,
            "hidden_size_per_layer_input": 0, "final_logit_softcapping": 30.0},
        "vision_config": {"model_type": "gemma4_vision", "num_hidden_layers": 27, "hidden_size": 1152,
                          "intermediate_size": 4304, "num_attention_heads": 16, "patch_size": 16,
                          "hidden_activation": "gelu_pytorch_tanh"},
        "quantization_config": {
            "quant_method": "modelopt", "quant_algo": "NVFP4", "ignore": ignore,
            "config_groups": {"group_0": {"weights": {"num_bits": 4, "type": "float", "group_size": 16},
                                          "input_activations": {"num_bits": 4, "type": "float", "group_size": 16},
                                          "targets": ["Linear"]}},
            "kv_cache_scheme": {"num_bits": 8, "type": "float", "dynamic": False}},
    }
    return _model_folder(root, "Gemma-4-26B-A4B-NVFP4", config=config,
                         generation_config={"temperature": 1.0, "top_k": 64, "top_p": 0.95},
                         tokenizer_config={"chat_template": GEMMA4_THINK})


def test_a_gemma4_nvfp4_folder_plans_as_the_preset(tmp_path: Path):
    folder = resolve(str(_gemma4_nvfp4_folder(tmp_path)))
    preset = MODELS["gemma-4-26b-a4b"]
    assert list(folder.repos) == ["nvfp4"]
    assert weights_gib(folder, "nvfp4") == pytest.approx(weights_gib(preset, "nvfp4"), rel=1e-9)
    for field in ("layers", "sliding_layers", "kv_heads", "head_dim", "sliding_kv_heads", "sliding_head_dim",
                  "sliding_window", "experts", "active_experts", "native_context", "reasoning_parser",
                  "tool_call_parser", "thinking_switch", "thinks_by_default", "sampling", "min_vllm"):
        assert getattr(folder, field) == getattr(preset, field), field
    assert kv_pool(folder, 2, 1, "fp8", 8192) == kv_pool(preset, 2, 1, "fp8", 8192)


def test_nemotron_h_state_block_and_groups_as_logged():
    """23 Mamba-2 layers of 2,134,016 bytes a request (fp32 SSM state), padded to 24 in four groups of six beside one
    group of the six attention layers; one attention page (512 bytes a token at fp8) holds a state: 4176 tokens."""
    model = MODELS["nemotron-3-nano-30b-a3b"]
    assert (model.full_layers, model.linear_layers, model.mlp_only_layers) == (6, 23, 23)
    assert model.linear.state_bytes(1) == 2_134_016
    pool = kv_pool(model, 1, 1, "fp8", batched_tokens=32768, prefix_caching=False, block_size=16)
    assert (pool.block_size, pool.group_size, pool.full_groups, pool.state_groups) == (4176, 6, 1, 4)
    assert model.params_b == pytest.approx(31.6, rel=0.01)  # the card's 31.6B; 3.6B active with embeddings
    assert model.active_params_b == pytest.approx(3.6, rel=0.02)


def test_nemotron_h_kv_concurrency_as_logged():
    pool = kv_pool(MODELS["nemotron-3-nano-30b-a3b"], 1, 1, "fp8", batched_tokens=32768, prefix_caching=False,
                   block_size=16)
    blocks = pool.blocks(3.72 * GIB)
    assert pool.concurrency(blocks, 256000) == pytest.approx(4.71, rel=0.05)
    assert pool.concurrency(blocks, 256000) * 256000 == pytest.approx(1_206_303, rel=0.01)


def test_nemotron_h_nvfp4_weights_within_10_percent_of_the_log():
    """NVIDIA's NVFP4 checkpoint keeps attention, six Mamba layers' projections and lm_head 16-bit: 18.9 GiB planned;
    the logged derivative, quantized by its author, loaded 18.54 GiB."""
    assert weights_gib(MODELS["nemotron-3-nano-30b-a3b"], "nvfp4") == pytest.approx(18.54, rel=0.10)


def _nemotron3_nano_nvfp4_folder(root: Path) -> Path:
    """A folder laid out as nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-NVFP4 ships: config.json without a
    quantization_config, and ModelOpt's hf_quant_config.json naming each module it keeps 16-bit (60 entries)."""
    mamba = [i for i, kind in enumerate(NEMOTRON3_PATTERN) if kind == "M"]
    attention = [i for i, kind in enumerate(NEMOTRON3_PATTERN) if kind == "*"]
    exclude = ["lm_head"]
    for i in sorted(mamba + attention):
        if i in attention:
            exclude += [f"backbone.layers.{i}.mixer.{p}" for p in ("q_proj", "k_proj", "v_proj", "o_proj")]
        else:
            exclude.append(f"backbone.layers.{i}.mixer.conv1d")
            if i in (4, 11, 18, 25, 32, 41):
                exclude += [f"backbone.layers.{i}.mixer.in_proj", f"backbone.layers.{i}.mixer.out_proj"]
    assert len(exclude) == 60
    config = {
        "architectures": ["NemotronHForCausalLM"], "model_type": "nemotron_h", "num_hidden_layers": 52,
        "hybrid_override_pattern": NEMOTRON3_PATTERN, "hidden_size": 2688, "num_attention_heads": 32,
        "num_key_value_heads": 2, "head_dim": 128, "mamba_num_heads": 64, "mamba_head_dim": 64, "expand": 2,
        "ssm_state_size": 128, "n_groups": 8, "conv_kernel": 4, "chunk_size": 128, "mamba_hidden_act": "silu",
        "mamba_ssm_cache_dtype": "float32", "n_routed_experts": 128, "n_shared_experts": 1,
        "num_experts_per_tok": 6, "moe_intermediate_size": 1856, "moe_shared_expert_intermediate_size": 3712,
        "intermediate_size": 1856, "mlp_hidden_act": "relu2", "vocab_size": 131072,
        "max_position_embeddings": 262144, "tie_word_embeddings": False, "torch_dtype": "bfloat16"}
    return _model_folder(root, "NVIDIA-Nemotron-3-Nano-30B-A3B-NVFP4", config=config, hf_quant_config={
        "producer": {"name": "modelopt"}, "quantization": {
            "quant_algo": "NVFP4", "kv_cache_quant_algo": "FP8", "group_size": 16, "exclude_modules": exclude}},
        generation_config={"temperature": 1.0, "top_p": 1.0}, tokenizer_config={"chat_template": THINK_SWITCH})


def test_a_nemotron3_nano_nvfp4_folder_plans_as_the_preset(tmp_path: Path):
    folder = resolve(str(_nemotron3_nano_nvfp4_folder(tmp_path)))
    preset = MODELS["nemotron-3-nano-30b-a3b"]
    assert list(folder.repos) == ["nvfp4"]  # read from hf_quant_config.json, as vLLM reads it
    assert weights_gib(folder, "nvfp4") == pytest.approx(weights_gib(preset, "nvfp4"), rel=1e-9)
    for field in ("layers", "linear_layers", "mlp_only_layers", "linear", "kv_heads", "head_dim", "experts",
                  "active_experts", "params_b", "native_context", "reasoning_parser", "tool_call_parser",
                  "thinking_switch", "sampling"):
        assert getattr(folder, field) == getattr(preset, field), field
    assert kv_pool(folder, 2, 1, "fp8", 8192) == kv_pool(preset, 2, 1, "fp8", 8192)


def test_minimax_kv_per_request_as_logged_on_two_sparks():
    """62 layers of 4 KV heads a rank (8 over tensor parallel 2) of 128 at 16 bits: 126,976 bytes a token, so a
    196,608-token request needs 23.25 GiB, and 22.5 GiB holds 190,256 tokens (the log's estimate: 190,272)."""
    pool = kv_pool(MODELS["minimax-m2.5"], 2, 1, "auto", batched_tokens=8192, prefix_caching=True)
    assert round(pool.request_blocks(196608) * pool.block_bytes / GIB, 2) == 23.25
    assert pool.longest_request(pool.blocks(22.5 * GIB)) == pytest.approx(190272, rel=0.001)
    blocks = pool.blocks(28.74 * GIB)
    assert pool.concurrency(blocks, 196608) == pytest.approx(1.22, rel=0.05)
    assert pool.concurrency(blocks, 196608) * 196608 == pytest.approx(240816, rel=0.02)


def test_minimax_fp8_weights_within_10_percent_of_the_log():
    """The FP8 release, 228.7B parameters in blocks of 128 (its router, embedding and lm_head 16-bit): 214.1 GiB,
    13.4 GiB on each of 16 ranks against the 13.2 GiB each worker loaded."""
    model = MODELS["minimax-m2.5"]
    assert model.params_b == pytest.approx(229, rel=0.01)  # the model card's 229B
    assert weights_gib(model, "fp8") / 16 == pytest.approx(13.2, rel=0.10)


def _minimax_m25_nvfp4_folder(root: Path) -> Path:
    """A folder laid out as nvidia/MiniMax-M2.5-NVFP4 ships its config.json: ModelOpt NVFP4 through
    compressed-tensors-style config_groups, an ignore list of 125 entries (lm_head, each layer's attention and
    router), FP8 KV scales, and the repo's own config class in auto_map."""
    ignore = ["lm_head"] + [f"model.layers.{i}.{m}" for i in range(62) for m in ("block_sparse_moe.gate", "self_attn*")]
    assert len(ignore) == 125
    config = {
        "architectures": ["MiniMaxM2ForCausalLM"], "model_type": "minimax_m2", "attn_type_list": [1] * 62,
        "auto_map": {"AutoConfig": "configuration_minimax_m2.MiniMaxM2Config"}, "head_dim": 128,
        "hidden_size": 3072, "intermediate_size": 1536, "max_position_embeddings": 196608, "num_attention_heads": 48,
        "num_experts_per_tok": 8, "num_hidden_layers": 62, "num_key_value_heads": 8, "num_local_experts": 256,
        "num_mtp_modules": 3, "partial_rotary_factor": 0.5, "rotary_dim": 64, "scoring_func": "sigmoid",
        "shared_intermediate_size": 0, "tie_word_embeddings": False, "use_mtp": True, "vocab_size": 200064,
        "quantization_config": {
            "config_groups": {"group_0": {"input_activations": {"num_bits": 4, "type": "float", "group_size": 16},
                                          "weights": {"num_bits": 4, "type": "float", "group_size": 16},
                                          "targets": ["Linear"]}},
            "ignore": ignore, "quant_algo": "NVFP4", "kv_cache_scheme": {"num_bits": 8, "type": "float"},
            "producer": {"name": "modelopt"}, "quant_method": "modelopt"}}
    return _model_folder(root, "MiniMax-M2.5-NVFP4", config=config, tokenizer_config={"chat_template": "<think>"})


def test_a_minimax_m25_nvfp4_folder_plans_as_the_preset(tmp_path: Path):
    folder = resolve(str(_minimax_m25_nvfp4_folder(tmp_path)))
    preset = MODELS["minimax-m2.5"]
    assert list(folder.repos) == ["nvfp4"]
    assert weights_gib(folder, "nvfp4") == pytest.approx(weights_gib(preset, "nvfp4"), rel=1e-9)
    for field in ("layers", "kv_heads", "head_dim", "experts", "active_experts", "moe_intermediate_size", "params_b",
                  "native_context", "reasoning_parser", "tool_call_parser", "thinking_switch", "trust_remote_code"):
        assert getattr(folder, field) == getattr(preset, field), field
    assert kv_pool(folder, 4, 1, "auto", 8192) == kv_pool(preset, 4, 1, "auto", 8192)


def test_a_glm47_flash_folder_plans_as_the_preset(tmp_path: Path):
    """zai-org/GLM-4.7-Flash's config.json (MLA: kv_lora_rank 512, qk_rope_head_dim 64), its template's thinking
    switch: the same MLA geometry, experts and weights as the preset."""
    folder = _model_folder(tmp_path, "GLM-4.7-Flash", config={
        "architectures": ["Glm4MoeLiteForCausalLM"], "model_type": "glm4_moe_lite", "num_hidden_layers": 47,
        "hidden_size": 2048, "num_attention_heads": 20, "num_key_value_heads": 20, "head_dim": 64,
        "intermediate_size": 10240, "vocab_size": 154880, "max_position_embeddings": 202752, "n_routed_experts": 64,
        "n_shared_experts": 1, "num_experts_per_tok": 4, "moe_intermediate_size": 1536, "first_k_dense_replace": 1,
        "kv_lora_rank": 512, "q_lora_rank": 768, "qk_nope_head_dim": 192, "qk_rope_head_dim": 64,
        "v_head_dim": 256, "routed_scaling_factor": 1.8, "torch_dtype": "bfloat16", "tie_word_embeddings": False},
        tokenizer_config={"chat_template": THINK_SWITCH}, generation_config={"temperature": 1.0, "top_p": 0.95})
    model, preset = resolve(str(folder)), MODELS["glm-4.7-flash"]
    assert model.mla == preset.mla == (512, 64)
    assert weights_gib(model, "bf16") == pytest.approx(weights_gib(preset, "bf16"), rel=1e-9)
    for field in ("layers", "experts", "active_experts", "params_b", "active_params_b", "native_context",
                  "reasoning_parser", "tool_call_parser", "thinking_switch", "sampling", "min_vllm"):
        assert getattr(model, field) == getattr(preset, field), field
    pool = kv_pool(model, 2, 1, "auto", 8192)
    assert pool == kv_pool(preset, 2, 1, "auto", 8192)
    assert pool.block_bytes // pool.block_size == 47 * 576 * 2  # one latent a token, whole on each rank


def test_kimi_k2_ignore_patterns_keep_all_but_the_routed_experts_16_bit():
    """Kimi's compressed-tensors ignore list is regular expressions; matched against module names, they keep
    attention, the shared experts, the first layer's dense MLP and lm_head 16-bit, the routed experts INT4."""
    assert module_kinds("re:.*self_attn.*", False) == ("attention",)
    assert module_kinds("re:.*shared_experts.*", False) == ("mlp",)
    assert module_kinds("re:.*mlp\\.(gate|up|gate_up|down)_proj.*", False) == ("mlp",)
    assert module_kinds("lm_head", False) == ("lm_head",)


def test_kimi_k2_thinking_int4_weights_as_published():
    """1.03 trillion parameters, the routed experts in 4-bit groups of 32 (a 16-bit scale each: 0.5625 bytes a
    parameter), the rest 16-bit: 594.2 GB against the 594 GB published."""
    model = MODELS["kimi-k2-thinking"]
    assert weights_gib(model, "gptq") * GIB / 1e9 == pytest.approx(594, rel=0.02)
    assert model.active_params_b == pytest.approx(32.9, rel=0.01)  # the card's 32B activated


def test_kimi_k2_kv_tokens_at_tensor_parallel_8():
    """61 MLA layers cache 576 values a token, 70,272 bytes at 16 bits on every rank: 46.8 GiB a GPU hold 715,072."""
    pool = kv_pool(MODELS["kimi-k2-thinking"], 8, 1, "auto", batched_tokens=8192, prefix_caching=True)
    assert pool.block_bytes // pool.block_size == 61 * 576 * 2
    assert pool.blocks(46.8 * GIB) * pool.block_size == pytest.approx(715072, rel=0.001)


def test_a_kimi_k2_folder_is_told_apart_from_deepseek_by_its_model_type(tmp_path: Path):
    """Kimi K2 reuses DeepseekV3ForCausalLM; its model_type kimi_k2 gives it Kimi's parsers, not DeepSeek-R1's."""
    folder = _model_folder(tmp_path, "Kimi-K2-Thinking", config=shipped_config("kimi-k2-thinking"))
    model, preset = resolve(str(folder)), MODELS["kimi-k2-thinking"]
    assert (model.reasoning_parser, model.tool_call_parser, model.trust_remote_code) == ("kimi_k2", "kimi_k2", True)
    assert list(model.repos) == ["gptq"]
    assert weights_gib(model, "gptq") == pytest.approx(weights_gib(preset, "gptq"), rel=1e-9)
    other = _model_folder(tmp_path, "DeepSeek-geometry",
                          config=dict(shipped_config("kimi-k2-thinking"), model_type="deepseek_v3"))
    assert resolve(str(other)).reasoning_parser == "deepseek_r1"


def test_glm51_mla_with_its_indexer_as_logged_on_eight_h200s():
    """78 MLA layers each cache a 576-value latent (1,152 bytes at 16 bits) and the indexer's 8-bit key (128 values
    and a 4-byte scale): 100,152 bytes a token on every rank, in 64-token blocks; 32.11 GiB hold 344,192 tokens."""
    model = MODELS["glm-5.1"]
    pool = kv_pool(model, 8, 1, "auto", batched_tokens=8192, prefix_caching=True)
    assert pool.block_size == 64 and pool.block_bytes // pool.block_size == 78 * (1152 + 132)
    blocks = pool.blocks(32.11 * GIB)
    assert blocks * pool.block_size == 344192
    assert pool.concurrency(blocks, 202752) == pytest.approx(1.70, abs=0.005)
    assert model.kv_bytes_per_token() == 100152


def test_glm51_fp8_weights_within_10_percent_of_the_log():
    model = MODELS["glm-5.1"]
    assert model.params_b == pytest.approx(744, rel=0.01)  # the card's 744B, 40B active
    assert weights_gib(model, "fp8") / 8 == pytest.approx(89.34, rel=0.10)


def test_glm51_fp8_cache_is_deepseek_s_record():
    """At fp8 a sparse model's latent is the fp8_ds_mla record (656 bytes), not 576; the indexer key is 8-bit
    whatever the cache."""
    pool = kv_pool(MODELS["glm-5.1"], 8, 1, "fp8", batched_tokens=8192, prefix_caching=True)
    assert pool.block_bytes // pool.block_size == 78 * (656 + 132)


def test_a_glm51_fp8_folder_plans_as_the_preset(tmp_path: Path):
    """zai-org/GLM-5.1-FP8's config.json (its modules_to_not_convert trimmed to a few of its 712 entries): the same
    geometry, indexer, block size and weights as the preset."""
    config = dict(shipped_config("glm-5.1"), num_nextn_predict_layers=1, rope_parameters={"rope_theta": 1000000},
                  quantization_config={"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                                       "weight_block_size": [128, 128], "modules_to_not_convert": [
                                           "lm_head", "model.embed_tokens", "model.layers.0.self_attn.indexers_proj"]})
    folder = _model_folder(tmp_path, "GLM-5.1-FP8", config=config, tokenizer_config={"chat_template": THINK_SWITCH})
    model, preset = resolve(str(folder)), MODELS["glm-5.1"]
    assert list(model.repos) == ["fp8"] and model.fp8_block
    assert weights_gib(model, "fp8") == pytest.approx(weights_gib(preset, "fp8"), rel=1e-9)
    for field in ("mla", "indexer_bytes", "kv_block", "fp8_kv_on", "layers", "experts", "min_vllm",
                  "reasoning_parser", "tool_call_parser", "thinking_switch"):
        assert getattr(model, field) == getattr(preset, field), field


def test_nvidia_glm51_nvfp4_keeps_whole_dense_layers_16_bit():
    """The exclusions name three dense layers whole ("model.layers.0*", "model.layers.1.*") and the MTP layer 78,
    which vLLM does not load: every attention and shared-expert MLP 16-bit, the routed experts NVFP4 only."""
    from reasoning_stack.models.params import param_counts
    from reasoning_stack.models.presets import shipped_quantization
    from reasoning_stack.models.quantization import ignored_shares

    glm51, kinds = shipped_config("glm-5.1"), ["full_attention"] * 78
    counts = param_counts(glm51, glm51, kinds, None, True)
    shares = ignored_shares(shipped_quantization("glm-5.1", "nvfp4"), counts.layers_with, False)
    assert shares == {"lm_head": 1.0, "attention": 1.0, "mlp": 1.0, "experts": 0.0}
