"""Models from their own files: presets by slug or repo id, any Hugging Face repo read through huggingface_hub from
a local Hub stand-in (``tests/standins/hub_standin.py``), the user cache when offline, folders, refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hub_standin import HubStandin
from pydantic import ValidationError

from reasoning_stack.catalogue import MODELS, RESOLVED, register
from reasoning_stack.engines.vllm.releases import RELEASES
from reasoning_stack.gpus import Gpu, gpus_from_profile
from reasoning_stack.models import ModelError, planned_name, resolve
from reasoning_stack.models.architectures import version_tuple
from reasoning_stack.models.config import ModelFiles, spec_from_files
from reasoning_stack.models.presets import PRESETS
from reasoning_stack.models.quantization import weights_format
from reasoning_stack.plan import PlanRequest, make_plan
from reasoning_stack.settings import StackSettings

ROOT = Path(__file__).resolve().parents[1]
QWEN_MOE = next(p for p in PRESETS if p["slug"] == "qwen3-30b-a3b-thinking-2507")
THINKER = "acme/Qwen3-MoE-Thinker"  # a repo the catalogue does not know, of a known architecture
THINKER_FILES = {
    "config.json": QWEN_MOE["config"],
    "generation_config.json": {"temperature": 0.6, "top_p": 0.95, "top_k": 20},
    "tokenizer_config.json": {"chat_template": "<|im_start|>assistant\n<think>\n"},
    "model-00001-of-00002.safetensors": 30_000_000_000,
    "model-00002-of-00002.safetensors": 31_070_000_000,
}


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubStandin]:
    standin = HubStandin({THINKER: THINKER_FILES, "acme/gated-thinker": THINKER_FILES,
                          "acme/mystery": {"config.json": {"architectures": ["MysteryForCausalLM"]}}},
                         gated={"acme/gated-thinker": "hf_reader"}).start()
    monkeypatch.setenv("HF_ENDPOINT", standin.url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    RESOLVED.clear()
    yield standin
    standin.stop()
    RESOLVED.clear()


def _plan(gpu: str, model: str, count: int = 1, **kw: object) -> object:
    name, quant = planned_name(model, str(kw.pop("quantization", "auto")))
    return make_plan(PlanRequest(gpus=tuple(gpus_from_profile(gpu, count)), model=name, quantization=quant, **kw))


def test_a_repo_is_read_from_the_hub_planned_and_kept_under_its_revision(hub: HubStandin, tmp_path: Path):
    spec = resolve(THINKER)
    assert spec.experts == 128 and spec.active_experts == 8 and spec.reasoning_parser == "qwen3"
    assert spec.checkpoint_bytes == {"bf16": 61_070_000_000}  # the safetensors' sizes the Hub lists
    assert spec.sampling == {"temperature": 0.6, "top_p": 0.95, "top_k": 20} and not spec.thinking_switch
    plan = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("h100")), model=THINKER))
    assert plan.fits and plan.output.args[0] == THINKER and "--reasoning-parser" in plan.output.args
    cached = tmp_path / "cache" / "reasoning-stack" / "models" / THINKER
    assert (cached / f"{HubStandin.sha(THINKER)}.json").is_file() and (cached / "main.json").is_file()


def test_offline_plans_from_the_cache_and_says_so(hub: HubStandin):
    resolve(THINKER)
    RESOLVED.clear()
    hub.stop()
    from reasoning_stack.models import resolve_notes

    spec = resolve(THINKER)
    assert spec.experts == 128
    assert "offline: planned from the cached files" in resolve_notes()[THINKER]
    with pytest.raises(ModelError, match="cannot be read .* no copy"):
        resolve("acme/never-seen")


def test_gated_repos_need_hf_token(hub: HubStandin, monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(ModelError, match="is gated: .*export HF_TOKEN"):
        resolve("acme/gated-thinker")
    monkeypatch.setenv("HF_TOKEN", "hf_reader")
    assert resolve("acme/gated-thinker").layers == 48


def test_unknown_repos_revisions_and_architectures_are_refused_naming_them(hub: HubStandin):
    with pytest.raises(ModelError, match="acme/nope: no such repo"):
        resolve("acme/nope")
    with pytest.raises(ModelError, match="no revision 'v9'"):
        resolve(THINKER, "v9")
    with pytest.raises(ModelError, match="architecture MysteryForCausalLM is not one the planner can size"):
        resolve("acme/mystery")


def test_a_pinned_revision_reaches_the_command_line(hub: HubStandin):
    sha = HubStandin.sha(THINKER)
    spec = resolve(THINKER, sha)
    plan = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("h100")), model=spec.slug))
    assert plan.fits and plan.output.args[plan.output.args.index("--revision") + 1] == sha


def test_settings_refuse_a_repo_that_cannot_be_read_naming_the_key(hub: HubStandin):
    with pytest.raises(ValidationError, match="model: model acme/nope: no such repo"):
        StackSettings(gpu_profile="h100", model="acme/nope")
    settings = StackSettings(gpu_profile="h100", model=THINKER)
    assert settings.model_name() == THINKER
    with pytest.raises(ValidationError, match="model_revision .* pins a Hugging Face repo model"):
        StackSettings(gpu_profile="h100", model="qwq-32b", model_revision="main")


def test_a_folder_model_plans_from_its_files(tmp_path: Path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(QWEN_MOE["config"]))
    (folder / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ enable_thinking }}"}))
    with open(folder / "model.safetensors", "wb") as weights:
        weights.truncate(31_000_000_000)  # sparse: the size is what counts
    spec = resolve(str(folder))
    assert spec.thinking_switch and spec.checkpoint_bytes == {"bf16": 31_000_000_000}
    plan = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("h100")), model=spec.slug))
    assert plan.fits and plan.output.args[0] == str(folder)
    with pytest.raises(ModelError, match="no such folder on this machine; .* must be at that path on both"):
        resolve(str(tmp_path / "missing-dir"))
    (tmp_path / "empty-dir").mkdir()
    with pytest.raises(ModelError, match="no config.json in that folder"):
        resolve(str(tmp_path / "empty-dir"))


def _folder_model(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(QWEN_MOE["config"]))
    with open(folder / "model.safetensors", "wb") as weights:
        weights.truncate(31_000_000_000)
    return folder


def test_a_folder_model_is_served_under_the_folder_s_name(tmp_path: Path):
    """Its path is where the engine reads it; clients, Open WebUI and the smoke test use the folder's name."""
    from reasoning_stack.instances import plan_host

    folder = _folder_model(tmp_path / "models" / "my-model")
    for engine in ("vllm", "sglang"):
        settings = StackSettings(gpu_profile="h100", model=str(folder), engine=engine)
        assert settings.served_model_names() == ["my-model"]
        instance = plan_host(settings, gpus_from_profile("h100")).instances[0]
        assert instance.served_model_name == "my-model"
        args = instance.plan.output.args if engine == "vllm" else instance.plan.command
        assert str(folder) in args and args[args.index("--served-model-name") + 1] == "my-model"
    printed = subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "plan", "--gpu", "h100", "--model",
                              str(folder)], capture_output=True, text=True, timeout=120)
    assert f"vllm serve {folder} --served-model-name my-model " in printed.stdout, printed.stdout + printed.stderr
    named = StackSettings(gpu_profile="h100", model=str(folder), served_model_name="team-model")
    assert plan_host(named, gpus_from_profile("h100")).instances[0].served_model_name == "team-model"
    other = _folder_model(tmp_path / "elsewhere" / "my-model")
    with pytest.raises(ValidationError, match="served model name 'my-model' is served by two instances"):
        StackSettings(gpu_profile="h100", gpu_count=2, model=str(folder),
                      extra_models=[{"name": "second", "model": str(other), "port": 8001}])


def test_a_folder_with_the_index_but_not_the_shards_takes_the_index_s_size(tmp_path: Path):
    folder = tmp_path / "index-only"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(QWEN_MOE["config"]))
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": 29_500_000_000},
                                                                     "weight_map": {}}))
    assert resolve(str(folder)).checkpoint_bytes == {"bf16": 29_500_000_000}


def test_a_preset_s_slug_and_repo_id_plan_the_same():
    by_slug = _plan("rtx-4090", "gpt-oss-20b")
    by_repo = _plan("rtx-4090", "openai/gpt-oss-20b")
    assert by_slug.fits and by_slug.to_json() == by_repo.to_json()
    fp8 = _plan("gb10", "Qwen/Qwen3-30B-A3B-FP8")  # a quantized repo's id fixes its format
    assert fp8.fits and fp8.quantization == "fp8" and fp8.model_repo == "Qwen/Qwen3-30B-A3B-FP8"
    base = _plan("rtx-4090", "Qwen/Qwen3-30B-A3B-Thinking-2507", count=2)  # the base repo: any format that fits
    assert base.fits and base.quantization == "fp8"


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p["slug"])
def test_presets_carry_their_sources_and_reasoning_behaviour(preset: dict):
    spec = MODELS[preset["slug"]]
    assert spec.strength_source and spec.source and spec.min_vllm
    serving = [r for r in RELEASES.values() if r.at_least(spec.min_vllm)]
    assert serving, "no supported vLLM release serves it"
    for release in serving:  # each release that serves the architecture knows its parsers
        assert spec.reasoning_parser in release.reasoning_parsers, release.version
        assert spec.tool_call_parser is None or spec.tool_call_parser in release.tool_parsers, release.version
    assert set(spec.repos) == set(preset["repos"])


def test_architecture_facts_come_from_the_config():
    oss = MODELS["gpt-oss-120b"]
    assert (oss.full_layers, oss.sliding_layers, oss.sliding_window) == (18, 18, 128)
    assert oss.attention_sinks and oss.reasoning_effort and oss.experts == 128 and oss.active_experts == 4
    assert oss.params_b == pytest.approx(117, rel=0.02) and oss.active_params_b == pytest.approx(5.1, rel=0.15)
    nxt = MODELS["qwen3-next-80b-a3b-thinking"]
    assert (nxt.full_layers, nxt.linear_layers) == (12, 36) and nxt.linear.state_dtype_bytes == 2
    assert MODELS["qwen3.5-35b-a3b"].linear.state_dtype_bytes == 4  # mamba_ssm_dtype float32
    assert MODELS["deepseek-r1-0528"].mla == (512, 64) and MODELS["deepseek-r1-0528"].params_b == pytest.approx(
        671, rel=0.01)
    assert MODELS["glm-4.5-air"].params_b == pytest.approx(106, rel=0.02)


@pytest.mark.parametrize("config, expected", [
    ({}, ("bf16", False)),
    ({"quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128]}}, ("fp8", True)),
    ({"quantization_config": {"quant_method": "mxfp4"}}, ("mxfp4", False)),
    ({"quantization_config": {"quant_method": "awq", "bits": 4}}, ("awq", False)),
    ({"quantization_config": {"quant_method": "compressed-tensors", "config_groups": {
        "group_0": {"weights": {"num_bits": 4, "type": "int"}}}}}, ("gptq", False)),
    ({"quantization_config": {"quant_method": "compressed-tensors", "config_groups": {
        "group_0": {"weights": {"num_bits": 8, "type": "float", "strategy": "block"}}}}}, ("fp8", True)),
    ({"quantization_config": {"quant_method": "modelopt", "quant_algo": "NVFP4"}}, ("nvfp4", False)),
])
def test_weights_format_from_quantization_config(config: dict, expected: tuple[str, bool]):
    assert weights_format(config) == expected


def test_unknown_layer_kinds_and_quantizations_are_refused():
    config = {**QWEN_MOE["config"], "layer_types": ["full_attention", "chunked_attention"] * 24}
    with pytest.raises(ModelError, match="chunked_attention"):
        spec_from_files(ModelFiles("acme/x", config))
    config = {**QWEN_MOE["config"], "quantization_config": {"quant_method": "bitsandbytes"}}
    with pytest.raises(ModelError, match="bitsandbytes"):
        spec_from_files(ModelFiles("acme/x", config))


def test_a_model_newer_than_the_chosen_vllm_is_refused_naming_the_release():
    register(replace(MODELS["gpt-oss-20b"], slug="acme/future", min_vllm="0.19.0"))
    plan = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("h100")), model="acme/future", release="0.17.1"))
    assert not plan.fits and "needs vLLM 0.19.0 or newer" in plan.reason and "vLLM 0.17.1 is planned" in plan.reason
    assert "set vllm_version = '0.32.0' (plan --vllm-version 0.32.0)" in plan.reason  # the first release serving it
    newer = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("h100")), model="acme/future", release="0.32.0"))
    assert newer.fits, newer.reason
    assert make_plan(PlanRequest(gpus=tuple(gpus_from_profile("h100")), model="acme/future")).fits  # the default
    RESOLVED.pop("acme/future")


def test_what_a_release_cannot_serve_is_never_offered_for_it(monkeypatch: pytest.MonkeyPatch):
    """On vLLM 0.17.1, Gemma 4's refusal names the release to set and offers only what 0.17.1 serves: no 'fp8 KV
    cache fits', 'more GPUs fit' or 'more memory fits' for a model the release cannot start; ``auto`` never
    picks such a model, however strong."""
    gpus = tuple(gpus_from_profile("rtx-5090"))
    refused = make_plan(PlanRequest(gpus=gpus, model="gemma-4-26b-a4b", release="0.17.1"))
    assert not refused.fits and "set vllm_version = '0.32.0'" in refused.reason
    assert refused.suggestions and all(tip.startswith("model ") for tip in refused.suggestions), refused.suggestions
    assert all(version_tuple(MODELS[tip.split()[1]].min_vllm) <= version_tuple("0.17.1")
               for tip in refused.suggestions)
    monkeypatch.setitem(MODELS, "acme-strongest", replace(MODELS["gpt-oss-20b"], slug="acme-strongest",
                                                          min_vllm="0.19.0", strength=999))
    assert make_plan(PlanRequest(gpus=gpus, model="auto")).model == "acme-strongest"
    old = make_plan(PlanRequest(gpus=gpus, model="auto", release="0.17.1"))
    assert old.fits and old.model == "gpt-oss-20b", old.model


def test_mxfp4_needs_ampere_or_newer():
    turing = Gpu(0, "NVIDIA GeForce RTX 2080 Ti", 11264, compute_cap="7.5")
    plan = make_plan(PlanRequest(gpus=(turing,), model="gpt-oss-20b"))
    assert not plan.fits and "mxfp4 weights need compute capability 8" in plan.reason
    assert "Marlin fallback" in _plan("rtx-3090", "gpt-oss-20b").reason
    assert "natively" in _plan("h100", "gpt-oss-20b").reason


def test_moe_fp8_blocks_limit_tensor_parallel():
    """Qwen3-30B-A3B-FP8's experts are 768 wide: TP 4 leaves 192, not whole 128-wide blocks (vLLM refuses)."""
    plan = _plan("rtx-4090", "Qwen/Qwen3-30B-A3B-FP8", count=4, tensor_parallel_size=4)
    assert not plan.fits and "expert MLP width 768" in plan.reason


def test_what_if_batch_flags_change_the_plan_and_the_command():
    base = _plan("rtx-4090", "gpt-oss-20b")
    fewer = _plan("rtx-4090", "gpt-oss-20b", max_num_seqs=32, max_num_batched_tokens=8192)
    assert fewer.max_num_seqs == 32 and "--max-num-batched-tokens" in fewer.output.args
    assert fewer.activation_gib_per_gpu < base.activation_gib_per_gpu  # fewer rows in the sampler pass


def test_auto_picks_today_s_strongest_model_that_fits():
    picks = {setup: _plan(gpu, "auto", count).model for setup, (gpu, count) in {
        "24 GB": ("rtx-4090", 1), "2x4090": ("rtx-4090", 2), "H100": ("h100", 1), "8xH100": ("h100", 8),
        "DGX Spark": ("gb10", 1)}.items()}
    assert picks == {"24 GB": "gpt-oss-20b", "2x4090": "gpt-oss-20b", "H100": "gpt-oss-120b",
                     "8xH100": "gpt-oss-120b", "DGX Spark": "gpt-oss-120b"}


def test_sglang_refuses_layer_kinds_it_does_not_plan():
    plan = _plan("h100", "gpt-oss-20b", engine="sglang")
    assert not plan.fits and "sliding-window layers" in plan.reason and "engine 'vllm'" in plan.reason
    assert _plan("h100", "qwen3-30b-a3b", engine="sglang").fits  # full-attention MoE: its memory rule holds


def test_ollama_and_mlx_serve_the_presets_from_their_own_libraries():
    ollama = _plan("rtx-4090", "gpt-oss-20b", engine="ollama")
    assert ollama.fits and ollama.model_repo == "gpt-oss:20b"
    mac = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("m4-max-64")), model="qwen3-30b-a3b", engine="mlx"))
    assert mac.fits and mac.model_repo.startswith("mlx-community/Qwen3-30B-A3B-")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "plan", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("args", [
    ("--gpu", "rtx-4090", "--model", "openai/gpt-oss-20b"),
    ("--gpu", "h100", "--model", "openai/gpt-oss-120b"),
    ("--gpu", "rtx-4090", "--count", "2", "--model", "Qwen/Qwen3-30B-A3B-Thinking-2507"),
    ("--gpu", "h200", "--count", "2", "--model", "Qwen/Qwen3-Next-80B-A3B-Thinking"),
    ("--gpu", "gb10", "--model", "Qwen/Qwen3-30B-A3B-FP8"),
], ids=lambda a: "-".join(a[1::2]))
def test_plan_gives_figures_a_command_line_and_a_reason(args: tuple[str, ...]):
    out = _cli(*args, "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    plan = json.loads(out.stdout)
    assert plan["fits"] and plan["reason"] and plan["layout_reason"]
    assert plan["kv_cache_blocks"] > 0 and plan["max_concurrent_full_context"] >= 1
    assert plan["command"][:2] == ["vllm", "serve"] and "--reasoning-parser" in plan["command"]


def test_plan_reads_a_repo_and_a_folder_and_refuses_cleanly(hub: HubStandin, tmp_path: Path):
    env = {"HF_ENDPOINT": hub.url, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = _cli("--gpu", "h100", "--model", THINKER, env=env)
    assert out.returncode == 0 and f"vllm serve {THINKER}" in out.stdout, out.stdout + out.stderr
    hub.stop()
    offline = _cli("--gpu", "h100", "--model", THINKER, env=env)
    assert offline.returncode == 0 and "offline: planned from the cached files" in offline.stderr
    bad = _cli("--gpu", "h100", "--model", "acme/none", env=env)
    assert bad.returncode == 2 and "acme/none" in bad.stderr and "Traceback" not in bad.stderr
    folder = tmp_path / "folder-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(QWEN_MOE["config"]))
    local = _cli("--gpu", "h100", "--model", str(folder), env=env)
    assert local.returncode == 0 and f"vllm serve {folder}" in local.stdout, local.stdout + local.stderr
