"""How one model can be spread over a node's GPUs: tensor parallel (TP) x pipeline parallel (PP, across
nodes) x data-parallel replicas (DP, ``--data-parallel-size`` in one ``vllm serve``).

Every size proposed anywhere (plans, ``model: auto``, suggestions, alternatives) passes
:func:`tp_problem`, the checks vLLM 0.17.1 makes when it loads the model:

- ``ModelConfig.verify_with_parallel_config``: attention heads divisible by the TP size;
- ``QKVParallelLinear``: KV heads divisible by TP, or TP a multiple of them (heads replicated);
- AWQ/GPTQ (and block-quantized fp8) linear layers: each TP share of the MLP input must hold whole
  quantization groups of 128 ("The input size is not aligned with the quantized weight shape"); for a
  mixture-of-experts model that is each expert's width (Qwen3-30B-A3B-FP8: 768, so not TP 4);
- Gated DeltaNet layers split their key and value heads by TP (``gated_delta_net_state_shape`` divides them).

Non-MoE data-parallel ranks run as independent engines (``vllm/v1/engine/core.py``: "Non-MoE DP ranks are
completely independent"), each on its own TP group of GPUs, so each GPU's memory is planned as for DP 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from reasoning_stack.catalogue import ModelSpec

QUANT_GROUP = 128  # AWQ/GPTQ group size and fp8 weight block of the catalogue's repos


@dataclass(frozen=True)
class Layout:
    """One way to place a model: ``tp`` GPUs per replica, ``pp`` nodes per replica, ``dp`` replicas."""

    tp: int
    pp: int = 1
    dp: int = 1

    @property
    def gpus_per_node(self) -> int:
        return self.tp * self.dp

    @property
    def label(self) -> str:
        return f"{self.tp}x{self.pp}x{self.dp}"


def tp_problem(model: ModelSpec, tp: int, quant: str) -> str | None:
    """Why ``model`` cannot be split over ``tp`` GPUs with vLLM, or None when it can."""
    if tp < 1:
        return "tensor_parallel_size must be at least 1"
    if model.attention_heads % tp:
        return f"{model.name}'s {model.attention_heads} attention heads do not divide by {tp}"
    if not model.mla and model.kv_heads % tp and tp % model.kv_heads:
        return f"{model.name}'s {model.kv_heads} KV heads and tensor_parallel_size {tp} do not divide each other"
    if model.linear and any(count % tp for _, count in model.linear.tp_heads):
        heads = ", ".join(f"{count} {what}" for what, count in model.linear.tp_heads)
        return f"{model.name}'s {model.linear.kind} heads ({heads}) do not divide by {tp}"
    grouped = quant in ("awq", "gptq") or (quant == "fp8" and model.fp8_block)
    width = model.moe_intermediate_size or model.intermediate_size  # MoE: each expert's MLP is split by TP
    if grouped and (width % tp or (width // tp) % QUANT_GROUP):
        kind = "expert MLP width" if model.moe_intermediate_size else "MLP width"
        return (f"{model.name} {quant}: its {kind} {width} split {tp} ways is not whole "
                f"quantization groups of {QUANT_GROUP}")
    return None


def valid_tp_sizes(model: ModelSpec, quant: str, gpus: int) -> list[int]:
    """Every tensor-parallel size from 1 to ``gpus`` that ``model`` at ``quant`` allows."""
    return [tp for tp in range(1, gpus + 1) if tp_problem(model, tp, quant) is None]


def layouts(model: ModelSpec, quant: str, gpus: int, nodes: int = 1, tp: int | None = None,
            dp: int | None = None) -> list[Layout]:
    """Every layout of ``model`` on a node's ``gpus``, those using the most GPUs first.

    One node: every valid TP size with as many replicas as the GPUs hold. Several nodes: one replica,
    pipeline parallel over the nodes, TP over each node's GPUs. ``tp``/``dp`` fix a size (the user's).
    """
    sizes = [tp] if tp else valid_tp_sizes(model, quant, gpus)
    fitting = [t for t in sizes if t <= gpus and tp_problem(model, t, quant) is None]
    if nodes > 1:
        options = [Layout(t, nodes, 1) for t in fitting] if (dp or 1) == 1 else []
    else:
        options = [Layout(t, 1, dp or gpus // t) for t in fitting if t * (dp or gpus // t) <= gpus]
    return sorted(options, key=lambda o: -o.gpus_per_node)
