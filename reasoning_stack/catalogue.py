"""The model and GPU catalogue: data, reviewed like code. Every figure carries its source.

Architecture figures come from each model's ``config.json`` on Hugging Face (num_hidden_layers,
num_attention_heads, num_key_value_heads, head_dim or hidden_size/num_attention_heads, intermediate_size,
vocab_size, tie_word_embeddings, max_position_embeddings; for DeepSeek-R1 kv_lora_rank and
qk_rope_head_dim; the fp8 repos' quantization_config says whether weights are block-quantized). Parameter counts are the
model cards' figures. Weight sizes are derived from those counts by :func:`weights_gib`.

``strength`` is one figure for every model, what ``model: auto`` ranks by: the model card's AIME pass@1 x 10, AIME
2024 where the card reports it (the R1 distills' and R1's cards, QwQ's, the Qwen3 technical report's thinking-mode
table), AIME 2025 where it reports only that. The presets of ``reasoning_stack/models/presets.py`` (gpt-oss, Qwen3
MoE and hybrids, R1-0528, GLM-4.5-Air) join these eleven in ``MODELS``, built from their shipped config.json keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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

    def state_bytes(self, tp: int = 1) -> int:
        """Bytes of one layer's state for one request on one of ``tp`` GPUs: vLLM 0.17.1's
        ``MambaStateShapeCalculator.gated_delta_net_state_shape`` (conv state in the model dtype, 2 bytes) plus the
        temporal state (``gated_delta_net_state_dtype``)."""
        conv_dim = self.key_dim * self.key_heads * 2 + self.value_dim * self.value_heads
        conv = (self.conv_kernel - 1) * (conv_dim // tp) * 2
        temporal = (self.value_heads // tp) * self.value_dim * self.key_dim * self.state_dtype_bytes
        return conv + temporal


@dataclass(frozen=True)
class ModelSpec:
    """One reasoning model and the facts the planner and the vLLM service need about it."""

    slug: str
    name: str
    family: str  # deepseek-r1-distill | qwq | qwen3 | deepseek-r1
    strength: int  # AIME pass@1 x 10 from the model card (see STRENGTH below); model: auto ranks by it
    params_b: float  # total parameters, billions
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
    linear_layers: int = 0  # linear-attention layers with a recurrent state (Qwen3-Next, Qwen3.5)
    linear: LinearAttention | None = None
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

    @property
    def full_layers(self) -> int:
        """Layers holding the whole context in their KV cache."""
        return self.layers - self.sliding_layers - self.linear_layers

    def kv_bytes_per_token(self, dtype_bytes: int = 2) -> int:
        """KV-cache bytes per token of context for the whole model: the full-attention layers' K and V (MLA: the
        latent); sliding-window and linear-attention layers keep a fixed amount per request instead."""
        if self.mla:
            kv_lora_rank, rope_dim = self.mla
            return self.full_layers * (kv_lora_rank + rope_dim) * dtype_bytes
        return 2 * self.full_layers * self.kv_heads * self.head_dim * dtype_bytes


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
    else the parameters at their format with embeddings kept 16-bit."""
    if quantization in model.checkpoint_bytes:
        loaded = model.checkpoint_bytes[quantization] * LOADED_OVER_CHECKPOINT.get(quantization, 1.0)
        return loaded / GIB
    body = (model.params_b - model.embed_params_b) * 1e9 * BYTES_PER_PARAM[quantization]
    embed = model.embed_params_b * 1e9 * (1.0 if quantization == "fp8" and model.family == "deepseek-r1" else 2.0)
    return (body + embed) / GIB


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
        ),
    ]
}


@dataclass(frozen=True)
class GpuSpec:
    """One GPU model: its catalogue slug, the names nvidia-smi prints for it, its memory and bandwidth."""

    slug: str
    name: str
    memory_mib: int  # memory.total as nvidia-smi reports it
    compute_cap: str
    match: tuple[str, ...]  # substrings of nvidia-smi's name, lower case
    fp8: bool  # native FP8 tensor cores (Ada, Hopper, Blackwell)
    bandwidth_gb_s: float  # memory bandwidth, GB/s (NVIDIA's product specifications)
    nvlink: bool = False  # the SXM board: GPUs of one box talk over NVLink/NVSwitch, not PCIe
    pcie_bandwidth_gb_s: float | None = None  # the PCIe card of the same name ("PCIe" in nvidia-smi's name)
    unified: bool = False  # no memory of its own: shares the system's (nvidia-smi's memory.total is [N/A])
    apple: bool = False  # an Apple Silicon Mac (MLX), not an NVIDIA GPU


# memory.total figures are nvidia-smi's (MiB); where not recorded from a real card they are the
# marketing size in GiB less the ~0.5 GiB that nvidia-smi already hides on the same generation.
# Bandwidths are NVIDIA's published figures for each product (GeForce and RTX specification pages,
# A100/H100/H200/L40S datasheets). A class that covers several cards takes the slowest card's figure.
GPUS: dict[str, GpuSpec] = {
    g.slug: g
    for g in [
        GpuSpec("rtx-3090", "GeForce RTX 3090", 24576, "8.6", ("rtx 3090",), False, 936),
        GpuSpec("rtx-4090", "GeForce RTX 4090", 24564, "8.9", ("rtx 4090",), True, 1008),  # nvidia-smi, 550 driver
        GpuSpec("rtx-5090", "GeForce RTX 5090", 32607, "12.0", ("rtx 5090",), True, 1792),
        # RTX 5080: 16 GB GDDR7, 960 GB/s; memory.total estimated as the 5090's (its size less ~160 MiB)
        GpuSpec("rtx-5080", "GeForce RTX 5080", 16223, "12.0", ("rtx 5080",), True, 960),
        # RTX PRO 6000 Blackwell (Workstation, Max-Q and Server editions, 96 GB GDDR7): 97887 MiB in nvidia-smi
        # (vllm-project/vllm#27542); 1792 GB/s on the workstation cards, 1597 GB/s on the Server Edition: the slowest
        GpuSpec("rtx-pro-6000", "RTX PRO 6000 Blackwell 96 GB", 97887, "12.0", ("rtx pro 6000",), True, 1597),
        # RTX 4080 717 GB/s, RTX 4070 Ti Super 672 GB/s
        GpuSpec("rtx-4080", "GeForce RTX 4080 (16 GB class)", 16376, "8.9", ("rtx 4080", "rtx 4070 ti super"), True,
                672),
        # RTX 4060 272 GB/s; RTX 3070, 3060 Ti and 2080 448 GB/s
        GpuSpec("rtx-8gb", "8 GB class (RTX 4060 / 3070 / 2080)", 8188, "8.6",
                ("rtx 4060", "rtx 3070", "rtx 3060 ti", "rtx 2080"), False, 272),
        GpuSpec("a6000", "RTX A6000 48 GB", 49140, "8.6", ("rtx a6000",), False, 768),
        GpuSpec("l40s", "L40S 48 GB", 46068, "8.9", ("l40s",), True, 864),
        # L4 24 GB, 300 GB/s; 23034 MiB in nvidia-smi (modal-labs/modal-client#2797). "$": the name ends there (an
        # L40 or L40S is another card)
        GpuSpec("l4", "L4 24 GB", 23034, "8.9", ("nvidia l4$",), True, 300),
        GpuSpec("a100-40", "A100 40 GB", 40960, "8.0", ("a100-sxm4-40gb", "a100-pcie-40gb", "a100 40gb"), False,
                1555, nvlink=True, pcie_bandwidth_gb_s=1555),
        GpuSpec("a100-80", "A100 80 GB", 81920, "8.0", ("a100-sxm4-80gb", "a100 80gb", "a100-pcie-80gb"), False,
                2039, nvlink=True, pcie_bandwidth_gb_s=1935),
        # nvidia-smi: "NVIDIA H100 80GB HBM3" (SXM5, 3.35 TB/s); "NVIDIA H100 PCIe" (HBM2e, 2.0 TB/s)
        GpuSpec("h100", "H100 80 GB", 81559, "9.0", ("h100",), True, 3350, nvlink=True, pcie_bandwidth_gb_s=2000),
        GpuSpec("h200", "H200 141 GB", 143771, "9.0", ("h200",), True, 4800, nvlink=True, pcie_bandwidth_gb_s=4800),
        # H20 (HGX, 96 GB HBM3, 4.0 TB/s); after the H200, whose name holds "h20" too. memory.total: 96 GiB less ~0.5
        GpuSpec("h20", "H20 96 GB", 97792, "9.0", ("h20",), True, 4000, nvlink=True),
        # B200 (HGX/DGX B200, SXM): 183359 MiB in nvidia-smi (NVIDIA/TensorRT-LLM#10278), 8 TB/s published (the
        # driver reports a 7680-bit bus, 7.67 TB/s: pytorch/ao#4002); compute capability 10.0
        GpuSpec("b200", "B200 180 GB", 183359, "10.0", ("b200",), True, 8000, nvlink=True),
        # B300 (Blackwell Ultra, HGX/DGX B300): 288 GB HBM3e, 8 TB/s; compute capability 10.3. memory.total: 288 GB
        # (decimal) as MiB, the way the B200's 183359 MiB is its 192 GB
        GpuSpec("b300", "B300 288 GB", 274658, "10.3", ("b300",), True, 8000, nvlink=True),
        # DGX Spark: one GB10 (sm_121) on aarch64 sharing 128 GB LPDDR5X with the CPU. nvidia-smi's memory.total
        # is [N/A]; the memory is the system's MemTotal, 127600748 kB on a DGX Spark (nvitop PR #208) = 124610 MiB,
        # the 121.69 GiB CUDA reports there (unsloth PR #10283). 273 GB/s: NVIDIA's DGX Spark specification.
        GpuSpec("gb10", "GB10 (DGX Spark, unified memory)", 124610, "12.1", ("gb10",), True, 273, unified=True),
        # Apple Silicon Macs (engine mlx): the whole memory is the GPU's pool; nvidia-smi does not apply. Memory is
        # hw.memsize; bandwidth Apple's figure for the chip in that memory size (M3 Max 64/128 GB: the 40-core GPU,
        # 400 GB/s; M4 Max 64/128 GB: 546 GB/s; M3 Ultra: 819 GB/s).
        GpuSpec("m3-max-64", "M3 Max 64 GB", 65536, "", ("apple m3 max 64 gb",), False, 400, unified=True, apple=True),
        GpuSpec("m3-max-128", "M3 Max 128 GB", 131072, "", ("apple m3 max 128 gb",), False, 400, unified=True,
                apple=True),
        GpuSpec("m4-max-64", "M4 Max 64 GB", 65536, "", ("apple m4 max 64 gb",), False, 546, unified=True, apple=True),
        GpuSpec("m4-max-128", "M4 Max 128 GB", 131072, "", ("apple m4 max 128 gb",), False, 546, unified=True,
                apple=True),
        GpuSpec("m3-ultra-256", "M3 Ultra 256 GB", 262144, "", ("apple m3 ultra 256 gb",), False, 819, unified=True,
                apple=True),
    ]
}


def gpu_bandwidth_gb_s(nvidia_smi_name: str) -> float | None:
    """Memory bandwidth of a GPU by its nvidia-smi name (None for a GPU the catalogue lacks)."""
    spec = match_gpu(nvidia_smi_name)
    if spec is None:
        return None
    if spec.pcie_bandwidth_gb_s and "pcie" in nvidia_smi_name.lower():
        return spec.pcie_bandwidth_gb_s
    return spec.bandwidth_gb_s


def gpu_nvlink(nvidia_smi_name: str) -> bool:
    """Whether GPUs of this name in one box are linked by NVLink (SXM boards) rather than PCIe."""
    spec = match_gpu(nvidia_smi_name)
    return bool(spec and spec.nvlink and "pcie" not in nvidia_smi_name.lower())


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


def match_gpu(nvidia_smi_name: str) -> GpuSpec | None:
    """The catalogue GPU for a name printed by nvidia-smi, or None for a GPU the catalogue lacks."""
    lowered = nvidia_smi_name.lower().strip()

    def found(token: str) -> bool:  # a token ending in "$" must end the name
        return lowered.endswith(token[:-1]) if token.endswith("$") else token in lowered

    for gpu in GPUS.values():
        if any(found(token) for token in gpu.match):
            return gpu
    return None


def _add_presets() -> None:
    from reasoning_stack.models.presets import preset_specs

    for spec in preset_specs():
        MODELS[spec.slug] = spec


_add_presets()
