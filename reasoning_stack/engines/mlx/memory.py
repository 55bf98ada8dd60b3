"""MLX-LM's models and memory on Apple Silicon Macs: how a Mac's unified memory divides, and ``mlx_lm.server``'s
arguments.

The Mac's GPU shares the machine's memory, and Metal keeps at most its *recommended working set* resident on the
GPU; ``mlx_lm.server`` wires exactly that much at start (``mlx_lm.utils.maybe_set_recommended_wired_limit``).
Metal reports about two thirds of memory on small Macs (10.67 GiB of 16 GiB) and more on large ones (107.52 GiB of
128 GiB, measured on an M5 Max; antirez/ds4 #890): the planner takes two thirds up to 36 GiB and three quarters
above, at or under what Metal allows, and leaves the rest to macOS. ``iogpu.wired_limit_mb``, when an operator has
raised it, replaces that share.

Weights are the ``mlx-community`` quantizations (``mlx_lm.convert``: group size 64, a bf16 scale and bias per
group, so 4.5 bits per parameter at 4 bits, 8.5 at 8; embeddings quantized too); the KV cache is bf16, one slot per
request decoded at once (``--decode-concurrency``). MLX-LM 0.32.2's server has no context limit of its own: the
planned context caps what one request generates (``--max-tokens``), and ``--prompt-cache-bytes`` caps the KV caches
it keeps between requests, so the two stay inside the plan.
"""

from __future__ import annotations

from reasoning_stack.catalogue import GIB, MIB, ModelSpec
from reasoning_stack.gpus import Gpu

# Repositories seen in public use (mlx-community on Hugging Face), by catalogue model and bits.
REPOS: dict[str, dict[int, str]] = {
    "deepseek-r1-distill-qwen-7b": {4: "mlx-community/DeepSeek-R1-Distill-Qwen-7B-4bit"},
    "deepseek-r1-distill-llama-8b": {4: "mlx-community/DeepSeek-R1-Distill-Llama-8B-4bit"},
    "deepseek-r1-distill-qwen-14b": {4: "mlx-community/DeepSeek-R1-Distill-Qwen-14B-4bit"},
    "deepseek-r1-distill-qwen-32b": {4: "mlx-community/DeepSeek-R1-Distill-Qwen-32B-4bit",
                                     8: "mlx-community/DeepSeek-R1-Distill-Qwen-32B-8bit"},
    "deepseek-r1-distill-llama-70b": {4: "mlx-community/DeepSeek-R1-Distill-Llama-70B-4bit",
                                      8: "mlx-community/DeepSeek-R1-Distill-Llama-70B-8bit"},
    "qwq-32b": {4: "mlx-community/QwQ-32B-4bit"},
    "qwen3-8b": {4: "mlx-community/Qwen3-8B-4bit"},
    "qwen3-32b": {4: "mlx-community/Qwen3-32B-4bit"},
    # The presets MLX-LM 0.32.2 has model code for (mlx_lm/models: gpt_oss, qwen3_moe, qwen3_next, qwen3_5_moe).
    # gpt-oss's MLX build keeps OpenAI's MXFP4 experts (4.25 bits) and quantizes the rest to 8 bits: planned at 4.
    "gpt-oss-20b": {4: "mlx-community/gpt-oss-20b-MXFP4-Q8"},
    "gpt-oss-120b": {4: "mlx-community/gpt-oss-120b-MXFP4-Q8"},
    "qwen3-30b-a3b": {4: "mlx-community/Qwen3-30B-A3B-4bit", 8: "mlx-community/Qwen3-30B-A3B-8bit"},
    "qwen3-30b-a3b-thinking-2507": {4: "mlx-community/Qwen3-30B-A3B-Thinking-2507-4bit"},
    "qwen3-next-80b-a3b-thinking": {4: "mlx-community/Qwen3-Next-80B-A3B-Thinking-4bit"},
    "qwen3.5-35b-a3b": {4: "mlx-community/Qwen3.5-35B-A3B-4bit"},
    # Gemma 4 (mlx_lm/models/gemma4: the text model only, its vision and audio towers dropped at load; the server
    # takes <|channel>thought ... <channel|> apart as reasoning)
    "gemma-4-26b-a4b": {4: "mlx-community/gemma-4-26b-a4b-it-4bit", 8: "mlx-community/gemma-4-26b-a4b-it-8bit"},
    "gemma-4-31b": {4: "mlx-community/gemma-4-31b-it-4bit"},
    "gemma-4-e4b": {4: "mlx-community/gemma-4-e4b-it-4bit", 8: "mlx-community/gemma-4-e4b-it-8bit"},
    "gemma-4-e2b": {4: "mlx-community/gemma-4-e2b-it-4bit", 8: "mlx-community/gemma-4-e2b-it-8bit"},
}
# The mlx-community formats, best first, and the bits of each (quantization values of engine 'mlx').
QUANTIZATIONS = {"mlx-8bit": 8, "mlx-4bit": 4}
BITS_PER_PARAM = {4: 4.5, 8: 8.5}  # group size 64: a 16-bit scale and a 16-bit bias per 64 weights

SMALL_MAC_GIB = 36
SMALL_MAC_SHARE = 2 / 3
LARGE_MAC_SHARE = 0.75
# Beside weights and KV cache: MLX's compute buffers for a prefill step of 2048 tokens (--prefill-step-size)
# and the Python server itself.
RUNTIME_GIB = 1.5
SLOTS = (4, 2, 1)  # requests decoded at once, most first (as for Ollama)


def weights_gib(model: ModelSpec, bits: int) -> float:
    """GiB of an mlx-community quantization: every weight at ``bits`` plus its group's scale and bias
    (DeepSeek-R1-Distill-Qwen-32B at 4 bits: 32.76e9 x 4.5 / 8 = 17.2 GiB, its published 18.4 GB)."""
    return model.params_b * 1e9 * BITS_PER_PARAM[bits] / 8 / GIB


def working_set_gib(mac: Gpu, wired_limit_mib: int = 0) -> float:
    """What Metal lets the GPU keep resident: the raised ``iogpu.wired_limit_mb`` if set, else the planner's share
    of memory (two thirds up to 36 GiB, three quarters above)."""
    if wired_limit_mib:
        return wired_limit_mib * MIB / GIB
    total = mac.memory_mib * MIB / GIB
    return total * (SMALL_MAC_SHARE if total <= SMALL_MAC_GIB else LARGE_MAC_SHARE)


def kv_tokens(model: ModelSpec, bits: int, mac: Gpu, wired_limit_mib: int = 0) -> int:
    """Tokens of bf16 KV cache left on ``mac`` beside the weights and the runtime."""
    free = working_set_gib(mac, wired_limit_mib) - weights_gib(model, bits) - RUNTIME_GIB
    return max(0, int(free * GIB // model.kv_bytes_per_token(2)))


def server_args(repo: str, listen: str, port: int, context: int, slots: int, cache_bytes: int,
                sampling: dict[str, float | int], thinking: bool | None) -> list[str]:
    """``mlx_lm.server`` arguments for a plan (the model's own sampling: the server's defaults are greedy and
    512 tokens, which cut a reasoning trace short)."""
    args = ["--model", repo, "--host", listen, "--port", str(port), "--max-tokens", str(context),
            "--decode-concurrency", str(slots), "--prompt-concurrency", str(slots),
            "--prompt-cache-bytes", str(cache_bytes)]
    flags = {"temperature": "--temp", "top_p": "--top-p", "top_k": "--top-k", "min_p": "--min-p"}
    for key, flag in flags.items():
        if key in sampling:
            args += [flag, f"{sampling[key]:g}"]
    if thinking is not None:
        args += ["--chat-template-args", '{"enable_thinking": %s}' % ("true" if thinking else "false")]
    return args
