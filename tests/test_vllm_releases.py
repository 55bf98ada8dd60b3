"""vLLM releases as data (reasoning_stack/engines/vllm/releases.py), checked against each release's own `vllm serve`
parser and name registries (../shared/tools/vllm-argcheck, one environment per release that scripts/test builds):
the reasoning and tool-call parser names, the flags a release removed, and how it spells a boolean flag off."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from engine_parsers import VLLM_ARGCHECK_PYTHONS, vllm_argcheck

from reasoning_stack.engines.vllm import releases
from reasoning_stack.engines.vllm.flags import VLLM_VERSION
from reasoning_stack.engines.vllm.releases import DEFAULT_RELEASE, RELEASES, VllmRelease
from reasoning_stack.engines.vllm.settings import DEFAULT_IMAGE, DEFAULT_IMAGE_ARM64
from reasoning_stack.models.architectures import version_tuple
from reasoning_stack.validation import SettingsInvalid, validate_host_data

MODEL = "Qwen/Qwen3-8B"
# A value for each removed flag that takes one (the others are switches).
REMOVED_FLAG_VALUES = {"--swap-space": ["4"], "--max-num-partial-prefills": ["2"], "--max-long-partial-prefills": ["1"],
                       "--override-attention-dtype": ["bfloat16"]}


def accepted(version: str, arg_lists: list[list[str]], tmp_path: Path) -> list[bool]:
    """Whether the release's own parser accepts each argument list (one checker run for all of them)."""
    batch = tmp_path / f"batch-{version}.json"
    batch.write_text(json.dumps(arg_lists))
    out = subprocess.run([*vllm_argcheck(version), "--batch", str(batch)], capture_output=True, text=True,
                         timeout=600)
    verdicts = [line.startswith("ok") for line in out.stdout.splitlines() if line.startswith(("ok   ", "FAIL "))]
    assert len(verdicts) == len(arg_lists), out.stdout[-2000:] + out.stderr[-2000:]
    return verdicts


@pytest.mark.parametrize("version", list(RELEASES))
def test_each_releases_data_is_what_its_own_parser_and_registries_hold(version: str, tmp_path: Path):
    """Its reasoning and tool-call parser names, the flags it removed (refused) and its spelling of a switch off
    (accepted), in one run of its own checker."""
    release = RELEASES[version]
    every_reasoning = sorted(releases.REASONING_PARSERS_0_17_1 | {n for s in releases.REASONING_PARSERS_ADDED.values()
                                                                 for n in s})
    every_tool = sorted(releases.TOOL_PARSERS_0_17_1 | {n for s in releases.TOOL_PARSERS_ADDED.values() for n in s})
    removed = sorted({flag for flags in releases.FLAGS_REMOVED.values() for flag in flags})
    off = [release.off("--enable-prefix-caching"), release.off("--enable-chunked-prefill")]
    lists = ([[MODEL, "--reasoning-parser", name] for name in every_reasoning]
             + [[MODEL, "--enable-auto-tool-choice", "--tool-call-parser", name] for name in every_tool]
             + [[MODEL, flag, *REMOVED_FLAG_VALUES.get(flag, [])] for flag in removed] + [[MODEL, *off]])
    verdicts = iter(accepted(version, lists, tmp_path))
    assert {name for name in every_reasoning if next(verdicts)} == release.reasoning_parsers
    assert {name for name in every_tool if next(verdicts)} == release.tool_parsers
    assert {flag for flag in removed if not next(verdicts)} == release.removed_flags
    assert next(verdicts), f"vLLM {version} refuses {off}"


def test_the_suite_checks_every_release_the_stack_supports():
    assert set(VLLM_ARGCHECK_PYTHONS) == set(RELEASES)


def test_the_release_data_derives_what_each_release_changed():
    old, new, newest = RELEASES["0.17.1"], RELEASES["0.32.0"], RELEASES["0.34.0"]
    assert (len(old.reasoning_parsers), len(newest.reasoning_parsers)) == (18, 44)  # the reference's counts
    assert (len(old.tool_parsers), len(newest.tool_parsers)) == (32, 62)
    assert "gemma4" in new.reasoning_parsers and "gemma4" not in old.reasoning_parsers
    assert "minimax" in old.tool_parsers and "minimax" not in new.tool_parsers  # removed in 0.24
    assert old.removed_flags == frozenset() and "--swap-space" in new.removed_flags
    assert newest.off("--enable-prefix-caching") == "--disable-prefix-caching"
    assert old.off("--enable-prefix-caching") == "--no-enable-prefix-caching"
    # the images: 0.17.1's plain tag is CUDA 12.9, its DGX Spark build the -cu130 one; from 0.20 one multi-arch tag
    assert (old.image, old.image_arm64) == ("vllm/vllm-openai:v0.17.1", "vllm/vllm-openai:v0.17.1-cu130")
    assert (newest.image, newest.image_arm64) == ("vllm/vllm-openai:v0.34.0",) * 2
    assert (old.driver_branch, newest.driver_branch) == (525, 580)


@pytest.mark.parametrize("image, branch, problem", [
    ("vllm/vllm-openai:v0.17.1", 535, None),  # CUDA 12.9 on Debian 12's 535, through minor-version compatibility
    ("vllm/vllm-openai:v0.34.0", 580, None),
    ("vllm/vllm-openai:v0.34.0", 570, "vllm/vllm-openai:v0.34.0 is built on CUDA 13.0, which needs driver branch 580 "
     "or newer; use a driver of branch 580 or newer, or vllm_version '0.17.1' (vllm/vllm-openai:v0.17.1, CUDA 12.9)"),
    ("vllm/vllm-openai:v0.17.1-cu130", 570, "vllm/vllm-openai:v0.17.1-cu130 is built on CUDA 13.0, which needs"),
    ("registry.example/vllm@sha256:" + "a" * 64, 470, None),  # a digest: no release to read
])
def test_a_driver_too_old_for_a_releases_cuda_is_named_with_what_works(image: str, branch: int, problem: str | None):
    found = releases.driver_problem(image, branch)
    assert found == problem if problem is None else found is not None and found.startswith(problem)


def test_the_default_release_is_the_newest_of_the_data_and_its_images_are_the_defaults():
    pinned: VllmRelease = RELEASES[DEFAULT_RELEASE]
    assert DEFAULT_RELEASE == max(RELEASES, key=version_tuple) == "0.34.0"
    assert (pinned.image, pinned.image_arm64) == (DEFAULT_IMAGE, DEFAULT_IMAGE_ARM64) == (
        "vllm/vllm-openai:v0.34.0", "vllm/vllm-openai:v0.34.0")  # multi-arch from 0.2x: one tag for both
    assert RELEASES[VLLM_VERSION].version == "0.17.1"  # flags.py: the seed's release, still selectable



@pytest.mark.parametrize("data, key", [
    ({"nvidia_driver": "debian"}, "nvidia_driver"),  # the default release, 0.34.0
    ({"vllm_image": "vllm/vllm-openai:v0.34.0", "nvidia_driver_branch": 570}, "nvidia_driver_branch"),
])
def test_check_refuses_a_release_the_hosts_driver_cannot_run(data: dict, key: str):
    with pytest.raises(SettingsInvalid) as caught:
        validate_host_data("box", {"gpu_profile": "rtx-4090", **data})
    message = str(caught.value)
    assert f"host 'box': {key}: branch " in message, message
    assert "needs driver branch 580 or newer" in message
    assert "vllm_version '0.17.1' (vllm/vllm-openai:v0.17.1, CUDA 12.9)" in message
    assert validate_host_data("box", {"gpu_profile": "rtx-4090", "nvidia_driver": "debian",
                                      "vllm_version": "0.17.1"})  # 0.17.1 runs on 535, as the refusal says


BOX = {"gpu_profile": "rtx-4090", "gpu_count": 1, "model": "qwen3-8b"}


def test_the_setting_offers_exactly_the_releases_of_the_data():
    import typing

    from reasoning_stack.settings import StackSettings

    assert set(typing.get_args(StackSettings.model_fields["vllm_version"].annotation)) == set(RELEASES)


@pytest.mark.parametrize("version", list(RELEASES))
def test_the_images_follow_vllm_version(version: str):
    settings = validate_host_data("box", {**BOX, "vllm_version": version})
    assert (settings.vllm_image, settings.vllm_image_arm64) == (RELEASES[version].image, RELEASES[version].image_arm64)


def test_an_image_pinned_before_vllm_version_existed_names_its_release():
    settings = validate_host_data("box", {**BOX, "vllm_image": "vllm/vllm-openai:v0.32.0"})
    assert settings.vllm_version == "0.32.0" and settings.vllm_image_arm64 == "vllm/vllm-openai:v0.32.0"


@pytest.mark.parametrize("data, words", [
    ({"vllm_image": "vllm/vllm-openai:v0.32.0", "vllm_version": "0.34.0"},
     "vllm_image: vllm/vllm-openai:v0.32.0 is vLLM 0.32.0 but vllm_version is 0.34.0: set vllm_version = '0.32.0'"),
    ({"vllm_image": "mirror.example:5000/vllm/vllm-openai:v0.33.0"},
     "is vLLM 0.33.0, a release the stack does not plan for"),
    ({"vllm_version": "0.33.0"}, "vllm_version: got '0.33.0'; Input should be '0.17.1', '0.32.0' or '0.34.0'"),
    ({"vllm_version": "0.34.0", "vllm_extra_args": ["--swap-space", "4"]},
     "'--swap-space' is not a flag of `vllm serve` in vLLM 0.34.0 (vllm_version); vLLM 0.17.1 has it"),
    ({"vllm_version": "0.17.1", "vllm_extra_args": ["--enable-extensible-kv-cache"]}, "vLLM 0.34.0 has it"),
    ({"vllm_version": "0.34.0", "cluster": "c", "cluster_role": "head", "cluster_backend": "ray",
      "cluster_interface": "eth0"}, "cluster_backend: 'ray' needs Ray inside the vLLM image; vLLM 0.34.0"),
])
def test_a_release_mismatch_is_refused_naming_what_works(data: dict, words: str):
    with pytest.raises(SettingsInvalid) as caught:
        validate_host_data("box", {**BOX, **data})
    assert words in str(caught.value), str(caught.value)


def test_a_mirror_digest_runs_the_release_vllm_version_names():
    digest = "mirror.example:5000/vllm/vllm-openai@sha256:" + "a" * 64
    settings = validate_host_data("box", {**BOX, "vllm_version": "0.34.0", "vllm_image": digest})
    assert settings.vllm_image == digest and settings.vllm_image_arm64 == RELEASES["0.34.0"].image


def test_plan_says_the_release_it_planned_for():
    import io
    from contextlib import redirect_stdout

    from reasoning_stack.cli import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["plan", "--gpu", "h100", "--model", "qwen3-8b", "--vllm-version", "0.34.0"]) == 0
    text = out.getvalue()
    assert "vLLM 0.34.0:" in text and "extensible KV cache" in text and "--gpu-memory-utilization" not in text
    out = io.StringIO()
    with redirect_stdout(out):
        main(["plan", "--gpu", "h100", "--model", "qwen3-8b", "--vllm-version", "0.32.0", "--json"])
    plan = json.loads(out.getvalue())
    assert plan["vllm_version"] == "0.32.0" and plan["gpu_memory_utilization"] == 0.92


@pytest.mark.parametrize("image, planned", [("vllm/vllm-openai:v0.17.2", "0.17.1"),
                                            ("vllm/vllm-openai:v0.34.1", "0.34.0"),
                                            ("vllm/vllm-openai:v0.17.1-rebuild", "0.17.1")])
def test_a_patch_release_or_a_rebuild_is_planned_as_its_release(image: str, planned: str):
    settings = validate_host_data("box", {**BOX, "vllm_image": image})
    assert settings.vllm_version == planned and settings.vllm_image == image


@pytest.mark.parametrize("profile, caps", [("gb10", {"0.17.1": 1024, "0.32.0": 1024, "0.34.0": 256}),
                                           ("b200", {"0.17.1": 1024, "0.32.0": 1024, "0.34.0": 1024}),
                                           ("rtx-4090", {"0.17.1": 256, "0.32.0": 256, "0.34.0": 256})])
def test_the_layout_search_counts_requests_at_once_by_the_releases_own_batch_defaults(profile: str, caps: dict):
    """The search weighs layouts by the requests each serves at once, capped by max_num_seqs: each release's own
    default (0.33+ keeps a GB10 on the small tier of 256), and the operator's when set."""
    from reasoning_stack import engines
    from reasoning_stack.gpus import gpus_from_profile
    from reasoning_stack.planning import gpu_search
    from reasoning_stack.planning.types import PlanRequest

    vllm = engines.get("vllm")
    gpu = gpus_from_profile(profile, 1)[0]
    for version, cap in caps.items():
        req = PlanRequest(gpus=(gpu,), model="qwen3-8b", release=version)
        assert vllm.default_max_seqs(gpu, req) == cap, version
    assert engines.get("sglang").default_max_seqs(gpu, PlanRequest(gpus=(gpu,), model="qwen3-8b")) == caps["0.17.1"]
    mine = PlanRequest(gpus=(gpu,), model="qwen3-8b", release="0.34.0", extra_args=("--max-num-seqs", "48"))
    assert gpu_search._seq_cap(vllm, mine, gpu, None) == 48


def test_sampling_overrides_are_the_keys_the_chosen_release_honours():
    """--override-generation-config honours presence_penalty and frequency_penalty from 0.32 (read from each
    release's wheel); on 0.17.1 they would be ignored silently, so they are refused naming the release that takes
    them; the default renders them."""
    from reasoning_stack.gpus import gpus_from_profile
    from reasoning_stack.instances import plan_host

    wanted = {"temperature": 0.6, "presence_penalty": 1.5}
    settings = validate_host_data("box", {**BOX, "sampling_overrides": wanted})
    args = plan_host(settings, gpus_from_profile("rtx-4090", 1)).instances[0].plan.output.args
    assert json.loads(args[args.index("--override-generation-config") + 1]) == wanted
    with pytest.raises(SettingsInvalid) as caught:
        validate_host_data("box", {**BOX, "sampling_overrides": wanted, "vllm_version": "0.17.1"})
    assert ("sampling_overrides: 'presence_penalty' is not honoured by vLLM 0.17.1 (vllm_version; it takes "
            "repetition_penalty, temperature, top_k, top_p, min_p, max_new_tokens); vLLM 0.32.0 honours it") in str(
        caught.value)
    with pytest.raises(SettingsInvalid, match="presence_penalty 3.0 is out of range: must be -2 to 2"):
        validate_host_data("box", {**BOX, "sampling_overrides": {"presence_penalty": 3.0}})
    for version, release in RELEASES.items():  # every key a release honours is accepted for it
        validate_host_data("box", {**BOX, "vllm_version": version,
                                   "sampling_overrides": {key: 1 for key in release.sampling_keys}})
