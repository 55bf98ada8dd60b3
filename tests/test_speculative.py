"""The checkpoint's own multi-token-prediction (MTP) head drafting tokens (speculative_tokens, issue 40): off by
default; on, its weights and the KV cache of its layer are planned, vLLM is told to draft with it, and a model or
engine that cannot is refused naming the setting and what works."""

from __future__ import annotations

import json

import pytest

from reasoning_stack.catalogue import GIB, MODELS, weights_gib
from reasoning_stack.cuda import kv_bytes_per_token_per_gpu
from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.models.spec import with_draft_head
from reasoning_stack.plan import PlanRequest, make_plan
from reasoning_stack.settings import StackSettings


def _plan(model: str, gpu: str = "rtx-pro-6000", count: int = 1, tokens: int = 0, **kw):
    return make_plan(PlanRequest(gpus=tuple(gpus_from_profile(gpu, count)), model=model, speculative_tokens=tokens,
                                 **kw))


def test_off_by_default_and_nothing_changes():
    plan = _plan("qwen3.6-27b")
    assert plan.fits and "--speculative-config" not in plan.output.args


def test_the_head_s_weights_and_kv_layer_are_planned_and_vllm_drafts_with_it():
    """Qwen3.6-27B's MTP module (0.39B parameters, one full-attention layer): 0.73 GiB more weights at 16 bits and
    one more attention layer's KV a token (17 where the model has 16), so fewer tokens fit."""
    off, on = _plan("qwen3.6-27b"), _plan("qwen3.6-27b", tokens=3)
    model = MODELS["qwen3.6-27b"]
    assert model.mtp_layers == 1 and model.mtp_params_b == pytest.approx(0.393, abs=0.001)
    assert on.weights_gib_per_gpu - off.weights_gib_per_gpu == pytest.approx(model.mtp_params_b * 2e9 / GIB, rel=0.02)
    drafted = with_draft_head(model, 3)
    assert drafted.full_layers == model.full_layers + 1
    assert kv_bytes_per_token_per_gpu(drafted, 1, 1, "auto") * 16 == kv_bytes_per_token_per_gpu(model, 1, 1,
                                                                                              "auto") * 17
    assert on.kv_cache_tokens < off.kv_cache_tokens
    args = on.output.args
    assert json.loads(args[args.index("--speculative-config") + 1]) == {"method": "mtp", "num_speculative_tokens": 3}
    assert "MTP head drafting 3" in on.reason


def test_glm51_draft_layer_is_a_whole_moe_layer():
    """GLM-5.1's MTP module is a full MoE layer with its indexer: 9.9B parameters (the 754B its card counts with
    it), 1.2 GiB a GPU at FP8 over eight H200s."""
    off, on = _plan("glm-5.1", "h200", 8), _plan("glm-5.1", "h200", 8, tokens=1)
    assert MODELS["glm-5.1"].params_b + MODELS["glm-5.1"].mtp_params_b == pytest.approx(754, rel=0.01)
    assert on.fits and on.weights_gib_per_gpu - off.weights_gib_per_gpu == pytest.approx(1.16, abs=0.05)


def test_a_model_without_a_head_is_refused_with_those_that_have_one():
    plan = _plan("gemma-4-26b-a4b", tokens=1)
    assert not plan.fits and "speculative_tokens 1" in plan.reason and "no multi-token-prediction" in plan.reason
    assert "qwen3.6-27b" in plan.reason and "speculative_tokens = 0" in plan.reason


def test_gemma4_31b_drafts_with_its_published_drafter_whose_weights_alone_are_planned():
    """Gemma 4's drafters are repos of their own (google/gemma-4-31B-it-assistant: 469,518,596 parameters) whose
    layers all read the model's KV cache: 0.87 GiB more weights in every format, not one more byte of KV a token;
    vLLM is given the repo (it reads a gemma4_assistant config as its gemma4_mtp drafter) and the plan names it for
    the deploy to download."""
    model = MODELS["gemma-4-31b"]
    drafting = with_draft_head(model, 2)
    assert drafting.kv_bytes_per_token() == model.kv_bytes_per_token() and drafting.layers == model.layers
    for fmt in model.repos:
        assert weights_gib(drafting, fmt) - weights_gib(model, fmt) == pytest.approx(0.4695 * 2e9 / GIB, rel=1e-6)
    off, on = _plan("gemma-4-31b"), _plan("gemma-4-31b", tokens=2)
    assert on.fits and on.weights_gib_per_gpu - off.weights_gib_per_gpu == pytest.approx(0.87, abs=0.01)
    args = on.output.args
    assert json.loads(args[args.index("--speculative-config") + 1]) == {
        "model": "google/gemma-4-31B-it-assistant", "num_speculative_tokens": 2}
    assert on.output.repos_beside() == ["google/gemma-4-31B-it-assistant"] and off.output.repos_beside() == []
    assert on.to_json()["vllm_draft_repo"] == "google/gemma-4-31B-it-assistant"
    assert "its drafter google/gemma-4-31B-it-assistant drafting 2 token(s)" in on.reason


def test_a_drafter_without_a_size_on_record_is_refused_naming_it():
    plan = _plan("gemma-4-26b-a4b", tokens=2)
    assert not plan.fits and "google/gemma-4-26B-A4B-it-assistant is not on record" in plan.reason, plan.reason
    assert "gemma-4-31b" in plan.reason


def test_minimax_m2_modules_are_refused_as_vllm_has_no_drafter_for_them():
    """MiniMax-M2.5's config ships three MTP modules (use_mtp, num_mtp_modules); vLLM 0.32/0.34 has an MTP class
    for MiniMax-M3 only, so the refusal says so rather than that there is no head."""
    plan = _plan("minimax-m2.5", "h100", 8, tokens=2)
    assert not plan.fits, plan.reason
    assert "ships 3 multi-token-prediction (MTP) modules, which vLLM has no drafter for" in plan.reason
    assert MODELS["minimax-m2.5"].mtp_layers == 0 and MODELS["minimax-m2.5"].mtp_unserved == 3


def test_deepseek_v4_drafts_with_its_mtp_layer_as_one_more_windowed_layer():
    """V4's MTP module is an attention layer of ratio 0 (its config's last compress_ratios entry): one more window
    in the KV cache, no compressed entries, and its parameters in the weights."""
    model = MODELS["deepseek-v4-flash"]
    drafting = with_draft_head(model, 1)
    assert drafting.compressed.ratios == (*model.compressed.ratios, 0)
    assert drafting.kv_bytes_per_token() == model.kv_bytes_per_token()
    plan = _plan("deepseek-v4-flash", "h200", 8, tokens=2)
    assert plan.fits and plan.weights_gib_per_gpu > _plan("deepseek-v4-flash", "h200", 8).weights_gib_per_gpu


def test_auto_picks_only_among_models_that_draft():
    plan = _plan("auto", tokens=2)
    assert plan.fits and MODELS[plan.model].drafts


def test_an_engine_that_does_not_draft_is_refused_before_any_host_is_touched():
    with pytest.raises(ValueError, match="speculative_tokens 2: SGLang .* does not draft"):
        StackSettings(engine="sglang", speculative_tokens=2)
    with pytest.raises(ValueError):
        StackSettings(speculative_tokens=9)  # at most 8
    assert StackSettings(speculative_tokens=2).speculative_tokens == 2


def test_extra_models_do_not_inherit_the_primary_s_drafting():
    from reasoning_stack.instances import plan_host

    settings = StackSettings(model="qwen3.6-27b", speculative_tokens=2, extra_models=[
        {"name": "fast", "model": "gemma-4-26b-a4b", "port": 8001}])
    host = plan_host(settings, gpus_from_profile("rtx-pro-6000", 2))
    assert host.fits, host.reason
    primary, extra = (i.plan.output.args for i in host.instances)
    assert "--speculative-config" in primary and "--speculative-config" not in extra
