"""The curated presets: the reasoning models operators run now, plannable with no network.

Each preset ships the ``config.json`` keys the planner reads (``models/config.py`` turns them into the planner's
facts exactly as it does a repo read from the Hub, so a preset and its repo id plan the same), the sampling of its
``generation_config.json``, how its chat template switches thinking, its published repos per weights format and,
where recorded, the safetensors' size. Figures are the repos' own config.json values on Hugging Face.

``strength`` (what ``model: auto`` ranks by) is one figure from each model card: AIME pass@1 x 10, AIME 2024 where
the card reports it, AIME 2025 where it reports only that (the 2507 and Qwen3-Next thinking releases). The
catalogue's older models carry the same figure (``catalogue.py``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reasoning_stack.models.config import ModelFiles, spec_from_files
from reasoning_stack.models.spec import ModelSpec

THINK_SWITCH = "{%- if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>{% endif %}"
THINK_ONLY = "<|im_start|>assistant\n<think>\n"
R1_TEMPLATE = "<｜Assistant｜><think>\n"
QWEN3_THINKING = {"temperature": 0.6, "top_p": 0.95, "top_k": 20}  # Qwen3 cards, thinking mode
R1_SAMPLING = {"temperature": 0.6, "top_p": 0.95}  # DeepSeek-R1-0528 card, "Usage Recommendations"

_GPT_OSS = {  # gpt-oss-20b and -120b differ in layers and experts only
    "architectures": ["GptOssForCausalLM"], "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 64,
    "hidden_size": 2880, "intermediate_size": 2880, "num_experts_per_tok": 4, "vocab_size": 201088,
    "max_position_embeddings": 131072, "sliding_window": 128,
    "rope_scaling": {"rope_type": "yarn", "factor": 32.0, "original_max_position_embeddings": 4096},
    "tie_word_embeddings": False, "quantization_config": {"quant_method": "mxfp4"},
}
_QWEN3_30B = {
    "architectures": ["Qwen3MoeForCausalLM"], "num_hidden_layers": 48, "num_attention_heads": 32,
    "num_key_value_heads": 4, "head_dim": 128, "hidden_size": 2048, "intermediate_size": 6144,
    "moe_intermediate_size": 768, "num_experts": 128, "num_experts_per_tok": 8, "vocab_size": 151936,
    "tie_word_embeddings": False,
}
_FP8_BLOCK = {"quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [128, 128],
                                      "activation_scheme": "dynamic"}}
_QWEN3_NEXT = {
    "architectures": ["Qwen3NextForCausalLM"], "num_hidden_layers": 48, "full_attention_interval": 4,
    "num_attention_heads": 16, "num_key_value_heads": 2, "head_dim": 256, "hidden_size": 2048,
    "intermediate_size": 5120, "moe_intermediate_size": 512, "shared_expert_intermediate_size": 512,
    "num_experts": 512, "num_experts_per_tok": 10, "vocab_size": 151936, "max_position_embeddings": 262144,
    "linear_num_key_heads": 16, "linear_num_value_heads": 32, "linear_key_head_dim": 128,
    "linear_value_head_dim": 128, "linear_conv_kernel_dim": 4, "tie_word_embeddings": False,
}
_QWEN35_LAYERS = ["linear_attention", "linear_attention", "linear_attention", "full_attention"]
# Qwen3.5's hybrid geometries, which Qwen3.6 and Qwen3.8 keep (aiconfigurator's copies of NVIDIA's Qwen3.6 NVFP4
# config.json; Qwen3.8-27B: vllm-project/recipes Qwen/Qwen3.8-27B.yaml and its logged block size of 1568).
_QWEN35_VISION = {"depth": 27, "hidden_size": 1152, "intermediate_size": 4304, "spatial_merge_size": 2}
_QWEN35_35B = {"architectures": ["Qwen3_5MoeForConditionalGeneration"],
               "vision_config": {**_QWEN35_VISION, "out_hidden_size": 2048}, "text_config": {
    "num_hidden_layers": 40, "layer_types": _QWEN35_LAYERS * 10, "num_attention_heads": 16,
    "num_key_value_heads": 2, "head_dim": 256, "hidden_size": 2048, "moe_intermediate_size": 512,
    "shared_expert_intermediate_size": 512, "num_experts": 256, "num_experts_per_tok": 8,
    "vocab_size": 248320, "max_position_embeddings": 262144, "linear_num_key_heads": 16,
    "linear_num_value_heads": 32, "linear_key_head_dim": 128, "linear_value_head_dim": 128,
    "linear_conv_kernel_dim": 4, "mamba_ssm_dtype": "float32", "mtp_num_hidden_layers": 1,
    "tie_word_embeddings": False}}
_QWEN35_27B = {"architectures": ["Qwen3_5ForConditionalGeneration"],
               "vision_config": {**_QWEN35_VISION, "out_hidden_size": 5120}, "text_config": {
    "num_hidden_layers": 64, "layer_types": _QWEN35_LAYERS * 16, "num_attention_heads": 24,
    "num_key_value_heads": 4, "head_dim": 256, "hidden_size": 5120, "intermediate_size": 17408,
    "vocab_size": 248320, "max_position_embeddings": 262144, "linear_num_key_heads": 16,
    "linear_num_value_heads": 48, "linear_key_head_dim": 128, "linear_value_head_dim": 128,
    "linear_conv_kernel_dim": 4, "mamba_ssm_dtype": "float32", "mtp_num_hidden_layers": 1,
    "tie_word_embeddings": False}}
# NVIDIA's NVFP4 checkpoints of Qwen3.6 (and Inferact's of Qwen3.8): ModelOpt MIXED_PRECISION, the attention and
# Gated DeltaNet projections FP8, the MLP (or experts) and lm_head NVFP4 weight-only, the MTP head left out; one
# module per kind stands for every layer's (the formats are uniform per kind in the published quantized_layers).
_QWEN_NVFP4_MIXED = {"quant_method": "modelopt", "quant_algo": "MIXED_PRECISION", "quantized_layers": {
    "model.language_model.layers.0.linear_attn.in_proj_qkv": {"quant_algo": "FP8"},
    "model.language_model.layers.3.self_attn.q_proj": {"quant_algo": "FP8"},
    "model.language_model.layers.0.mlp": {"quant_algo": "W4A16_NVFP4", "group_size": 16},
    "lm_head": {"quant_algo": "W4A16_NVFP4", "group_size": 16}}}
# Gemma 4 (aiconfigurator's copies of google/gemma-4-26B-A4B and nvidia/Gemma-4-31B-IT-NVFP4 config.json): five
# sliding layers (window 1024, head size 256) to one global layer (head size 512, its own KV heads, V read from K's
# projection), a gated vision tower; the 26B-A4B runs 128 experts beside a dense MLP in every layer.
GEMMA4_THINK = "{%- if enable_thinking is defined and enable_thinking %}<|channel>thought{% endif %}"
GEMMA4_SAMPLING = {"temperature": 1.0, "top_p": 0.95, "top_k": 64}  # its generation_config.json, as vLLM logs it
_GEMMA4_VISION = {"model_type": "gemma4_vision", "num_hidden_layers": 27, "hidden_size": 1152,
                  "intermediate_size": 4304, "hidden_activation": "gelu_pytorch_tanh"}
_GEMMA4_TEXT = {"head_dim": 256, "global_head_dim": 512, "attention_k_eq_v": True, "sliding_window": 1024,
                "num_kv_shared_layers": 0, "vocab_size": 262144, "max_position_embeddings": 262144,
                "tie_word_embeddings": True}
_GEMMA4_LAYERS = ["sliding_attention"] * 5 + ["full_attention"]
_GEMMA4_26B = {"architectures": ["Gemma4ForConditionalGeneration"], "tie_word_embeddings": True,
               "vision_config": _GEMMA4_VISION, "text_config": {
                   **_GEMMA4_TEXT, "num_hidden_layers": 30, "layer_types": _GEMMA4_LAYERS * 5, "hidden_size": 2816,
                   "num_attention_heads": 16, "num_key_value_heads": 8, "num_global_key_value_heads": 2,
                   "intermediate_size": 2112, "enable_moe_block": True, "num_experts": 128, "top_k_experts": 8,
                   "moe_intermediate_size": 704}}
_GEMMA4_31B = {"architectures": ["Gemma4ForConditionalGeneration"], "tie_word_embeddings": True,
               "vision_config": _GEMMA4_VISION, "text_config": {
                   **_GEMMA4_TEXT, "num_hidden_layers": 60, "layer_types": _GEMMA4_LAYERS * 10, "hidden_size": 5376,
                   "num_attention_heads": 32, "num_key_value_heads": 16, "num_global_key_value_heads": 4,
                   "intermediate_size": 21504}}

# Gemma 4 E2B and E4B ("effective" 2B and 4B: most of the rest is per-layer embeddings), from their config.json as
# public code copies it (the E4B's as several agree; Hugging Face lists 5,123,178,051 and 7,996,156,490 parameters):
# 512-token windows, one KV head (E2B) or two, the last 20 or 18 layers reading the KV of the last earlier layer of
# their kind (num_kv_shared_layers), E2B's shared layers with MLPs twice as wide, a smaller vision tower and an
# audio tower.
_GEMMA4_EDGE_TEXT = {**_GEMMA4_TEXT, "attention_k_eq_v": False, "sliding_window": 512, "num_attention_heads": 8,
                     "hidden_size_per_layer_input": 256, "vocab_size_per_layer_input": 262144,
                     "max_position_embeddings": 131072}
_GEMMA4_EDGE_TOWERS = {
    "vision_config": {"model_type": "gemma4_vision", "num_hidden_layers": 16, "hidden_size": 768,
                      "intermediate_size": 3072, "hidden_activation": "gelu_pytorch_tanh"},
    "audio_config": {"model_type": "gemma4_audio", "num_hidden_layers": 12, "hidden_size": 1024,
                     "output_proj_dims": 1536}}
_GEMMA4_E2B = {"architectures": ["Gemma4ForConditionalGeneration"], "tie_word_embeddings": True,
               **_GEMMA4_EDGE_TOWERS, "text_config": {
                   **_GEMMA4_EDGE_TEXT, "num_hidden_layers": 35, "layer_types": (["sliding_attention"] * 4
                                                                                 + ["full_attention"]) * 7,
                   "hidden_size": 1536, "num_key_value_heads": 1, "num_global_key_value_heads": None,
                   "intermediate_size": 6144, "num_kv_shared_layers": 20, "use_double_wide_mlp": True}}
_GEMMA4_E4B = {"architectures": ["Gemma4ForConditionalGeneration"], "tie_word_embeddings": True,
               **_GEMMA4_EDGE_TOWERS, "text_config": {
                   **_GEMMA4_EDGE_TEXT, "num_hidden_layers": 42, "layer_types": _GEMMA4_LAYERS * 7,
                   "hidden_size": 2560, "num_key_value_heads": 2, "num_global_key_value_heads": None,
                   "intermediate_size": 10240, "num_kv_shared_layers": 18, "use_double_wide_mlp": False}}


def _nvidia_gemma4_nvfp4(*kept: str) -> dict[str, Any]:
    """NVIDIA's Gemma 4 NVFP4 quantization_config: NVFP4 (group 16) but for the modules its ignore list keeps
    16-bit, every layer's (``layers.*`` stands for the per-layer entries it lists)."""
    return {"quant_method": "modelopt", "quant_algo": "NVFP4", "config_groups": {"group_0": {"weights": {
        "num_bits": 4, "type": "float", "group_size": 16}}},
        "ignore": ["lm_head", "model.embed_vision*", "model.vision_tower*",
                   *(f"model.language_model.layers.*.{module}*" for module in kept)]}


# Nemotron 3 Nano (aiconfigurator's copy of nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16 config.json): 23 Mamba-2,
# 23 MoE and 6 attention layers, one mixer a layer; squared-ReLU MLPs of two matrices; fp32 SSM state.
NEMOTRON3_PATTERN = "MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME"
_NEMOTRON3_NANO = {
    "architectures": ["NemotronHForCausalLM"], "num_hidden_layers": 52, "hybrid_override_pattern": NEMOTRON3_PATTERN,
    "hidden_size": 2688, "num_attention_heads": 32, "num_key_value_heads": 2, "head_dim": 128,
    "mamba_num_heads": 64, "mamba_head_dim": 64, "ssm_state_size": 128, "n_groups": 8, "conv_kernel": 4,
    "mamba_ssm_cache_dtype": "float32", "n_routed_experts": 128, "num_experts_per_tok": 6,
    "moe_intermediate_size": 1856, "moe_shared_expert_intermediate_size": 3712, "intermediate_size": 1856,
    "mlp_hidden_act": "relu2", "vocab_size": 131072, "max_position_embeddings": 262144, "tie_word_embeddings": False}


# Nemotron-3 Super 120B-A12B (NVIDIA's FP8 config.json, as aiconfigurator copies it): 88 layers, 40 Mamba-2 (128
# heads of 64), 40 LatentMoE (512 experts of width 2688 working in a 1024-wide latent, top-22, one shared expert of
# 5376) and 8 attention layers (2 KV heads of 128); one MTP module; fp32 SSM state.
NEMOTRON3_SUPER_PATTERN = ("MEMEMEM*EMEMEMEM*EMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEM*"
                           "EMEMEMEME")
_NEMOTRON3_SUPER = {
    "architectures": ["NemotronHForCausalLM"], "num_hidden_layers": 88,
    "hybrid_override_pattern": NEMOTRON3_SUPER_PATTERN, "hidden_size": 4096, "num_attention_heads": 32,
    "num_key_value_heads": 2, "head_dim": 128, "mamba_num_heads": 128, "mamba_head_dim": 64, "ssm_state_size": 128,
    "n_groups": 8, "conv_kernel": 4, "mamba_ssm_cache_dtype": "float32", "n_routed_experts": 512,
    "num_experts_per_tok": 22, "moe_intermediate_size": 2688, "moe_shared_expert_intermediate_size": 5376,
    "moe_latent_size": 1024, "intermediate_size": 2688, "mlp_hidden_act": "relu2", "vocab_size": 131072,
    "max_position_embeddings": 262144, "tie_word_embeddings": False, "num_nextn_predict_layers": 1}


def _nvidia_nemotron3_nano_nvfp4() -> dict[str, Any]:
    """NVIDIA's NVFP4 checkpoint's quantization (its hf_quant_config.json): NVFP4 but for lm_head, every
    convolution, six Mamba layers' projections and every attention layer."""
    attention = [i for i, kind in enumerate(NEMOTRON3_PATTERN) if kind == "*"]
    mamba = [i for i, kind in enumerate(NEMOTRON3_PATTERN) if kind == "M"]
    kept = ["lm_head", *(f"backbone.layers.{i}.mixer.conv1d" for i in mamba),
            *(f"backbone.layers.{i}.mixer.{p}" for i in (4, 11, 18, 25, 32, 41) for p in ("in_proj", "out_proj")),
            *(f"backbone.layers.{i}.mixer.{p}" for i in attention for p in ("q_proj", "k_proj", "v_proj", "o_proj"))]
    return {"quant_method": "modelopt", "quant_algo": "NVFP4", "group_size": 16, "exclude_modules": kept}


# MiniMax-M2.5 (its config.json, as aiconfigurator copies it): 62 full-attention layers (48 query, 8 KV heads of
# 128), 256 experts of width 1536, top-8, no shared expert; the release is FP8 in blocks of 128 but for the router
# and lm_head. NVIDIA's NVFP4 repo keeps every layer's attention and router and lm_head 16-bit.
_MINIMAX_M25 = {
    "architectures": ["MiniMaxM2ForCausalLM"], "num_hidden_layers": 62, "hidden_size": 3072,
    "num_attention_heads": 48, "num_key_value_heads": 8, "head_dim": 128, "intermediate_size": 1536,
    "num_local_experts": 256, "num_experts_per_tok": 8, "vocab_size": 200064, "max_position_embeddings": 196608,
    "tie_word_embeddings": False, "use_mtp": True, "num_mtp_modules": 3, "quantization_config": {
        "quant_method": "fp8", "fmt": "float8_e4m3fn", "activation_scheme": "dynamic", "weight_block_size": [128, 128],
        "modules_to_not_convert": ["gate", "e_score_correction_bias", "lm_head"]}}


def _nvidia_minimax_nvfp4() -> dict[str, Any]:
    """NVIDIA's MiniMax-M2.5 NVFP4 quantization_config: the experts NVFP4 (group 16), each layer's attention and
    router and lm_head kept 16-bit."""
    kept = ["lm_head", *(f"model.layers.{i}.{module}" for i in range(62)
                         for module in ("block_sparse_moe.gate", "self_attn*"))]
    return {"quant_method": "modelopt", "quant_algo": "NVFP4", "config_groups": {"group_0": {"weights": {
        "num_bits": 4, "type": "float", "group_size": 16}}}, "ignore": kept}


# GLM-4.7-Flash (its config.json, aiconfigurator's copy): 47 layers of MLA (KV latent 512 + RoPE 64 a token),
# the first dense, then 64 experts of width 1536 and one shared, top-4.
_GLM47_FLASH = {
    "architectures": ["Glm4MoeLiteForCausalLM"], "num_hidden_layers": 47, "hidden_size": 2048,
    "num_attention_heads": 20, "num_key_value_heads": 20, "head_dim": 64, "intermediate_size": 10240,
    "vocab_size": 154880, "max_position_embeddings": 202752, "n_routed_experts": 64, "n_shared_experts": 1,
    "num_experts_per_tok": 4, "moe_intermediate_size": 1536, "first_k_dense_replace": 1, "kv_lora_rank": 512,
    "q_lora_rank": 768, "qk_nope_head_dim": 192, "qk_rope_head_dim": 64, "v_head_dim": 256,
    "num_nextn_predict_layers": 1, "tie_word_embeddings": False}

# Kimi-K2-Thinking (its config.json, model_type kimi_k2): DeepSeek-V3's MLA geometry with 64 heads, 384 experts of
# width 2048 and one shared, top-8; natively INT4 (compressed-tensors, groups of 32) in the routed experts only.
_KIMI_K2_THINKING = {
    "architectures": ["DeepseekV3ForCausalLM"], "model_type": "kimi_k2", "num_hidden_layers": 61,
    "hidden_size": 7168, "num_attention_heads": 64, "num_key_value_heads": 64, "intermediate_size": 18432,
    "vocab_size": 163840, "max_position_embeddings": 262144, "n_routed_experts": 384, "n_shared_experts": 1,
    "num_experts_per_tok": 8, "moe_intermediate_size": 2048, "first_k_dense_replace": 1, "kv_lora_rank": 512,
    "q_lora_rank": 1536, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
    "tie_word_embeddings": False, "quantization_config": {
        "quant_method": "compressed-tensors", "format": "pack-quantized", "config_groups": {"group_0": {
            "targets": ["Linear"], "weights": {"num_bits": 4, "type": "int", "symmetric": True, "strategy": "group",
                                               "group_size": 32}}},
        "ignore": ["lm_head", "re:.*self_attn.*", "re:.*shared_experts.*", "re:.*mlp\\.(gate|up|gate_up|down)_proj.*"]}}

# GLM-5.1 (zai-org/GLM-5.1-FP8's config.json, aiconfigurator's copy): 78 MLA layers (latent 512 + RoPE 64), each
# with DeepSeek's sparse-attention indexer (32 heads of 128, top 2048), the first 3 dense, then 256 experts of
# width 2048 and one shared, top-8; FP8 in blocks of 128. NVIDIA's NVFP4 repo keeps attention, the shared experts,
# the dense layers and lm_head 16-bit (its hf_quant_config.json's 155 exclusions).
_GLM51 = {
    "architectures": ["GlmMoeDsaForCausalLM"], "model_type": "glm_moe_dsa", "num_hidden_layers": 78,
    "hidden_size": 6144, "num_attention_heads": 64, "num_key_value_heads": 64, "head_dim": 64,
    "intermediate_size": 12288, "moe_intermediate_size": 2048, "n_routed_experts": 256, "n_shared_experts": 1,
    "num_experts_per_tok": 8, "first_k_dense_replace": 3, "kv_lora_rank": 512, "q_lora_rank": 2048,
    "qk_nope_head_dim": 192, "qk_rope_head_dim": 64, "v_head_dim": 256, "index_head_dim": 128, "index_n_heads": 32,
    "index_topk": 2048, "vocab_size": 154880, "max_position_embeddings": 202752, "num_nextn_predict_layers": 1,
    "tie_word_embeddings": False, **_FP8_BLOCK}


def _nvidia_glm51_nvfp4() -> dict[str, Any]:
    """NVIDIA's GLM-5.1 NVFP4 quantization (its hf_quant_config.json): the routed experts NVFP4 (group 16); each MoE
    layer's attention and shared expert, the three dense layers whole, the MTP layer and lm_head kept 16-bit."""
    kept = ["lm_head", "model.layers.0*", "model.layers.1.*", "model.layers.2.*", "model.layers.78*",
            *(f"model.layers.{i}.{m}" for i in range(3, 78) for m in ("mlp.shared_experts*", "self_attn*"))]
    return {"quant_method": "modelopt", "quant_algo": "NVFP4", "group_size": 16, "exclude_modules": kept}


NO_AIME = "no AIME figure recorded for it here: model: auto ranks it last; name it to serve it"
_DEEPSEEK_V3 = {
    "architectures": ["DeepseekV3ForCausalLM"], "num_hidden_layers": 61, "hidden_size": 7168,
    "num_attention_heads": 128, "num_key_value_heads": 128, "q_lora_rank": 1536, "kv_lora_rank": 512,
    "qk_rope_head_dim": 64, "qk_nope_head_dim": 128, "v_head_dim": 128, "intermediate_size": 18432,
    "moe_intermediate_size": 2048, "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 8,
    "first_k_dense_replace": 3, "vocab_size": 129280, "max_position_embeddings": 163840,
    "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096},
    "num_nextn_predict_layers": 1, "tie_word_embeddings": False, **_FP8_BLOCK,
}

# DeepSeek V4 (deepseek-ai/DeepSeek-V4-Flash's and -Pro's config.json, aiconfigurator's copies): a 512-wide latent
# shared by every head (one KV head), each layer keeping a 128-token window whole and, at ratio 4 or 128
# (compress_ratios; the last entry is the MTP module's), compressed entries; ratio-4 layers add a lightning
# indexer (64 heads of 128, top 512 / 1024). FP8 in blocks of 128 with the routed experts FP4 (expert_dtype).
_DEEPSEEK_V4 = {
    "architectures": ["DeepseekV4ForCausalLM"], "model_type": "deepseek_v4", "num_key_value_heads": 1,
    "head_dim": 512, "o_lora_rank": 1024, "qk_rope_head_dim": 64, "n_shared_experts": 1, "num_experts_per_tok": 6,
    "index_head_dim": 128, "index_n_heads": 64, "sliding_window": 128, "vocab_size": 129280,
    "max_position_embeddings": 1048576,
    "rope_scaling": {"type": "yarn", "factor": 16, "original_max_position_embeddings": 65536},
    "num_nextn_predict_layers": 1, "tie_word_embeddings": False, "expert_dtype": "fp4", **_FP8_BLOCK}
_DEEPSEEK_V4_FLASH = {**_DEEPSEEK_V4, "num_hidden_layers": 43, "hidden_size": 4096, "num_attention_heads": 64,
                      "q_lora_rank": 1024, "o_groups": 8, "moe_intermediate_size": 2048, "n_routed_experts": 256,
                      "index_topk": 512, "compress_ratios": [0, 0, *[4, 128] * 20, 4, 0]}
_DEEPSEEK_V4_PRO = {**_DEEPSEEK_V4, "num_hidden_layers": 61, "hidden_size": 7168, "num_attention_heads": 128,
                    "q_lora_rank": 1536, "o_groups": 16, "moe_intermediate_size": 3072, "n_routed_experts": 384,
                    "index_topk": 1024, "compress_ratios": [128, 128, *[4, 128] * 29, 4, 0]}
DEEPSEEK_V4_SAMPLING = {"temperature": 1.0, "top_p": 1.0}  # its model card's recommendation

# slug, display name, repos by format, recorded safetensors bytes by format, strength, its source, config, the
# quantization_config of a quantized repo sized module by module (``quantized``), generation config, chat template
# marker.
PRESETS: list[dict[str, Any]] = [
    {"slug": "gpt-oss-20b", "display": "gpt-oss-20b", "repos": {"mxfp4": "openai/gpt-oss-20b"},
     "bytes": {"mxfp4": 13_761_264_768}, "strength": 921,
     "strength_source": "gpt-oss model card: AIME 2024 (no tools, high effort) 92.1",
     "config": {**_GPT_OSS, "num_hidden_layers": 24, "num_local_experts": 32,
                "layer_types": ["sliding_attention", "full_attention"] * 12},
     "generation": {}, "template": ""},
    {"slug": "gpt-oss-120b", "display": "gpt-oss-120b", "repos": {"mxfp4": "openai/gpt-oss-120b"},
     "bytes": {"mxfp4": 65_248_815_744}, "strength": 958,
     "strength_source": "gpt-oss model card: AIME 2024 (no tools, high effort) 95.8",
     "config": {**_GPT_OSS, "num_hidden_layers": 36, "num_local_experts": 128,
                "layer_types": ["sliding_attention", "full_attention"] * 18},
     "generation": {}, "template": ""},
    {"slug": "qwen3-30b-a3b", "display": "Qwen3-30B-A3B",
     "repos": {"bf16": "Qwen/Qwen3-30B-A3B", "fp8": "Qwen/Qwen3-30B-A3B-FP8"}, "bytes": {}, "strength": 804,
     "strength_source": "Qwen3 technical report / blog: AIME 2024 (thinking) 80.4",
     "config": {**_QWEN3_30B, "max_position_embeddings": 40960}, "generation": QWEN3_THINKING,
     "template": THINK_SWITCH, "fp8_block": True},
    {"slug": "qwen3-30b-a3b-thinking-2507", "display": "Qwen3-30B-A3B-Thinking-2507",
     "repos": {"bf16": "Qwen/Qwen3-30B-A3B-Thinking-2507", "fp8": "Qwen/Qwen3-30B-A3B-Thinking-2507-FP8"},
     "bytes": {}, "strength": 850, "strength_source": "Qwen3-30B-A3B-Thinking-2507 model card: AIME 2025 85.0",
     "config": {**_QWEN3_30B, "max_position_embeddings": 262144}, "generation": QWEN3_THINKING,
     "template": THINK_ONLY, "fp8_block": True},
    {"slug": "qwen3-next-80b-a3b-thinking", "display": "Qwen3-Next-80B-A3B-Thinking",
     "repos": {"bf16": "Qwen/Qwen3-Next-80B-A3B-Thinking", "fp8": "Qwen/Qwen3-Next-80B-A3B-Thinking-FP8"},
     "bytes": {}, "strength": 878, "strength_source": "Qwen3-Next-80B-A3B-Thinking model card: AIME 2025 87.8",
     "config": _QWEN3_NEXT, "generation": QWEN3_THINKING, "template": THINK_ONLY, "fp8_block": True},
    {"slug": "qwen3-235b-a22b-thinking-2507", "display": "Qwen3-235B-A22B-Thinking-2507",
     "repos": {"bf16": "Qwen/Qwen3-235B-A22B-Thinking-2507", "fp8": "Qwen/Qwen3-235B-A22B-Thinking-2507-FP8"},
     "bytes": {}, "strength": 923, "strength_source": "Qwen3-235B-A22B-Thinking-2507 model card: AIME 2025 92.3",
     "config": {"architectures": ["Qwen3MoeForCausalLM"], "num_hidden_layers": 94, "num_attention_heads": 64,
                "num_key_value_heads": 4, "head_dim": 128, "hidden_size": 4096, "intermediate_size": 12288,
                "moe_intermediate_size": 1536, "num_experts": 128, "num_experts_per_tok": 8, "vocab_size": 151936,
                "max_position_embeddings": 262144, "tie_word_embeddings": False},
     "generation": QWEN3_THINKING, "template": THINK_ONLY, "fp8_block": True},
    {"slug": "qwen3.5-35b-a3b", "display": "Qwen3.5-35B-A3B",
     "repos": {"bf16": "Qwen/Qwen3.5-35B-A3B", "fp8": "Qwen/Qwen3.5-35B-A3B-FP8"}, "bytes": {}, "strength": 0,
     "strength_source": NO_AIME,
     "config": _QWEN35_35B,
     "generation": QWEN3_THINKING, "template": THINK_SWITCH, "fp8_block": True},
    {"slug": "qwen3.5-27b", "display": "Qwen3.5-27B",
     "repos": {"bf16": "Qwen/Qwen3.5-27B", "fp8": "Qwen/Qwen3.5-27B-FP8"}, "bytes": {}, "strength": 0,
     "strength_source": NO_AIME,
     "config": _QWEN35_27B,
     "generation": QWEN3_THINKING, "template": THINK_SWITCH, "fp8_block": True},
    {"slug": "qwen3.6-35b-a3b", "display": "Qwen3.6-35B-A3B",
     "repos": {"bf16": "Qwen/Qwen3.6-35B-A3B", "fp8": "Qwen/Qwen3.6-35B-A3B-FP8",
               "nvfp4": "nvidia/Qwen3.6-35B-A3B-NVFP4"}, "bytes": {}, "strength": 0,
     "strength_source": NO_AIME + " (its card reports SWE-bench and GPQA, not AIME)",
     "config": _QWEN35_35B, "quantized": {"nvfp4": _QWEN_NVFP4_MIXED},
     "generation": {}, "template": THINK_SWITCH, "fp8_block": True},  # sampling: the repo's generation_config
    {"slug": "qwen3.6-27b", "display": "Qwen3.6-27B",
     "repos": {"bf16": "Qwen/Qwen3.6-27B", "fp8": "Qwen/Qwen3.6-27B-FP8", "nvfp4": "nvidia/Qwen3.6-27B-NVFP4"},
     "bytes": {}, "strength": 0, "strength_source": NO_AIME + " (its card reports SWE-bench, not AIME)",
     "config": _QWEN35_27B, "quantized": {"nvfp4": _QWEN_NVFP4_MIXED},
     "generation": {}, "template": THINK_SWITCH, "fp8_block": True},
    {"slug": "qwen3.8-27b", "display": "Qwen3.8-27B",
     "repos": {"bf16": "Qwen/Qwen3.8-27B", "fp8": "Qwen/Qwen3.8-27B-FP8", "nvfp4": "Inferact/Qwen3.8-27B-NVFP4"},
     "bytes": {}, "strength": 0, "strength_source": NO_AIME,
     "config": _QWEN35_27B, "quantized": {"nvfp4": _QWEN_NVFP4_MIXED},
     "generation": {"temperature": 1.0, "top_p": 0.95, "top_k": 20},  # recipes: Qwen/Qwen3.8-27B.yaml
     "template": THINK_SWITCH, "fp8_block": True},
    {"slug": "gemma-4-26b-a4b", "display": "Gemma 4 26B-A4B",
     "repos": {"bf16": "google/gemma-4-26B-A4B-it", "fp8": "RedHatAI/gemma-4-26B-A4B-it-FP8-dynamic",
               "nvfp4": "nvidia/Gemma-4-26B-A4B-NVFP4"},
     "bytes": {"bf16": 51_611_872_412}, "strength": 883,  # bf16: its safetensors' 25,805,936,206 parameters
     "strength_source": "Gemma 4 model card (Hugging Face blog): AIME 2026 (no tools) 88.3",
     "config": _GEMMA4_26B, "quantized": {"nvfp4": _nvidia_gemma4_nvfp4("mlp", "router", "self_attn")},
     "generation": GEMMA4_SAMPLING, "template": GEMMA4_THINK,
     "drafter": ("google/gemma-4-26B-A4B-it-assistant", 0)},
    {"slug": "gemma-4-31b", "display": "Gemma 4 31B",
     "repos": {"bf16": "google/gemma-4-31B-it", "fp8": "RedHatAI/gemma-4-31B-it-FP8-dynamic",
               "nvfp4": "nvidia/Gemma-4-31B-IT-NVFP4"},
     "bytes": {"bf16": 62_546_177_752}, "strength": 892,  # bf16: its safetensors' 31,273,088,876 parameters
     "strength_source": "Gemma 4 model card (Hugging Face blog): AIME 2026 (no tools) 89.2",
     "config": _GEMMA4_31B, "quantized": {"nvfp4": _nvidia_gemma4_nvfp4("self_attn")},
     "generation": GEMMA4_SAMPLING, "template": GEMMA4_THINK,
     # its MTP drafter: 469,518,596 parameters (Hugging Face's listing, the same study as the totals above)
     "drafter": ("google/gemma-4-31B-it-assistant", 0.4695)},
    {"slug": "gemma-4-e4b", "display": "Gemma 4 E4B", "repos": {"bf16": "google/gemma-4-E4B-it"},
     "bytes": {"bf16": 15_992_312_980}, "strength": 425,  # bf16: its safetensors' 7,996,156,490 parameters
     "strength_source": "Gemma 4 model card (Hugging Face blog): AIME 2026 (no tools) 42.5",
     "config": _GEMMA4_E4B, "generation": GEMMA4_SAMPLING, "template": GEMMA4_THINK,
     "drafter": ("google/gemma-4-E4B-it-assistant", 0)},
    {"slug": "gemma-4-e2b", "display": "Gemma 4 E2B", "repos": {"bf16": "google/gemma-4-E2B-it"},
     "bytes": {"bf16": 10_246_356_102}, "strength": 375,  # bf16: its safetensors' 5,123,178,051 parameters
     "strength_source": "Gemma 4 model card (Hugging Face blog): AIME 2026 (no tools) 37.5",
     "config": _GEMMA4_E2B, "generation": GEMMA4_SAMPLING, "template": GEMMA4_THINK,
     "drafter": ("google/gemma-4-E2B-it-assistant", 0)},
    {"slug": "nemotron-3-nano-30b-a3b", "display": "Nemotron 3 Nano 30B-A3B",
     "repos": {"bf16": "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", "fp8": "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-FP8",
               "nvfp4": "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-NVFP4"},
     "bytes": {}, "strength": 891,
     "strength_source": "NVIDIA Nemotron 3 Nano model card: AIME 2025 (no tools) 89.1",
     "config": _NEMOTRON3_NANO, "quantized": {"nvfp4": _nvidia_nemotron3_nano_nvfp4()},
     "generation": {"temperature": 1.0, "top_p": 1.0},  # NVIDIA's recommendation for reasoning and chat
     "template": THINK_SWITCH},
    {"slug": "nemotron-3-super-120b-a12b", "display": "Nemotron 3 Super 120B-A12B",
     "repos": {"bf16": "nvidia/NVIDIA-Nemotron-3-Super-120B-A12B-BF16",
               "fp8": "nvidia/NVIDIA-Nemotron-3-Super-120B-A12B-FP8",
               "nvfp4": "nvidia/NVIDIA-Nemotron-3-Super-120B-A12B-NVFP4"},
     "bytes": {}, "strength": 0, "strength_source": NO_AIME, "config": _NEMOTRON3_SUPER,
     "generation": {"temperature": 1.0, "top_p": 1.0},  # NVIDIA's recommendation for its Nemotron 3 models
     "template": THINK_SWITCH},
    {"slug": "glm-4.7-flash", "display": "GLM-4.7-Flash",
     "repos": {"bf16": "zai-org/GLM-4.7-Flash", "fp8": "unsloth/GLM-4.7-Flash-FP8-Dynamic"}, "bytes": {},
     "strength": 916, "strength_source": "GLM-4.7-Flash model card: AIME 2025 91.6",
     "config": _GLM47_FLASH, "generation": {"temperature": 1.0, "top_p": 0.95},  # its card's default sampling
     "template": THINK_SWITCH},
    {"slug": "minimax-m2.5", "display": "MiniMax-M2.5 (230B MoE)",
     "repos": {"fp8": "MiniMaxAI/MiniMax-M2.5", "nvfp4": "nvidia/MiniMax-M2.5-NVFP4"}, "bytes": {}, "strength": 0,
     "strength_source": NO_AIME + " (its card names AIME 2025 without a figure)",
     "config": _MINIMAX_M25, "quantized": {"nvfp4": _nvidia_minimax_nvfp4()},
     "generation": {}, "template": "", "fp8_block": True},  # sampling: the repo's generation_config
    {"slug": "glm-5.1", "display": "GLM-5.1 (744B MoE)",
     "repos": {"fp8": "zai-org/GLM-5.1-FP8", "nvfp4": "nvidia/GLM-5.1-NVFP4"}, "bytes": {}, "strength": 0,
     "strength_source": NO_AIME, "config": _GLM51, "quantized": {"nvfp4": _nvidia_glm51_nvfp4()},
     "generation": {"temperature": 1.0, "top_p": 0.95},  # its generation_config.json, as vLLM logs it
     "template": THINK_SWITCH, "fp8_block": True},
    {"slug": "kimi-k2-thinking", "display": "Kimi-K2-Thinking (1T MoE)",
     "repos": {"gptq": "moonshotai/Kimi-K2-Thinking"}, "bytes": {}, "strength": 0,
     "strength_source": NO_AIME, "config": _KIMI_K2_THINKING,
     "generation": {"temperature": 1.0},  # its card: every benchmark run at temperature 1.0
     "template": ""},
    {"slug": "deepseek-v4-flash", "display": "DeepSeek-V4-Flash (284B MoE)",
     "repos": {"fp8": "deepseek-ai/DeepSeek-V4-Flash"}, "bytes": {}, "strength": 0,
     "strength_source": NO_AIME + " (its card reports MMLU-Pro, GPQA and Terminal-Bench)",
     "config": _DEEPSEEK_V4_FLASH, "generation": DEEPSEEK_V4_SAMPLING, "template": ""},
    {"slug": "deepseek-v4-pro", "display": "DeepSeek-V4-Pro (1.6T MoE)",
     "repos": {"fp8": "deepseek-ai/DeepSeek-V4-Pro"}, "bytes": {}, "strength": 0,
     "strength_source": NO_AIME + " (its card reports HMMT 2026 and LiveCodeBench)",
     "config": _DEEPSEEK_V4_PRO, "generation": DEEPSEEK_V4_SAMPLING, "template": ""},
    {"slug": "deepseek-r1-0528", "display": "DeepSeek-R1-0528 (671B MoE)",
     "repos": {"fp8": "deepseek-ai/DeepSeek-R1-0528"},
     "bytes": {}, "strength": 914, "strength_source": "DeepSeek-R1-0528 model card: AIME 2024 91.4",
     "config": _DEEPSEEK_V3, "generation": R1_SAMPLING, "template": R1_TEMPLATE},
    {"slug": "deepseek-r1-0528-qwen3-8b", "display": "DeepSeek-R1-0528-Qwen3-8B",
     "repos": {"bf16": "deepseek-ai/DeepSeek-R1-0528-Qwen3-8B"}, "bytes": {}, "strength": 860,
     "strength_source": "DeepSeek-R1-0528 model card: DeepSeek-R1-0528-Qwen3-8B AIME 2024 86.0",
     "config": {"architectures": ["Qwen3ForCausalLM"], "num_hidden_layers": 36, "num_attention_heads": 32,
                "num_key_value_heads": 8, "head_dim": 128, "hidden_size": 4096, "intermediate_size": 12288,
                "vocab_size": 151936, "max_position_embeddings": 131072,
                "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768},
                "tie_word_embeddings": False},
     "generation": R1_SAMPLING, "template": R1_TEMPLATE},
    {"slug": "glm-4.5-air", "display": "GLM-4.5-Air",
     "repos": {"bf16": "zai-org/GLM-4.5-Air", "fp8": "zai-org/GLM-4.5-Air-FP8"}, "bytes": {}, "strength": 894,
     "strength_source": "GLM-4.5 model card / blog: GLM-4.5-Air AIME 2024 89.4",
     "config": {"architectures": ["Glm4MoeForCausalLM"], "num_hidden_layers": 46, "num_attention_heads": 96,
                "num_key_value_heads": 8, "head_dim": 128, "hidden_size": 4096, "intermediate_size": 10944,
                "moe_intermediate_size": 1408, "n_routed_experts": 128, "n_shared_experts": 1,
                "num_experts_per_tok": 8, "first_k_dense_replace": 1, "vocab_size": 151552,
                "max_position_embeddings": 131072, "num_nextn_predict_layers": 1, "tie_word_embeddings": False},
     "generation": {"temperature": 0.6, "top_p": 0.95}, "template": THINK_SWITCH},
]


def _preset(slug: str) -> dict[str, Any]:
    return next(p for p in PRESETS if p["slug"] == slug)


def shipped_config(slug: str) -> dict[str, Any]:
    """A copy of the config.json the stack ships for preset ``slug`` (what the planner sizes it from)."""
    return dict(_preset(slug)["config"])


def shipped_quantization(slug: str, fmt: str) -> dict[str, Any]:
    """A copy of the quantization_config the stack ships for preset ``slug``'s repo in format ``fmt`` (``nvfp4``:
    NVIDIA's), which sizes that repo."""
    return dict(_preset(slug)["quantized"][fmt])


def preset_specs() -> list[ModelSpec]:
    """Every preset as the planner's facts, built from its shipped config exactly as a Hub repo's would be."""
    specs = []
    for p in PRESETS:
        first_fmt, first_repo = next(iter(p["repos"].items()))
        config = dict(p["config"])
        if first_fmt == "fp8" and "quantization_config" not in config:
            config.update(_FP8_BLOCK)
        files = ModelFiles(first_repo, config, p["generation"], {"chat_template": p["template"]},
                           p["bytes"].get(first_fmt))
        sizes = dict(p["bytes"])
        for fmt, quantization_config in p.get("quantized", {}).items():  # a quantized repo's own config sizes it
            quantized = spec_from_files(ModelFiles(p["repos"][fmt], {**config, "quantization_config":
                                                                      quantization_config}))
            sizes.setdefault(fmt, quantized.checkpoint_bytes[fmt])
        spec = spec_from_files(files, slug=p["slug"], strength=p["strength"], strength_source=p["strength_source"],
                               display=p["display"], extra_repos=p["repos"], extra_bytes=sizes,
                               source=f"{first_repo} config.json (shipped with the stack)")
        if p.get("fp8_block") and "fp8" in spec.repos:  # the FP8 repos are block-quantized (128x128)
            spec = replace(spec, fp8_block=True)
        if p.get("drafter"):  # (repo, billions of parameters; 0: not on record)
            spec = replace(spec, draft_repo=p["drafter"][0], draft_params_b=p["drafter"][1])
        specs.append(spec)
    return specs
