"""Gemma 4 E2B and E4B (issue 40): their last layers read the KV of an earlier layer and keep none of their own
(``num_kv_shared_layers``), and most of their weights are per-layer embeddings; planned from their config, checked
against the releases' own KV-cache planner and the checkpoints' published parameter totals.

Known answers:

- vLLM's own planner (0.32.0 and 0.34.0, ``tests/tools/vllm_gemma4_pool.py`` run with each release's argcheck
  Python): one spec for each layer that keeps a cache, built with the release's own classes (the layers it leaves out
  of ``get_kv_cache_spec`` for their ``kv_sharing_target_layer_name`` left out), grouped, unified, sized and divided
  among requests by its planner, under the layout the release picks for Gemma 4's attention backends. The 26B-A4B
  and 31B are in the same cases: the 26B-A4B's pool is also the one a published 0.20.2 log gave (its test in
  ``test_known_answers_late_2026.py``).
- GEMMA4_EDGE_SAFETENSORS: Hugging Face's parameter totals of google/gemma-4-E2B-it (5,123,178,051) and
  google/gemma-4-E4B-it (7,996,156,490), with their per-layer embedding tables (2.35B and 2.82B parameters), from
  the same public study as the 26B-A4B's and 31B's (public code index, file id 71355564543), which also reads their
  configs: 35 layers (28 sliding, 7 full) and 20 shared, E2B's shared layers with double-wide MLPs; 42 layers (35
  sliding, 7 full) and 18 shared.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_parsers import run_in_vllm

from reasoning_stack.catalogue import GIB, MODELS, weights_gib
from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.kv_pool import KvPool, kv_pool
from reasoning_stack.models import resolve
from reasoning_stack.models.presets import GEMMA4_SAMPLING, GEMMA4_THINK, shipped_config
from reasoning_stack.plan import PlanRequest, make_plan

POOL_TOOL = Path(__file__).parent / "tools" / "vllm_gemma4_pool.py"
GEMMA4 = ("gemma-4-e2b", "gemma-4-e4b", "gemma-4-26b-a4b", "gemma-4-31b")


def _own_cache_layers(slug: str, tp: int) -> list[list]:
    """[kind, KV heads on one rank, head size] for each layer that keeps a cache, read from the config itself."""
    c = shipped_config(slug)["text_config"]
    kept = c["layer_types"][:c["num_hidden_layers"] - c.get("num_kv_shared_layers", 0)]
    full_heads = c.get("num_global_key_value_heads") or c["num_key_value_heads"]
    return [[kind, max(1, (full_heads if kind == "full_attention" else c["num_key_value_heads"]) // tp),
             c["global_head_dim"] if kind == "full_attention" else c["head_dim"]] for kind in kept]


def _cases() -> list[tuple[str, int, bool, int, int, int]]:
    """(model, tensor parallel, fp8, context, in-flight tokens, available bytes)."""
    cases = []
    for slug in GEMMA4:
        for tp, fp8, context, in_flight, available in ((1, False, 32768, 8192, 2 * GIB),
                                                       (1, True, 131072, 16384, int(4.58 * GIB)),
                                                       (2, False, 131072, 65536, 20 * GIB),
                                                       (2, True, 65536, 32768, int(7.5 * GIB))):
            cases.append((slug, tp, fp8, min(context, MODELS[slug].native_context), in_flight, available))
    return cases


@pytest.mark.parametrize("version", ["0.32.0", "0.34.0"])
def test_the_pool_is_what_vllms_own_planner_builds(version: str, tmp_path: Path):
    cases = _cases()
    theirs = run_in_vllm(version, POOL_TOOL, [
        {"layers": _own_cache_layers(slug, tp), "window": MODELS[slug].sliding_window, "fp8": fp8, "context": context,
         "in_flight": in_flight, "available": available} for slug, tp, fp8, context, in_flight, available in cases],
        tmp_path)
    for (slug, tp, fp8, context, in_flight, available), vllm in zip(cases, theirs, strict=True):
        ours = kv_pool(MODELS[slug], tp, 1, "fp8" if fp8 else "auto", in_flight, block_size=16)
        assert isinstance(ours, KvPool)
        where = f"{slug} TP{tp} {'fp8' if fp8 else '16-bit'} {context} tokens, {in_flight} in flight"
        kinds = [kind for kind, _, _ in vllm["groups"]]
        assert (kinds.count("FullAttentionSpec"), kinds.count("SlidingWindowSpec")) == (
            ours.full_groups, ours.sliding_groups), where
        assert {size for _, _, size in vllm["groups"]} == {ours.group_size}, where
        blocks = ours.blocks(available)
        assert blocks == vllm["num_blocks"], where
        assert ours.concurrency(blocks, context) == pytest.approx(vllm["concurrency"], rel=1e-12), where


def test_shared_layers_keep_no_cache_of_their_own():
    """E4B: 24 of 42 layers keep a cache (20 sliding, 4 full); E2B: 15 of 35 (12 sliding, 3 full). A token of
    context costs the full layers' K and V only."""
    e4b, e2b = MODELS["gemma-4-e4b"], MODELS["gemma-4-e2b"]
    assert (e4b.layers, e4b.kv_shared_layers, e4b.sliding_layers, e4b.full_layers) == (42, 18, 20, 4)
    assert (e2b.layers, e2b.kv_shared_layers, e2b.sliding_layers, e2b.full_layers) == (35, 20, 12, 3)
    assert e4b.kv_bytes_per_token() == 4 * 2 * 2 * 512 * 2  # 16 KiB; 42 layers' worth would be 10x more
    assert e2b.kv_bytes_per_token() == 3 * 2 * 1 * 512 * 2


def test_parameters_match_their_safetensors():
    """Per-layer embeddings (2.35B and 2.82B), the shared layers' query and output projections only, E2B's
    double-wide MLPs in them, the vision and audio towers: within 1.5% of the published totals."""
    for slug, total, table in (("gemma-4-e2b", 5.123, 2.35), ("gemma-4-e4b", 7.996, 2.82)):
        model = MODELS[slug]
        assert model.params_b + model.vision_params_b == pytest.approx(total, rel=0.015), slug
        assert model.embed_params_b - model.vocab_size * model.hidden_size / 1e9 == pytest.approx(table, rel=0.01)
    assert weights_gib(MODELS["gemma-4-e4b"], "bf16") == pytest.approx(7.996 * 2e9 / GIB, rel=1e-3)


def test_e4b_fits_a_24gb_card_and_is_refused_with_the_way_out_on_16gb():
    plan = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-4090", 1)), model="gemma-4-e4b"))
    assert plan.fits and plan.max_model_len == 131072, plan.reason
    assert "--reasoning-parser gemma4" in " ".join(plan.command)
    small = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-4080", 1)), model="gemma-4-e4b"))
    assert not small.fits and "14.9 GiB" in small.reason, small.reason
    assert any("2x" in s for s in small.suggestions), small.suggestions
    e2b = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-4080", 1)), model="gemma-4-e2b"))
    assert e2b.fits and e2b.max_model_len == 131072, e2b.reason


def _folder(root: Path, slug: str) -> Path:
    folder = root / slug
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(shipped_config(slug)))
    (folder / "generation_config.json").write_text(json.dumps(GEMMA4_SAMPLING))
    (folder / "tokenizer_config.json").write_text(json.dumps({"chat_template": GEMMA4_THINK}))
    return folder


@pytest.mark.parametrize("slug", ["gemma-4-e2b", "gemma-4-e4b"])
def test_a_folder_of_their_config_plans_as_the_preset(slug: str, tmp_path: Path):
    folder, preset = resolve(str(_folder(tmp_path, slug))), MODELS[slug]
    assert weights_gib(folder, "bf16") == pytest.approx(preset.params_b * 2e9 / GIB + preset.vision_params_b * 2e9
                                                        / GIB, rel=1e-9)
    for field in ("layers", "kv_shared_layers", "sliding_layers", "kv_heads", "head_dim", "sliding_kv_heads",
                  "sliding_head_dim", "sliding_window", "native_context", "reasoning_parser", "tool_call_parser",
                  "thinking_switch", "sampling", "min_vllm", "params_b", "vision_params_b"):
        assert getattr(folder, field) == getattr(preset, field), field
    assert kv_pool(folder, 1, 1, "auto", 8192) == kv_pool(preset, 1, 1, "auto", 8192)


def test_sharing_with_no_earlier_layer_of_the_kind_is_refused(tmp_path: Path):
    config = shipped_config("gemma-4-e2b")
    odd = {**config, "text_config": {**config["text_config"], "num_kv_shared_layers": 31}}  # only 4 layers own
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(odd))
    with pytest.raises(ValueError, match="num_kv_shared_layers 31 of 35 layers leaves no earlier layer of kind "
                                         "full_attention"):
        resolve(str(folder))


def test_on_a_mac_mlx_lm_loads_the_text_model_and_caches_as_it_does():
    """MLX-LM 0.32.2's gemma4 drops the towers at load and gives each sliding layer a window's rotating cache and
    the shared layers none: a token of context costs E4B's four global layers' bf16 K and V (16 KiB). The
    mlx-community 4-bit repos weigh 3.6 and 5.1 GB with their towers; the text model's 4.5 bits a weight come to
    2.6 and 4.2 GB, the towers' 16-bit 0.9 GB the rest. Thinking is asked for, as Gemma's template does not."""
    mac = tuple(gpus_from_profile("m4-max-64", 1))
    plan = make_plan(PlanRequest(gpus=mac, model="gemma-4-e4b", engine="mlx", quantization="mlx-4bit"))
    assert plan.fits and plan.model_repo == "mlx-community/gemma-4-e4b-it-4bit", plan.reason
    assert plan.kv_bytes_per_token == 4 * 2 * 2 * 512 * 2
    for slug, published in (("gemma-4-e2b", 3.6), ("gemma-4-e4b", 5.1)):
        model = MODELS[slug]
        towers_gb = model.vision_params_b * 2
        assert model.params_b * 4.5 / 8 + towers_gb == pytest.approx(published, rel=0.05), slug
    args = plan.command
    assert json.loads(args[args.index("--chat-template-args") + 1]) == {"enable_thinking": True}
