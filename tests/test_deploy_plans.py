"""The operations the real deploy files add for one host, from recorded facts (tests/tools/deploy_plan.py runs
them through pyinfra's own loader; no host is contacted): aarch64 DGX Sparks beside an x86_64 box."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

TOOL = Path(__file__).parent / "tools" / "deploy_plan.py"

UBUNTU_2404 = {"name": "Ubuntu", "major": 24, "minor": 4,
               "release_meta": {"ID": "ubuntu", "VERSION_ID": "24.04", "PRETTY_NAME": "Ubuntu 24.04.3 LTS"}}
# Facts of a box with nothing of the stack on it yet (Docker and the toolkit still to install).
FRESH = {
    "LinuxDistribution": UBUNTU_2404, "DebPackages": {"python3": ["3.12.3"]}, "File": None, "Directory": None,
    "FindFiles": [], "FileContents": None, "Sha256File": None, "NvidiaKernelState": {}, "NvidiaTopology": {},
    "SecureBoot": False, "AptSources": [], "DockerImageId": None, "HfWeights": {"snapshots": [], "complete": False},
    "FreeDiskBytes": 3 * 10**12, "DpkgInterrupted": False, "HeldPackages": [], "StackManifest": None,
    "MacHardware": None,  # sw_vers is not there: not a Mac
}
# A DGX Spark as DGX OS 7 ships it: Ubuntu 24.04 on aarch64, the 580 driver working, nvidia-smi's memory [N/A].
SPARK = {**FRESH, "Arch": "aarch64", "KernelVersion": "6.17.0-1008-nvidia", "NvidiaPciGpus": "gb10x1.lspci",
         "NvidiaGpus": {"csv": "gb10x1.csv", "memtotal_mib": 124610}}


def _plan(data: dict[str, Any], facts: dict[str, Any], deploy: str = "reasoning.py", tmp: Path | None = None) -> dict:
    assert tmp is not None
    case = tmp / "case.json"
    case.write_text(json.dumps({"deploy": deploy, "host": "spark", "data": data, "facts": facts}))
    out = subprocess.run([sys.executable, str(TOOL), str(case)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _names(result: dict) -> list[str]:
    assert result["error"] is None, result["error"]
    return [op["name"] for op in result["operations"]]


def test_a_spark_as_dgx_os_ships_it_keeps_its_driver_and_pulls_the_arm64_vllm(tmp_path: Path):
    result = _plan({"nvidia_driver": "preinstalled"}, SPARK, tmp=tmp_path)
    names = _names(result)
    assert "nvidia.py | Serving image vllm/vllm-openai:v0.17.1-cu130" in names
    assert not any("v0.17.1'" in n or n.endswith("vllm/vllm-openai:v0.17.1") for n in names)
    assert not any("NVIDIA driver" in n or "nouveau" in n or "CUDA repository" in n for n in names)
    assert "vllm.py | Weights of RedHatAI/DeepSeek-R1-Distill-Llama-70B-FP8-dynamic (~67.7 GiB, resumable)" in names
    assert "openwebui.py | Open WebUI image ghcr.io/open-webui/open-webui:v0.12.4" in names
    assert names[-1] == "Status manifest"


def test_an_arm64_box_without_a_driver_gets_nvidias_sbsa_repository(tmp_path: Path):
    facts = {**SPARK, "NvidiaGpus": None}  # no nvidia-smi yet: the GPU comes from lspci and the declared profile
    result = _plan({"gpu_profile": "gb10"}, facts, deploy="nvidia.py", tmp=tmp_path)
    ops = {op["name"]: op for op in result["operations"]} if result["error"] is None else {}
    assert result["error"] is None, result["error"]
    # the deploy file itself, not an include: its operations carry no file prefix
    (keyring,) = ops["NVIDIA CUDA repository keyring"]["commands"]
    assert "/compute/cuda/repos/ubuntu2404/sbsa/cuda-keyring_1.1-1_all.deb" in keyring
    assert "nvidia-open-580" in ops["NVIDIA driver 580 (open kernel modules)"]["commands"][0]
    assert "docker pull vllm/vllm-openai:v0.17.1-cu130" in ops["Serving image vllm/vllm-openai:v0.17.1-cu130"][
        "commands"][0]


def test_sglang_on_a_spark_found_by_its_facts_is_refused_before_any_operation(tmp_path: Path):
    result = _plan({"engine": "sglang", "nvidia_driver": "preinstalled"}, SPARK, tmp=tmp_path)
    assert result["error"] is not None and "operations" not in result
    assert "host 'spark'" in result["error"] and "sglang_image" in result["error"]
    assert "has no aarch64 build" in result["error"]


def test_the_same_deploy_on_an_x86_64_box_pulls_the_plain_vllm_image(tmp_path: Path):
    facts = {**FRESH, "Arch": "x86_64", "KernelVersion": "6.8.0-45-generic", "NvidiaPciGpus": "rtx-4090x1.lspci",
             "NvidiaGpus": {"csv": "rtx-4090x1.csv"}}
    names = _names(_plan({"nvidia_driver": "preinstalled"}, facts, tmp=tmp_path))
    assert "nvidia.py | Serving image vllm/vllm-openai:v0.17.1" in names
    assert not any("cu130" in n for n in names)


def test_a_fact_the_case_does_not_give_stops_the_tool(tmp_path: Path):
    facts = {k: v for k, v in SPARK.items() if k != "Arch"}
    result = _plan({}, facts, tmp=tmp_path)
    assert result["error"] == "LookupError: the case gives no Arch fact"
