"""The host's CPU architecture and the images built for it (x86_64 boxes, aarch64 DGX Sparks).

The GPU facts decide the memory (unified on a DGX Spark); this module decides which image each engine runs:
a pinned image runs only where it has a build, and an aarch64 host gets the vLLM build for its GPU. The
architecture comes from pyinfra's ``Arch`` fact (``uname -m``); before any host is contacted (``check``,
``plan``) a declared GPU that exists only on one architecture (the GB10) implies it.
"""

from __future__ import annotations

from reasoning_stack.catalogue import GPUS
from reasoning_stack.engines.ollama import DEFAULT_IMAGE as OLLAMA_IMAGE
from reasoning_stack.engines.sglang import DEFAULT_IMAGE as SGLANG_IMAGE

X86_64 = "x86_64"
AARCH64 = "aarch64"
_ALIASES = {"x86_64": X86_64, "amd64": X86_64, "aarch64": AARCH64, "arm64": AARCH64}

VLLM_IMAGE = "vllm/vllm-openai:v0.17.1"
# vLLM 0.17.1 built on CUDA 13.0, the CUDA of DGX OS 7 (driver 580): the release publishes the cu130 aarch64 wheel
# that DGX Spark builds install (vllm-0.17.1+cu130-...-manylinux_2_35_aarch64.whl), and CUDA 13 builds carry the
# Blackwell family kernels a GB10 (sm_121) runs. The plain tag is the CUDA 12.9 build until vLLM 0.20 made
# CUDA 13 the default (vllm PR #39878).
VLLM_IMAGE_ARM64 = "vllm/vllm-openai:v0.17.1-cu130"
OPENWEBUI_IMAGE = "ghcr.io/open-webui/open-webui:v0.12.4"

# The architectures each pinned image is used on. Ollama and Open WebUI publish multi-architecture images
# (linux/amd64 and linux/arm64). SGLang's pinned tag is not known to have an arm64 build with sm_121 kernels.
PINNED_IMAGE_ARCHES: dict[str, tuple[str, ...]] = {
    VLLM_IMAGE: (X86_64,),
    VLLM_IMAGE_ARM64: (AARCH64,),
    SGLANG_IMAGE: (X86_64,),
    OLLAMA_IMAGE: (X86_64, AARCH64),
    OPENWEBUI_IMAGE: (X86_64, AARCH64),
}


class PlatformError(ValueError):
    """The host's architecture has no build of an image the settings ask for."""


def normalise_arch(arch: str | None) -> str:
    """``x86_64`` or ``aarch64`` for what ``uname -m`` prints (None: x86_64, the stack's first platform);
    a PlatformError for any other architecture."""
    if arch is None:
        return X86_64
    if arch not in _ALIASES:
        raise PlatformError(f"the CPU architecture {arch!r} is not supported; reasoning-stack deploys to x86_64 and "
                            "aarch64 (DGX Spark) hosts")
    return _ALIASES[arch]


def declared_arch(gpu_profile: str | None) -> str | None:
    """The architecture a declared GPU implies (the GB10 exists only in aarch64 machines), else None."""
    if gpu_profile is not None and GPUS[gpu_profile].unified:
        return AARCH64
    return None


def check_image(setting: str, image: str, arch: str, hint: str = "") -> None:
    """Refuse a pinned image that has no build for ``arch`` (images the stack does not pin are the operator's
    choice and pass)."""
    arches = PINNED_IMAGE_ARCHES.get(image)
    if arches is not None and arch not in arches:
        raise PlatformError(f"{setting}: {image} has no {arch} build known to run here (the stack uses it on "
                            f"{', '.join(arches)}); {hint or f'set {setting} to an image built for {arch}'}")
