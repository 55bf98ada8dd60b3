"""Every setting a user can put in an inventory or in ``group_data/``: type, default and one line of help.

This module is the single place a setting is *defined* and *validated*. ``docs/settings.md`` is generated
from it (``reasoning-stack settings``). Planning lives in :mod:`reasoning_stack.plan`, rendering in
:mod:`reasoning_stack.render`.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import textwrap
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from reasoning_stack import engines
from reasoning_stack.catalogue import GPUS, MODELS
from reasoning_stack.engines import ollama as ollama_engine
from reasoning_stack.engines import sglang as sglang_engine
from reasoning_stack.engines import vllm as vllm_engine
from reasoning_stack.engines.vllm.checks import check_owned_flags
from reasoning_stack.layout import tp_problem, valid_tp_sizes
from reasoning_stack.platforms import AARCH64, X86_64, check_image, declared_arch, normalise_arch

# Image tags are pinned: a re-deploy never moves to a new upstream release by surprise.
DEFAULT_VLLM_IMAGE = vllm_engine.IMAGE
DEFAULT_VLLM_IMAGE_ARM64 = vllm_engine.IMAGE_ARM64
DEFAULT_SGLANG_IMAGE = sglang_engine.IMAGE
DEFAULT_OLLAMA_IMAGE = ollama_engine.IMAGE
DEFAULT_OPENWEBUI_IMAGE = "ghcr.io/open-webui/open-webui:v0.12.4"
OPENWEBUI_ARCHES = {DEFAULT_OPENWEBUI_IMAGE: (X86_64, AARCH64)}  # a multi-architecture image

_IMAGE_RE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*$")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
# Folders a deploy must never take over as its data_dir (it sets their mode).
_SYSTEM_DIRS = {"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/media", "/mnt", "/opt", "/proc",
                "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/local", "/var", "/var/lib", "/var/tmp"}
# Sampling defaults vLLM honours, with the values it accepts.
_SAMPLING_RANGES = {
    "temperature": (0.0, None, False, "0 or more"), "top_p": (0.0, 1.0, False, "above 0, at most 1"),
    "top_k": (-1, None, True, "a whole number, -1 (off) or more"), "min_p": (0.0, 1.0, False, "0 to 1"),
    "repetition_penalty": (0.0, None, False, "above 0"), "max_new_tokens": (1, None, True, "a whole number, 1 or more"),
}


def env_var_name(value: str) -> str:
    """``value`` when it can name an environment variable; a ValueError saying what would work otherwise."""
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
        raise ValueError("must be an environment variable name (letters, digits and '_'), like "
                         "'REASONING_STACK_VLLM_API_KEY'")
    return value


class CloudConnection(BaseModel):
    """An OpenAI-compatible API beside the local models in Open WebUI (a cloud provider such as DeepSeek's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Short name, e.g. 'deepseek': the default prefix of its models in Open WebUI.")
    base_url: str = Field(description="The API's base URL, e.g. 'https://api.deepseek.com/v1'.")
    models: list[str] = Field(min_length=1, description="Model ids to show, e.g. ['deepseek-reasoner'].")
    prefix: str | None = Field(None, description="Prefix of its model ids in Open WebUI; None = name.")
    api_key_env: str | None = Field(
        None, description="Environment variable that holds its API key; None = REASONING_STACK_<NAME>_API_KEY.")
    api_key: SecretStr | None = Field(None, description="Read from the environment only, never from host data.")

    @field_validator("name", "prefix")
    @classmethod
    def _short_name(cls, value: str | None) -> str | None:
        if value is not None and not _NAME_RE.match(value):
            raise ValueError("must be lower-case letters, digits and '-', e.g. 'deepseek'")
        return value

    @field_validator("base_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/;]+(/[^\s;]*)?", value):
            raise ValueError("must be an http(s) URL like 'https://api.deepseek.com/v1'")
        if value.rstrip("/").endswith(("/chat/completions", "/models")):
            raise ValueError("must be the API's base URL (ending before /chat/completions), like "
                             "'https://api.deepseek.com/v1'")
        return value.rstrip("/")

    @field_validator("models")
    @classmethod
    def _model_ids(cls, value: list[str]) -> list[str]:
        for model in value:
            if not model or any(c in model for c in ";,\n "):
                raise ValueError(f"{model!r} is not a model id (no spaces, ';' or ',')")
        return value

    @field_validator("api_key_env")
    @classmethod
    def _key_variable(cls, value: str | None) -> str | None:
        return value if value is None else env_var_name(value)

    @property
    def key_variable(self) -> str:
        """The environment variable its API key is read from."""
        return self.api_key_env or f"REASONING_STACK_{self.name.upper().replace('-', '_')}_API_KEY"

    @property
    def model_prefix(self) -> str:
        return self.prefix or self.name


class ExtraModel(BaseModel):
    """One more model on the same host: its own unit (reasoning-<engine>-<name>) and port."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Short name: the unit is reasoning-<engine>-<name>, e.g. 'fast'.")
    model: str = Field(description="Catalogue slug of the model.")
    port: int = Field(ge=1, le=65535, description="Port of this instance's OpenAI-compatible API.")
    quantization: Literal["auto", "bf16", "fp8", "awq", "gptq"] = "auto"
    max_model_len: int | None = Field(None, ge=1024)
    kv_cache_dtype: Literal["auto", "fp8"] = "auto"
    served_model_name: str | None = None
    engine: str = Field("vllm", description="Serving engine of this instance (see the host's engine setting).")

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        return _check_engine(value)

    @field_validator("name")
    @classmethod
    def _unit_name(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError("must be lower-case letters, digits and '-', e.g. 'fast'")
        return value

    @field_validator("model")
    @classmethod
    def _catalogue_model(cls, value: str) -> str:
        return _check_model(value, allow_auto=False)


def _check_engine(value: str) -> str:
    """``value`` when it names an engine (or auto); a ValueError listing them otherwise."""
    valid = engines.setting_values()
    if value not in valid:
        close = difflib.get_close_matches(value, valid, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"unknown engine; {hint}valid: {', '.join(repr(v) for v in valid)}")
    return value


def _check_model(value: str, allow_auto: bool = True) -> str:
    if value == "auto" and allow_auto:
        return value
    if value not in MODELS:
        close = difflib.get_close_matches(value, MODELS, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        valid = (["'auto'"] if allow_auto else []) + [repr(m) for m in MODELS]
        raise ValueError(f"unknown model; {hint}valid: {', '.join(valid)}")
    return value


class StackSettings(BaseModel):
    """The validated settings of one host (inventory data merged with its groups' ``group_data``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    # --- hardware ---------------------------------------------------------------------------------------
    gpu_profile: str | None = Field(
        None,
        description="GPU slug (rtx-4090, h100, ...) to plan with before nvidia-smi works; "
        "None = read the GPUs from the host.",
    )
    gpu_count: int | None = Field(
        None, ge=1, le=16, description="GPUs per host for gpu_profile; None = every GPU the host reports."
    )
    gpu_indices: list[int] | None = Field(
        None,
        description="GPU indices (as nvidia-smi numbers them) the stack may use, e.g. [0, 1]; None = every GPU. "
        "GPUs left out stay free for other work.",
    )

    # --- NVIDIA driver and Container Toolkit -------------------------------------------------------------
    nvidia_driver: Literal["preinstalled", "cuda-repo", "ubuntu", "debian"] = Field(
        "cuda-repo",
        description="How a missing or unsuitable driver is installed: cuda-repo (NVIDIA's CUDA repository), ubuntu "
        "(Ubuntu's packages), debian (Debian 12 non-free, branch 535), preinstalled (verify only).",
    )
    nvidia_driver_branch: int | None = Field(
        None, ge=470, le=999,
        description="Driver branch to pin; None keeps a working driver that suits the GPUs and installs 580 "
        "where there is none.",
    )
    nvidia_kernel_modules: Literal["auto", "open", "proprietary"] = Field(
        "auto", description="Kernel-module flavour; auto = what the GPUs need (open from branch 560 on Turing+)."
    )
    nvidia_cuda_repo: str = Field(
        "https://developer.download.nvidia.com/compute/cuda/repos/{distro}/{arch}",
        description="NVIDIA's CUDA network repository ({distro}: debian12, ubuntu2204, ubuntu2404; {arch}: x86_64 "
        "or sbsa); its cuda-keyring package sets up apt.",
    )
    nvidia_container_toolkit: bool = Field(True, description="Install the NVIDIA Container Toolkit for Docker.")
    nvidia_container_toolkit_version: str = Field(
        "1.18.0-1", description="Pinned NVIDIA Container Toolkit package version (all four of its packages)."
    )
    nvidia_toolkit_repo: str = Field(
        "https://nvidia.github.io/libnvidia-container",
        description="NVIDIA's Container Toolkit repository (its /gpgkey and /stable/deb/$(ARCH) are used).",
    )
    nvidia_cdi: bool = Field(
        False, description="Also write a CDI specification of the GPUs (/etc/cdi/nvidia.yaml) for CDI-aware tools."
    )
    allow_reboot: bool = Field(
        False, description="Reboot a host whose new driver needs it, then verify; False = say which hosts need one."
    )

    # --- model and serving plan -------------------------------------------------------------------------
    engine: str = Field(
        "vllm",
        description="Serving engine of the primary model: vllm; sglang (RadixAttention shares the KV cache of "
        "common prompt prefixes: many reasoning queries with one system prompt); ollama (4-bit GGUF models from "
        "Ollama's library: small cards, quick starts; no API key, so loopback only); mlx (MLX-LM on an Apple "
        "Silicon Mac; loopback only, one model); auto (vLLM where it serves a reasoning model at min_context, else "
        "Ollama). Each of extra_models has its own.",
    )
    model: str = Field(
        "auto",
        description="Catalogue slug (deepseek-r1-distill-qwen-32b, qwq-32b, ...) or 'auto' for the "
        "strongest reasoning model that fits.",
    )
    quantization: Literal["auto", "bf16", "fp8", "awq", "gptq", "mlx-8bit", "mlx-4bit"] = Field(
        "auto", description="Weights format; 'auto' picks the best one that fits the GPUs (mlx-8bit and mlx-4bit: "
        "the mlx-community quantizations, engine mlx only)."
    )
    max_model_len: int | None = Field(
        None, ge=1024, description="Context length in tokens; None = the longest that fits (at least min_context)."
    )
    min_context: int = Field(
        16384, ge=1024, description="Shortest context the planner accepts; reasoning traces need room."
    )
    gpu_memory_utilization: float | None = Field(
        None, gt=0.3, le=0.98, description="Share of each GPU's memory vLLM may use (vLLM's own flag); None = 0.90, "
        "or 0.80 where the GPU shares the system's memory (DGX Spark), leaving the system room."
    )
    kv_cache_dtype: Literal["auto", "fp8"] = Field(
        "auto", description="KV-cache dtype; 'auto' uses the model dtype and falls back to fp8 only if needed."
    )
    enforce_eager: bool | None = Field(
        None, description="Skip CUDA graphs; None = only when their pool does not fit beside vLLM's memory budget."
    )
    tensor_parallel_size: int | None = Field(
        None, ge=1, le=16,
        description="GPUs one model replica is split across; None = the planner compares the layouts that use "
        "every GPU (more tensor parallel or more replicas) and says why it picked one.",
    )
    data_parallel_size: int | None = Field(
        None, ge=1, le=16,
        description="Replicas of the model in one vLLM server (--data-parallel-size), each on its own "
        "tensor_parallel_size GPUs; None = chosen with the layout.",
    )
    served_model_name: str | None = Field(
        None, description="Model name clients send; None = the catalogue slug."
    )
    enable_prefix_caching: bool = Field(True, description="vLLM automatic prefix caching.")
    enable_chunked_prefill: bool = Field(True, description="vLLM chunked prefill.")
    thinking_default: bool = Field(
        True, description="Qwen3 only: think unless a request sends enable_thinking false; False flips the default."
    )
    sampling_overrides: dict[str, float] = Field(
        {},
        description="Server-side sampling defaults (temperature, top_p, top_k, min_p, repetition_penalty, "
        "max_new_tokens); the model's own generation config applies otherwise.",
    )
    extra_models: list[ExtraModel] = Field(
        [],
        description="More models on the same host, each its own unit and port: one per GPU, or (vLLM only) "
        "sharing the GPUs when all fit (keys: name, model, port, quantization, max_model_len, kv_cache_dtype, "
        "served_model_name, engine).",
    )
    vllm_extra_args: list[str] = Field(
        [], description="Extra `vllm serve` arguments, full flag names only (checked before deploy)."
    )

    sglang_extra_args: list[str] = Field(
        [], description="Extra `sglang.launch_server` arguments for SGLang instances, full flag names only (checked "
        "against the pinned SGLang's flags before deploy)."
    )
    sglang_image: str = Field(DEFAULT_SGLANG_IMAGE, description="SGLang image, pinned by tag (its CUDA 13 build "
                              "needs driver branch 580 or newer).")
    ollama_image: str = Field(DEFAULT_OLLAMA_IMAGE, description="Ollama image, pinned by tag (the same server as "
                              "the official Linux install, run like the stack's other services).")

    # --- vLLM service -----------------------------------------------------------------------------------
    mac_user: str | None = Field(None, description="macOS account the Mac's services (engine mlx) run as and Homebrew "
                                 "belongs to; None: the inventory's ssh_user.")
    vllm_image: str = Field(DEFAULT_VLLM_IMAGE, description="vLLM OpenAI-server image, pinned by tag.")
    vllm_image_arm64: str = Field(DEFAULT_VLLM_IMAGE_ARM64, description="vLLM image on aarch64 hosts (DGX Spark): the "
                                  "same release built on CUDA 13, with kernels for the GB10.")
    vllm_port: int = Field(8000, ge=1, le=65535, description="Port of the OpenAI-compatible API.")
    vllm_listen: str = Field(
        "127.0.0.1",
        description="Address vLLM binds to; /health and /metrics are never behind the API key, "
        "so keep it local unless the network is trusted.",
    )
    vllm_api_key: SecretStr | None = Field(
        None, description="API key for /v1/* (kept in a 0600 env file, never in the unit). A secret: read from the "
        "environment variable vllm_api_key_env names, never from a file."
    )
    vllm_api_key_env: str = Field(
        "REASONING_STACK_VLLM_API_KEY", description="Environment variable (of the machine you deploy from) that "
        "holds vllm_api_key; another name gives this host or group its own key."
    )
    hf_token: SecretStr | None = Field(
        None, description="Hugging Face token for gated models (kept in a 0600 env file). A secret: read from the "
        "environment variable hf_token_env names."
    )
    hf_token_env: str = Field("HF_TOKEN", description="Environment variable that holds hf_token.")
    offline: bool = Field(
        False, description="Weights are pre-staged in <data_dir>/huggingface: never download (HF_HUB_OFFLINE=1)."
    )
    smoke_test: bool = Field(
        True, description="After a (re)start, ask one reasoning question and check reasoning and answer arrive apart."
    )
    health_timeout: int = Field(
        1800, ge=10, description="Seconds to wait for vLLM to answer /health after a (re)start."
    )

    # --- Open WebUI -------------------------------------------------------------------------------------
    openwebui_enabled: bool = Field(True, description="Deploy Open WebUI in front of vLLM.")
    openwebui_image: str = Field(DEFAULT_OPENWEBUI_IMAGE, description="Open WebUI image, pinned by tag.")
    openwebui_port: int = Field(3000, ge=1, le=65535, description="Port of the Open WebUI web interface.")
    openwebui_listen: str = Field("0.0.0.0", description="Address Open WebUI binds to.")
    openwebui_signup: Literal["closed", "pending", "open"] = Field(
        "pending",
        description="Sign-up policy for everyone after the admin: closed, pending (the admin approves) or open. "
        "Holds from the first minute (the deploy sets it again after Open WebUI creates its admin account).",
    )
    openwebui_admin_email: str | None = Field(
        "admin@localhost",
        description="Login of the admin account the deploy has Open WebUI create on its first start (before "
        "anyone can sign up), so the sign-up policy holds from the first minute. None = the first person to sign "
        "up becomes admin; Open WebUI 0.12.4 then switches sign-up off until it restarts, so only 'closed' works.",
    )
    openwebui_admin_password: SecretStr | None = Field(
        None, description="Password of that admin account; None = generated once on the host into "
        "/etc/reasoning-stack/openwebui-admin.env (root only). A secret: read from the environment variable "
        "openwebui_admin_password_env names.",
    )
    openwebui_admin_password_env: str = Field(
        "REASONING_STACK_OPENWEBUI_ADMIN_PASSWORD",
        description="Environment variable that holds openwebui_admin_password.",
    )
    openwebui_cloud: list[CloudConnection] = Field(
        [],
        description="OpenAI-compatible APIs shown in Open WebUI beside the local models (keys: name, base_url, "
        "models, prefix, api_key_env); each key is read from the environment (REASONING_STACK_<NAME>_API_KEY) "
        "and kept only in Open WebUI's 0600 env file. The deploy checks the model ids when the host reaches "
        "the API and warns when it cannot.",
    )
    openwebui_task_model: str | None = Field(
        None,
        description="Model (served name) for Open WebUI's background tasks: chat titles, tags, follow-up "
        "suggestions. None = a Qwen3 model of this host with thinking off for these requests, else the smallest "
        "model of this host.",
    )
    openwebui_tasks: list[Literal["title", "tags", "follow_up"]] | None = Field(
        None,
        description="Background tasks Open WebUI runs after each answer. None = all three when the task model "
        "answers without thinking, only the title when it always reasons first.",
    )
    firewall_allow: list[str] | None = Field(
        None,
        description="Networks (CIDR, e.g. ['192.168.1.0/24']) that may reach Open WebUI and, when vLLM listens beyond "
        "loopback, its API; the deploy then manages nftables rules for the stack's ports only (SSH and other ports "
        "untouched; cluster ports open only between the nodes). None = no firewall rules managed.",
    )
    openwebui_secret_key: SecretStr | None = Field(
        None, description="Session signing key; None = generated once on the host and kept. A secret: read from "
        "the environment variable openwebui_secret_key_env names."
    )
    openwebui_secret_key_env: str = Field(
        "REASONING_STACK_OPENWEBUI_SECRET_KEY", description="Environment variable that holds openwebui_secret_key."
    )

    # --- cluster (one model across several hosts) -------------------------------------------------------
    cluster: str | None = Field(
        None,
        description="Name of the cluster this host belongs to: every host with the same name serves one model "
        "together (pipeline parallel across them); None = a box of its own.",
    )
    cluster_role: Literal["head", "worker"] | None = Field(
        None, description="head (serves the API; exactly one per cluster) or worker."
    )
    cluster_interface: str | None = Field(
        None,
        description="Network interface of the cluster network (e.g. 'enp65s0'); its address is this node's, "
        "for Ray, vLLM, NCCL and Gloo alike. Keep it a private network: the traffic is unencrypted.",
    )
    cluster_backend: Literal["mp", "ray"] = Field(
        "mp",
        description="How vLLM spans the nodes: mp (vLLM's own multi-node mode, --nnodes/--node-rank) or ray "
        "(a Ray cluster the deploy forms, --distributed-executor-backend ray). See the README for the choice.",
    )
    cluster_port: int = Field(
        29501, ge=1, le=65535,
        description="mp: the head's torch.distributed port (--master-port). ray: the Ray head's GCS port is "
        "ray_port.",
    )
    ray_port: int = Field(6379, ge=1, le=65535, description="Port of the Ray head (GCS) with cluster_backend ray.")
    cluster_join_timeout: int = Field(
        600, ge=10, description="Seconds the head waits for every node and GPU to join the Ray cluster."
    )

    # --- host -------------------------------------------------------------------------------------------
    data_dir: str = Field(
        "/var/lib/reasoning-stack", description="Where model weights and Open WebUI data live on the host."
    )
    apt_lock_timeout: int = Field(
        600, ge=0, le=7200,
        description="Seconds each apt or dpkg step of the deploy waits, saying so, for a package lock another apt run "
                    "(unattended upgrades, say) holds, before failing.",
    )
    pull_images: bool = Field(
        True, description="Pull missing images; False for air-gapped hosts with images loaded beforehand."
    )
    docker_daemon_options: dict[str, Any] = Field(
        {}, description="Extra keys for /etc/docker/daemon.json (for example a storage-driver)."
    )

    # --- removal (deploys/remove.py only; pass on the command line: --data remove_weights=true) ----------------
    remove_weights: bool = Field(
        False, description="deploys/remove.py: also delete the downloaded model weights (<data_dir>/huggingface)."
    )
    remove_openwebui_data: bool = Field(
        False, description="deploys/remove.py: also delete Open WebUI's data (accounts, chats: <data_dir>/open-webui)."
    )
    remove_driver: bool = Field(
        False, description="deploys/remove.py: also purge the NVIDIA driver, the Container Toolkit and their apt "
        "sources (Docker stays)."
    )

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        return _check_model(value)

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        return _check_engine(value)

    @field_validator("gpu_profile")
    @classmethod
    def _known_gpu(cls, value: str | None) -> str | None:
        if value is not None and value not in GPUS:
            close = difflib.get_close_matches(value, GPUS, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(f"unknown GPU; {hint}valid: {', '.join(repr(g) for g in GPUS)}")
        return value

    @field_validator("nvidia_cuda_repo", "nvidia_toolkit_repo")
    @classmethod
    def _repo_url(cls, value: str) -> str:
        if not re.match(r"^(https?|file):/{1,3}[^\s'\"]+$", value):
            raise ValueError("must be an http(s):// or file:// URL without spaces or quotes")
        return value.rstrip("/")

    @field_validator("vllm_image", "vllm_image_arm64", "openwebui_image", "sglang_image", "ollama_image")
    @classmethod
    def _image_reference(cls, value: str) -> str:
        if not _IMAGE_RE.match(value) or ":" not in value.rsplit("/", 1)[-1] and "@" not in value:
            raise ValueError("must be an image reference pinned by tag or digest, like 'vllm/vllm-openai:v0.17.1'")
        if "@" not in value and value.rsplit(":", 1)[1] in ("latest", "main", "nightly"):
            raise ValueError(f"{value.rsplit(':', 1)[1]!r} moves with every upstream release: pin a version tag "
                             "(like 'vllm/vllm-openai:v0.17.1') or a digest")
        return value

    @field_validator("vllm_listen", "openwebui_listen")
    @classmethod
    def _ip_address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError("must be an IP address such as 127.0.0.1 or 0.0.0.0") from None
        return value

    @field_validator("firewall_allow")
    @classmethod
    def _networks(cls, value: list[str] | None) -> list[str] | None:
        for network in value or []:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not a network: write it as an address or CIDR, like "
                                 "'192.168.1.0/24' or '10.0.0.5/32'") from None
        return value

    @field_validator("served_model_name")
    @classmethod
    def _served_name(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$", value):
            raise ValueError("must be letters, digits and . _ / - only")
        return value

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/") or any(c in value for c in " '\"$`\\"):
            raise ValueError("must be an absolute path without spaces or quotes")
        value = value.rstrip("/") or "/"
        if value in _SYSTEM_DIRS:
            raise ValueError(f"{value} is a system directory: the deploy sets its owner and mode; use a folder of "
                             "its own, like /var/lib/reasoning-stack or /srv/reasoning-stack")
        return value

    @field_validator("sampling_overrides")
    @classmethod
    def _sampling_keys(cls, value: dict[str, float]) -> dict[str, float]:
        # vLLM 0.17.1's --override-generation-config honours only these keys (others are ignored silently).
        allowed = ("temperature", "top_p", "top_k", "min_p", "repetition_penalty", "max_new_tokens")
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ValueError(f"{key!r} is not honoured by vLLM; {hint}valid: {', '.join(allowed)}")
            low, high, whole, words = _SAMPLING_RANGES[key]
            number = value[key]
            exclusive = key in ("top_p", "repetition_penalty")
            if (whole and number != int(number)) or number < low or (exclusive and number <= low) or (
                    high is not None and number > high):
                raise ValueError(f"{key} {number!r} is out of range: must be {words}")
        return value

    @field_validator("vllm_extra_args")
    @classmethod
    def _full_flags(cls, value: list[str]) -> list[str]:
        return check_owned_flags(value)

    @field_validator("vllm_api_key_env", "hf_token_env", "openwebui_secret_key_env", "openwebui_admin_password_env")
    @classmethod
    def _env_var_name(cls, value: str) -> str:
        return env_var_name(value)

    @field_validator("vllm_api_key", "hf_token", "openwebui_secret_key", "openwebui_admin_password")
    @classmethod
    def _one_line_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and any(c in value.get_secret_value() for c in "\r\n\0"):
            raise ValueError("contains a line break: an env file holds one line per value; check how the "
                             "environment variable was set (value not shown)")
        return value

    def served_model_names(self) -> list[str]:
        """The names this host's instances serve under: the primary model first, then extra_models (each as its
        engine names it: an Ollama instance's is its library tag)."""

        def name(engine: str, model: str, served: str | None) -> str:
            return engines.candidates(engine)[0].served_name(model, served)

        return [name(self.engine, self.model, self.served_model_name)] + [
            name(e.engine, e.model, e.served_model_name) for e in self.extra_models]

    @field_validator("openwebui_admin_email")
    @classmethod
    def _admin_login(cls, value: str | None) -> str | None:
        # Open WebUI 0.12.4 takes name@localhost or name@domain.tld (utils/misc.py validate_email_format)
        if value is not None and not re.fullmatch(r"[^@\s]+@(localhost|[^@\s]+\.[^@\s]+)", value):
            raise ValueError("must be an email address Open WebUI accepts, like 'admin@localhost' or "
                             "'you@example.com'")
        return value

    @model_validator(mode="after")
    def _signup_policy_can_hold(self) -> StackSettings:
        if self.openwebui_enabled and self.openwebui_admin_email is None and self.openwebui_signup != "closed":
            raise ValueError(
                f"openwebui_signup: {self.openwebui_signup!r} needs the deploy's admin account "
                "(openwebui_admin_email): without it the first person to sign up becomes admin and Open WebUI "
                "0.12.4 then switches sign-up off until it restarts; set openwebui_admin_email or "
                "openwebui_signup = 'closed'")
        return self

    @model_validator(mode="after")
    def _cloud_connections_apart(self) -> StackSettings:
        prefixes = [c.model_prefix for c in self.openwebui_cloud]
        twice = sorted({p for p in prefixes if prefixes.count(p) > 1})
        if twice:
            raise ValueError(f"openwebui_cloud: the prefix {twice[0]!r} is used by two connections; give each "
                             "its own name or prefix")
        for connection in self.openwebui_cloud:
            if connection.api_key is None:
                raise ValueError(f"openwebui_cloud: connection {connection.name!r} has no API key: export "
                                 f"{connection.key_variable} in the environment you deploy from (api_key_env "
                                 "names another variable)")
            if any(c in connection.api_key.get_secret_value() for c in "\r\n\0;"):
                raise ValueError(f"openwebui_cloud: the API key of {connection.name!r} contains a line break or "
                                 "';' (value not shown); check how the environment variable was set")
        return self

    @model_validator(mode="after")
    def _task_model_served_here(self) -> StackSettings:
        names = self.served_model_names()
        if self.openwebui_task_model is not None and self.openwebui_task_model not in names:
            raise ValueError(f"openwebui_task_model {self.openwebui_task_model!r} is not served on this host; "
                             f"use one of: {', '.join(names)}")
        return self

    @model_validator(mode="after")
    def _ports_differ(self) -> StackSettings:
        if self.openwebui_enabled and self.openwebui_port == self.vllm_port:
            raise ValueError(
                f"openwebui_port and vllm_port are both {self.vllm_port}; give Open WebUI another port (e.g. 3000)"
            )
        taken = {self.vllm_port: "vllm_port"}
        if self.openwebui_enabled:
            taken[self.openwebui_port] = "openwebui_port"
        names: set[str] = set()
        for extra in self.extra_models:
            if extra.port in taken:
                raise ValueError(f"extra model {extra.name!r} uses port {extra.port}, already taken by "
                                 f"{taken[extra.port]}; give it a free port")
            if extra.name in names:
                raise ValueError(f"two extra models are named {extra.name!r}; names must differ")
            taken[extra.port] = f"extra model {extra.name!r}"
            names.add(extra.name)
        if self.gpu_count is not None and self.gpu_profile is None:
            raise ValueError("gpu_count needs gpu_profile (the GPU model it counts)")
        self._check_parallel_sizes()
        self._check_cluster()
        self._check_engines()  # before the exposure check: Ollama has no API key to set
        self._check_exposure()
        self._check_daemon_options()
        self._check_driver()
        arch = declared_arch(self.gpu_profile)
        if arch is not None:  # a GB10 is an aarch64 machine: its images are known before connecting
            self.for_arch(arch)
        return self

    def for_arch(self, arch: str | None) -> StackSettings:
        """These settings on a host whose CPU is ``arch`` (``uname -m``): each engine's image for it (aarch64 hosts
        run vllm_image_arm64); an image without a build for the host is refused (a PlatformError naming the
        setting)."""
        arch = normalise_arch(arch)
        update: dict[str, object] = {}
        for engine in self._engines_used():
            update.update(engine.for_arch(self, arch))
        if self.openwebui_enabled:
            check_image("openwebui_image", self.openwebui_image, arch, OPENWEBUI_ARCHES.get(self.openwebui_image))
        return self.model_copy(update=update) if update else self

    def serving_images(self) -> list[str]:
        """The images of the engines this host's instances run, the primary model's first."""
        names = [self.engine, *(e.engine for e in self.extra_models)]
        return list(dict.fromkeys(image for n in names for e in engines.candidates(n) for image in e.images(self)))

    def extra_args_for(self, engine: str) -> list[str]:
        """The user's extra arguments for an instance of ``engine``."""
        return engines.candidates(engine)[0].extra_args(self)

    def engine_names(self) -> set[str]:
        """The engine settings of this host's instances (auto included as it is set)."""
        return {self.engine, *(e.engine for e in self.extra_models)}

    def _engines_used(self) -> list[engines.Engine]:
        uses = engines.uses(self)
        return [engines.get(name) for name, use in uses.items() if use.any]

    def _check_engines(self) -> None:
        """What each engine refuses of these settings (the engines no instance uses may refuse their own settings
        being set)."""
        for name, use in engines.uses(self).items():
            engines.get(name).check_settings(self, use)

    def _check_driver(self) -> None:
        """Driver settings that cannot drive the declared GPU, by the rules the NVIDIA layer installs with."""
        from reasoning_stack.driver import DEFAULT_BRANCH, check_branch, driver_install, driver_needs, kernel_modules
        from reasoning_stack.pci import architecture_of_compute_cap

        if self.gpu_profile is None:
            return
        gpu = GPUS[self.gpu_profile]
        needs = driver_needs({architecture_of_compute_cap(gpu.compute_cap)} - {"unknown"})
        branch = self.nvidia_driver_branch
        for problem in check_branch(needs, branch) if branch else []:
            raise ValueError(f"nvidia_driver_branch: {problem} (gpu_profile {self.gpu_profile!r}); unset it to let "
                             "the deploy choose")
        if self.nvidia_driver == "preinstalled":
            return
        try:
            kernel_modules(needs, branch or DEFAULT_BRANCH, self.nvidia_kernel_modules)
        except ValueError as exc:
            raise ValueError(f"nvidia_kernel_modules: {exc} (gpu_profile {self.gpu_profile!r}); use 'auto'") from None
        # the OS is not known before connecting: check the method on one it supports
        os_id, version = ("debian", "12") if self.nvidia_driver == "debian" else ("ubuntu", "24.04")
        try:
            driver_install(os_id, version, self.nvidia_driver, branch, self.nvidia_kernel_modules, needs)
        except ValueError as exc:
            raise ValueError(f"nvidia_driver: {exc} (gpu_profile {self.gpu_profile!r})") from None

    def _check_exposure(self) -> None:
        """vLLM beyond loopback needs an API key: its /v1 API would otherwise serve anyone who can reach it."""
        local = ipaddress.ip_address(self.vllm_listen).is_loopback
        if not local and (self.vllm_api_key is None or not self.vllm_api_key.get_secret_value()):
            raise ValueError(f"vllm_listen {self.vllm_listen} exposes vLLM beyond this host without an API key: set "
                             "REASONING_STACK_VLLM_API_KEY in the environment you deploy from, or listen on "
                             "127.0.0.1")

    def _check_daemon_options(self) -> None:
        """docker_daemon_options keys the stack sets itself would be rewritten (and Docker restarted) each run."""
        opts = self.docker_daemon_options
        drivers = [o for o in opts.get("exec-opts", []) if str(o).startswith("native.cgroupdriver=")]
        if self.nvidia_container_toolkit and any(o != "native.cgroupdriver=cgroupfs" for o in drivers):
            raise ValueError("docker_daemon_options exec-opts: the stack sets native.cgroupdriver=cgroupfs (with "
                             "the systemd driver a daemon-reload can take GPUs away from running containers); "
                             "remove your cgroup driver")
        if self.nvidia_container_toolkit and "nvidia" in (opts.get("runtimes") or {}):
            raise ValueError("docker_daemon_options runtimes: the stack sets the nvidia runtime itself; remove it")

    def _check_cluster(self) -> None:
        """A cluster member needs its role and interface; cluster settings without a cluster are a mistake."""
        if self.cluster is None:
            for key in ("cluster_role", "cluster_interface"):
                if getattr(self, key) is not None:
                    raise ValueError(f"{key} is set but cluster is not: name the cluster this host belongs to "
                                     "(cluster = 'r1'), or remove it")
            return
        if not _NAME_RE.match(self.cluster):
            raise ValueError(f"cluster {self.cluster!r}: use lower-case letters, digits and '-', e.g. 'r1'")
        if self.cluster_role is None:
            raise ValueError(f"cluster_role is not set for a host of cluster {self.cluster!r}: 'head' or 'worker'")
        if not self.cluster_interface or not re.match(r"^[A-Za-z0-9_.:@-]{1,15}$", self.cluster_interface):
            raise ValueError(f"cluster_interface: name the network interface of cluster {self.cluster!r} "
                             "(as `ip -br addr` lists it, e.g. 'enp65s0')")
        if self.extra_models:
            raise ValueError("extra_models: a cluster serves one model across its nodes; put extra models on a "
                             "box of their own")

    def _check_parallel_sizes(self) -> None:
        """Parallel sizes that cannot work on the declared GPUs or with the named model."""
        usable = None
        if self.gpu_indices is not None:
            if not self.gpu_indices or len(set(self.gpu_indices)) != len(self.gpu_indices) or min(self.gpu_indices) < 0:
                raise ValueError(f"gpu_indices {self.gpu_indices}: list each GPU index (0, 1, ...) once, or leave "
                                 "it unset to use every GPU")
            usable = len(self.gpu_indices)
        if self.gpu_profile is not None:
            count = self.gpu_count or 1
            outside = [i for i in self.gpu_indices or [] if i >= count]
            if outside:
                raise ValueError(f"gpu_indices {outside} name GPUs a {count}-GPU {self.gpu_profile} host lacks; "
                                 f"valid indices: 0-{count - 1}")
            usable = usable or count
        wanted = (self.tensor_parallel_size or 1) * (self.data_parallel_size or 1)
        if usable is not None and wanted > usable:
            raise ValueError(f"tensor_parallel_size {self.tensor_parallel_size or 1} x data_parallel_size "
                             f"{self.data_parallel_size or 1} needs {wanted} GPUs; this host may use {usable}")
        if self.tensor_parallel_size and self.model != "auto":
            model = MODELS[self.model]
            quants = list(model.repos) if self.quantization == "auto" else [self.quantization]
            problems = [tp_problem(model, self.tensor_parallel_size, q) for q in quants if q in model.repos]
            if problems and all(problems):
                sizes = sorted({t for q in quants if q in model.repos for t in valid_tp_sizes(model, q, 16)})
                raise ValueError(f"tensor_parallel_size {self.tensor_parallel_size}: {problems[0]}; sizes that suit "
                                 f"it: {', '.join(map(str, sizes))}")


def setting_names() -> list[str]:
    """All setting names, in definition order."""
    return list(StackSettings.model_fields)


def settings_reference_markdown() -> str:
    """The settings reference page: every setting with its type, default and help line."""
    lines = [
        "# Settings reference",
        "",
        "Generated from `reasoning_stack/settings.py` by `reasoning-stack settings`; do not edit by hand.",
        "Set any of these in `group_data/<group>.py` or on a host in the inventory.",
        "",
        "| setting | type | default | help |",
        "| --- | --- | --- | --- |",
    ]
    for name, field in StackSettings.model_fields.items():
        type_name = _type_name(field.annotation)
        default = field.default
        shown = "(none)" if default is None else repr(default)
        if name in SECRET_SETTINGS:
            shown = f"${StackSettings.model_fields[SECRET_SETTINGS[name]].default}"
        lines.append(f"| `{name}` | {type_name} | `{shown}` | {field.description} |")
    return "\n".join(lines) + "\n"


# Secrets come from the environment of the machine that runs the deploy, never from host data (which pyinfra
# prints, e.g. with debug-inventory) or a file in the repo: each secret setting and the setting naming its variable.
SECRET_SETTINGS = {"vllm_api_key": "vllm_api_key_env", "hf_token": "hf_token_env",
                   "openwebui_secret_key": "openwebui_secret_key_env",
                   "openwebui_admin_password": "openwebui_admin_password_env"}
SECRET_ENV_VARS = {name: StackSettings.model_fields[env].default for name, env in SECRET_SETTINGS.items()}


def group_data_all_py() -> str:
    """The text of ``group_data/all.py``: every setting with its default and help line."""
    out = [
        '"""Defaults for every host: each setting of the stack with its default and one line of help.',
        "",
        "Generated by `reasoning-stack settings --group-data` (a test keeps it in step with the schema);",
        "change values here or in a group's own file. Secrets are read from the environment of the machine",
        'you deploy from (the *_env settings name the variables), never written here."""',
        "",
    ]
    for name, field in StackSettings.model_fields.items():
        if name in SECRET_SETTINGS:
            continue
        out += ["# " + line for line in textwrap.wrap(field.description or "", 100)]
        out.append(f"{name} = {field.default!r}")
        out.append("")
    return "\n".join(out)


def _type_name(annotation: Any) -> str:
    text = str(annotation)
    for prefix in ("typing.", "pydantic.types.", "reasoning_stack.settings."):
        text = text.replace(prefix, "")
    text = re.sub(r"<class '([\w.]+)'>", r"\1", text)
    return text.replace("|", "\\|")
