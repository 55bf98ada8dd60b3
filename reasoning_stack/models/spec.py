"""What the planner knows of a model (:class:`ModelSpec`, with :class:`LinearAttention` for a linear-attention
layer's state) and how much its weights take in each format (:func:`weights_gib`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar

from reasoning_stack.models.architectures import REASONING_END

GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True)
class LinearAttention:
    """A linear-attention (Gated DeltaNet) layer's geometry: ``linear_*`` keys of Qwen3-Next's and Qwen3.5's
    config.json. Such a layer keeps a fixed recurrent state per request instead of a KV cache."""

    key_heads: int  # linear_num_key_heads
    value_heads: int  # linear_num_value_heads
    key_dim: int  # linear_key_head_dim
    value_dim: int  # linear_value_head_dim
    conv_kernel: int  # linear_conv_kernel_dim
    state_dtype_bytes: int = 2  # the temporal state: the model dtype, or 4 where the config sets mamba_ssm_dtype
    kind: ClassVar[str] = "linear-attention"  # what a message calls its heads

    @property
    def tp_heads(self) -> tuple[tuple[str, int], ...]:
        """The head counts tensor parallelism splits, by name."""
        return ("key", self.key_heads), ("value", self.value_heads)

    def state_bytes(self, tp: int = 1) -> int:
        """Bytes of one layer's state for one request on one of ``tp`` GPUs: vLLM 0.17.1's
        ``MambaStateShapeCalculator.gated_delta_net_state_shape`` (conv state in the model dtype, 2 bytes) plus the
        temporal state (``gated_delta_net_state_dtype``)."""
        conv_dim = self.key_dim * self.key_heads * 2 + self.value_dim * self.value_heads
        conv = (self.conv_kernel - 1) * (conv_dim // tp) * 2
        temporal = (self.value_heads // tp) * self.value_dim * self.key_dim * self.state_dtype_bytes
        return conv + temporal


@dataclass(frozen=True)
class Mamba2State:
    """A Mamba-2 layer's geometry (Nemotron-H's ``mamba_*``, ``ssm_state_size``, ``n_groups``, ``conv_kernel``): like a
    Gated DeltaNet layer it keeps a fixed state per request instead of a KV cache."""

    heads: int  # mamba_num_heads
    head_dim: int  # mamba_head_dim
    state_size: int  # ssm_state_size
    groups: int  # n_groups
    conv_kernel: int  # conv_kernel
    state_dtype_bytes: int = 4  # the SSM state: fp32 where the config sets mamba_ssm_cache_dtype float32

    kind: ClassVar[str] = "Mamba-2"

    @property
    def tp_heads(self) -> tuple[tuple[str, int], ...]:
        """The head counts tensor parallelism splits, by name."""
        return ("group", self.groups), ("head", self.heads)

    def state_bytes(self, tp: int = 1) -> int:
        """Bytes of one layer's state for one request on one of ``tp`` GPUs: vLLM's
        ``MambaStateShapeCalculator.mamba2_state_shape``: the conv state (``conv_kernel - 1`` steps of the inner
        width plus the groups' B and C, in the model dtype) and the SSM state (heads x head size x state size)."""
        conv_dim = self.heads * self.head_dim + 2 * self.groups * self.state_size
        conv = (self.conv_kernel - 1) * (conv_dim // tp) * 2
        ssm = (self.heads // tp) * self.head_dim * self.state_size * self.state_dtype_bytes
        return conv + ssm


@dataclass(frozen=True)
class CompressedAttention:
    """DeepSeek V4's attention (``compress_ratios``, ``sliding_window``, ``index_head_dim``): every layer keeps its
    last ``window`` tokens whole; a layer of ratio 4 or 128 also keeps one compressed entry per 4 or 128 tokens, and a
    compressor's running state; a ratio-4 layer adds a lightning indexer with its own compressed keys and state.
    vLLM caches it in DeepSeek's fp8_ds_mla records (``vllm/models/deepseek_v4/``, 0.32 and 0.34)."""

    ratios: tuple[int, ...]  # compress_ratios, one a layer (0: the window only)
    window: int = 128  # sliding_window
    head_dim: int = 512  # the latent one entry holds
    index_head_dim: int = 128  # the indexer's key (a ratio-4 layer)

    kind: ClassVar[str] = "compressed-attention"


@dataclass(frozen=True)
class ModelSpec:
    """One reasoning model and the facts the planner and the vLLM service need about it."""

    slug: str
    name: str
    family: str  # deepseek-r1-distill | qwq | qwen3 | deepseek-r1
    strength: int  # AIME pass@1 x 10 from the model card (see STRENGTH below); model: auto ranks by it
    params_b: float  # the language model's parameters, billions (every expert; the vision tower apart)
    embed_params_b: float  # input embedding + (untied) lm_head parameters, billions; kept 16-bit by quantizers
    layers: int
    kv_heads: int
    head_dim: int
    hidden_size: int
    vocab_size: int  # sizes the logits of vLLM's sampler pass (memory.activation_gib)
    native_context: int  # max_position_embeddings without rope scaling
    repos: dict[str, str]  # quantization -> Hugging Face repo actually published
    reasoning_parser: str
    tool_call_parser: str | None = None
    mla: tuple[int, int] | None = None  # (kv_lora_rank, qk_rope_head_dim) for MLA attention
    sampling: dict[str, float | int] = field(default_factory=dict)
    prompt_advice: str = ""
    thinking_switch: bool = False  # Qwen3: thinking on/off per request via chat-template kwargs
    attention_heads: int = 0  # num_attention_heads: vLLM needs it divisible by tensor_parallel_size
    intermediate_size: int = 0  # MLP width: split by TP, each share whole quantization groups/blocks
    fp8_block: bool = False  # the fp8 repo is block-quantized (128x128), like AWQ/GPTQ groups of 128
    active_params_b: float | None = None  # MoE: parameters one token uses (the model card's "activated")
    # Layer kinds beside full attention (config.json layer_types / full_attention_interval):
    sliding_layers: int = 0  # sliding-window attention layers (gpt-oss: every other layer)
    sliding_window: int = 0  # their window in tokens
    sliding_kv_heads: int = 0  # the sliding layers' own KV heads and head size where they differ from the full
    sliding_head_dim: int = 0  # layers' (Gemma 4: 8 x 256 beside the global layers' 2 x 512); 0 = the same
    linear_layers: int = 0  # layers with a recurrent state (Qwen3-Next and Qwen3.5's Gated DeltaNet, Mamba-2)
    linear: LinearAttention | Mamba2State | None = None
    mlp_only_layers: int = 0  # layers with neither attention nor a state (Nemotron-H's MoE and MLP layers)
    # Gemma 4 E2B/E4B: the last layers attend over the KV of the last earlier layer of their kind and keep none of
    # their own (num_kv_shared_layers; vLLM leaves them out of its KV cache); sliding_layers counts only the others
    kv_shared_layers: int = 0
    experts: int = 0  # MoE: routed experts (weights count every one; decoding reads the active ones)
    active_experts: int = 0  # num_experts_per_tok
    attention_sinks: bool = False  # learned attention sinks (gpt-oss)
    moe_intermediate_size: int = 0  # an expert's MLP width (split by TP like intermediate_size)
    checkpoint_bytes: dict[str, int] = field(default_factory=dict)  # quantization -> safetensors bytes
    min_vllm: str = "0.8.0"  # the first vLLM release that serves the architecture
    reasoning_effort: bool = False  # gpt-oss: reasoning graded low/medium/high per request
    strength_source: str = ""  # where ``strength`` comes from
    source: str = ""  # where the architecture figures come from
    revision: str = ""  # the commit of a Hugging Face repo model pinned with model_revision
    vision_params_b: float = 0.0  # the vision (and audio) towers vLLM loads beside the language model, billions
    thinks_by_default: bool = True  # thinking_switch models: whether the chat template thinks unless told not to
    trust_remote_code: bool = False  # the engine loads the repo's own Python (its config or model class)
    # Sparse attention (DeepSeek V3.2, GLM-5's DSA): each MLA layer's lightning indexer keeps an 8-bit key a token
    # (its head size plus a 4-byte scale a 128), whole on every rank, beside the latent
    indexer_bytes: int = 0
    kv_block: int = 0  # the KV block size the model's attention backend sets (0: the release's default)
    fp8_kv_on: tuple[str, ...] = ()  # compute capability majors where vLLM's "auto" KV cache is fp8 for it
    mtp_layers: int = 0  # multi-token-prediction modules the checkpoint ships (num_nextn_predict_layers)
    mtp_params_b: float = 0.0  # their parameters, billions; loaded only when they draft (speculative_tokens)
    mtp_unserved: int = 0  # MTP modules the checkpoint ships that vLLM has no drafter for (MiniMax-M2's)
    # A drafter published beside the model (Gemma 4's -assistant repos: vLLM's gemma4_mtp), whose layers all read
    # the model's own KV cache: only its weights count (16-bit), 0 where its size is not on record
    draft_repo: str = ""
    draft_params_b: float = 0.0
    compressed: CompressedAttention | None = None  # DeepSeek V4: every layer's attention (kv_pool.packed_pool)
    thinking_kwarg: str = "enable_thinking"  # the chat-template kwarg that switches thinking (DeepSeek V4: thinking)

    @property
    def reasoning_end(self) -> str:
        """Where this model's reasoning ends (its parser's marker): never a stop, or no answer follows."""
        return REASONING_END[self.reasoning_parser]

    @property
    def thinking_request_kwarg(self) -> str:
        """The chat-template kwarg a request sets to switch thinking ("" for a model without a switch)."""
        return self.thinking_kwarg if self.thinking_switch else ""

    @property
    def drafter(self) -> str:
        """The repo vLLM drafts with beside the model: its published drafter where the checkpoint ships no MTP head
        and the drafter's size is on record ("" otherwise)."""
        return self.draft_repo if self.draft_params_b and not self.mtp_layers else ""

    @property
    def drafts(self) -> bool:
        """Whether speculative_tokens has something to draft with: the checkpoint's MTP head or a sized drafter."""
        return bool(self.mtp_layers or self.drafter)

    @property
    def full_layers(self) -> int:
        """Layers holding the whole context in their own KV cache."""
        return self.layers - self.sliding_layers - self.linear_layers - self.mlp_only_layers - self.kv_shared_layers

    def kv_bytes_per_token(self, dtype_bytes: int = 2) -> int:
        """KV-cache bytes per token of context for the whole model: the full-attention layers' K and V (MLA: the
        latent); sliding-window and linear-attention layers keep a fixed amount per request instead."""
        if self.compressed:  # per token at long context: the compressed entries and indexer keys (fp8_ds_mla)
            return round(sum((FP8_DS_V4_BYTES + (INDEXER_V4_BYTES if r == 4 else 0)) / r
                             for r in self.compressed.ratios if r > 1))
        if self.mla:
            return self.full_layers * (self.mla_bytes(dtype_bytes) + self.indexer_bytes)
        return 2 * self.full_layers * self.kv_heads * self.head_dim * dtype_bytes

    def mla_bytes(self, dtype_bytes: int = 2) -> int:
        """One MLA layer's latent a token: the rank and the RoPE part at ``dtype_bytes``; a sparse model's 8-bit
        cache is DeepSeek's fp8_ds_mla record (the NoPE part fp8 with its scales, the RoPE part 16-bit)."""
        assert self.mla
        kv_lora_rank, rope_dim = self.mla
        if self.indexer_bytes and dtype_bytes == 1:
            return FP8_DS_MLA_BYTES
        return (kv_lora_rank + rope_dim) * dtype_bytes


def with_draft_head(model: ModelSpec, speculative_tokens: int) -> ModelSpec:
    """The model as vLLM serves it drafting with its MTP head: each module one more full-attention layer in the KV
    cache and its parameters in the weights (at the checkpoint's average bytes a parameter where its size is
    recorded); or with its published drafter: the drafter's 16-bit weights beside every format's. Unchanged when
    nothing drafts."""
    if not speculative_tokens or not model.drafts:
        return model
    if model.drafter:  # weights only (its layers read the model's KV cache)
        drafter = model.draft_params_b * 1e9 * BYTES_PER_PARAM["bf16"]
        return replace(model, checkpoint_bytes={
            fmt: int(weights_gib(model, fmt) * GIB / LOADED_OVER_CHECKPOINT.get(fmt, 1.0) + drafter)
            for fmt in model.repos})
    grown = (model.params_b + model.mtp_params_b) / model.params_b
    compressed = model.compressed and replace(model.compressed,
                                              ratios=model.compressed.ratios + (0,) * model.mtp_layers)
    return replace(model, layers=model.layers + model.mtp_layers, compressed=compressed or None,
                   params_b=round(model.params_b + model.mtp_params_b, 2),
                   checkpoint_bytes={fmt: int(size * grown) for fmt, size in model.checkpoint_bytes.items()})


# vLLM's fp8_ds_mla record for a 512-wide latent: 512 fp8 NoPE values, 4 fp32 scales, 64 bf16 RoPE values
# (MLAAttentionImpl.get_fp8_ds_mla_row_bytes, 0.32 and 0.34)
FP8_DS_MLA_BYTES = 656

# DeepSeek V4's fp8_ds_mla record for a 512-wide latent: 448 fp8 NoPE values, 64 bf16 RoPE values and 8 bytes of
# UE8M0 scales (vllm/models/deepseek_v4/attention.py, 0.32 and 0.34), and its indexer's key: 128 fp8 values and
# one 4-byte scale (DeepseekV4Indexer)
FP8_DS_V4_BYTES = 584
INDEXER_V4_BYTES = 132

# Bytes per parameter by weights format. 4-bit formats store group-128 scales and zero points
# (AutoAWQ / GPTQ defaults): 0.5 B + 2 B scale / 128 + 0.5 B zero / 128 ~= 0.52 B per parameter.
# MXFP4: 4 bits + an 8-bit scale per 32 weights; NVFP4: 4 bits + an fp8 scale per 16 weights.
BYTES_PER_PARAM = {"bf16": 2.0, "fp8": 1.0, "awq": 0.52, "gptq": 0.52, "mxfp4": 0.53, "nvfp4": 0.5625}
# MXFP4 weights load larger than their safetensors: the MoE kernels pad hidden and intermediate sizes. Measured
# on an H100 (llm-d-benchmark empirical-vllm-memory-results.md, vLLM 0.11): gpt-oss-20b 13.47 GiB loaded from
# 12.82 GiB of safetensors (+5.1%), gpt-oss-120b 64.38 GiB from 60.77 GiB (+5.9%).
LOADED_OVER_CHECKPOINT = {"mxfp4": 1.055}


def weights_gib(model: ModelSpec, quantization: str) -> float:
    """GiB of weights as vLLM loads them: the safetensors' size where it is recorded (MXFP4 padded as loaded),
    else the parameters at their format with embeddings and the vision tower kept 16-bit."""
    if quantization in model.checkpoint_bytes:
        loaded = model.checkpoint_bytes[quantization] * LOADED_OVER_CHECKPOINT.get(quantization, 1.0)
        return loaded / GIB
    body = (model.params_b - model.embed_params_b) * 1e9 * BYTES_PER_PARAM[quantization]
    embed = model.embed_params_b * 1e9 * (1.0 if quantization == "fp8" and model.family == "deepseek-r1" else 2.0)
    return (body + embed + model.vision_params_b * 1e9 * 2.0) / GIB
