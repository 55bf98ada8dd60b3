"""The host's CPU architecture and the images built for it (x86_64 boxes, aarch64 DGX Sparks).

The GPU facts decide the memory (unified on a DGX Spark); each engine says which of its pinned images runs on
which architecture (``Engine.for_arch``), and this module refuses a pinned image where it has no build. The
architecture comes from pyinfra's ``Arch`` fact (``uname -m``); before any host is contacted (``check``,
``plan``) a declared GPU that exists only on one architecture (the GB10) implies it.
"""

from __future__ import annotations

from reasoning_stack.catalogue import GPUS

X86_64 = "x86_64"
AARCH64 = "aarch64"
_ALIASES = {"x86_64": X86_64, "amd64": X86_64, "aarch64": AARCH64, "arm64": AARCH64}


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


def check_image(setting: str, image: str, arch: str, arches: tuple[str, ...] | None, hint: str = "") -> None:
    """Refuse a pinned image that has no build for ``arch`` (``arches``: the architectures the stack uses that pin
    on; None for an image the stack does not pin, which is the operator's choice and passes)."""
    if arches is not None and arch not in arches:
        raise PlatformError(f"{setting}: {image} has no {arch} build known to run here (the stack uses it on "
                            f"{', '.join(arches)}); {hint or f'set {setting} to an image built for {arch}'}")
