"""The recipe's failure mode "</think> treated as a stop token ends the answer before it starts", for every
reasoning family the stack serves: a checkpoint whose end-of-sequence list holds its end-of-reasoning marker is
refused before any host is touched, with the fix; nothing the stack writes (Open WebUI's model entries, its task
model's parameters, the engine's sampling) carries a stop on that marker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.models import ModelError, resolve
from reasoning_stack.models.architectures import REASONING_END, architecture_of
from reasoning_stack.models.presets import PRESETS
from reasoning_stack.openwebui.entries import model_entries, task_config
from reasoning_stack.validation import validate_host_data

ROOT = Path(__file__).resolve().parents[1]
# one preset of each reasoning parser the presets use: each family's own config and template
FAMILIES = {}
for _preset in PRESETS:
    FAMILIES.setdefault(architecture_of(_preset["config"]).reasoning_parser, _preset)
MARKER_ID, EOS_ID = 200_001, 200_002  # beyond every vocabulary: only the ids' roles count


def _folder(root: Path, preset: dict, eos: object, with_generation_config: bool = True) -> Path:
    """A folder of ``preset``'s model whose tokenizer adds its end-of-reasoning marker, ending sequences at ``eos``."""
    folder = root / preset["slug"]
    folder.mkdir(parents=True)
    marker = REASONING_END[architecture_of(preset["config"]).reasoning_parser]
    config = {**preset["config"]}
    if with_generation_config:
        (folder / "generation_config.json").write_text(json.dumps({"eos_token_id": eos, "temperature": 0.6}))
    else:
        config["eos_token_id"] = eos
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "chat_template": preset["template"] or "<think>",
        "added_tokens_decoder": {str(MARKER_ID): {"content": marker, "special": False},
                                 str(EOS_ID): {"content": "<eos>", "special": True}}}))
    with open(folder / "model.safetensors", "wb") as weights:
        weights.truncate(1_000_000_000)
    return folder


@pytest.mark.parametrize("parser", sorted(FAMILIES))
def test_a_checkpoint_that_stops_where_its_reasoning_ends_is_refused_with_the_fix(tmp_path: Path, parser: str):
    preset, marker = FAMILIES[parser], REASONING_END[parser]
    broken = _folder(tmp_path / "broken", preset, [EOS_ID, MARKER_ID])
    with pytest.raises(ModelError) as refused:
        resolve(str(broken))
    assert str(refused.value) == (
        f"{broken}: its generation_config.json lists token {MARKER_ID} ({marker}, where its reasoning ends) in "
        "eos_token_id, so vLLM would end every reply there, before the answer starts; in a folder copy of the model, "
        f"set eos_token_id to {EOS_ID} and serve that folder")
    # config.json's list counts where the checkpoint has no generation_config.json (vLLM derives one from it)
    bare = _folder(tmp_path / "bare", preset, MARKER_ID, with_generation_config=False)
    with pytest.raises(ModelError, match=f"its config.json lists token {MARKER_ID}"):
        resolve(str(bare))
    fine = _folder(tmp_path / "fine", preset, [EOS_ID])
    assert resolve(str(fine)).reasoning_end == marker


def test_check_refuses_it_before_any_host_is_touched(tmp_path: Path):
    """``reasoning-stack check`` on an inventory whose host serves such a folder: refused, naming the host."""
    broken = _folder(tmp_path, FAMILIES["qwen3"], [EOS_ID, MARKER_ID])
    data = {"model": str(broken), "gpu_profile": "h100", "nvidia_driver": "preinstalled"}
    (tmp_path / "inventory.py").write_text(f"hosts = [('box', {data!r})]\n")
    out = subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "check", str(tmp_path / "inventory.py")],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode != 0, out.stdout
    assert "box" in out.stdout + out.stderr
    assert f"lists token {MARKER_ID} (</think>, where its reasoning ends)" in out.stdout + out.stderr


@pytest.mark.parametrize("parser", sorted(FAMILIES))
def test_nothing_the_stack_writes_stops_on_the_end_of_reasoning(parser: str):
    """Every Open WebUI entry and the task model's parameters, for a host serving the family's preset beside a
    quick model: no ``stop`` at all (a stop list is the person's, per chat), so none on the marker."""
    preset = FAMILIES[parser]
    quick = {"extra_models": [{"name": "fast", "model": "qwen3-8b", "port": 8001}]}
    for data in ({"model": preset["slug"], **quick}, {"model": preset["slug"]}):  # a 1T model takes 8 GPUs alone
        settings = validate_host_data("box", data, environ={})
        plan = plan_host(settings, gpus_from_profile("h200", 8))
        if plan.fits:
            break
    assert plan.fits, plan.reason
    written = json.dumps([model_entries(plan), task_config(settings, plan).params])
    assert '"stop"' not in written and "stop_token" not in written
    assert REASONING_END[parser] not in written


def test_no_sampling_setting_can_carry_a_stop():
    """``sampling_overrides`` takes only the keys a release's --override-generation-config honours: none is a stop
    (vLLM stops on the checkpoint's eos_token_id, checked above)."""
    from reasoning_stack.engines.vllm.releases import RELEASES

    for release in RELEASES.values():
        assert not [k for k in release.sampling_keys if "stop" in k or "eos" in k], release
    with pytest.raises(Exception, match="sampling_overrides"):
        validate_host_data("box", {"model": "qwen3-8b", "sampling_overrides": {"stop": ["</think>"]}}, environ={})
