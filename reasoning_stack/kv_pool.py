"""vLLM 0.17.1's KV-cache pool on one GPU, layer kind by layer kind: how many blocks a budget buys, how many blocks
one request of a given context holds, and so the longest request and the requests served at once.

The v1 KV cache manager (``vllm/v1/core/kv_cache_utils.py``, ``vllm/v1/kv_cache_interface.py``):

- layers of one kind (full attention, sliding window, linear attention's recurrent state) are cut into *groups* of
  equal size: the smallest kind's layer count, or the largest's when they are within 1.25x
  (``_get_kv_cache_groups_uniform_page_size``); gpt-oss: one full and one sliding group, Qwen3-Next and Qwen3.5:
  one full-attention group and three state groups;
- every group shares one pool of ``group size`` tensors, so a block costs ``page x group size`` bytes and the pool
  holds ``available // (page x group size)`` blocks (``get_num_blocks``);
- a full-attention group holds ``cdiv(context, block)`` blocks per request (``FullAttentionSpec``), a sliding group
  ``cdiv(min(window - 1 + max_num_batched_tokens, context), block) + 1`` (``SlidingWindowSpec``), a state group one
  page, two with prefix caching ("align" mode; ``MambaSpec``);
- with state layers, vLLM raises the attention block size until one attention page holds a state page
  (``HybridAttentionMambaModelConfig``: ``16 x cdiv(state page, 16 x attention bytes per token)``) and pads the
  state page to it;
- layers of one token size fewer bytes than another's (Gemma 4's global layers: 2 x 512 against 8 x 256 sliding)
  get a block of more tokens, so every page is the same size (``unify_kv_cache_spec_page_size``): their block
  is the ratio times larger;
- from 0.26 a sliding group holds ``window - 1 + in-flight tokens``, the tokens of every batch not yet settled:
  ``(pipeline stages + 1) x max_num_batched_tokens`` under async scheduling, on by default
  (``VllmConfig.max_in_flight_tokens``; vllm#49878); before, one batch's;
- an MLA model with a sparse indexer (DeepSeek V3.2, GLM-5's DSA) caches each layer's indexer key beside its
  latent: two specs of one type, so one block count over both pages (``UniformTypeKVCacheSpecs``), in the 64-token
  blocks its backend sets ("Setting kv cache block size to 64 for DEEPSEEK_V32_INDEXER backend");
- maximum concurrency is blocks / blocks per request (``get_max_concurrency_for_kv_cache_config``).
"""

from __future__ import annotations

from dataclasses import dataclass

from reasoning_stack.catalogue import ModelSpec

BLOCK = 16  # vLLM's default KV-cache block size in tokens (and the attention kernels' alignment)
GROUP_SLACK = 1.25  # vLLM pads the smaller kind up to the larger when they are this close


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class KvPool:
    """The KV-cache pool of one model on one GPU under one configuration."""

    block_size: int  # tokens per block
    page_bytes: int  # one layer's block (every group's page is the same size)
    group_size: int  # layers per group: the pool's tensors
    full_groups: int
    sliding_groups: int = 0
    sliding_window: int = 0
    state_groups: int = 0
    state_pages: int = 1  # state pages each request holds per state group (2 with prefix caching)
    batched_tokens: int = 2048  # the in-flight tokens a sliding group holds beyond its window
    sliding_block_size: int = 0  # tokens per sliding block where they differ from the full layers' (0: the same)

    @property
    def sliding_block(self) -> int:
        return self.sliding_block_size or self.block_size

    @property
    def block_bytes(self) -> int:
        return self.page_bytes * self.group_size

    def blocks(self, available_bytes: float) -> int:
        """Blocks a budget of ``available_bytes`` buys."""
        return max(0, int(available_bytes // self.block_bytes))

    def request_blocks(self, context: int) -> int:
        """Blocks one request of ``context`` tokens holds at most."""
        full = self.full_groups * _cdiv(context, self.block_size)
        sliding = 0
        if self.sliding_groups:
            held = min(self.sliding_window - 1 + self.batched_tokens, context)
            sliding = self.sliding_groups * (_cdiv(held, self.sliding_block) + 1)
        return full + sliding + self.state_groups * self.state_pages

    def longest_request(self, blocks: int) -> int:
        """The longest context (whole blocks) one request can hold in ``blocks`` blocks."""
        fixed = self.request_blocks(0)  # sliding and state pages held whatever the context (at least)
        if self.full_groups == 0:
            return 0 if blocks < self.request_blocks(10**9) else 10**9
        tokens = max(0, (blocks - fixed) // self.full_groups) * self.block_size
        while tokens > 0 and self.request_blocks(tokens) > blocks:
            tokens -= self.block_size
        return tokens

    def concurrency(self, blocks: int, context: int) -> float:
        """Requests of ``context`` tokens the pool holds at once (vLLM's "Maximum concurrency")."""
        return blocks / self.request_blocks(context) if context > 0 else 0.0


def attention_bytes_per_token(model: ModelSpec, tp: int, kv_dtype: str) -> int:
    """One full-attention layer's KV bytes per token on one GPU (KV heads split by TP; MLA's latent kept whole)."""
    dtype_bytes = 1 if kv_dtype == "fp8" else 2
    if model.mla:  # with a sparse indexer, its key beside the latent (one page a layer each, one block count)
        return model.mla_bytes(dtype_bytes) + model.indexer_bytes
    return 2 * max(1, model.kv_heads // tp) * model.head_dim * dtype_bytes


def sliding_bytes_per_token(model: ModelSpec, tp: int, kv_dtype: str) -> int:
    """One sliding-window layer's KV bytes per token on one GPU: its own heads and head size where the model gives
    them (Gemma 4), else the full layers'."""
    if not model.sliding_head_dim:
        return attention_bytes_per_token(model, tp, kv_dtype)
    dtype_bytes = 1 if kv_dtype == "fp8" else 2
    return 2 * max(1, model.sliding_kv_heads // tp) * model.sliding_head_dim * dtype_bytes


def _group_size(counts: list[int]) -> int:
    smallest, largest = min(counts), max(counts)
    return largest if largest < smallest * GROUP_SLACK else smallest


def kv_pool(model: ModelSpec, tp: int, pp: int, kv_dtype: str, batched_tokens: int,
            prefix_caching: bool = True, block_size: int = BLOCK) -> KvPool:
    """The pool vLLM builds for ``model`` split ``tp`` x ``pp`` ways (each stage holds 1/pp of every kind), in blocks
    of ``block_size`` tokens (the release's default; a hybrid model's block grows to hold its state, and the kind
    with fewer bytes a token gets the larger block); ``batched_tokens`` is what a sliding group holds beyond its
    window (``in_flight_tokens`` of the release)."""
    per_token = attention_bytes_per_token(model, tp, kv_dtype)
    sliding_per_token = sliding_bytes_per_token(model, tp, kv_dtype) if model.sliding_layers else per_token
    page_per_token = max(per_token, sliding_per_token)
    full = _cdiv(model.full_layers, pp)
    sliding = _cdiv(model.sliding_layers, pp) if model.sliding_layers else 0
    linear = _cdiv(model.linear_layers, pp) if model.linear_layers and model.linear else 0
    kinds = [n for n in (full, sliding, linear) if n]
    size = _group_size(kinds)
    block = model.kv_block or block_size
    if linear:
        state = model.linear.state_bytes(tp)
        block = BLOCK * _cdiv(state, BLOCK * per_token)
    page = block * page_per_token
    return KvPool(
        block_size=page // per_token,
        page_bytes=page,
        group_size=size,
        full_groups=_cdiv(full, size),
        sliding_groups=_cdiv(sliding, size) if sliding else 0,
        sliding_window=model.sliding_window,
        state_groups=_cdiv(linear, size) if linear else 0,
        state_pages=2 if prefix_caching else 1,
        batched_tokens=batched_tokens,
        sliding_block_size=page // sliding_per_token if sliding_per_token != per_token else 0,
    )
