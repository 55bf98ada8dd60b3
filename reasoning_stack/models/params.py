"""A model's parameters by module kind, from its ``config.json`` geometry: attention (or Gated DeltaNet), the dense
MLPs (with shared experts and routers), the routed experts, the input embeddings, the lm_head and the vision (and
audio) towers.

The planner sums them for the model's size, and weighs each kind at its own format where a checkpoint quantizes
modules differently (ModelOpt ``MIXED_PRECISION``, an ``ignore`` list that keeps attention 16-bit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reasoning_stack.models.spec import LinearAttention, Mamba2State

KINDS = ("attention", "mlp", "experts", "embedding", "lm_head", "vision")


@dataclass(frozen=True)
class ParamCounts:
    """Parameters of one model, kind by kind (``experts`` counts every routed expert, ``active_experts`` those one
    token uses)."""

    attention: int
    mlp: int
    experts: int
    active_experts: int
    embedding: int
    lm_head: int
    vision: int
    layers_with: dict[str, frozenset[int]] = field(default_factory=dict)  # the layers carrying each kind
    mtp_module: int = 0  # one multi-token-prediction module: a full-attention layer like the last, and its eh_proj

    def language(self, active: bool = False) -> int:
        """The language model's parameters (every expert, or only the active ones); the vision tower apart."""
        experts = self.active_experts if active else self.experts
        return self.attention + self.mlp + experts + self.embedding + self.lm_head

    def by_kind(self) -> dict[str, int]:
        return {kind: getattr(self, kind) for kind in KINDS}


def expert_count(c: dict[str, Any]) -> int:
    """Routed experts (0 for a dense model), by whichever key the family names them."""
    return int(c.get("num_local_experts") or c.get("num_experts") or c.get("n_routed_experts") or 0)


def expert_width(c: dict[str, Any]) -> int:
    """One expert's MLP width: ``moe_intermediate_size``, or ``intermediate_size`` in the configs that name no other
    (gpt-oss, MiniMax-M2); 0 without experts."""
    if not expert_count(c):
        return 0
    return int(c.get("moe_intermediate_size") or c.get("intermediate_size") or 0)


def experts_per_token(c: dict[str, Any]) -> int:
    """Experts one token is routed to (Gemma 4 names it ``top_k_experts``)."""
    return int(c.get("num_experts_per_tok") or c.get("top_k_experts") or 0)


def _projections(hidden: int, heads: int, kv_heads: int, head_dim: int, kv_projections: int = 2) -> int:
    """Q, K, V and O of one attention layer; ``kv_projections`` 1 where V reuses K (Gemma 4's ``attention_k_eq_v``
    global layers)."""
    return hidden * head_dim * (2 * heads + kv_projections * kv_heads)


def kv_geometry(c: dict[str, Any], kind: str) -> tuple[int, int, int]:
    """(KV heads, head size, K/V projections) of one attention layer of ``kind``: Gemma 4's global layers have their
    own (``num_global_key_value_heads``, ``global_head_dim``, V read from K's projection where
    ``attention_k_eq_v``); every other layer the config's ``num_key_value_heads`` and ``head_dim``."""
    hidden, heads = int(c["hidden_size"]), int(c["num_attention_heads"])
    kv_heads = int(c.get("num_key_value_heads") or heads)
    if kind == "full_attention" and c.get("global_head_dim"):
        return (int(c.get("num_global_key_value_heads") or kv_heads), int(c["global_head_dim"]),
                1 if c.get("attention_k_eq_v") else 2)
    return kv_heads, int(c.get("head_dim") or hidden // heads), 2


def _attention(c: dict[str, Any], kind: str, linear: LinearAttention | Mamba2State | None,
               kv_shared: bool = False) -> int:
    """One layer's mixer: attention, Gated DeltaNet or Mamba-2 (none for an MLP-only layer); a layer reading an
    earlier layer's KV (Gemma 4's ``num_kv_shared_layers``) has only its query and output projections."""
    hidden, heads = int(c["hidden_size"]), int(c["num_attention_heads"])
    if kind == "mlp_only":
        return 0
    if kv_shared:
        return _projections(hidden, heads, 0, kv_geometry(c, kind)[1], kv_projections=0)
    if kind == "linear_attention" and isinstance(linear, Mamba2State):  # in_proj (z, x, B, C, dt), conv, out_proj
        inner, bc = linear.heads * linear.head_dim, 2 * linear.groups * linear.state_size
        return hidden * (2 * inner + bc + linear.heads) + (inner + bc) * linear.conv_kernel + inner * hidden
    if kind == "linear_attention" and linear:
        qkvz = hidden * (2 * linear.key_heads * linear.key_dim + 2 * linear.value_heads * linear.value_dim)
        return qkvz + hidden * 2 * linear.value_heads + linear.value_heads * linear.value_dim * hidden
    if c.get("o_lora_rank"):  # DeepSeek V4: low-rank query, one shared latent, grouped low-rank output (its
        q_rank, head = int(c["q_lora_rank"]), int(c["head_dim"])  # compressors and indexer, a few percent, left out)
        return hidden * q_rank + q_rank * heads * head + hidden * head + heads * head * c["o_lora_rank"] \
            + int(c.get("o_groups") or 1) * c["o_lora_rank"] * hidden
    if c.get("kv_lora_rank"):  # MLA (DeepSeek-V3): low-rank query and key/value projections
        q_rank, kv_rank = c.get("q_lora_rank") or 0, c["kv_lora_rank"]
        nope, rope, v = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
        q = hidden * q_rank + q_rank * heads * (nope + rope) if q_rank else hidden * heads * (nope + rope)
        return q + hidden * (kv_rank + rope) + kv_rank * heads * (nope + v) + heads * v * hidden
    return _projections(hidden, heads, *kv_geometry(c, kind))


def _vision(top: dict[str, Any], text_hidden: int) -> int:
    """A vision tower's parameters from ``vision_config``: per layer the attention (4 h^2) and the MLP (two
    matrices, three where the config names a ``hidden_activation``, Gemma's gated GeLU), and the projection into
    the language model (after merging 2x2 patches where ``spatial_merge_size`` says so). An estimate to a few
    percent: norms, patch and position embeddings are left out."""
    vc = top.get("vision_config")
    if not isinstance(vc, dict) or top.get("language_model_only"):
        return 0
    layers = int(vc.get("depth") or vc.get("num_hidden_layers") or 0)
    hidden, inter = int(vc.get("hidden_size") or 0), int(vc.get("intermediate_size") or 0)
    matrices = 3 if vc.get("hidden_activation") else 2
    merged = hidden * int(vc.get("spatial_merge_size") or 1) ** 2
    projection = merged * merged + merged * int(vc.get("out_hidden_size") or text_hidden) if merged != hidden \
        else hidden * text_hidden
    return layers * (4 * hidden * hidden + matrices * hidden * inter) + projection


def _audio(top: dict[str, Any], text_hidden: int) -> int:
    """An audio tower's parameters from ``audio_config`` (Gemma 4 E2B/E4B's conformer): per layer two feed-forward
    blocks four times as wide (16 h^2), attention (4 h^2) and the convolution module's pointwise projections
    (3 h^2), and the projection into the language model. An estimate to a few percent, like the vision tower's."""
    ac = top.get("audio_config")
    if not isinstance(ac, dict) or top.get("language_model_only"):
        return 0
    hidden = int(ac.get("hidden_size") or 0)
    return int(ac.get("num_hidden_layers") or 0) * 23 * hidden * hidden + hidden * int(
        ac.get("output_proj_dims") or text_hidden)


def _per_layer_inputs(c: dict[str, Any], layers: int) -> tuple[int, int]:
    """Gemma 4 E2B/E4B's per-layer embeddings: (the table, ``vocab_size_per_layer_input`` rows of
    ``hidden_size_per_layer_input`` for every layer, which vLLM keeps on the GPU like the input embedding; the
    projections into and out of each layer's slice)."""
    width = int(c.get("hidden_size_per_layer_input") or 0)
    if not width:
        return 0, 0
    hidden = int(c["hidden_size"])
    table = int(c.get("vocab_size_per_layer_input") or c["vocab_size"]) * layers * width
    return table, hidden * layers * width + layers * 2 * hidden * width


def param_counts(top: dict[str, Any], c: dict[str, Any], kinds: list[str],
                 linear: LinearAttention | Mamba2State | None, gated_mlp: bool = True,
                 kv_shared: int = 0) -> ParamCounts:
    """The parameters of the model whose whole config is ``top`` and language-model config ``c`` (the same dict,
    or ``text_config``), with ``kinds`` its layers' attention kinds and ``kv_shared`` its last layers reading an
    earlier layer's KV (validated by the caller). Every layer has a mixer and an MLP, unless the model gives each
    layer one of them (Nemotron-H: ``mlp_only`` layers carry the MLP or experts, the others only their mixer)."""
    hidden = int(c["hidden_size"])
    matrices = 3 if gated_mlp else 2
    dense = matrices * hidden * int(c.get("intermediate_size") or 0)
    # Gemma 4 E2B: the layers reading earlier layers' KV have MLPs twice as wide (use_double_wide_mlp)
    wide = dense * kv_shared if c.get("use_double_wide_mlp") else 0
    per_layer_table, per_layer_projections = _per_layer_inputs(c, len(kinds))
    experts, used = expert_count(c), experts_per_token(c)
    width = expert_width(c) or int(c.get("intermediate_size") or 0)
    shared = (int(c.get("shared_expert_intermediate_size") or c.get("moe_shared_expert_intermediate_size") or 0)
              or int(c.get("n_shared_experts") or 0) * width)
    # LatentMoE (Nemotron-3 Super, Ultra): the routed experts work in a smaller latent width, projected to and from
    latent = int(c.get("moe_latent_size") or 0)
    expert_in = latent or hidden
    one_mixer = "mlp_only" in kinds
    with_mlp = [i for i, kind in enumerate(kinds) if kind == "mlp_only" or not one_mixer]
    first_dense = int(c.get("first_k_dense_replace") or 0) if experts else len(kinds)
    moe_layers = sum(1 for i in with_mlp if i >= first_dense)
    # a MoE layer: its shared expert and router, and (Gemma 4's enable_moe_block) a dense MLP beside the experts
    moe_mlp = (matrices * hidden * shared + hidden * experts + (dense if c.get("enable_moe_block") else 0)
               + 2 * hidden * latent)
    vocab = int(c["vocab_size"])
    tied = bool(c.get("tie_word_embeddings", top.get("tie_word_embeddings")))
    return ParamCounts(
        attention=sum(_attention(c, kind, linear, i >= len(kinds) - kv_shared) for i, kind in enumerate(kinds)),
        mlp=(len(with_mlp) - moe_layers) * dense + moe_layers * moe_mlp + wide + per_layer_projections,
        experts=moe_layers * matrices * expert_in * width * experts,
        active_experts=moe_layers * matrices * expert_in * width * used,
        embedding=vocab * hidden + per_layer_table,
        lm_head=0 if tied else vocab * hidden,
        vision=_vision(top, hidden) + _audio(top, hidden),
        mtp_module=(_attention(c, "full_attention", linear) + 2 * hidden * hidden
                    + (moe_mlp + matrices * expert_in * width * experts if experts else dense)),
        layers_with={"attention": frozenset(i for i, kind in enumerate(kinds) if kind != "mlp_only"),
                     "mlp": frozenset(with_mlp),
                     "experts": frozenset(i for i in with_mlp if i >= first_dense) if experts else frozenset()},
    )
