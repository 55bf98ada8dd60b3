"""DeepSeek V4's KV-cache pool as a vLLM release's own code builds it, on CPU: the window cache from the release's
own ``DeepseekV4SWACache``; the compressed attention, the compressors' states and the indexer's keys as the
release's ``get_kv_cache_spec`` of each builds them (their modules import GPU kernels, so the specs are made here
with the release's own spec classes, which pad and size each page); grouped, sized and divided among requests by
its KV-cache planner. Run with a release's argcheck Python; reads one JSON object from argv[1]
(``ratios``, ``window``, ``context``, ``in_flight``, ``available`` bytes) and prints the pool as JSON.
"""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import torch
from vllm.config import CacheConfig, set_current_vllm_config
from vllm.v1.attention.backends.mla.sparse_swa import DeepseekV4SWACache
from vllm.v1.kv_cache_interface import MLAAttentionSpec, SlidingWindowMLASpec

try:  # 0.34 moved the planner out of kv_cache_utils
    from vllm.v1.core import kv_cache_planning as planning
except ImportError:
    from vllm.v1.core import kv_cache_utils as planning
from vllm.v1.core.kv_cache_utils import get_max_concurrency_for_kv_cache_config


def _state(width: int, ratio: int) -> SlidingWindowMLASpec:
    """A compressor's running state (``CompressorStateCache.get_kv_cache_spec``): fp32, blocks of 4 (ratio 4) or
    8 (ratio 128), a window of twice the ratio at 4 (overlapping windows), the ratio at 128."""
    overlap = 1 + (ratio == 4)
    return SlidingWindowMLASpec(block_size=4 if ratio == 4 else 8, num_kv_heads=1, max_tp_shards=1, head_size=width,
                                dtype=torch.float32, sliding_window=overlap * ratio, alignment=576)


def pool(ask: dict) -> dict:
    """One case's pool, as the release builds it."""
    cache = CacheConfig(block_size=256, cache_dtype="fp8_ds_mla")
    cache.kv_cache_layout = "BLHNC"  # the layout DeepSeek V4's indexer backend asks for (block outermost)
    view = SimpleNamespace(  # what the planner reads of the engine's config
        cache_config=cache, scheduler_config=SimpleNamespace(disable_hybrid_kv_cache_manager=False),
        max_in_flight_tokens=ask["in_flight"], model_config=SimpleNamespace(max_model_len=ask["context"]),
        parallel_config=SimpleNamespace(decode_context_parallel_size=1),
        attention_config=SimpleNamespace(hisparse_config=None), num_gpu_blocks_override=None,
        compilation_config=SimpleNamespace(static_forward_context={}),  # where cache modules register
        speculative_config=None)
    specs = {}
    with set_current_vllm_config(view):  # type: ignore[arg-type]
        for i, ratio in enumerate(ask["ratios"]):
            swa = DeepseekV4SWACache(head_dim=512, window_size=ask["window"], dtype=torch.uint8,
                                     prefix=f"layers.{i}.swa_cache", cache_config=cache)
            specs[swa.prefix] = swa.get_kv_cache_spec(view)  # type: ignore[arg-type]
            if ratio <= 1:
                continue
            specs[f"layers.{i}.attn"] = MLAAttentionSpec(
                block_size=256, num_kv_heads=1, max_tp_shards=1, head_size=512, dtype=torch.uint8,
                tokens_per_state=ratio, cache_dtype_str="fp8_ds_mla", alignment=576, model_version="deepseek_v4",
                state_content_bytes=584)
            overlap = 1 + (ratio == 4)  # CompressorStateCache: kv and score states, two windows at ratio 4
            specs[f"layers.{i}.compressor.state"] = _state(2 * overlap * 512, ratio)
            if ratio == 4:  # DeepseekV4IndexerCache: 128 fp8 values and a 4-byte scale a key, and its compressor
                specs[f"layers.{i}.indexer.k_cache"] = MLAAttentionSpec(
                    block_size=256, num_kv_heads=1, max_tp_shards=1, head_size=132, dtype=torch.uint8,
                    tokens_per_state=4, alignment=576)
                specs[f"layers.{i}.indexer.compressor.state"] = _state(2 * 2 * 128, 4)
    groups = planning.get_kv_cache_groups(view, specs)
    config = planning.get_kv_cache_config_from_groups(view, groups, int(ask["available"]))
    concurrency = get_max_concurrency_for_kv_cache_config(view, config)
    return {"num_blocks": config.num_blocks, "concurrency": concurrency,
            "group_pages": [g.kv_cache_spec.page_size_bytes for g in groups]}


def main() -> None:
    with open(sys.argv[1]) as cases:
        print(json.dumps([pool(ask) for ask in json.load(cases)]))


if __name__ == "__main__":
    main()
