"""Gemma 4's KV-cache pool as a vLLM release's own code builds it, on CPU: one spec a layer that keeps a cache (the
layers reading an earlier layer's KV are left out, as the release's ``get_kv_cache_spec`` leaves out every layer
with a ``kv_sharing_target_layer_name``), made with the release's own spec classes at the block size its
``Attention.get_kv_cache_spec`` picks for Gemma 4's TRITON_ATTN backend (the configured 16 for both kinds), then
grouped, unified, sized and divided among requests by its KV-cache planner. Run with a release's argcheck Python;
reads a JSON list of cases from argv[1] (``layers``: [kind, KV heads, head size] for each layer that keeps a cache,
``window``, ``fp8``, ``context``, ``in_flight``, ``available`` bytes) and prints each pool as JSON.
"""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import torch
from vllm.config import CacheConfig, set_current_vllm_config
from vllm.v1.kv_cache_interface import FullAttentionSpec, SlidingWindowSpec

try:  # 0.34 moved the planner out of kv_cache_utils
    from vllm.v1.core import kv_cache_planning as planning
except ImportError:
    from vllm.v1.core import kv_cache_utils as planning
from vllm.v1.core.kv_cache_utils import get_max_concurrency_for_kv_cache_config

BLOCK = 16


def pool(ask: dict) -> dict:
    """One case's pool, as the release builds it."""
    dtype = torch.float8_e4m3fn if ask["fp8"] else torch.bfloat16
    cache = CacheConfig(block_size=BLOCK, cache_dtype="fp8" if ask["fp8"] else "auto")
    # the default preference's first (TRITON_ATTN and FlashAttention name none): layer-outermost, block-compact
    cache.kv_cache_layout = "LBNHC"
    view = SimpleNamespace(  # what the planner reads of the engine's config
        cache_config=cache, scheduler_config=SimpleNamespace(disable_hybrid_kv_cache_manager=False),
        max_in_flight_tokens=ask["in_flight"], model_config=SimpleNamespace(max_model_len=ask["context"]),
        parallel_config=SimpleNamespace(decode_context_parallel_size=1),
        attention_config=SimpleNamespace(hisparse_config=None), num_gpu_blocks_override=None,
        compilation_config=SimpleNamespace(static_forward_context={}), speculative_config=None)
    specs = {}
    with set_current_vllm_config(view):  # type: ignore[arg-type]
        for i, (kind, heads, head) in enumerate(ask["layers"]):
            if kind == "sliding_attention":
                specs[f"layers.{i}.attn"] = SlidingWindowSpec(block_size=BLOCK, num_kv_heads=heads, head_size=head,
                                                              dtype=dtype, sliding_window=ask["window"])
            else:
                specs[f"layers.{i}.attn"] = FullAttentionSpec(block_size=BLOCK, num_kv_heads=heads, head_size=head,
                                                              dtype=dtype)
    groups = planning.get_kv_cache_groups(view, specs)
    config = planning.get_kv_cache_config_from_groups(view, groups, int(ask["available"]))
    concurrency = get_max_concurrency_for_kv_cache_config(view, config)
    return {"num_blocks": config.num_blocks, "concurrency": concurrency,
            "groups": [[type(g.kv_cache_spec).__name__, g.kv_cache_spec.block_size, len(g.layer_names)]
                       for g in groups]}


def main() -> None:
    with open(sys.argv[1]) as cases:
        print(json.dumps([pool(ask) for ask in json.load(cases)]))


if __name__ == "__main__":
    main()
