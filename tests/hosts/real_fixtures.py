"""The real vLLM servers of two representative hosts, started once per real release for a test module (about a
minute on two cores, all at once; the 0.17.1 servers, then the 0.32.0 ones: each host planned with that
``vllm_version``) from the units and env files the deploy renders, on tiny models in a Hugging Face cache laid
out as the deploy's download leaves it:

- ``one-gpu``: one RTX 4090, Qwen3-8B with thinking off by default (``thinking_default: false``);
- ``dual-gpu``: two RTX 4090s, the 7B R1 distill with server-side sampling overrides, and Qwen3-8B beside it
  as an extra model (``fast``) that Open WebUI's background tasks go to; a key per person in Open WebUI
  (``openwebui_api_keys: everyone``);
- ``gemma``: one RTX 5090, Gemma 4 26B-A4B (a family of late 2026: sliding and full attention layers with their
  own head sizes), only on the releases that serve its architecture (0.32.0, not 0.17.1);
- ``glm``: one RTX PRO 6000, GLM-4.7-Flash (multi-head latent attention, GLM's own template, reasoning and tool
  formats), likewise only on 0.32.0;
- ``nemotron``: one RTX PRO 6000, Nemotron 3 Nano (Mamba-2 and attention layers), on 0.32.0 only
  (``CPU_BUILD_FROM``);
- ``minimax``: one B200, MiniMax-M2.5 in NVIDIA's NVFP4 (a mixture of gated experts in every layer, q and k normed
  over all heads, thinking only, its own XML calls), likewise on 0.32.0 only;
- ``kimi``: four B300s, Kimi-K2-Thinking (DeepSeek-V3's layers, thinking only, Kimi's tool-call sections), its
  tensor parallelism of four run as one rank here (``VLLM_CPU_CHANGES``), likewise on 0.32.0 only.

Each late-2026 host's Open WebUI is a team's (``_webui_for_people``): a key per person and a thinking-budget menu.

Used by tests/test_real_vllm.py (a plugin of tests/conftest.py, so that any module can ask for them; they run
only while that module does).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import real_engines
from testhosts import free_port

from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.models.architectures import version_tuple
from reasoning_stack.openwebui.service import openwebui_service
from reasoning_stack.planning.types import HostPlan
from reasoning_stack.service_files import ServiceFiles
from reasoning_stack.services import engine_service
from reasoning_stack.settings import SECRET_ENV_VARS, StackSettings
from reasoning_stack.validation import validate_host_data

API_KEY = "sk-real-vllm-0123456789"
ADMIN_PASSWORD = "Admin-pass-real-vllm-1"
SAMPLING = {"top_p": 0.9, "min_p": 0.05}
THINKING_BUDGET = 4  # a budget the tiny models' five-piece reasoning overruns
FAMILY_OF_REPO = {"deepseek-ai/DeepSeek-R1-Distill-Qwen-7B": "r1", "Qwen/Qwen3-8B": "qwen3",
                  "RedHatAI/gemma-4-26B-A4B-it-FP8-dynamic": "gemma4", "zai-org/GLM-4.7-Flash": "glm47",
                  "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16": "nemotron3", "nvidia/MiniMax-M2.5-NVFP4": "minimax_m2",
                  "moonshotai/Kimi-K2-Thinking": "kimi_k2"}
# Hosts whose model the planner sends to an older release than the CPU build here can serve it on: Nemotron-H,
# MiniMax-M2 and Kimi-K2 on vLLM 0.17.1 need the repo's own config class (its transformers 4.57 has none of them),
# which no tiny model here ships
CPU_BUILD_FROM = {"nemotron": "0.32.0", "minimax": "0.32.0", "kimi": "0.32.0"}


def host_data() -> dict[str, tuple[str, int, dict]]:
    """Each representative host: GPU profile, GPU count and its group_data (free loopback ports)."""
    return {
        "one-gpu": ("rtx-4090", 1, {"model": "qwen3-8b", "thinking_default": False, "api_port": free_port(),
                                    "openwebui_port": free_port()}),
        "dual-gpu": ("rtx-4090", 2, {"model": "deepseek-r1-distill-qwen-7b", "sampling_overrides": SAMPLING,
                                     "api_port": free_port(), "openwebui_port": free_port(),
                                     "openwebui_api_keys": "everyone",
                                     "openwebui_thinking_budgets": [THINKING_BUDGET, 1024],
                                     "extra_models": [{"name": "fast", "model": "qwen3-8b", "port": free_port()}]}),
        "gemma": ("rtx-5090", 1, {"model": "gemma-4-26b-a4b", **_webui_for_people()}),
        "glm": ("rtx-pro-6000", 1, {"model": "glm-4.7-flash", **_webui_for_people()}),
        "nemotron": ("rtx-pro-6000", 1, {"model": "nemotron-3-nano-30b-a3b", **_webui_for_people()}),
        "minimax": ("b200", 1, {"model": "minimax-m2.5", **_webui_for_people()}),
        "kimi": ("b300", 4, {"model": "kimi-k2-thinking", **_webui_for_people()}),
    }


def _webui_for_people() -> dict:
    """A late-2026 host's ports and its Open WebUI as a team's: a key per person, the thinking budgets' menu with one
    the tiny models' reasoning overruns (tests/test_real_vllm.py reaches each family through it)."""
    return {"api_port": free_port(), "openwebui_port": free_port(), "openwebui_api_keys": "everyone",
            "openwebui_thinking_budgets": [THINKING_BUDGET, 1024]}


def serves(data: dict, release: str) -> bool:
    """Whether vLLM ``release`` serves the host's model (its architecture's first release or later)."""
    from reasoning_stack.catalogue import find_model
    from reasoning_stack.models.architectures import version_tuple

    return version_tuple(find_model(data["model"]).min_vllm) <= version_tuple(release)


def for_release(data: dict, release: str) -> dict:
    """A host's group_data for vLLM ``release``: thinking budgets only where the release honours them (check refuses
    them elsewhere: the release would ignore them)."""
    from reasoning_stack.engines.vllm.releases import RELEASES

    data = {**data, "vllm_version": release}
    if not RELEASES[release].thinking_token_budget:
        data.pop("openwebui_thinking_budgets", None)
    return data


@dataclass
class RealHost:
    """One representative host: its settings, plan, rendered services and their real servers."""

    name: str
    settings: StackSettings
    plan: HostPlan
    services: dict[str, ServiceFiles]  # by unit name
    servers: dict[str, real_engines.Server]  # by unit name

    def openwebui_env(self) -> str:
        return openwebui_service(self.settings, self.plan).env_text


@dataclass
class RealVllmHosts:
    release: str  # the vLLM release the hosts are planned for and the real servers run
    hosts: dict[str, RealHost]
    hf_home: Path
    workdir: Path

    def server(self, host: str, unit: str = "reasoning-vllm") -> real_engines.Server:
        return self.hosts[host].servers[unit]

    def all_servers(self) -> list[tuple[str, str, real_engines.Server]]:
        return [(h.name, unit, server) for h in self.hosts.values() for unit, server in h.servers.items()]


@pytest.fixture(scope="module", params=real_engines.VLLM_RELEASES)
def real_vllm_hosts(request):
    release = request.param
    real_engines.require_vllm(release)
    workdir = Path(tempfile.mkdtemp(prefix="rs-real-vllm-"))
    hf_home = workdir / "huggingface"
    hosts: dict[str, RealHost] = {}
    for name, (profile, count, data) in host_data().items():
        if not serves(data, release) or version_tuple(CPU_BUILD_FROM.get(name, release)) > version_tuple(release):
            continue
        environ = {SECRET_ENV_VARS["api_key"]: API_KEY,
                   SECRET_ENV_VARS["openwebui_admin_password"]: ADMIN_PASSWORD}
        settings = validate_host_data(name, for_release(data, release), environ=environ)
        plan = plan_host(settings, gpus_from_profile(profile, count))
        assert plan.fits, plan.reason
        services = {i.unit: engine_service(settings, i, count) for i in plan.instances}
        hosts[name] = RealHost(name, settings, plan, services, {})
    repos = {i.plan.model_repo for h in hosts.values() for i in h.plan.instances}
    for repo in sorted(repos):
        real_engines.tiny_model_cache(FAMILY_OF_REPO[repo], hf_home, repo)
    for host in hosts.values():
        for unit, service in host.services.items():
            host.servers[unit] = real_engines.real_vllm(f"{host.name}-{unit}", service.unit_text, service.image,
                                                        service.env_text, hf_home, workdir)
    servers = [s for h in hosts.values() for s in h.servers.values()]
    try:
        for server in servers:
            server.launch()
        for server in servers:
            server.wait()
        print(f"\nreal vLLM {release} started: " + ", ".join(f"{s.name} {s.started_s:.0f} s" for s in servers))
        yield RealVllmHosts(release, hosts, hf_home, workdir)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
