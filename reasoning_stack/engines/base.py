"""The interface every serving engine implements: what the rest of the stack asks of an engine, in one place.

An engine is one package under ``reasoning_stack/engines/<name>/`` whose ``ENGINE`` is an :class:`Engine`. The
settings, the planner, the services, the Open WebUI wiring, ``render`` and ``status`` ask it; none of them names an
engine. Defaults here are those of an OpenAI-compatible server in a container on NVIDIA GPUs; an engine overrides
what differs. ``reasoning_stack.engines`` registers the engines and resolves ``engine: auto``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from reasoning_stack.catalogue import served_name
from reasoning_stack.cuda import batch_defaults
from reasoning_stack.planning import gpu_search
from reasoning_stack.service_files import CONFIG_DIR, HEALTH_PATH, READY_PATH

if TYPE_CHECKING:
    from reasoning_stack.catalogue import ModelSpec
    from reasoning_stack.cuda import GpuBudget
    from reasoning_stack.gpus import Gpu
    from reasoning_stack.launchd import LaunchdJob
    from reasoning_stack.planning.types import Instance, PlanRequest, ServingPlan
    from reasoning_stack.service_files import ClusterNode, ServiceFiles

Platform = Literal["linux", "macos"]  # Linux with NVIDIA GPUs, systemd and Docker; an Apple Silicon Mac, launchd
Startup = Literal["weights", "pull", "none"]  # before start: download the weights; after start: pull the model


@dataclass(frozen=True)
class RegistryLogin:
    """A login the host's Docker needs before it pulls an engine's image: the registry, the user name and the secret
    setting whose value is the password (read from a 0600 file on the host, never a command line)."""

    registry: str
    user: str
    secret_setting: str
    title: str  # how people call the secret, for the step's name

    @property
    def password_file(self) -> str:
        """The 0600 file on the host that holds the password (in the stack's private config directory)."""
        return f"{CONFIG_DIR}/registry-{re.sub(r'[^a-z0-9.-]', '-', self.registry.lower())}.key"

    def command(self) -> str:
        """The login, the password read from :attr:`password_file` through stdin."""
        return (f"docker login {shlex.quote(self.registry)} --username {shlex.quote(self.user)} --password-stdin "
                f"< {shlex.quote(self.password_file)}")


class Uses:
    """How a host's settings use an engine: whether its primary model runs on it, and the ``served_model_name``
    of each instance that does (empty when no instance does)."""

    def __init__(self, primary: bool, served_names: list[str | None]) -> None:
        self.primary = primary
        self.served_names = served_names

    @property
    def any(self) -> bool:
        return bool(self.served_names)


class Engine:
    """One serving engine. Subclasses set the identity and capabilities and implement :meth:`plan` and
    :meth:`service`; every other method has a default an OpenAI-compatible container engine keeps."""

    # --- identity ----------------------------------------------------------------------------------------
    name: str = ""  # the setting's value, and the engine's part of unit and container names
    title: str = ""  # how people write it: "vLLM"
    version: str = ""  # the pinned release, where it is a package rather than an image tag
    openai_api: bool = True  # speaks OpenAI's API (False: Ollama's own, which Open WebUI reaches as an Ollama server)
    health_path: str = HEALTH_PATH  # answers once the server is up
    ready_path: str = READY_PATH  # lists the model once it is loaded (the readiness wait asks it)
    platform: Platform = "linux"
    apple_gpu: bool = False  # serves on an Apple Silicon Mac's GPU (False: NVIDIA GPUs)

    # --- capabilities ------------------------------------------------------------------------------------
    shares_gpus: bool = False  # several instances may share GPUs (each sized by gpu_memory_utilization)
    multi_node: bool = False  # serves one model across the nodes of a cluster
    takes_api_key: bool = True  # False: no key, so it stays on loopback
    server_sampling: bool = True  # honours sampling_overrides as server-side defaults
    mtp_drafts: bool = False  # drafts tokens with the model's own MTP head (speculative_tokens)
    sampling_source: str = ""  # where its sampling comes from instead, for messages: "applies the model's ..."
    thinking_off_per_request: bool = True  # a request's chat_template_kwargs switch Qwen3's thinking off
    gpu_layouts: bool = True  # plans tensor-parallel / data-parallel layouts (with their trade-offs and speed)
    served_as_repo: bool = False  # serves under the plan's repository or tag, not served_model_name
    metrics_path: str = ""  # where it serves Prometheus metrics on its API port ('': none the stack scrapes)
    startup: Startup = "weights"
    quantizations: tuple[str, ...] = ()  # weights formats of its own, beside the NVIDIA ones (MLX's mlx-4bit)
    pull_helper: str = ""  # with startup "pull": the helper (one of helpers()) that pulls through the server
    offered_instead: bool = True  # named in another engine's refusal when it fits (False: a packaging of another)

    # --- settings ----------------------------------------------------------------------------------------
    extra_args_setting: str | None = None  # the setting holding the user's extra flags for this engine
    release_setting: str | None = None  # the setting choosing the release it is planned for (vLLM's vllm_version)
    settings_group: type | None = None  # its own settings (a pydantic model of flat keys), composed into the host's
    secret_settings: Mapping[str, str] = {}  # its secret settings, each with the setting naming its variable

    def images(self, settings: Any) -> list[str]:
        """The container images its instances run on this host (pulled by the deploy)."""
        return []

    def for_arch(self, settings: Any, arch: str) -> dict[str, object]:
        """Setting changes for a host whose CPU is ``arch`` (an image built for it); checks that the images it
        runs have a build for ``arch`` (a PlatformError naming the setting)."""
        return {}

    def kept_from_last_deploy(self, data: Mapping[str, Any], manifest: Mapping[str, Any] | None) -> dict[str, str]:
        """Settings the host keeps from its last deploy (``manifest``: what runs there) because its group_data
        (``data``) names none, so that a new default of the stack does not move a running host by itself."""
        return {}

    def registry_login(self, settings: Any) -> RegistryLogin | None:
        """The registry login its image needs on this host before a pull (None: its images pull without one)."""
        return None

    def extra_args(self, settings: Any) -> list[str]:
        """The user's extra arguments for an instance of this engine."""
        return list(getattr(settings, self.extra_args_setting)) if self.extra_args_setting else []

    def served_name(self, model: str, requested: str | None) -> str:
        """The name an instance of catalogue ``model`` is served under (``requested``: served_model_name)."""
        return served_name(model, requested)

    def check_settings(self, settings: Any, uses: Uses) -> None:
        """Raise ValueError for what this engine cannot do with ``settings`` (``uses``: how they use it; an engine
        no instance uses may still refuse its own settings being set)."""

    def thinking_budget_problem(self, settings: Any, model: ModelSpec | None = None) -> str | None:
        """Why a request's ``thinking_token_budget`` would not cap the reasoning on this engine as ``settings`` run
        it, for ``model`` (None: any model); None when it does, and Open WebUI may offer budgets per chat."""
        return f"{self.title} (engine {self.name!r}) takes no thinking_token_budget per request"

    # --- planning ----------------------------------------------------------------------------------------
    def runs_on(self, gpus: tuple[Gpu, ...]) -> bool:
        """Whether the engine serves on these GPUs (``gpu_kind``: NVIDIA GPUs, or a Mac's chip)."""
        apple = any(g.apple for g in gpus)
        return apple if self.apple_gpu else not apple

    def plan(self, req: PlanRequest) -> ServingPlan:
        """Plan one instance: the plan either fits or says why not and what would."""
        raise NotImplementedError

    def describe(self, plan: ServingPlan) -> list[str]:
        """Lines for ``reasoning-stack plan`` on how a plan that fits divides the memory."""
        return []

    # --- serving -----------------------------------------------------------------------------------------
    def service(self, settings: Any, instance: Instance, host_gpu_count: int,
                node: ClusterNode | None = None) -> ServiceFiles:
        """The files of one instance's service (unit, env file, options) on a Linux host."""
        raise NotImplementedError(f"engine {self.name!r} has no service on Linux hosts")

    def launchd_job(self, settings: Any, instance: Instance, user: str) -> LaunchdJob:
        """One instance's launchd job on a Mac (engines of the macOS platform)."""
        raise NotImplementedError(f"engine {self.name!r} has no launchd job on a Mac")

    def helpers(self) -> list[tuple[str, str]]:
        """Helper scripts its hosts need beyond the health wait and smoke test: ``(path, template)`` pairs."""
        return []

    def data_dirs(self, settings: Any) -> list[tuple[str, str]]:
        """``(name, path)`` of folders its instances keep data in beyond the Hugging Face cache."""
        return []

    def model_store(self, settings: Any, instance: Instance) -> str:
        """A path that exists on the host once ``startup == 'pull'`` has fetched the model ('' otherwise)."""
        return ""

    # --- Open WebUI and status ---------------------------------------------------------------------------
    def webui_entry(self, model_name: str, plan: ServingPlan) -> tuple[str | None, dict[str, object]]:
        """The Open WebUI model entry's name (None: the stack's default naming) and its params."""
        return None, {}

    def status_image(self, settings: Any) -> str:
        """What ``status`` shows the engine runs from (an image, or a pinned package)."""
        images = self.images(settings)
        return images[0] if images else ""


class LayoutEngine(Engine):
    """An engine that plans tensor-parallel / data-parallel layouts on NVIDIA GPUs with the shared layout search
    (``planning/gpu_search.py``) and its own memory model: ``memory.gpu_budget`` of the same shape as vLLM's. It
    adds ``finish``, ``budget_words``, ``headroom_words``, ``higher_utilization`` and ``max_seqs_flag``."""

    memory: Any = None  # the engine's memory-model module
    max_seqs_flag: str = ""
    fp8_kv_by_model: bool = False  # left to choose, it caches a model at fp8 where the model says (ModelSpec.fp8_kv_on)

    def plan(self, req: PlanRequest) -> ServingPlan:
        return gpu_search.plan(self, req)  # type: ignore[arg-type]

    def gpu_budget(self, model: ModelSpec, quant: str, gpu: Gpu, tp: int, pp: int, req: PlanRequest, kv_dtype: str,
                   eager: bool, seqs: int | None) -> GpuBudget:
        return self.memory.gpu_budget(model, quant, gpu, tp, pp, req.gpu_memory_utilization, kv_dtype, eager,
                                      req.colocated, seqs, **self.memory_options(req))

    def model_problem(self, model: ModelSpec, quant: str | None = None) -> str | None:
        """Why this engine's planning does not cover ``model`` (at ``quant``), or None when it does."""
        return None

    def release_for(self, req: PlanRequest) -> str:
        """The engine release ``req`` is planned for, when the engine plans per release ('' otherwise)."""
        return ""

    def default_max_seqs(self, gpu: Gpu, req: PlanRequest) -> int:
        """Requests at once the engine admits on ``gpu`` when the operator sets no cap: vLLM 0.17.1's batch
        defaults unless the engine knows its own."""
        return batch_defaults(gpu, req.max_num_batched_tokens)[1]

    def first_release(self, version: str) -> str | None:
        """The oldest supported release at or after ``version`` (None: none is supported)."""
        return None

    def memory_options(self, req: PlanRequest) -> dict[str, Any]:
        """Keyword arguments of the request the engine's ``memory.gpu_budget`` also takes (vLLM: the batch and
        prefix caching)."""
        return {}
