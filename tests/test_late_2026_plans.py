"""The late-2026 presets planned as a new operator meets them (issue 40): on the hardware their users have, each
gives a plan or a refusal with a way out, and Gemma 4's thinking, off in its chat template, is on by default."""

from __future__ import annotations

import json

import pytest

from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.plan import PlanRequest, make_plan

LATE_2026 = ("qwen3.6-35b-a3b", "qwen3.6-27b", "qwen3.8-27b", "gemma-4-26b-a4b", "gemma-4-31b", "gemma-4-e4b",
             "gemma-4-e2b", "nemotron-3-nano-30b-a3b", "glm-4.7-flash", "minimax-m2.5", "nemotron-3-super-120b-a12b")
HARDWARE = (("rtx-5090", 1), ("rtx-4090", 1), ("rtx-4090", 2), ("rtx-pro-6000", 1), ("gb10", 1), ("h100", 1),
            ("h200", 1))


@pytest.mark.parametrize("slug", LATE_2026)
@pytest.mark.parametrize(("gpu", "count"), HARDWARE)
def test_each_plans_or_is_refused_with_a_way_out(slug: str, gpu: str, count: int):
    plan = make_plan(PlanRequest(gpus=tuple(gpus_from_profile(gpu, count)), model=slug))
    if plan.fits:
        assert plan.max_model_len >= 16384 and plan.output.args[0] in plan.model_repo
    else:
        assert plan.suggestions, plan.reason
        assert "nvfp4" not in plan.reason or not gpu.startswith("rtx-40"), plan.reason  # no Blackwell format on Ada


def test_gemma4_fits_the_cards_its_users_have():
    """One RTX 5090 serves the 26B-A4B (fp8 or NVFP4); the 31B needs a 96 GB card or two 5090s."""
    assert make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-5090", 1)), model="gemma-4-26b-a4b")).fits
    assert make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-pro-6000", 1)), model="gemma-4-31b")).fits
    assert make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-5090", 2)), model="gemma-4-31b")).fits


def _kwargs(args: list[str]) -> dict | None:
    flag = "--default-chat-template-kwargs"
    return json.loads(args[args.index(flag) + 1]) if flag in args else None


@pytest.mark.parametrize("engine", ["vllm"])
def test_gemma4_thinks_by_default_though_its_template_does_not(engine: str):
    gpus = tuple(gpus_from_profile("rtx-pro-6000", 1))
    thinking = make_plan(PlanRequest(gpus=gpus, model="gemma-4-26b-a4b", engine=engine))
    assert _kwargs(thinking.output.args) == {"enable_thinking": True}
    assert thinking.output.args[thinking.output.args.index("--reasoning-parser") + 1] == "gemma4"
    quiet = make_plan(PlanRequest(gpus=gpus, model="gemma-4-26b-a4b", engine=engine, thinking_default=False))
    assert _kwargs(quiet.output.args) is None  # the template's own default: no thinking
    qwen = make_plan(PlanRequest(gpus=gpus, model="qwen3.6-27b", engine=engine))
    assert _kwargs(qwen.output.args) is None  # Qwen's template thinks unless told not to


def test_nemotron3_nano_fits_one_5090_and_a_spark():
    for gpu in ("rtx-5090", "gb10"):
        plan = make_plan(PlanRequest(gpus=tuple(gpus_from_profile(gpu, 1)), model="nemotron-3-nano-30b-a3b"))
        assert plan.fits and plan.max_model_len == 262144, gpu
        assert plan.output.args[plan.output.args.index("--reasoning-parser") + 1] == "nemotron_v3"


def test_nemotron3_super_counts_its_latent_experts_and_fits_where_nvidia_says():
    """Its card: 120B parameters, 12B active (LatentMoE: 512 experts in a 1024-wide latent, top-22). Two H100s at
    FP8 and one RTX PRO 6000 at NVFP4 serve it (the recipe's "2x H100 / RTX PRO 6000"); two 5090s do not, and the
    refusal names four."""
    from reasoning_stack.models import resolve

    spec = resolve("nemotron-3-super-120b-a12b")
    assert 119.5 < spec.params_b < 121.5 and 12 <= spec.active_params_b < 13, (spec.params_b, spec.active_params_b)
    assert (spec.linear_layers, spec.mlp_only_layers, spec.full_layers) == (40, 40, 8)
    two_h100 = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("h100", 2)), model="nemotron-3-super-120b-a12b"))
    assert two_h100.fits and two_h100.quantization == "fp8" and two_h100.max_model_len == 262144
    pro = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-pro-6000", 1)), model="nemotron-3-super-120b-a12b"))
    assert pro.fits and pro.quantization == "nvfp4"
    assert pro.output.args[pro.output.args.index("--reasoning-parser") + 1] == "nemotron_v3"
    two_5090 = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-5090", 2)), model="nemotron-3-super-120b-a12b"))
    assert not two_5090.fits and any("4x NVIDIA GeForce RTX 5090 fit" in s for s in two_5090.suggestions)


def test_gemma4_needs_vllm_0_19_or_newer():
    plan = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("h100", 1)), model="gemma-4-26b-a4b",
                                 release="0.17.1"))
    assert not plan.fits and "0.19.0" in plan.reason and "vllm_version" in plan.reason


def test_a_sliding_window_model_is_shown_the_context_a_smaller_batch_buys():
    """Gemma 4 31B on a 96 GB card: each request's 50 sliding layers hold their window plus two batches in flight
    (vLLM 0.34), so 2048 batched tokens serve three times the context of the default batch."""
    from reasoning_stack.tradeoffs import alternatives

    req = PlanRequest(gpus=tuple(gpus_from_profile("rtx-pro-6000", 1)), model="gemma-4-31b")
    chosen = make_plan(req)
    batch = next(a for a in alternatives(req, chosen) if a["change"] == "max_num_batched_tokens 2048")
    assert batch["max_model_len"] >= 3 * chosen.max_model_len and "first token comes later" in batch["trade"]
    dense = PlanRequest(gpus=tuple(gpus_from_profile("rtx-pro-6000", 1)), model="qwen3.6-27b")
    assert not [a for a in alternatives(dense, make_plan(dense)) if "batched" in str(a["change"])]


def test_fewer_requests_at_once_are_shown_when_they_buy_much_more_context():
    """The planner keeps vLLM's default max_num_seqs (and its sampler peak) while the shortest useful context
    fits; the plan then shows what 64 requests at once would buy: Qwen3.5-35B-A3B on two A100 40GB, 30720 tokens
    at the default, the whole 262144 at 64."""
    from reasoning_stack.tradeoffs import alternatives

    req = PlanRequest(gpus=tuple(gpus_from_profile("a100-40", 2)), model="qwen3.5-35b-a3b")
    chosen = make_plan(req)
    assert chosen.max_num_seqs is None
    fewer = next(a for a in alternatives(req, chosen) if a["change"] == "max_num_seqs 64")
    assert fewer["max_model_len"] >= 2 * chosen.max_model_len and "64 requests decode at once" in fewer["trade"]


def test_another_engine_is_offered_at_its_own_default_share_of_the_gpu():
    """Ollama has no Gemma 4 tag; the vLLM plan it points to is the one `--engine vllm` makes (0.34 plans the whole
    GPU, where Ollama's request held 0.90), not a smaller one."""
    gpus = tuple(gpus_from_profile("rtx-5090", 1))
    refused = make_plan(PlanRequest(gpus=gpus, model="gemma-4-26b-a4b", engine="ollama"))
    direct = make_plan(PlanRequest(gpus=gpus, model="gemma-4-26b-a4b", engine="vllm"))
    assert not refused.fits and direct.fits
    assert f"fits it ({direct.quantization}, {direct.max_model_len} tokens)" in refused.suggestions[0]
    chosen = PlanRequest(gpus=gpus, model="gemma-4-26b-a4b", engine="ollama", gpu_memory_utilization=0.7)
    assert chosen.for_engine("vllm").gpu_memory_utilization == 0.7  # a share the operator chose carries over


def test_glm47_flash_caches_its_mla_latent_once_per_token():
    """GLM-4.7-Flash's 47 MLA layers cache 576 values a token (54,144 bytes at 16 bits, the same on every tensor
    parallel rank): a 96 GB card holds its whole 202,752-token context at 16-bit weights."""
    plan = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-pro-6000", 1)), model="glm-4.7-flash"))
    assert plan.fits and plan.max_model_len == 202752
    args = plan.output.args
    assert args[args.index("--reasoning-parser") + 1] == "glm45"
    assert args[args.index("--tool-call-parser") + 1] == "glm47"


def test_glm47_flash_needs_a_release_whose_transformers_reads_its_config():
    plan = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("h100", 1)), model="glm-4.7-flash", release="0.17.1"))
    assert not plan.fits and "0.24.0" in plan.reason and "vllm_version" in plan.reason


def test_minimax_m25_is_never_split_eight_ways():
    """MiniMax-M2.5's experts are 1536 wide in FP8 blocks of 128: eight ways leaves 192, not whole blocks (the
    recipe's "TP8 is not supported"); eight H100s run two replicas of four, and the repo's own config class is
    trusted, as its recipe does."""
    plan = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("h100", 8)), model="minimax-m2.5"))
    assert plan.fits and plan.tensor_parallel_size == 4, plan.reason
    args = plan.output.args
    assert "--trust-remote-code" in args
    assert args[args.index("--reasoning-parser") + 1] == "minimax_m2"
    one_box = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-pro-6000", 2)), model="minimax-m2.5"))
    assert one_box.fits and one_box.quantization == "nvfp4", one_box.reason


def test_kimi_k2_thinking_serves_its_whole_context_on_eight_h200s():
    plan = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("h200", 8)), model="kimi-k2-thinking"))
    assert plan.fits and plan.max_model_len == 262144 and plan.tensor_parallel_size == 8, plan.reason
    args = plan.output.args
    assert args[args.index("--reasoning-parser") + 1] == "kimi_k2" and "--trust-remote-code" in args
    assert not make_plan(PlanRequest(gpus=tuple(gpus_from_profile("h200", 4)), model="kimi-k2-thinking")).fits


def test_glm51_is_cached_at_fp8_where_vllm_itself_would():
    """vLLM 0.32/0.34 cache GLM-5's sparse MLA at fp8 on Blackwell when left to choose: the plan sizes that cache
    and says so on the command line; on H200s the 16-bit cache is the default and the whole context fits."""
    hopper = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("h200", 8)), model="glm-5.1"))
    assert hopper.fits and hopper.kv_cache_dtype == "auto" and hopper.max_model_len == 202752, hopper.reason
    blackwell = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("b200", 8)), model="glm-5.1"))
    assert blackwell.fits and blackwell.kv_cache_dtype == "fp8" and "what vLLM itself chooses" in blackwell.reason
    assert blackwell.output.args[blackwell.output.args.index("--kv-cache-dtype") + 1] == "fp8"
    older = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("h200", 8)), model="glm-5.1", release="0.17.1"))
    assert not older.fits and "0.24.0" in older.reason
