"""The weights format from ``config.json``'s ``quantization_config``, and which GPUs run it.

Formats, named as ``quantization`` settings: bf16 (none), fp8 (``quant_method: fp8``, block FP8 when it has
``weight_block_size``; compressed-tensors with 8-bit float weights; ModelOpt FP8), awq, gptq (also
compressed-tensors W4A16, which vLLM runs with the same Marlin kernels), mxfp4 (gpt-oss) and nvfp4 (ModelOpt or
compressed-tensors FP4; ModelOpt MIXED_PRECISION is named by its lowest-bit module format, and its weights are
sized module by module, ``models/config.py``).

Which GPUs run them (vLLM 0.17.1 ``vllm/model_executor/layers/quantization``): MXFP4 needs compute capability 8.0
(``Mxfp4Config.get_min_capability``): FlashInfer/Triton kernels on Hopper and Blackwell, the Marlin fallback on
Ampere and Ada (weights read as 4-bit, computed in 16-bit). NVFP4 runs natively on Blackwell (10.0 and 12.x); the
planner refuses it below, where vLLM falls back to emulation. FP8 weights run on Ampere through Marlin.
"""

from __future__ import annotations

import re
from typing import Any

from reasoning_stack.models.spec import BYTES_PER_PARAM

FORMATS = ("bf16", "fp8", "mxfp4", "nvfp4", "awq", "gptq")  # the weights formats on NVIDIA GPUs, best quality first
QUANTIZABLE = ("attention", "mlp", "experts", "lm_head")  # the module kinds a checkpoint may quantize
MIN_CAPABILITY = {"mxfp4": 8.0, "nvfp4": 10.0, "awq": 7.5, "gptq": 7.5, "fp8": 8.0}


class UnknownQuantization(ValueError):
    """A quantization_config the planner cannot size."""


def _compressed_tensors(config: dict[str, Any]) -> tuple[str, bool]:
    groups = config.get("config_groups") or {}
    for group in groups.values():
        weights = group.get("weights") or {}
        bits, kind = weights.get("num_bits"), weights.get("type", "int")
        if bits == 4 and kind == "float":
            return "nvfp4", False
        if bits == 4:
            return "gptq", False
        if bits == 8 and kind == "float":
            return "fp8", weights.get("strategy") == "block"
    fmt = str(config.get("format", ""))
    if "nvfp4" in fmt:
        return "nvfp4", False
    if "float-quantized" in fmt:
        return "fp8", False
    if "pack-quantized" in fmt:
        return "gptq", False
    raise UnknownQuantization(f"compressed-tensors format {fmt or '(none)'} with no 4- or 8-bit weight group")


def weights_format(config: dict[str, Any]) -> tuple[str, bool]:
    """(format, block-quantized) of a model's ``config.json``."""
    quant = config.get("quantization_config") or (config.get("text_config") or {}).get("quantization_config")
    if not quant:
        return "bf16", False
    method = str(quant.get("quant_method", "")).lower()
    if method == "fp8":
        return "fp8", bool(quant.get("weight_block_size"))
    if method in ("awq", "gptq", "mxfp4"):
        return method, False
    if method == "compressed-tensors":
        return _compressed_tensors(quant)
    if method == "modelopt":
        algo = str(quant.get("quant_algo", "")).upper()
        if algo == "MIXED_PRECISION":  # per-module formats (NVIDIA's Qwen3.6 NVFP4: FP8 attention, NVFP4 MLP)
            algo = " ".join(sorted(module_algos(quant).values()))
        if "FP4" in algo:
            return "nvfp4", False
        if "FP8" in algo:
            return "fp8", False
    raise UnknownQuantization(f"quant_method {method or '(none)'}")


def module_algos(quant: dict[str, Any]) -> dict[str, str]:
    """ModelOpt MIXED_PRECISION: the format of each kind of module (``attention``, ``mlp``, ``experts``,
    ``lm_head``) from ``quantized_layers`` (each layer's modules of a kind share one format in the published
    checkpoints); a kind not listed stays 16-bit."""
    kinds: dict[str, str] = {}
    for module, entry in (quant.get("quantized_layers") or {}).items():
        for kind in module_kinds(module, experts_beside_mlp=False):
            kinds.setdefault(kind, str((entry or {}).get("quant_algo", "")).upper())
    if not kinds:
        raise UnknownQuantization("modelopt MIXED_PRECISION with no quantized_layers")
    return kinds


def module_bytes_per_param(algo: str) -> float:
    """Bytes per weight of a module in ModelOpt format ``algo`` (16-bit when it is none the planner knows)."""
    if "FP4" in algo:
        return BYTES_PER_PARAM["nvfp4"]
    if "FP8" in algo:
        return BYTES_PER_PARAM["fp8"]
    return BYTES_PER_PARAM["bf16"]


def is_per_module(quant: dict[str, Any]) -> bool:
    """Whether a checkpoint quantizes module kinds differently: ModelOpt MIXED_PRECISION, or an ``ignore`` /
    ``exclude_modules`` list (compressed-tensors, ModelOpt) keeping some modules 16-bit, or FP4 routed experts
    beside FP8 weights (DeepSeek V4's ``expert_dtype``)."""
    if str(quant.get("expert_dtype", "")).lower() == "fp4":
        return True
    if not quant or str(quant.get("quant_method", "")).lower() not in ("modelopt", "compressed-tensors"):
        return False
    return str(quant.get("quant_algo", "")).upper() == "MIXED_PRECISION" or bool(_ignored(quant))


def _ignored(quant: dict[str, Any]) -> list[str]:
    return [str(m) for m in (quant.get("ignore") or quant.get("exclude_modules") or [])]


# One module name of each kind in DeepSeek-V3's naming (Kimi K2, GLM), which a compressed-tensors ignore list's
# regular expressions ("re:.*shared_experts.*") are matched against.
_KIND_SAMPLES = {
    "attention": ("model.layers.1.self_attn.q_a_proj", "model.layers.1.self_attn.o_proj"),
    "mlp": ("model.layers.0.mlp.gate_proj", "model.layers.1.mlp.shared_experts.gate_proj"),
    "experts": ("model.layers.1.mlp.experts.0.gate_proj",),
    "lm_head": ("lm_head",),
}


def module_kinds(entry: str, experts_beside_mlp: bool) -> tuple[str, ...]:
    """The module kinds (``models/params.py KINDS``) a module name or pattern of a quantization config names: a
    ``quantized_layers`` key or an ignore-list entry (``re:`` entries by the sample names they match). Embeddings
    and vision towers name none: they stay 16-bit."""
    if entry.startswith("re:"):
        pattern = re.compile(entry[3:])
        return tuple(kind for kind, names in _KIND_SAMPLES.items() if any(pattern.match(n) for n in names))
    name = entry.lower()
    if name.endswith("lm_head"):
        return ("lm_head",)
    if any(word in name for word in ("vision", "visual", "audio", "embed")):
        return ()
    mixer = ("q_proj", "k_proj", "v_proj", "o_proj", "in_proj", "out_proj", "conv1d")
    if "attn" in name or (".mixer." in name and any(part in name for part in mixer)):  # Nemotron-H: mixer.*
        return ("attention",)
    if "experts" in name and "shared_expert" not in name:
        return ("experts",)
    if "router" in name or name.endswith(".gate") or "shared_expert" in name:
        return ("mlp",)
    if "mlp" in name:  # a whole MLP: its experts too, unless they sit beside it (Gemma 4's enable_moe_block)
        return ("mlp",) if experts_beside_mlp else ("mlp", "experts")
    return ()


def ignored_shares(quant: dict[str, Any], layers_with: dict[str, frozenset[int]],
                   experts_beside_mlp: bool) -> dict[str, float]:
    """The share of each module kind an ignore list keeps 16-bit: the layers it names (``layers.N.``) among the
    layers that have that kind (``layers_with``; a layer beyond them, an MTP head, counts for none), or all of them
    for an entry naming no layer; ``layers.N.*`` names every kind of its layer."""
    named: dict[str, set[int]] = {}
    whole: set[str] = set()
    for entry in _ignored(quant):
        found = re.search(r"layers\.(\d+)(\.|\*)", entry)
        whole_layer = bool(re.search(r"layers\.\d+(\.\*|\*)$", entry))
        kinds = [k for k in QUANTIZABLE if k != "lm_head"] if whole_layer else module_kinds(entry, experts_beside_mlp)
        for kind in kinds:
            if found and kind != "lm_head":
                named.setdefault(kind, set()).add(int(found.group(1)))
            else:
                whole.add(kind)
    shares = {kind: len(indices & layers_with.get(kind, frozenset())) / max(1, len(layers_with.get(kind, ())))
              for kind, indices in named.items()}
    return {**shares, **dict.fromkeys(whole, 1.0)}


def _int4_bytes(quant: dict[str, Any]) -> float:
    """Bytes per parameter of 4-bit integer weights in groups: half a byte, a 16-bit scale a group and, when
    asymmetric, a 4-bit zero point a group (Kimi K2's groups of 32: 0.5625); the format's usual figure without a
    group size."""
    for group in (quant.get("config_groups") or {}).values():
        weights = group.get("weights") or {}
        size = int(weights.get("group_size") or 0)
        if weights.get("num_bits") == 4 and weights.get("type", "int") == "int" and size > 0:
            return 0.5 + 2 / size + (0 if weights.get("symmetric", True) else 0.5 / size)
    return BYTES_PER_PARAM["gptq"]


def kind_bytes_per_param(quant: dict[str, Any], fmt: str, layers_with: dict[str, frozenset[int]],
                         experts_beside_mlp: bool) -> dict[str, float]:
    """Bytes per parameter of each module kind (``models/params.py KINDS``) in a per-module checkpoint: ModelOpt
    MIXED_PRECISION's formats from ``quantized_layers`` (the experts at the MLP's), else ``fmt`` with what the
    ignore list names kept 16-bit; the input embedding and the vision tower 16-bit."""
    sixteen = BYTES_PER_PARAM["bf16"]
    if str(quant.get("quant_algo", "")).upper() == "MIXED_PRECISION":
        algos = module_algos(quant)
        return {**{kind: module_bytes_per_param(algos.get(kind, "")) for kind in QUANTIZABLE},
                "embedding": sixteen, "vision": sixteen}
    base = _int4_bytes(quant) if fmt in ("awq", "gptq") else BYTES_PER_PARAM[fmt]
    shares = ignored_shares(quant, layers_with, experts_beside_mlp)
    quantized = {kind: sixteen * shares.get(kind, 0.0) + base * (1 - shares.get(kind, 0.0))
                 for kind in QUANTIZABLE}
    if str(quant.get("expert_dtype", "")).lower() == "fp4":  # DeepSeek V4: FP4 values, a UE8M0 scale for each 32
        quantized["experts"] = BYTES_PER_PARAM["mxfp4"]
    return {**quantized, "embedding": sixteen, "vision": sixteen}


def gpu_problem(fmt: str, compute_cap: str) -> str | None:
    """Why a GPU of ``compute_cap`` cannot run ``fmt`` weights, or None when it can (unknown GPUs pass)."""
    if not compute_cap or fmt not in MIN_CAPABILITY:
        return None
    if float(compute_cap) < MIN_CAPABILITY[fmt]:
        return (f"{fmt} weights need compute capability {MIN_CAPABILITY[fmt]:g} or newer; this GPU has "
                f"{compute_cap}")
    return None


def kernel_words(fmt: str, compute_cap: str) -> str:
    """Which kernels run ``fmt`` on a GPU of ``compute_cap``, for the plan's reason."""
    cap = float(compute_cap) if compute_cap else 0.0
    if fmt == "mxfp4":
        return "MXFP4 natively" if cap >= 9.0 else "MXFP4 through the Marlin fallback, computed in 16 bits"
    if fmt == "fp8" and cap and cap < 8.9:
        return "FP8 weights through Marlin: no FP8 tensor cores"
    return ""
