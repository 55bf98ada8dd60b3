"""The interface every platform implements: how the stack finds the host's kind, its GPUs and what it checks, its
deploy layers and removal, the files it renders, its status manifest and how ``status`` reads its report.

A platform is a module in ``reasoning_stack/platforms/`` whose object is a :class:`Platform`: Linux with NVIDIA
GPUs, systemd and Docker (``linux``), an Apple Silicon Mac with launchd (``macos``). DGX Spark is Linux: its GB10
is data in the GPU catalogue. Nothing outside the platform modules asks which platform a host is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyinfra.api.host import Host

    from reasoning_stack.gpus import Gpu
    from reasoning_stack.planning.types import HostPlan
    from reasoning_stack.topology import Cluster


class Platform:
    """One kind of host. Subclasses implement every method; the @deploy functions of its layers and its removal
    live with the other deploys, registered for it in ``reasoning_stack.deploys.stack.PLATFORM_DEPLOYS``."""

    name: str = ""  # what engines name as theirs (Engine.platform)
    title: str = ""
    probe_path: str = ""  # folders put before PATH when the status probe runs there (its python3)
    needs: str = ""  # what an engine of this platform needs, for messages: "needs NVIDIA GPUs"
    is_: str = ""  # what a host of this platform is, for messages: "is a Mac (macOS)"
    monitoring: bool = False  # deploys the stack's monitoring (monitoring_enabled) on its hosts
    proxy: bool = False  # deploys the HTTPS proxy (https) on its hosts
    webui_postgresql: bool = False  # runs Open WebUI on PostgreSQL and Redis (openwebui_database)
    firewall: bool = False  # writes packet-filter rules for firewall_allow

    def detect(self, target: Host) -> bool:
        """Whether ``target`` is a host of this platform (from its facts)."""
        raise NotImplementedError

    def check_host(self, target: Host) -> None:
        """Refuse, naming the host, a system the stack does not deploy to (a PyinfraError)."""

    def gpus(self, settings: Any, target: Host) -> list[Gpu]:
        """Every GPU of the host as the planner sees it (before ``gpu_indices``); a PyinfraError naming the host
        when they cannot be read or disagree with the declared gpu_profile."""
        raise NotImplementedError

    def wired_limit_mib(self, target: Host) -> int:
        """GPU memory the system was told to let the GPU keep (a Mac's raised limit); 0 for the default."""
        return 0

    def manifest(self, settings: Any, plan: HostPlan, host_name: str, cluster: Cluster | None) -> dict[str, Any]:
        """What the deploy put on this host, for ``status``: every unit, what it serves and where (no secret)."""
        raise NotImplementedError

    def files(self, settings: Any, plan: HostPlan, host_gpu_count: int, host_name: str, cluster: Cluster | None,
              ssh_user: str | None) -> dict[str, str]:
        """Every file the deploy writes on such a host (``reasoning-stack render``), secrets as placeholders."""
        raise NotImplementedError

    def report_gpus(self, report: dict[str, Any]) -> list[Gpu]:
        """The GPUs in a status probe's report (empty when none came)."""
        raise NotImplementedError

    def report_gpu_problem(self, report: dict[str, Any]) -> str:
        """What went wrong reading the GPUs, in the report's own words ('' when nothing did)."""
        raise NotImplementedError

    def hardware_line(self, report: dict[str, Any], gpus: list[Gpu]) -> str:
        """The status report's line about the host's GPUs (gpus: not empty)."""
        raise NotImplementedError
