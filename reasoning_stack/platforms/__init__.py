"""Platforms: one module each (``linux``: NVIDIA GPUs, systemd and Docker; ``macos``: an Apple Silicon Mac with
launchd) implementing :class:`~reasoning_stack.platforms.base.Platform`, and the lookup by name or by a host's facts.
An engine names the platform it runs on (``Engine.platform``); the rest of the stack asks the platform."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reasoning_stack import engines
from reasoning_stack.platforms.base import Platform
from reasoning_stack.platforms.linux import LINUX
from reasoning_stack.platforms.macos import MACOS

if TYPE_CHECKING:
    from pyinfra.api.host import Host

__all__ = ["PLATFORMS", "Platform", "detect", "get", "of_engine"]

PLATFORMS: tuple[Platform, ...] = (LINUX, MACOS)


def get(name: str) -> Platform:
    """The platform named ``name`` (an engine's ``platform``)."""
    for platform in PLATFORMS:
        if platform.name == name:
            return platform
    raise KeyError(f"unknown platform {name!r}; known: {', '.join(p.name for p in PLATFORMS)}")


def of_engine(engine: str) -> Platform:
    """The platform an ``engine`` setting's value runs on (auto: Linux, where it chooses between engines)."""
    return get(engines.candidates(engine)[0].platform)


def detect(target: Host) -> Platform:
    """The platform ``target`` is, from its facts (the most specific first: a Mac says so, Linux is the rest)."""
    return next(p for p in sorted(PLATFORMS, key=lambda p: p is LINUX) if p.detect(target))
