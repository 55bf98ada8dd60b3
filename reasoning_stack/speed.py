"""How fast one request decodes: the planner's speed estimate, term by term.

Decoding one token reads every weight of a GPU's share of the model once, plus the KV cache of the tokens so
far, so a single request is bound by memory bandwidth:

    seconds per token = bytes read per GPU / (bandwidth x efficiency) + step overhead
                        + (tensor parallel only) 2 all-reduces per layer x their latency

with pipeline stages run one after the other. The *bound* is the first term at efficiency 1 with nothing
else: no engine reaches it. ``tests/test_known_answers.py`` checks the estimate against published vLLM
figures (each cited there); ``bench/speed_estimate.py`` prints them side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

from reasoning_stack.catalogue import BYTES_PER_PARAM, ModelSpec, gpu_bandwidth_gb_s, gpu_nvlink
from reasoning_stack.gpus import Gpu

# Share of the memory bandwidth vLLM's decode kernels reach for one request, and the time each step spends
# outside them (scheduling, sampling, launching): fitted to single-GPU vLLM runs on H100 PCIe (7B, 14B and
# 32B distills: 1.3-2.0 ms left over at 0.8), RTX 4090 and A100 (see the known answers).
EFFICIENCY = 0.8
STEP_OVERHEAD_S = 1.5e-3
# 4-bit weights (Marlin kernels) reach a smaller share of the bandwidth than 16-bit ones: single-request runs of
# the same 32B model on one card read 0.71 of the bandwidth with AWQ, 0.86 with BF16 (MXFP4, NVFP4 assumed alike).
QUANT_EFFICIENCY = {"bf16": 1.0, "fp8": 1.0, "awq": 0.83, "gptq": 0.83, "mxfp4": 0.83, "nvfp4": 0.83}
# Tensor parallelism adds two all-reduces per layer to every token. Over PCIe each costs ~0.1 ms (RTX 4090
# TP2/TP4 and H100 PCIe TP2 runs leave 60-140 us per all-reduce); NVLink with vLLM's custom all-reduce
# ~0.02 ms.
ALLREDUCE_PCIE_S = 1.0e-4
ALLREDUCE_NVLINK_S = 2.0e-5
# Pipeline parallel across nodes hands each token's activations from node to node: an assumed 1 ms per hop
# over the cluster network (no published single-stream figure checks this).
PIPELINE_HOP_S = 1.0e-3
# Used only to rank layouts of a GPU whose bandwidth the catalogue lacks; never printed as a figure.
RANKING_BANDWIDTH_GB_S = 1000.0
TRACE_TOKENS = 2000  # a short reasoning trace, for "seconds per trace"


@dataclass(frozen=True)
class DecodeSpeed:
    """Single-request decode speed of one replica (tokens per second); None where the GPU is unknown."""

    tokens_per_s: float | None  # estimate at the start of a request (short context)
    tokens_per_s_at_context: float | None  # estimate with the whole planned context in the KV cache
    bound_tokens_per_s: float | None  # the physical bound: bandwidth over bytes, nothing else
    trace_seconds: float | None  # seconds for a TRACE_TOKENS reasoning trace after a short prompt
    bandwidth_gb_s: float | None
    efficiency: float
    interconnect: str  # nvlink | pcie | none
    ranking_seconds_per_token: float  # for comparing layouts, also on unknown GPUs
    caveat: str = ""  # where no published figure checks the estimate


def weight_bytes_per_token(model: ModelSpec, quant: str) -> float:
    """Bytes of weights one decode step reads across the whole model: every layer at its weights format and
    the 16-bit output head (vocab x hidden); of the input embedding only one row, which is left out. A
    mixture-of-experts model reads only its activated parameters (DeepSeek-R1: 37B of 671B)."""
    params = model.active_params_b or model.params_b
    body = (params - model.embed_params_b) * 1e9 * BYTES_PER_PARAM[quant]
    head = model.vocab_size * model.hidden_size * 2.0
    return body + head


def _seconds_per_token(weights_per_gpu: float, kv_per_gpu: float, tp: int, pp: int, layers: int,
                       bandwidth: float, efficiency: float, nvlink: bool) -> float:
    stage = (weights_per_gpu + kv_per_gpu) / (bandwidth * 1e9 * efficiency)
    allreduce = (ALLREDUCE_NVLINK_S if nvlink else ALLREDUCE_PCIE_S) if tp > 1 else 0.0
    return pp * stage + STEP_OVERHEAD_S + 2 * layers * allreduce + (pp - 1) * PIPELINE_HOP_S


def decode_speed(model: ModelSpec, quant: str, gpu: Gpu, tp: int, pp: int, kv_bytes_per_token_per_gpu: int,
                 context: int) -> DecodeSpeed:
    """The single-request decode estimate of ``model`` split ``tp`` x ``pp`` ways on ``gpu``."""
    weights_per_gpu = weight_bytes_per_token(model, quant) / (tp * pp)
    nvlink = gpu_nvlink(gpu.name)
    interconnect = "none" if tp * pp == 1 else "nvlink" if nvlink else "pcie"
    efficiency = EFFICIENCY * QUANT_EFFICIENCY[quant]
    bandwidth = gpu.bandwidth_gb_s or gpu_bandwidth_gb_s(gpu.name)
    short_kv = 512 * kv_bytes_per_token_per_gpu  # a short prompt already in the cache

    def seconds(kv: float, bw: float) -> float:
        return _seconds_per_token(weights_per_gpu, kv, tp, pp, model.layers, bw, efficiency, nvlink)

    ranking = seconds(short_kv, bandwidth or RANKING_BANDWIDTH_GB_S)
    caveats = []
    if model.active_params_b:
        caveats.append("mixture-of-experts kernels at one request are slower than this dense-model estimate")
    if pp > 1:
        caveats.append("the pipeline hop between nodes is an assumed 1 ms")
    caveat = "; ".join(caveats) + ("; no published figure checks it" if caveats else "")
    if bandwidth is None:
        return DecodeSpeed(None, None, None, None, None, efficiency, interconnect, ranking, caveat)
    mid_trace = (512 + TRACE_TOKENS / 2) * kv_bytes_per_token_per_gpu
    bound = bandwidth * 1e9 / (pp * (weights_per_gpu + short_kv))
    return DecodeSpeed(
        tokens_per_s=1 / seconds(short_kv, bandwidth),
        tokens_per_s_at_context=1 / seconds(context * kv_bytes_per_token_per_gpu, bandwidth),
        bound_tokens_per_s=bound,
        trace_seconds=TRACE_TOKENS * seconds(mid_trace, bandwidth),
        bandwidth_gb_s=bandwidth,
        efficiency=efficiency,
        interconnect=interconnect,
        ranking_seconds_per_token=ranking,
        caveat=caveat,
    )
