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

    from reasoning_stack.settings import StackSettings

__all__ = ["LINUX", "MACOS", "PLATFORMS", "Platform", "detect", "get", "limits", "of_engine"]

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


def limits(settings: StackSettings, platform: Platform | None = None) -> list[str]:
    """What ``settings`` ask of their engine's platform (or ``platform``) that it does not deploy, each with the way
    out; empty when it deploys all of it. ``check`` prints these before any host is touched, the deploy stops on
    the first."""
    platform = platform or of_engine(settings.engine)
    found = []
    if settings.https != "off" and not platform.proxy:
        found.append(f"https {settings.https!r} is not deployed on this platform yet; set https = 'off' for this host "
                     "and put a reverse proxy of your own in front of it")
    if settings.openwebui_enabled and settings.webui_database() == "postgresql" and not platform.webui_postgresql:
        why = ("set" if settings.openwebui_database == "postgresql"
               else f"chosen by openwebui_database 'auto' for openwebui_users {settings.openwebui_users}")
        found.append(f"Open WebUI on PostgreSQL ({why}) is not deployed on this platform yet; set "
                     "openwebui_database = 'sqlite' for this host")
    if settings.firewall_allow and not platform.firewall:
        found.append(f"firewall_allow {settings.firewall_allow} is not deployed on this platform yet: no packet filter "
                     "would limit who reaches Open WebUI; remove firewall_allow for this host and use the system's "
                     "own firewall, or openwebui_listen = '127.0.0.1' and an SSH tunnel")
    return found
