"""A model's planning facts from its own files: ``config.json`` (geometry, layer kinds, experts, quantization),
``generation_config.json`` (sampling), ``tokenizer_config.json`` (how thinking is switched) and the safetensors'
size (weights). An architecture or a layer kind the planner does not know is refused, naming what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from reasoning_stack.models.architectures import ARCHITECTURES, Architecture
from reasoning_stack.models.quantization import (
    UnknownQuantization,
    module_algos,
    module_bytes_per_param,
    weights_format,
)
from reasoning_stack.models.spec import LinearAttention, ModelSpec

SAMPLING_KEYS = ("temperature", "top_p", "top_k", "min_p", "repetition_penalty")
KNOWN_LAYER_TYPES = {"full_attention", "sliding_attention", "linear_attention"}


class ModelError(ValueError):
    """A model the stack cannot plan, with what it lacks and the way out."""


@dataclass(frozen=True)
class ModelFiles:
    """The files of one model as read from the Hub or a folder."""

    name: str  # the repo id or the folder as the user wrote it
    config: dict[str, Any]
    generation_config: dict[str, Any] = field(default_factory=dict)
    tokenizer_config: dict[str, Any] = field(default_factory=dict)
    weight_bytes: int | None = None  # the safetensors' total size
    revision: str = ""  # the commit the files are from ("" for a folder)
    note: str = ""  # how the files were read (from the cache, offline)


def _need(config: dict[str, Any], key: str, name: str) -> Any:
    if key not in config or config[key] is None:
        raise ModelError(f"{name}: config.json has no {key!r}, which the planner needs to size the model")
    return config[key]


def layer_kinds(config: dict[str, Any], name: str) -> list[str]:
    """Each layer's attention kind: ``layer_types`` when the config lists them, else Qwen3-Next's
    ``full_attention_interval`` (every n-th layer full, the rest linear), else full attention throughout."""
    layers = int(_need(config, "num_hidden_layers", name))
    types = config.get("layer_types")
    if types:
        unknown = sorted(set(types) - KNOWN_LAYER_TYPES)
        if unknown:
            raise ModelError(f"{name}: layer kind(s) {', '.join(unknown)} in layer_types are not ones the planner "
                             f"can size (it knows {', '.join(sorted(KNOWN_LAYER_TYPES))})")
        return list(types[:layers])
    interval = config.get("full_attention_interval")
    if interval:
        return ["full_attention" if (i + 1) % int(interval) == 0 else "linear_attention" for i in range(layers)]
    return ["full_attention"] * layers


def native_context(config: dict[str, Any], name: str) -> int:
    """The longest context vLLM derives: YaRN's original length x factor where the config scales the rope that
    way (vLLM's ``_get_and_verify_max_len``), else ``max_position_embeddings``."""
    positions = int(_need(config, "max_position_embeddings", name))
    rope = config.get("rope_scaling") or {}
    if rope.get("rope_type", rope.get("type")) == "yarn" and rope.get("original_max_position_embeddings"):
        return max(positions, int(rope["original_max_position_embeddings"] * rope.get("factor", 1)))
    return positions


def _attention_params(c: dict[str, Any], hidden: int, heads: int, kv_heads: int, head_dim: int) -> int:
    if c.get("kv_lora_rank"):  # MLA (DeepSeek-V3): low-rank query and key/value projections
        q_rank, kv_rank = c.get("q_lora_rank") or 0, c["kv_lora_rank"]
        nope, rope, v = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
        q = hidden * q_rank + q_rank * heads * (nope + rope) if q_rank else hidden * heads * (nope + rope)
        return q + hidden * (kv_rank + rope) + kv_rank * heads * (nope + v) + heads * v * hidden
    return hidden * head_dim * (2 * heads + 2 * kv_heads)


def _linear_params(linear: LinearAttention, hidden: int) -> int:
    qkvz = hidden * (2 * linear.key_heads * linear.key_dim + 2 * linear.value_heads * linear.value_dim)
    return qkvz + hidden * 2 * linear.value_heads + linear.value_heads * linear.value_dim * hidden


def _mlp_params(c: dict[str, Any], hidden: int, experts_used: int | None) -> tuple[int, int]:
    """(parameters of one MoE layer's MLP, of one dense layer's MLP); ``experts_used`` None counts every expert."""
    dense = 3 * hidden * int(c.get("intermediate_size") or 0)
    experts = int(c.get("num_local_experts") or c.get("num_experts") or c.get("n_routed_experts") or 0)
    if not experts:
        return dense, dense
    width = int(c.get("moe_intermediate_size") or c.get("intermediate_size") or 0)
    shared = int(c.get("shared_expert_intermediate_size") or 0) or int(c.get("n_shared_experts") or 0) * width
    count = experts if experts_used is None else experts_used
    return 3 * hidden * width * count + 3 * hidden * shared + hidden * experts, dense


def parameters(c: dict[str, Any], kinds: list[str], linear: LinearAttention | None, active: bool) -> float:
    """Parameters in billions from the geometry (every expert, or only the active ones)."""
    hidden, heads = int(c["hidden_size"]), int(c["num_attention_heads"])
    kv_heads = int(c.get("num_key_value_heads") or heads)
    head_dim = int(c.get("head_dim") or hidden // heads)
    used = int(c.get("num_experts_per_tok") or 0) if active else None
    moe, dense = _mlp_params(c, hidden, used)
    first_dense = int(c.get("first_k_dense_replace") or 0)
    total = 0
    for i, kind in enumerate(kinds):
        if kind == "linear_attention" and linear:
            total += _linear_params(linear, hidden)
        else:
            total += _attention_params(c, hidden, heads, kv_heads, head_dim)
        total += dense if i < first_dense else moe
    vocab = int(c["vocab_size"])
    total += vocab * hidden * (1 if c.get("tie_word_embeddings") else 2)
    return total / 1e9


def mixed_precision_bytes(c: dict[str, Any], kinds: list[str], linear: LinearAttention | None,
                          quant: dict[str, Any]) -> int:
    """Weights of a ModelOpt MIXED_PRECISION checkpoint as vLLM loads them: attention, MLP and lm_head each at the
    format ``quantized_layers`` gives them, the input embedding 16-bit (the MTP head it ignores is not loaded)."""
    formats = module_algos(quant)
    hidden, heads = int(c["hidden_size"]), int(c["num_attention_heads"])
    kv_heads = int(c.get("num_key_value_heads") or heads)
    head_dim = int(c.get("head_dim") or hidden // heads)
    moe, dense = _mlp_params(c, hidden, None)
    first_dense = int(c.get("first_k_dense_replace") or 0)
    attention = sum(_linear_params(linear, hidden) if kind == "linear_attention" and linear
                    else _attention_params(c, hidden, heads, kv_heads, head_dim) for kind in kinds)
    mlp = sum(dense if i < first_dense else moe for i in range(len(kinds)))
    embedding = int(c["vocab_size"]) * hidden
    head = 0 if c.get("tie_word_embeddings") else embedding
    return int(attention * module_bytes_per_param(formats.get("attention", ""))
               + mlp * module_bytes_per_param(formats.get("mlp", ""))
               + head * module_bytes_per_param(formats.get("lm_head", "")) + embedding * 2)


def _linear(c: dict[str, Any], name: str) -> LinearAttention:
    ssm = str(c.get("mamba_ssm_dtype") or "")
    return LinearAttention(
        key_heads=int(_need(c, "linear_num_key_heads", name)),
        value_heads=int(_need(c, "linear_num_value_heads", name)),
        key_dim=int(_need(c, "linear_key_head_dim", name)),
        value_dim=int(_need(c, "linear_value_head_dim", name)),
        conv_kernel=int(_need(c, "linear_conv_kernel_dim", name)),
        state_dtype_bytes=4 if ssm in ("float32", "fp32") else 2,
    )


def _thinking(arch: Architecture, template: str) -> tuple[str, str, bool]:
    """(family, reasoning parser, thinking switched per request) from the architecture and the chat template."""
    if "<｜Assistant｜>" in template:  # DeepSeek's template (R1-0528, its Qwen3-8B distill): R1's parser and advice
        return (arch.family if arch.family == "deepseek-r1" else "deepseek-r1-distill"), "deepseek_r1", False
    return arch.family, arch.reasoning_parser, "enable_thinking" in template


def _advice(family: str, effort: bool, switch: bool) -> str:
    if effort:
        return ("Reasoning effort is graded per chat: low, medium (the default) or high; high thinks longest. "
                "The reasoning is returned apart from the answer.")
    if family in ("deepseek-r1", "deepseek-r1-distill"):
        return ("No system prompt: put every instruction in the user turn. For maths, ask for the final answer "
                "in \\boxed{}. Temperature 0.5-0.7 (0.6 recommended).")
    if switch:
        return "Thinking is on by default; send enable_thinking=false in chat_template_kwargs for quick chat."
    return "A thinking-only model: every answer starts with its reasoning. Leave room for long traces."


def spec_from_files(files: ModelFiles, *, slug: str | None = None, strength: int = 0, strength_source: str = "",
                    display: str | None = None, extra_repos: dict[str, str] | None = None,
                    extra_bytes: dict[str, int] | None = None, source: str = "") -> ModelSpec:
    """The planner's facts about a model, from its files; ModelError when it cannot be planned."""
    name = files.name
    top = files.config
    arch_names = top.get("architectures") or []
    arch = ARCHITECTURES.get(arch_names[0]) if arch_names else None
    if arch is None:
        known = ", ".join(sorted(ARCHITECTURES))
        raise ModelError(f"{name}: architecture {arch_names[0] if arch_names else '(none in config.json)'} is not "
                         f"one the planner can size (it knows {known}); serve it with vllm_extra_args on a "
                         f"catalogue model's plan, or ask for it to be added")
    c = top.get("text_config") if arch.text_config else top
    if not isinstance(c, dict):
        raise ModelError(f"{name}: config.json has no text_config, which {arch_names[0]} keeps its geometry in")
    kinds = layer_kinds(c, name)
    linear = _linear(c, name) if "linear_attention" in kinds else None
    if linear and not arch.linear_attention:
        raise ModelError(f"{name}: linear-attention layers in a {arch_names[0]}, which the planner does not know")
    if "sliding_attention" in kinds and not c.get("sliding_window"):
        raise ModelError(f"{name}: sliding-window layers but no 'sliding_window' in config.json")
    try:
        fmt, block = weights_format(top)
    except UnknownQuantization as exc:
        raise ModelError(f"{name}: quantization_config names {exc}, which the planner cannot size") from exc
    for key in ("hidden_size", "num_attention_heads", "vocab_size"):
        _need(c, key, name)
    template = str(files.tokenizer_config.get("chat_template") or "")
    family, parser, switch = _thinking(arch, template)
    if arch.family == "deepseek-r1-distill" and "<think>" not in template and "<｜Assistant｜>" not in template:
        raise ModelError(f"{name}: its chat template opens no <think> section, so it is not a reasoning model the "
                         "stack can split into reasoning and answer")
    hidden, heads = int(c["hidden_size"]), int(c["num_attention_heads"])
    mla = (int(c["kv_lora_rank"]), int(c["qk_rope_head_dim"])) if c.get("kv_lora_rank") else None
    experts = int(c.get("num_local_experts") or c.get("num_experts") or c.get("n_routed_experts") or 0)
    vocab = int(c["vocab_size"])
    total = parameters(c, kinds, linear, active=False)
    active = parameters(c, kinds, linear, active=True) if experts else None
    sampling = {k: files.generation_config[k] for k in SAMPLING_KEYS if k in files.generation_config}
    repos = {fmt: name, **(extra_repos or {})}
    quant = top.get("quantization_config") or c.get("quantization_config") or {}
    if str(quant.get("quant_algo", "")).upper() == "MIXED_PRECISION" and not files.weight_bytes:
        files = replace(files, weight_bytes=mixed_precision_bytes(c, kinds, linear, quant))
    sizes = {fmt: files.weight_bytes} if files.weight_bytes else {}
    sizes.update(extra_bytes or {})
    return ModelSpec(
        slug=slug or name,
        name=display or name.rstrip("/").split("/")[-1],
        family=family,
        strength=strength,
        params_b=round(total, 2),
        embed_params_b=round(vocab * hidden * (1 if c.get("tie_word_embeddings") else 2) / 1e9, 3),
        layers=len(kinds),
        kv_heads=1 if mla else int(c.get("num_key_value_heads") or heads),
        head_dim=sum(mla) if mla else int(c.get("head_dim") or hidden // heads),
        hidden_size=hidden,
        vocab_size=vocab,
        native_context=native_context(c, name),
        repos=repos,
        reasoning_parser=parser,
        tool_call_parser=arch.tool_call_parser,
        mla=mla,
        sampling=sampling,
        prompt_advice=_advice(family, arch.effort, switch),
        thinking_switch=switch,
        attention_heads=heads,
        intermediate_size=int(c.get("intermediate_size") or 0),
        fp8_block=block,
        active_params_b=round(active, 2) if active else None,
        sliding_layers=kinds.count("sliding_attention"),
        sliding_window=int(c.get("sliding_window") or 0) if "sliding_attention" in kinds else 0,
        linear_layers=kinds.count("linear_attention"),
        linear=linear,
        experts=experts,
        active_experts=int(c.get("num_experts_per_tok") or 0),
        attention_sinks=arch_names[0] == "GptOssForCausalLM",
        moe_intermediate_size=int(c.get("moe_intermediate_size") or 0),
        checkpoint_bytes=sizes,
        min_vllm=arch.min_vllm,
        reasoning_effort=arch.effort,
        strength_source=strength_source,
        source=source or (f"{name}@{files.revision}" if files.revision else name),
    )
