"""What the deploy does with a folder model (pyinfra's own loader over recorded facts; no host contacted): the
folder is checked on the host and mounted read-only, nothing is downloaded; a folder missing there stops the host."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from test_deploy_plans import FRESH, _plan

from reasoning_stack.models.presets import PRESETS
from reasoning_stack.planning.types import Instance, ServingPlan
from reasoning_stack.service_files import hf_container_args

BOX = {**FRESH, "Arch": "x86_64", "KernelVersion": "6.8.0-45-generic", "NvidiaPciGpus": "rtx-4090x1.lspci",
       "NvidiaGpus": {"csv": "rtx-4090x1.csv"}}
DATA = {"nvidia_driver": "preinstalled"}
QWEN3_8B = next(p for p in PRESETS if p["slug"] == "deepseek-r1-0528-qwen3-8b")


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "models" / "r1-qwen3-8b"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(QWEN3_8B["config"]))
    (folder / "tokenizer_config.json").write_text(json.dumps({"chat_template": QWEN3_8B["template"]}))
    return folder


def test_a_folder_model_is_mounted_not_downloaded(tmp_path: Path):
    folder = _folder(tmp_path)
    facts = {**BOX, "File": {"size": 2, "mode": 644, "user": "root", "group": "root"}}
    result = _plan({**DATA, "model": str(folder)}, facts, tmp=tmp_path)
    assert result["error"] is None, result["error"]
    names = [op["name"].split(" | ")[-1] for op in result["operations"]]
    (check,) = [op for op in result["operations"] if op["name"].endswith(f"Model folder {folder}")]
    assert check["commands"] == []  # there: nothing to do
    assert not any(n.startswith("Weights of") for n in names)
    plan = ServingPlan(fits=True, reason="", model_repo=str(folder))
    args = hf_container_args(SimpleNamespace(data_dir="/var/lib/reasoning-stack"), Instance("", plan, 8000, "m"), 1,
                             "/etc/reasoning-stack/reasoning-vllm.env")
    assert f"{folder}:{folder}:ro" in args


def test_a_folder_missing_on_the_host_stops_it_naming_the_way_out(tmp_path: Path):
    folder = _folder(tmp_path)
    result = _plan({**DATA, "model": str(folder)}, {**BOX, "File": None}, tmp=tmp_path)
    (check,) = [op for op in result["operations"] if op["name"].endswith(f"Model folder {folder}")]
    assert check["commands"] is None  # the operation raises (OperationError): that host stops, the others go on
