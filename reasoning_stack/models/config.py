"""A model's planning facts from its own files: ``config.json`` (geometry, layer kinds, experts, quantization),
``generation_config.json`` (sampling), ``tokenizer_config.json`` (how thinking is switched) and the safetensors'
size (weights). An architecture or a layer kind the planner does not know is refused, naming what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from reasoning_stack.models.architectures import ARCHITECTURES, REASONING_END, Architecture, architecture_of
from reasoning_stack.models.params import (
    ParamCounts,
    expert_count,
    expert_width,
    experts_per_token,
    kv_geometry,
    param_counts,
)
from reasoning_stack.models.quantization import (
    UnknownQuantization,
    is_per_module,
    kind_bytes_per_param,
    weights_format,
)
from reasoning_stack.models.spec import CompressedAttention, LinearAttention, Mamba2State, ModelSpec

SAMPLING_KEYS = ("temperature", "top_p", "top_k", "min_p", "repetition_penalty")
KNOWN_LAYER_TYPES = {"full_attention", "sliding_attention", "linear_attention", "mlp_only"}
# Nemotron-H's layer pattern: one mixer a layer (hybrid_override_pattern's letters, layers_block_type's words)
PATTERN_KINDS = {"M": "linear_attention", "*": "full_attention", "E": "mlp_only", "-": "mlp_only",
                 "mamba": "linear_attention", "attention": "full_attention", "moe": "mlp_only", "mlp": "mlp_only"}


SPARSE_MLA_BLOCK = 64  # the block size vLLM's sparse MLA backends set (DEEPSEEK_V32_INDEXER)
COMPRESSED_BLOCK = 256  # DeepSeek V4's ("Setting kv cache block size to 256 for DEEPSEEK_SPARSE_SWA backend")


def _compressed(c: dict[str, Any], layers: int, name: str) -> CompressedAttention | None:
    """DeepSeek V4's attention from ``compress_ratios`` (one a layer, then one a multi-token-prediction module),
    ``sliding_window`` and the indexer's ``index_head_dim``; None for every other model."""
    ratios = c.get("compress_ratios")
    if not ratios:
        return None
    unknown = sorted({int(r) for r in ratios} - {0, 1, 4, 128})
    if unknown or len(ratios) < layers:
        what = f"holds {unknown}" if unknown else "is shorter than its layers"
        raise ModelError(f"{name}: compress_ratios {what}; the planner sizes ratios 0, 4 and 128, one a layer "
                         "(DeepSeek V4)")
    return CompressedAttention(ratios=tuple(int(r) for r in ratios[:layers]),
                               window=int(_need(c, "sliding_window", name)),
                               head_dim=int(_need(c, "head_dim", name)),
                               index_head_dim=int(c.get("index_head_dim") or 128))


def _indexer_bytes(c: dict[str, Any]) -> int:
    """A sparse-attention indexer's key a token a layer (DeepSeek V3.2, GLM-5): its head size in fp8 and a 4-byte
    scale for each 128 (vLLM's DeepseekV32IndexerCache); 0 without an indexer."""
    head = int(c.get("index_head_dim") or 0)
    return head + head // 128 * 4 if head and c.get("index_topk") else 0


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
    """Each layer's attention kind: ``layer_types`` when the config lists them, Nemotron-H's pattern (Mamba-2 layers
    hold a recurrent state like linear attention, MoE and MLP layers no cache), else Qwen3-Next's
    ``full_attention_interval`` (every n-th layer full, the rest linear), else full attention throughout."""
    layers = int(_need(config, "num_hidden_layers", name))
    pattern = config.get("hybrid_override_pattern") or config.get("layers_block_type")
    if pattern:
        unknown = sorted({str(p) for p in pattern} - set(PATTERN_KINDS))
        if unknown:
            raise ModelError(f"{name}: layer kind(s) {', '.join(unknown)} in its layer pattern are not ones the "
                             f"planner can size")
        return [PATTERN_KINDS[p] for p in list(pattern)[:layers]]
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


def _kv_shared(config: dict[str, Any], kinds: list[str], name: str) -> int:
    """Gemma 4 E2B/E4B's last ``num_kv_shared_layers`` layers, which attend over the KV of the last earlier layer
    of their kind and keep none of their own (vLLM's ``kv_sharing_target_layer_name``)."""
    shared = int(config.get("num_kv_shared_layers") or 0)
    if not shared:
        return 0
    owners = kinds[:len(kinds) - shared]
    orphans = sorted({kind for kind in kinds[len(kinds) - shared:] if kind not in owners})
    if shared >= len(kinds) or orphans:
        raise ModelError(f"{name}: num_kv_shared_layers {shared} of {len(kinds)} layers leaves no earlier layer "
                         f"of kind {', '.join(orphans) or 'any'} to share the KV cache of")
    return shared


def native_context(config: dict[str, Any], name: str) -> int:
    """The longest context vLLM derives: YaRN's original length x factor where the config scales the rope that
    way (vLLM's ``_get_and_verify_max_len``), else ``max_position_embeddings``."""
    positions = int(_need(config, "max_position_embeddings", name))
    rope = config.get("rope_scaling") or {}
    if rope.get("rope_type", rope.get("type")) == "yarn" and rope.get("original_max_position_embeddings"):
        return max(positions, int(rope["original_max_position_embeddings"] * rope.get("factor", 1)))
    return positions


def per_module_bytes(counts: ParamCounts, quant: dict[str, Any], fmt: str, experts_beside_mlp: bool) -> int:
    """Weights of a checkpoint that quantizes module kinds differently, as vLLM loads them: each kind at its own
    format (ModelOpt MIXED_PRECISION's ``quantized_layers``, or ``fmt`` less what the ignore list keeps 16-bit),
    the input embedding and the vision tower 16-bit (an MTP head vLLM ignores is not loaded)."""
    weights = kind_bytes_per_param(quant, fmt, counts.layers_with, experts_beside_mlp)
    return int(sum(count * weights[kind] for kind, count in counts.by_kind().items()))


def _linear(c: dict[str, Any], name: str) -> LinearAttention | Mamba2State:
    ssm = str(c.get("mamba_ssm_dtype") or c.get("mamba_ssm_cache_dtype") or "")
    if c.get("mamba_num_heads"):  # Mamba-2 (Nemotron-H)
        return Mamba2State(heads=int(c["mamba_num_heads"]), head_dim=int(_need(c, "mamba_head_dim", name)),
                           state_size=int(_need(c, "ssm_state_size", name)), groups=int(c.get("n_groups") or 1),
                           conv_kernel=int(_need(c, "conv_kernel", name)),
                           state_dtype_bytes=4 if ssm in ("float32", "fp32") else 2)
    return LinearAttention(
        key_heads=int(_need(c, "linear_num_key_heads", name)),
        value_heads=int(_need(c, "linear_num_value_heads", name)),
        key_dim=int(_need(c, "linear_key_head_dim", name)),
        value_dim=int(_need(c, "linear_value_head_dim", name)),
        conv_kernel=int(_need(c, "linear_conv_kernel_dim", name)),
        state_dtype_bytes=4 if ssm in ("float32", "fp32") else 2,
    )


def _thinking(arch: Architecture, template: str) -> tuple[str, str, bool]:
    """(family, reasoning parser, thinking switched per request) from the architecture and the chat template (or
    the architecture's own prompt encoder, DeepSeek V4's)."""
    if arch.thinking_kwarg:
        return arch.family, arch.reasoning_parser, True
    if "<｜Assistant｜>" in template:  # DeepSeek's template (R1-0528, its Qwen3-8B distill): R1's parser and advice
        return (arch.family if arch.family == "deepseek-r1" else "deepseek-r1-distill"), "deepseek_r1", False
    return arch.family, arch.reasoning_parser, "enable_thinking" in template


def _advice(family: str, effort: bool, switch: bool, thinks_by_default: bool = True,
            kwarg: str = "enable_thinking") -> str:
    if effort:
        return ("Reasoning effort is graded per chat: low, medium (the default) or high; high thinks longest. "
                "The reasoning is returned apart from the answer.")
    if family in ("deepseek-r1", "deepseek-r1-distill"):
        return ("No system prompt: put every instruction in the user turn. For maths, ask for the final answer "
                "in \\boxed{}. Temperature 0.5-0.7 (0.6 recommended).")
    if switch and not thinks_by_default:
        return ("Its chat template thinks only when asked; the stack asks by default (thinking_default). Send "
                f"{kwarg}=false in chat_template_kwargs for quick chat.")
    if switch:
        return f"Thinking is on by default; send {kwarg}=false in chat_template_kwargs for quick chat."
    return "A thinking-only model: every answer starts with its reasoning. Leave room for long traces."


def _never_stops_where_reasoning_ends(files: ModelFiles, parser: str) -> None:
    """A checkpoint whose end-of-sequence list holds its own end-of-reasoning marker (a broken conversion or a
    hand-edited generation_config.json) stops every reply where the reasoning ends: the person gets no answer. vLLM
    stops on generation_config.json's eos_token_id (config.json's where there is none)."""
    marker = REASONING_END[parser]
    marker_id = files.tokenizer_config.get("marker_ids", {}).get(marker)
    if marker_id is None:
        return
    file, data = (("generation_config.json", files.generation_config) if files.generation_config
                  else ("config.json", files.config))
    eos = data.get("eos_token_id")
    ids = eos if isinstance(eos, list) else [eos]
    if marker_id in ids:
        kept = [i for i in ids if i != marker_id]
        raise ModelError(
            f"{files.name}: its {file} lists token {marker_id} ({marker}, where its reasoning ends) in "
            f"eos_token_id, so vLLM would end every reply there, before the answer starts; in a folder copy of the "
            f"model, set eos_token_id to {kept[0] if len(kept) == 1 else kept} and serve that folder")


def spec_from_files(files: ModelFiles, *, slug: str | None = None, strength: int = 0, strength_source: str = "",
                    display: str | None = None, extra_repos: dict[str, str] | None = None,
                    extra_bytes: dict[str, int] | None = None, source: str = "") -> ModelSpec:
    """The planner's facts about a model, from its files; ModelError when it cannot be planned."""
    name = files.name
    top = files.config
    arch_names = top.get("architectures") or []
    arch = architecture_of(top)
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
    shared = _kv_shared(c, kinds, name)
    try:
        fmt, block = weights_format(top)
    except UnknownQuantization as exc:
        raise ModelError(f"{name}: quantization_config names {exc}, which the planner cannot size") from exc
    for key in ("hidden_size", "num_attention_heads", "vocab_size"):
        _need(c, key, name)
    template = str(files.tokenizer_config.get("chat_template") or "")
    family, parser, switch = _thinking(arch, template)
    _never_stops_where_reasoning_ends(files, parser)
    if arch.family == "deepseek-r1-distill" and "<think>" not in template and "<｜Assistant｜>" not in template:
        raise ModelError(f"{name}: its chat template opens no <think> section, so it is not a reasoning model the "
                         "stack can split into reasoning and answer")
    hidden, heads = int(c["hidden_size"]), int(c["num_attention_heads"])
    mla = (int(c["kv_lora_rank"]), int(c["qk_rope_head_dim"])) if c.get("kv_lora_rank") else None
    full, sliding = kv_geometry(c, "full_attention")[:2], kv_geometry(c, "sliding_attention")[:2]
    own_sliding = sliding if "sliding_attention" in kinds and sliding != full else (0, 0)  # Gemma 4's two geometries
    experts = expert_count(c)
    vocab = int(c["vocab_size"])
    counts = param_counts(top, c, kinds, linear, arch.gated_mlp, kv_shared=shared)
    sampling = {k: files.generation_config[k] for k in SAMPLING_KEYS if k in files.generation_config}
    repos = {fmt: name, **(extra_repos or {})}
    quant = top.get("quantization_config") or c.get("quantization_config") or {}
    if top.get("expert_dtype"):  # DeepSeek V4: FP8 weights with FP4 routed experts
        quant = {**quant, "expert_dtype": top["expert_dtype"]}
    if is_per_module(quant) and not files.weight_bytes:
        files = replace(files, weight_bytes=per_module_bytes(counts, quant, fmt, bool(c.get("enable_moe_block"))))
    sizes = {fmt: files.weight_bytes} if files.weight_bytes else {}
    indexer = _indexer_bytes(c) if mla else 0
    mtp = int(c.get("num_nextn_predict_layers") or c.get("mtp_num_hidden_layers") or 0)
    # MiniMax-M2.x ships MTP modules (use_mtp, num_mtp_modules) that vLLM 0.32/0.34 has no class for (MiniMax-M3's
    # only: MiniMaxM3MTP in its registry)
    unserved = int(c.get("num_mtp_modules") or 0) if c.get("use_mtp") and not mtp else 0
    compressed = _compressed(c, len(kinds), name)
    sizes.update(extra_bytes or {})
    return ModelSpec(
        slug=slug or name,
        name=display or name.rstrip("/").split("/")[-1],
        family=family,
        strength=strength,
        params_b=round(counts.language() / 1e9, 2),
        embed_params_b=round((counts.embedding + counts.lm_head) / 1e9, 3),
        layers=len(kinds),
        kv_heads=1 if mla else full[0],
        head_dim=sum(mla) if mla else full[1],
        hidden_size=hidden,
        vocab_size=vocab,
        native_context=native_context(c, name),
        repos=repos,
        reasoning_parser=parser,
        tool_call_parser=arch.tool_call_parser,
        mla=mla,
        sampling=sampling,
        prompt_advice=_advice(family, arch.effort, switch, arch.thinks_by_default,
                              arch.thinking_kwarg or "enable_thinking"),
        thinking_switch=switch,
        attention_heads=heads,
        intermediate_size=int(c.get("intermediate_size") or 0),
        fp8_block=block,
        active_params_b=round(counts.language(active=True) / 1e9, 2) if experts else None,
        sliding_layers=kinds[:len(kinds) - shared].count("sliding_attention"),
        kv_shared_layers=shared,
        sliding_window=int(c.get("sliding_window") or 0) if "sliding_attention" in kinds else 0,
        sliding_kv_heads=own_sliding[0],
        sliding_head_dim=own_sliding[1],
        linear_layers=kinds.count("linear_attention"),
        linear=linear,
        mlp_only_layers=kinds.count("mlp_only"),
        experts=experts,
        active_experts=experts_per_token(c),
        attention_sinks=arch_names[0] == "GptOssForCausalLM",
        moe_intermediate_size=expert_width(c),
        checkpoint_bytes=sizes,
        min_vllm=arch.min_vllm,
        reasoning_effort=arch.effort,
        strength_source=strength_source,
        source=source or (f"{name}@{files.revision}" if files.revision else name),
        vision_params_b=round(counts.vision / 1e9, 3),
        thinks_by_default=arch.thinks_by_default,
        trust_remote_code=arch.trust_remote_code,
        indexer_bytes=indexer,
        kv_block=COMPRESSED_BLOCK if compressed else SPARSE_MLA_BLOCK if indexer else 0,
        fp8_kv_on=arch.fp8_kv_on,
        mtp_layers=mtp,
        mtp_params_b=round(mtp * counts.mtp_module / 1e9, 3),
        compressed=compressed,
        mtp_unserved=unserved,
        thinking_kwarg=arch.thinking_kwarg or "enable_thinking",
    )
