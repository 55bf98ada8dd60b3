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

DeepSeek V4 (``CompressedAttention``) is cached another way from vLLM 0.32 on (:func:`packed_pool`, read from 0.34's
``kv_cache_planning._get_packed_kv_cache_groups``): its layers' caches have different page sizes, so vLLM packs
them block by block. Caches of one kind (same block size and window) form a bucket; a bucket holding pages of
several sizes in equal numbers repeats a pattern, and the buckets that do are cut into groups of the same number of
repeats (the one that pads least, at least the largest such bucket's); every block is as wide as the widest group,
and a request holds, in each group, the blocks its kind needs: ``cdiv(context, 256)`` for the compressed entries
and indexer keys, ``cdiv(min(window - 1 + in-flight tokens, context), block) + 1`` for the 128-token window (blocks
of 64) and the compressors' states (blocks of 4 and 8, windows of 8 and 128). Every page is rounded up to 576
bytes (fp8_ds_mla's alignment). The compressors' states grow with the in-flight tokens, not the context, so a short
context costs a V4 request far more per token than a long one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from reasoning_stack.catalogue import ModelSpec
from reasoning_stack.models.spec import FP8_DS_V4_BYTES, INDEXER_V4_BYTES, CompressedAttention

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

    def words(self) -> str:
        """What plan says of the pool beyond its size: nothing for these kinds."""
        return ""


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
            prefix_caching: bool = True, block_size: int = BLOCK) -> KvPool | PackedKvPool:
    """The pool vLLM builds for ``model`` split ``tp`` x ``pp`` ways (each stage holds 1/pp of every kind), in blocks
    of ``block_size`` tokens (the release's default; a hybrid model's block grows to hold its state, and the kind
    with fewer bytes a token gets the larger block); ``batched_tokens`` is what a sliding group holds beyond its
    window (``in_flight_tokens`` of the release); DeepSeek V4's caches are packed (:func:`packed_pool`)."""
    if model.compressed:
        return packed_pool(model.compressed, pp, batched_tokens)
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


# DeepSeek V4 (vLLM 0.32 and 0.34, fp8_ds_mla): page alignment, block sizes and state widths of each cache
V4_ALIGN = 576  # every page rounded up to it (fp8_ds_mla's packed alignment)
V4_BLOCK = 256  # the compressed entries' block ("Setting kv cache block size to 256 for DEEPSEEK_SPARSE_SWA")
V4_WINDOW_BLOCK = 64  # DeepseekV4SWACache's block
FP32 = 4


@dataclass(frozen=True)
class _Cache:
    """One layer's cache of one kind: its bucket (block size, window: None for whole-context caches), its page."""

    block: int
    window: int | None
    page: int


@dataclass(frozen=True)
class PackedGroup:
    """One of vLLM's KV-cache groups for a packed model: its kind and its page (the layers it packs)."""

    block: int
    window: int | None
    page: int


@dataclass(frozen=True)
class PackedKvPool:
    """The KV-cache pool vLLM packs for DeepSeek V4 on one GPU: every block is ``block_bytes`` wide and a request
    holds, in each group, the blocks of that group's kind (see the module docstring)."""

    groups: tuple[PackedGroup, ...]
    in_flight: int  # tokens scheduled but not settled, which the windowed caches hold beyond their window
    block_size: int = V4_BLOCK

    @property
    def block_bytes(self) -> int:
        return max(g.page for g in self.groups)

    def blocks(self, available_bytes: float) -> int:
        return max(0, int(available_bytes // self.block_bytes))

    def _group_blocks(self, group: PackedGroup, context: int) -> int:
        if group.window is None:
            return _cdiv(context, group.block)
        return _cdiv(min(group.window - 1 + self.in_flight, context), group.block) + 1

    def request_blocks(self, context: int) -> int:
        return sum(self._group_blocks(g, context) for g in self.groups)

    def longest_request(self, blocks: int) -> int:
        if self.request_blocks(self.block_size) > blocks:
            return 0
        low, high = 1, 1
        while self.request_blocks(high * self.block_size) <= blocks and high < 2**24:
            low, high = high, high * 2
        while high - low > 1:  # the largest multiple of the block that fits
            mid = (low + high) // 2
            low, high = (mid, high) if self.request_blocks(mid * self.block_size) <= blocks else (low, mid)
        return low * self.block_size

    def concurrency(self, blocks: int, context: int) -> float:
        return blocks / self.request_blocks(context) if context > 0 else 0.0

    def words(self) -> str:
        """What plan says of the packing: the bytes a request holds whatever its length, and a token beyond."""
        windowed = sum(self._group_blocks(g, 2**40) for g in self.groups if g.window is not None)
        per_token = sum(1 for g in self.groups if g.window is None) * self.block_bytes / self.block_size
        return (f"DeepSeek V4's caches packed in {len(self.groups)} groups as vLLM packs them (counted from its "
                f"planner's code; its own start-up log is the last word): each request holds "
                f"{windowed * self.block_bytes / 2**20:,.0f} MiB whatever its length (its 128-token windows and "
                f"compressors' states, for {self.in_flight:,} tokens in flight) and {per_token:,.0f} bytes a token "
                "of context")


def _aligned(size: int) -> int:
    return _cdiv(size, V4_ALIGN) * V4_ALIGN


def _v4_caches(attention: CompressedAttention) -> list[_Cache]:
    """Every cache vLLM gives the layers (``get_kv_cache_spec`` of DeepseekV4SWACache, the compressed attention,
    the compressors' CompressorStateCache and the indexer's DeepseekV4IndexerCache)."""
    caches = []
    state = {4: 2 * 2 * attention.head_dim, 128: 2 * attention.head_dim}  # kv and score, two windows overlapping at 4
    for ratio in attention.ratios:
        caches.append(_Cache(V4_WINDOW_BLOCK, attention.window, _aligned(V4_WINDOW_BLOCK * FP8_DS_V4_BYTES)))
        if ratio <= 1:
            continue
        caches.append(_Cache(V4_BLOCK, None, _aligned(V4_BLOCK // ratio * FP8_DS_V4_BYTES)))
        state_block = 4 if ratio == 4 else 8
        window = ratio * (2 if ratio == 4 else 1)
        caches.append(_Cache(state_block, window, _aligned(state_block * state[ratio] * FP32)))
        if ratio == 4:  # the lightning indexer: its compressed keys and its compressor's state
            caches.append(_Cache(V4_BLOCK, None, _aligned(V4_BLOCK // ratio * INDEXER_V4_BYTES)))
            caches.append(_Cache(state_block, window, _aligned(state_block * 2 * 2 * attention.index_head_dim * FP32)))
    return caches


def _least_padding(values: list[int], lower: int) -> int:
    """The number of repeats a group holds: the one from ``lower`` up that pads the buckets least, the larger on a
    tie (vLLM's ``_approximate_gcd``)."""
    best, best_pad = lower, None
    for d in range(lower, max([lower, *values]) + 1):
        pad = sum((d - x % d) % d for x in values)
        if best_pad is None or pad <= best_pad:
            best, best_pad = d, pad
    return best


def packed_pool(attention: CompressedAttention, pp: int, in_flight: int) -> PackedKvPool:
    """The groups vLLM packs DeepSeek V4's caches into on one GPU (the first of ``pp`` stages' layers; every cache
    is whole on each tensor-parallel rank)."""
    ratios = attention.ratios[:_cdiv(len(attention.ratios), pp)]
    buckets: dict[tuple[int, int | None], Counter[int]] = {}
    for cache in _v4_caches(replace(attention, ratios=ratios)):
        buckets.setdefault((cache.block, cache.window), Counter())[cache.page] += 1
    balanced = {key: len(set(pages.values())) == 1 for key, pages in buckets.items()}
    most = {key: max(pages.values()) for key, pages in buckets.items()}
    floor = max((most[k] for k, pages in buckets.items() if balanced[k] and len(pages) > 1), default=0)
    repeats = _least_padding([most[k] for k in buckets if balanced[k]], floor) if floor else None

    def splits(key: tuple[int, int | None]) -> int:
        return _cdiv(most[key], repeats) if balanced[key] and repeats else 1

    def widest(pages: Counter[int], n: int) -> int:
        return sum(_cdiv(count, n) * page for page, count in pages.items())

    def is_state(key: tuple[int, int | None]) -> bool:
        return repeats is None and key[1] is not None

    anchor = max(widest(pages, sum(pages.values()) if is_state(key) else splits(key))
                 for key, pages in buckets.items())
    groups = []
    for key, pages in buckets.items():
        n = splits(key)
        if is_state(key):
            n = max(n, _cdiv(sum(pages.values()), max(anchor // min(pages), 1)))
        groups += [PackedGroup(key[0], key[1], widest(pages, n))] * n
    return PackedKvPool(tuple(groups), in_flight)
