"""The models the planner knows by name: data, reviewed like code. Every figure carries its source.

Architecture figures come from each model's ``config.json`` on Hugging Face (num_hidden_layers,
num_attention_heads, num_key_value_heads, head_dim or hidden_size/num_attention_heads, intermediate_size,
vocab_size, tie_word_embeddings, max_position_embeddings; for DeepSeek-R1 kv_lora_rank and
qk_rope_head_dim; the fp8 repos' quantization_config says whether weights are block-quantized). Parameter counts are the
model cards' figures. Weight sizes are derived from those counts by :func:`weights_gib`.

``strength`` is one figure for every model, what ``model: auto`` ranks by: the model card's AIME pass@1 x 10, AIME
2024 where the card reports it (the R1 distills' and R1's cards, QwQ's, the Qwen3 technical report's thinking-mode
table), AIME 2025 where it reports only that. The presets of ``reasoning_stack/models/presets.py`` (gpt-oss, Qwen3
MoE and hybrids, R1-0528, GLM-4.5-Air) join these eleven in ``MODELS``, built from their shipped config.json keys.
Models read from a repo or a folder during a run are registered beside them (``RESOLVED``).
"""

from __future__ import annotations

from pathlib import Path

from reasoning_stack.models.presets import preset_specs
from reasoning_stack.models.spec import ModelSpec

_R1_SAMPLING = {"temperature": 0.6, "top_p": 0.95}  # DeepSeek-R1 model card, "Usage Recommendations"
_R1_ADVICE = (
    "No system prompt: put every instruction in the user turn. For maths, ask for the final answer "
    "in \\boxed{}. Temperature 0.5-0.7 (0.6 recommended)."  # DeepSeek-R1 model card
)
_QWEN3_SAMPLING = {"temperature": 0.6, "top_p": 0.95, "top_k": 20, "min_p": 0.0}  # Qwen3 cards, thinking mode

MODELS: dict[str, ModelSpec] = {
    m.slug: m
    for m in [
        # Qwen2.5-Math-1.5B base: config.json layers 28, kv heads 2, hidden 1536 / 12 heads, vocab 151936, tied
        ModelSpec(
            "deepseek-r1-distill-qwen-1.5b", "DeepSeek-R1-Distill-Qwen-1.5B", "deepseek-r1-distill", 289,
            1.78, 0.233, 28, 2, 128, 1536, 151936, 131072,
            {
                "bf16": "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
                "awq": "casperhansen/deepseek-r1-distill-qwen-1.5b-awq",
            },
            "deepseek_r1", None, None, _R1_SAMPLING, _R1_ADVICE,
            attention_heads=12, intermediate_size=8960,
        ),
        # Qwen2.5-Math-7B base: layers 28, kv heads 4, hidden 3584 / 28 heads, vocab 152064, untied
        ModelSpec(
            "deepseek-r1-distill-qwen-7b", "DeepSeek-R1-Distill-Qwen-7B", "deepseek-r1-distill", 555,
            7.62, 1.09, 28, 4, 128, 3584, 152064, 131072,
            {
                "bf16": "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
                "awq": "casperhansen/deepseek-r1-distill-qwen-7b-awq",
            },
            "deepseek_r1", None, None, _R1_SAMPLING, _R1_ADVICE,
            attention_heads=28, intermediate_size=18944,
        ),
        # Llama-3.1-8B base: layers 32, kv heads 8, hidden 4096 / 32 heads, vocab 128256, untied
        ModelSpec(
            "deepseek-r1-distill-llama-8b", "DeepSeek-R1-Distill-Llama-8B", "deepseek-r1-distill", 504,
            8.03, 1.05, 32, 8, 128, 4096, 128256, 131072,
            {
                "bf16": "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
                "awq": "casperhansen/deepseek-r1-distill-llama-8b-awq",
            },
            "deepseek_r1", None, None, _R1_SAMPLING, _R1_ADVICE,
            attention_heads=32, intermediate_size=14336,
        ),
        # Qwen2.5-14B base: layers 48, kv heads 8, hidden 5120 / 40 heads, vocab 152064, untied
        ModelSpec(
            "deepseek-r1-distill-qwen-14b", "DeepSeek-R1-Distill-Qwen-14B", "deepseek-r1-distill", 697,
            14.77, 1.557, 48, 8, 128, 5120, 152064, 131072,
            {
                "bf16": "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B",
                "awq": "casperhansen/deepseek-r1-distill-qwen-14b-awq",
            },
            "deepseek_r1", None, None, _R1_SAMPLING, _R1_ADVICE,
            attention_heads=40, intermediate_size=13824,
        ),
        # Qwen2.5-32B base: layers 64, kv heads 8, hidden 5120 / 40 heads, vocab 152064, untied.
        # deepseek-ai publishes no AWQ repo (the seed's "deepseek-ai/...-32B-AWQ" does not exist); the AWQ
        # repos of every distill are AutoAWQ's author's (the casperhansen profile on Hugging Face lists all six).
        ModelSpec(
            "deepseek-r1-distill-qwen-32b", "DeepSeek-R1-Distill-Qwen-32B", "deepseek-r1-distill", 726,
            32.76, 1.557, 64, 8, 128, 5120, 152064, 131072,
            {
                "bf16": "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B",
                "fp8": "RedHatAI/DeepSeek-R1-Distill-Qwen-32B-FP8-dynamic",
                "awq": "casperhansen/deepseek-r1-distill-qwen-32b-awq",
                # compressed-tensors W4A16 (GPTQ), 19.2 GB of safetensors; vLLM reads the format from config.json
                "gptq": "dwetzel/DeepSeek-R1-Distill-Qwen-32B-GPTQ-INT4",
            },
            "deepseek_r1", None, None, _R1_SAMPLING, _R1_ADVICE,
            attention_heads=40, intermediate_size=27648,
        ),
        # Llama-3.3-70B-Instruct base: layers 80, kv heads 8, hidden 8192 / 64 heads, vocab 128256, untied
        ModelSpec(
            "deepseek-r1-distill-llama-70b", "DeepSeek-R1-Distill-Llama-70B", "deepseek-r1-distill", 700,
            70.55, 2.1, 80, 8, 128, 8192, 128256, 131072,
            {
                "bf16": "deepseek-ai/DeepSeek-R1-Distill-Llama-70B",
                "fp8": "RedHatAI/DeepSeek-R1-Distill-Llama-70B-FP8-dynamic",
                "awq": "casperhansen/deepseek-r1-distill-llama-70b-awq",
            },
            "deepseek_r1", None, None, _R1_SAMPLING, _R1_ADVICE,
            attention_heads=64, intermediate_size=28672,
        ),
        # QwQ-32B config.json: layers 64, kv heads 8, hidden 5120 / 40 heads, vocab 152064,
        # max_position_embeddings 40960 (131072 only with YaRN rope scaling).
        ModelSpec(
            "qwq-32b", "QwQ-32B", "qwq", 795,
            32.76, 1.557, 64, 8, 128, 5120, 152064, 40960,
            {"bf16": "Qwen/QwQ-32B", "awq": "Qwen/QwQ-32B-AWQ"},
            # QwQ emits <think>...</think> like R1; vLLM's docs list deepseek_r1 for QwQ.
            "deepseek_r1", "hermes", None,
            {"temperature": 0.6, "top_p": 0.95, "top_k": 40, "min_p": 0.0},  # QwQ-32B card "Usage Guidelines"
            "Sampling temperature 0.6, top_p 0.95, top_k 20-40; for maths ask for the answer in \\boxed{}.",
            attention_heads=40, intermediate_size=27648,
        ),
        # Qwen3-8B config.json: layers 36, kv heads 8, head_dim 128, hidden 4096, vocab 151936, untied,
        # max_position_embeddings 40960 (32768 native context per the card).
        ModelSpec(
            "qwen3-8b", "Qwen3-8B", "qwen3", 760,
            8.19, 1.245, 36, 8, 128, 4096, 151936, 40960,
            {"bf16": "Qwen/Qwen3-8B", "fp8": "Qwen/Qwen3-8B-FP8", "awq": "Qwen/Qwen3-8B-AWQ"},
            "qwen3", "hermes", None, _QWEN3_SAMPLING,
            "Thinking is on by default; send enable_thinking=false in chat_template_kwargs for quick chat.",
            True,
            attention_heads=32, intermediate_size=12288, fp8_block=True,
        ),
        # Qwen3-14B config.json: layers 40, kv heads 8, head_dim 128, hidden 5120, vocab 151936, untied
        ModelSpec(
            "qwen3-14b", "Qwen3-14B", "qwen3", 793,
            14.77, 1.556, 40, 8, 128, 5120, 151936, 40960,
            {"bf16": "Qwen/Qwen3-14B", "fp8": "Qwen/Qwen3-14B-FP8", "awq": "Qwen/Qwen3-14B-AWQ"},
            "qwen3", "hermes", None, _QWEN3_SAMPLING,
            "Thinking is on by default; send enable_thinking=false in chat_template_kwargs for quick chat.",
            True,
            attention_heads=40, intermediate_size=17408, fp8_block=True,
        ),
        # Qwen3-32B config.json: layers 64, kv heads 8, head_dim 128, hidden 5120, vocab 151936, untied
        ModelSpec(
            "qwen3-32b", "Qwen3-32B", "qwen3", 814,
            32.8, 1.556, 64, 8, 128, 5120, 151936, 40960,
            {"bf16": "Qwen/Qwen3-32B", "fp8": "Qwen/Qwen3-32B-FP8", "awq": "Qwen/Qwen3-32B-AWQ"},
            "qwen3", "hermes", None, _QWEN3_SAMPLING,
            "Thinking is on by default; send enable_thinking=false in chat_template_kwargs for quick chat.",
            True,
            attention_heads=64, intermediate_size=25600, fp8_block=True,
        ),
        # DeepSeek-R1 config.json: 61 layers, MLA kv_lora_rank 512 + qk_rope_head_dim 64 cached per token,
        # hidden 7168, vocab 129280, max_position_embeddings 163840. 671B parameters, 37B activated per token
        # (card), FP8 release.
        ModelSpec(
            "deepseek-r1", "DeepSeek-R1 (671B MoE)", "deepseek-r1", 798,
            671.0, 1.85, 61, 1, 576, 7168, 129280, 163840,
            {"fp8": "deepseek-ai/DeepSeek-R1"},
            "deepseek_r1", None, (512, 64), _R1_SAMPLING, _R1_ADVICE,
            attention_heads=128, intermediate_size=18432, fp8_block=True, active_params_b=37.0,
            trust_remote_code=True,  # its repo ships its own modeling code (DeepseekV3ForCausalLM)
        ),
    ]
}

for _preset in preset_specs():
    MODELS[_preset.slug] = _preset


# Models read from a Hugging Face repo or a folder this run (``reasoning_stack.models.resolve``), by name.
RESOLVED: dict[str, ModelSpec] = {}


def register(model: ModelSpec) -> None:
    """Make a model read from its config findable by its name for the rest of this run."""
    RESOLVED[model.slug] = model


def preset_of_repo(repo: str) -> tuple[ModelSpec, str] | None:
    """The catalogue model and weights format a Hugging Face repo id names (case as published), or None."""
    for model in MODELS.values():
        for quant, published in model.repos.items():
            if published == repo:
                return model, quant
    return None


def served_name(model: str, requested: str | None = None) -> str:
    """The name a model is served under, by every engine that takes one: ``served_model_name`` when set; a model
    in a folder under the folder's own name (``/srv/models/my-qwen`` as ``my-qwen``, not its whole path); any other
    under its slug or repo id."""
    if requested:
        return requested
    if model in MODELS:
        return model
    path = Path(model).expanduser()
    if model.startswith(("/", "~", "./", "../")) or path.is_dir():
        return path.resolve().name if model.startswith(".") else path.name or model
    return model


def find_model(slug: str) -> ModelSpec:
    """The model named ``slug``: a catalogue slug, a catalogue repo id, or a model read this run; a KeyError
    names the closest slugs."""
    if slug in MODELS:
        return MODELS[slug]
    if slug in RESOLVED:
        return RESOLVED[slug]
    preset = preset_of_repo(slug)
    if preset is not None:
        return preset[0]
    import difflib

    close = difflib.get_close_matches(slug, MODELS, n=3, cutoff=0.5)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise KeyError(f"unknown model {slug!r}{hint}; known: {', '.join(MODELS)}, or a Hugging Face repo id "
                   f"(org/name) or a folder holding config.json")
