"""The architectures the planner knows, by ``config.json``'s ``architectures[0]``: the reasoning parser vLLM 0.17.1
needs for them, the first vLLM release that serves them, and how their thinking is switched.

Parsers are names in vLLM 0.17.1's ``vllm/reasoning/__init__.py`` (``qwen3`` handles both Qwen3 chat templates:
the model writing ``<think>`` itself, and the 2507/3.5 templates opening it in the prompt); classes are in its
``vllm/model_executor/models/registry.py``. First releases: gpt-oss v0.10.1, Qwen3 and Qwen3 MoE v0.8.5,
Qwen3-Next v0.10.2, Qwen3.5 v0.17.0, GLM-4.5 v0.10.0, DeepSeek-V3/R1 v0.7.1 (vLLM release notes), Gemma 4 v0.19.0
(its registry and its ``gemma4`` parsers; read from the 0.19 wheel, ../shared/reference/vllm-releases.md),
Nemotron-H with Nemotron 3 Nano v0.11.2 and MiniMax-M2 v0.11.0 (vllm-project/recipes' floors), DeepSeek V4 v0.20.0
(its parsers' first release, ../shared/reference/vllm-releases.md), GLM-4.7-Flash
(``glm4_moe_lite``) and GLM-5 (``glm_moe_dsa``) v0.24.0: the first release whose requirements hold a transformers
that reads their configs (5.5.3, read in that wheel; 0.17.1 pins transformers<5, which has neither, and the repos
ship no config class).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Architecture:
    """What serving one architecture takes beyond its geometry."""

    family: str  # the catalogue's family names (prompting advice, Open WebUI)
    reasoning_parser: str
    min_vllm: str
    tool_call_parser: str | None = None
    effort: bool = False  # reasoning graded per request (gpt-oss: reasoning_effort low/medium/high)
    linear_attention: bool = False  # Gated DeltaNet layers (linear_* keys)
    text_config: bool = False  # the language model's keys sit under "text_config"
    trust_remote_code: bool = False
    thinks_by_default: bool = True  # with a thinking switch: False where the template thinks only when asked
    gated_mlp: bool = True  # MLPs of three matrices (gate, up, down); Nemotron-H's squared-ReLU MLPs have two
    fp8_kv_on: tuple[str, ...] = ()  # compute capability majors where vLLM's "auto" KV cache is fp8 for it
    thinking_kwarg: str = ""  # the chat-template kwarg its own prompt encoder switches thinking with, where it has one


ARCHITECTURES: dict[str, Architecture] = {
    "GptOssForCausalLM": Architecture("gpt-oss", "openai_gptoss", "0.10.1", "openai", effort=True),
    "Qwen3ForCausalLM": Architecture("qwen3", "qwen3", "0.8.5", "hermes"),
    "Qwen3MoeForCausalLM": Architecture("qwen3", "qwen3", "0.8.5", "hermes"),
    "Qwen3NextForCausalLM": Architecture("qwen3", "qwen3", "0.10.2", "hermes", linear_attention=True),
    "Qwen3_5ForConditionalGeneration": Architecture("qwen3", "qwen3", "0.17.0", "qwen3_coder",
                                                    linear_attention=True, text_config=True),
    "Qwen3_5MoeForConditionalGeneration": Architecture("qwen3", "qwen3", "0.17.0", "qwen3_coder",
                                                       linear_attention=True, text_config=True),
    # Gemma 4 thinks (its <|channel>thought channel) only when enable_thinking is true: vllm-project/recipes' Gemma 4
    # recipe turns it on with --default-chat-template-kwargs
    "Gemma4ForConditionalGeneration": Architecture("gemma4", "gemma4", "0.19.0", "gemma4", text_config=True,
                                                   thinks_by_default=False),
    # Nemotron-H (Nemotron 3): Mamba-2, attention and MoE layers, one mixer each; its chat template switches
    # thinking with enable_thinking, on by default (NVIDIA's model card). Its repos ship their config class
    # (auto_map, "custom_code"): transformers 4.57, in vLLM 0.17.1's image, has no nemotron_h and refuses the
    # checkpoint without --trust-remote-code (found by the real 0.17.1); transformers 5 reads it natively
    "NemotronHForCausalLM": Architecture("nemotron", "nemotron_v3", "0.11.2", "qwen3_coder", linear_attention=True,
                                         gated_mlp=False, trust_remote_code=True),
    "Glm4MoeForCausalLM": Architecture("glm45", "glm45", "0.10.0", "glm45"),
    # GLM-4.7-Flash: MLA attention (vLLM sizes it as MLA in 0.17.1's model_arch_config_convertor), glm47 tools
    "Glm4MoeLiteForCausalLM": Architecture("glm45", "glm45", "0.24.0", "glm47"),
    # GLM-5 / 5.1: MLA with DeepSeek's sparse-attention indexer (DSA). vLLM 0.32 and 0.34 cache it at fp8 unless
    # told otherwise on SM10x (GlmMoeDsaForCausalLM.verify_and_update_config) and SM12x (the SM120 sparse backend
    # takes "auto" as fp8_ds_mla: _canonicalize_sparse_mla_kv_cache_dtype); transformers 5 reads its config
    "GlmMoeDsaForCausalLM": Architecture("glm45", "glm45", "0.24.0", "glm47", fp8_kv_on=("10", "12")),
    # MiniMax-M2.x: thinking-only; its repos ship their config class (auto_map), which vLLM's recipe loads
    "MiniMaxM2ForCausalLM": Architecture("minimax", "minimax_m2", "0.11.0", "minimax_m2", trust_remote_code=True),
    "DeepseekV3ForCausalLM": Architecture("deepseek-r1", "deepseek_r1", "0.7.1", trust_remote_code=True),
    # DeepSeek V4 (Flash, Pro): compressed attention (compress_ratios) with a lightning indexer, cached only in
    # DeepSeek's fp8_ds_mla records ("auto" is fp8: _resolve_dsv4_kv_cache_dtype); its prompts are encoded by vLLM's
    # deepseek_v4 tokenizer mode, which thinks only when chat_template_kwargs says thinking: true (recipes)
    "DeepseekV4ForCausalLM": Architecture("deepseek-v4", "deepseek_v4", "0.20.0", "deepseek_v4",
                                          trust_remote_code=True, thinks_by_default=False,
                                          fp8_kv_on=("8", "9", "10", "12"), thinking_kwarg="thinking"),
    # Dense models whose chat template opens a <think> section (the R1 distills, QwQ)
    "Qwen2ForCausalLM": Architecture("deepseek-r1-distill", "deepseek_r1", "0.7.0"),
    "LlamaForCausalLM": Architecture("deepseek-r1-distill", "deepseek_r1", "0.7.0"),
}

# Where each reasoning parser ends the reasoning, read from the current line's own parsers (vLLM 0.34
# ``parser/*.py`` THINK_END, ``parser/harmony.py``): a stop on it ends every answer before the answer starts. gpt-oss
# closes its analysis message with <|end|> (its stops are <|return|> and <|call|>); Gemma 4 closes its thought
# channel with <channel|>.
REASONING_END: dict[str, str] = {
    "deepseek_r1": "</think>", "deepseek_v3": "</think>", "deepseek_v4": "</think>", "qwen3": "</think>",
    "glm45": "</think>", "kimi_k2": "</think>", "minimax_m2": "</think>", "minimax_m2_append_think": "</think>",
    "nemotron_v3": "</think>", "openai_gptoss": "<|end|>", "gemma4": "<channel|>",
}

# Models that reuse another's architecture class but not its parsers, by config.json's model_type.
MODEL_TYPES: dict[str, Architecture] = {
    # Kimi K2 (Thinking): DeepSeek-V3's geometry (DeepseekV3ForCausalLM) with its own template and parsers; thinking
    # only; its repo ships its config class
    "kimi_k2": Architecture("kimi", "kimi_k2", "0.12.0", "kimi_k2", trust_remote_code=True),
}


def architecture_of(config: dict) -> Architecture | None:
    """The planner's facts about a ``config.json``'s model: by its model_type where that is told apart, else by
    ``architectures[0]``."""
    names = config.get("architectures") or []
    return MODEL_TYPES.get(str(config.get("model_type", ""))) or (ARCHITECTURES.get(names[0]) if names else None)


def version_tuple(version: str) -> tuple[int, ...]:
    """``"0.17.1"`` -> (0, 17, 1); a suffix after the numbers is ignored."""
    parts = []
    for piece in version.lstrip("v").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)
