"""Known answers for the memory regimes of the vLLM releases after 0.17.1 (0.17.1's own are in test_known_answers.py).

From vLLM 0.20 a worker logs its whole account in one line ("Free memory on device (free/total GiB) on startup.
Desired GPU memory utilization is (util, requested GiB). Actual usage is ... Replace gpu_memory_utilization config
with `--kv-cache-memory=N` (X GiB) to fit into requested memory"). Each case below is such a line as published;
the planner's arithmetic for the release's regime (``memory.kv_gib_of``) must give the KV cache vLLM said fits the
requested memory, within the issue's 10%, and the regime before it must not (so the case tells the regimes apart
where the terms allow it). The models of these logs (Qwen3.6/3.8-27B) are not in the catalogue yet: the terms are
vLLM's own measurements, not the planner's estimates of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from reasoning_stack.engines.vllm.memory import (
    EXTENSIBLE_MARGIN_GIB,
    OUTSIDE_TORCH_GIB,
    gpu_budget,
    kv_gib_of,
)
from reasoning_stack.engines.vllm.releases import RELEASES
from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.models import MODELS


@dataclass(frozen=True)
class Logged:
    """One worker's published account."""

    source: str
    regime: str  # the regime of the release that printed it (by its wording and date)
    total: float
    requested: float
    weights: float  # "for weight" (0.20-0.26), or "for consumed memory (weights + non-torch)" (0.27+)
    activation: float  # "for peak activation"
    inside: float  # non-torch (0.20-0.26) + "for CUDAGraph memory"
    fits: float  # "(X GiB) to fit into requested memory"


CASES = [
    # vllm-project/vllm PR #48601 (2026-07-14, 0.25/0.26 line): Qwen3.6-27B-FP8, tensor parallel 4 on H100s.
    Logged("vllm-project/vllm#48601", "cudagraph-profiled", 79.11, 72.78, 7.39, 1.54, 0.6 + 2.04, 61.06),
    # noonghunna/club-3090 issue #1087 (2026-08-22, 0.27+ wording): Qwen3.8-27B FP8, tensor parallel 2 on RTX 5090s.
    Logged("noonghunna/club-3090#1087", "free-memory", 31.4, 28.88, 15.03, 1.59, 0.09, 12.03),
    # noonghunna/club-3090 pull request #1139 (2026-09-02): Qwen3.8-27B, tensor parallel 2 on RTX 3090s.
    Logged("noonghunna/club-3090#1139", "free-memory", 23.56, 21.67, 15.25, 1.66, 0.14, 4.48),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.source)
def test_regime_arithmetic_gives_the_logged_kv_cache(case: Logged):
    kv = kv_gib_of(case.regime, case.total, case.requested, case.weights, case.activation, case.inside)
    assert abs(kv - case.fits) / case.fits <= 0.10, (case.source, kv, case.fits)


def test_the_graph_pool_counts_inside_the_budget_from_0_20():
    """Under 0.17.1's regime the graph pool lived beside the budget: the H100 case then plans 2 GiB more KV than
    vLLM 0.2x found room for; counted inside, as 0.20+ does, it is within 0.3%."""
    case = CASES[0]
    outside = kv_gib_of("profiled", case.total, case.requested, case.weights, case.activation, 0.6)
    inside = kv_gib_of(case.regime, case.total, case.requested, case.weights, case.activation, case.inside)
    assert outside - case.fits > 2.0
    assert abs(inside - case.fits) / case.fits < 0.003


def test_extensible_cache_takes_the_whole_gpu_less_its_margin():
    """0.34 (extensible_kv_cache.py): with gpu_memory_utilization unset (1.0) the KV cache is what is free after
    warm-up less max(1 GiB, 3/4 of the transient peak), the peak itself and 0.5 GiB outside torch; an explicit
    share below 1 caps it at that share; two instances at half each leave each other room."""
    whole = kv_gib_of("extensible", 80.0, 80.0, 16.0, 2.0, 1.5)
    assert whole == pytest.approx(80.0 - 16.0 - 1.5 - max(EXTENSIBLE_MARGIN_GIB, 1.5) - OUTSIDE_TORCH_GIB - 2.0)
    capped = kv_gib_of("extensible", 80.0, 72.0, 16.0, 2.0, 1.5)
    assert capped == pytest.approx(72.0 - (16.0 + 1.5 - 0.5) - 2.0)
    half = kv_gib_of("extensible", 80.0, 40.0, 16.0, 2.0, 1.5, colocated=2)
    assert half < kv_gib_of("extensible", 80.0, 40.0, 16.0, 2.0, 1.5) + 1e-9 and half > 0


def test_each_release_plans_the_same_model_by_its_own_regime():
    """Qwen3-8B on one H100: 0.32 (0.92 of the GPU, context and graphs inside) keeps about what 0.17.1 keeps at 0.9
    with them beside it; 0.34 takes the whole GPU and keeps the most; each release's block size divides its pool."""
    gpu = gpus_from_profile("h100", 1)[0]
    model = MODELS["qwen3-8b"]
    budgets = {v: gpu_budget(model, "bf16", gpu, 1, 1, RELEASES[v].default_utilization or 1.0, "auto", False,
                             release=v) for v in RELEASES}
    assert budgets["0.34.0"].kv_gib > budgets["0.32.0"].kv_gib > budgets["0.17.1"].kv_gib - 1.0
    assert budgets["0.17.1"].headroom_needed > 0 and budgets["0.32.0"].headroom_needed == 0
    assert budgets["0.34.0"].pool.block_size == 64 and budgets["0.17.1"].pool.block_size == 16
    # 0.29+ holds one block back (the null block)
    assert budgets["0.34.0"].blocks == budgets["0.34.0"].pool.blocks(budgets["0.34.0"].kv_gib * 2**30) - 1
