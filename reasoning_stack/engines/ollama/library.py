"""Ollama's library and memory: its model tags, how its server divides the GPUs, and the environment it runs with.

Ollama serves GGUF files from its own library, 4-bit (Q4_K_M) by default. It splits a model's layers over every
GPU it sees (no tensor parallelism) and keeps ``OLLAMA_NUM_PARALLEL`` request slots of ``OLLAMA_CONTEXT_LENGTH``
tokens each. The stack plans both from the tag's file size, so the model loads whole on the GPUs:

- weights: the tag's download size (the library page's figure, GB = 10^9 bytes);
- KV cache: context x parallel slots x every layer's K and V per token, at 2 bytes per value (f16) or
  34 bytes per 32 values (q8_0, ``OLLAMA_KV_CACHE_TYPE``; quantized KV needs flash attention, which the stack
  turns on);
- the compute graph: a 512-token batch of float32 logits and hidden states, ``4 x 512 x (vocab + hidden)``
  bytes (the term that dominates with flash attention), on each GPU;
- per GPU, Ollama's own floor of free memory it never schedules (457 MiB on CUDA, ``MinimumMemory`` in
  ``discover/gpu.go``) and the CUDA context (0.5 GiB, as for the other engines).

A ``num_ctx`` that Open WebUI sends with a chat wins over ``OLLAMA_CONTEXT_LENGTH``: the deploy gives each
Ollama model entry in Open WebUI the planned context, so every chat carries it.
"""

from __future__ import annotations

from dataclasses import dataclass

from reasoning_stack.catalogue import GIB, MIB, ModelSpec
from reasoning_stack.cuda import CUDA_CONTEXT_GIB, cuda_total_gib
from reasoning_stack.gpus import Gpu

MINIMUM_MEMORY_MIB = 457  # Ollama's per-GPU floor on CUDA (discover/gpu.go, MinimumMemory)
BATCH = 512  # Ollama's default num_batch
PARALLEL_CHOICES = (4, 2, 1)  # request slots tried, most first: a small team's burst, then fewer
KV_TYPES = {"auto": "f16", "fp8": "q8_0"}  # the stack's kv_cache_dtype -> OLLAMA_KV_CACHE_TYPE
KV_BYTES_PER_VALUE = {"f16": 2.0, "q8_0": 34 / 32}
KEEP_ALIVE = "-1"  # the model stays loaded: the plan gave it the GPUs


@dataclass(frozen=True)
class OllamaTag:
    """One tag of Ollama's library and its download size (ollama.com/library, Q4_K_M unless named)."""

    tag: str
    size_gb: float  # GB as the library lists it (10^9 bytes)

    @property
    def size_gib(self) -> float:
        return self.size_gb * 1e9 / GIB


# Catalogue slug -> the library tag with the same weights (the distills are what `deepseek-r1:<size>` names;
# `deepseek-r1:8b` moved to the R1-0528 Qwen3-8B distill, so the Llama-8B distill has its own tag).
TAGS: dict[str, OllamaTag] = {
    "deepseek-r1-distill-qwen-1.5b": OllamaTag("deepseek-r1:1.5b", 1.1),
    "deepseek-r1-distill-qwen-7b": OllamaTag("deepseek-r1:7b", 4.7),
    "deepseek-r1-distill-llama-8b": OllamaTag("deepseek-r1:8b-llama-distill-q4_K_M", 4.9),
    "deepseek-r1-distill-qwen-14b": OllamaTag("deepseek-r1:14b", 9.0),
    "deepseek-r1-distill-qwen-32b": OllamaTag("deepseek-r1:32b", 20.0),
    "deepseek-r1-distill-llama-70b": OllamaTag("deepseek-r1:70b", 43.0),
    "qwq-32b": OllamaTag("qwq:32b", 20.0),
    "qwen3-8b": OllamaTag("qwen3:8b", 5.2),
    "qwen3-14b": OllamaTag("qwen3:14b", 9.3),
    "qwen3-32b": OllamaTag("qwen3:32b", 20.0),
    "deepseek-r1": OllamaTag("deepseek-r1:671b", 404.0),
    # The presets Ollama's library carries (gpt-oss ships as MXFP4, as OpenAI published it; the rest Q4_K_M).
    # GLM-4.5-Air, Qwen3-Next, Qwen3.5, 3.6 and 3.8 have no tag the stack has recorded: Ollama refuses them by name.
    "gpt-oss-20b": OllamaTag("gpt-oss:20b", 14.0),
    "gpt-oss-120b": OllamaTag("gpt-oss:120b", 65.0),
    "qwen3-30b-a3b": OllamaTag("qwen3:30b-a3b", 19.0),
    "qwen3-30b-a3b-thinking-2507": OllamaTag("qwen3:30b-a3b-thinking-2507-q4_K_M", 19.0),
    "qwen3-235b-a22b-thinking-2507": OllamaTag("qwen3:235b-a22b-thinking-2507-q4_K_M", 142.0),
    "deepseek-r1-0528-qwen3-8b": OllamaTag("deepseek-r1:8b", 5.2),
    "deepseek-r1-0528": OllamaTag("deepseek-r1:671b-0528-q4_K_M", 404.0),
}


def kv_bytes_per_token(model: ModelSpec, kv_type: str) -> float:
    """KV-cache bytes one token takes in Ollama (every layer's K and V; MLA models keep K and V whole)."""
    values = model.kv_bytes_per_token(1) if not model.mla else 2 * model.layers * model.kv_heads * model.head_dim
    return values * KV_BYTES_PER_VALUE[kv_type]


def graph_gib(model: ModelSpec) -> float:
    """The compute graph of one 512-token batch (float32 logits and hidden states), per GPU."""
    return 4 * BATCH * (model.vocab_size + model.hidden_size) / GIB


def free_for_model_gib(gpus: tuple[Gpu, ...]) -> float:
    """What Ollama may schedule on the GPUs together: CUDA's total less the context and Ollama's floor."""
    return sum(cuda_total_gib(g) - CUDA_CONTEXT_GIB - MINIMUM_MEMORY_MIB * MIB / GIB for g in gpus)


def kv_gib_available(model: ModelSpec, gpus: tuple[Gpu, ...]) -> float:
    """GiB left for the KV cache once the weights and each GPU's compute graph are placed."""
    return free_for_model_gib(gpus) - TAGS[model.slug].size_gib - graph_gib(model) * len(gpus)


def max_tokens(model: ModelSpec, gpus: tuple[Gpu, ...], kv_type: str) -> int:
    """KV-cache tokens (context x parallel slots) the GPUs hold beside the weights and graphs."""
    return max(0, int(kv_gib_available(model, gpus) * GIB // kv_bytes_per_token(model, kv_type)))


def environment(listen: str, port: int, context: int, parallel: int, kv_type: str) -> dict[str, str]:
    """The server's environment (``ollama serve`` reads nothing else; ``envconfig/config.go``)."""
    host = f"[{listen}]" if ":" in listen else listen
    return {
        "OLLAMA_HOST": f"{host}:{port}",
        "OLLAMA_MODELS": "/root/.ollama/models",
        "OLLAMA_CONTEXT_LENGTH": str(context),
        "OLLAMA_NUM_PARALLEL": str(parallel),
        "OLLAMA_MAX_LOADED_MODELS": "1",
        "OLLAMA_KEEP_ALIVE": KEEP_ALIVE,
        "OLLAMA_FLASH_ATTENTION": "1",
        "OLLAMA_KV_CACHE_TYPE": kv_type,
    }
