"""The planner's one entry point for the CLI: an inventory's plans (each host, a cluster once under its head), a
what-if plan, and each host's rendered files, every plan with its alternatives and reasons filled in here. The CLI
only prints what these return.

    units = plan_inventory(settings)            # check, plan
    plan = plan_what_if(request)                # plan --gpu ... --model ...
    rendered = render_host(name, settings_of_host, clusters, ssh_user)   # render
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reasoning_stack import engines, platforms
from reasoning_stack.arch import PlatformError, declared_arch
from reasoning_stack.cluster import find_clusters
from reasoning_stack.gpus import Gpu, select_gpus
from reasoning_stack.instances import plan_host
from reasoning_stack.openwebui.entries import chat_menus_text
from reasoning_stack.openwebui.functions import functions_text
from reasoning_stack.plan import (
    SUMMARY_HEADER,
    PlanRequest,
    ServingPlan,
    make_plan,
    plan_summary_row,
    request_from_settings,
)
from reasoning_stack.planning.types import SHORT_REASONING_ROOM, TYPICAL_PROMPT_TOKENS, HostPlan
from reasoning_stack.settings import StackSettings
from reasoning_stack.topology import Cluster
from reasoning_stack.tradeoffs import alternatives

# what the CLI prints with, beside what it asks for
__all__ = ["SHORT_REASONING_ROOM", "SUMMARY_HEADER", "TYPICAL_PROMPT_TOKENS", "NotRendered", "PlanRequest",
           "PlannedUnit", "ServingPlan", "chat_menus_text", "find_clusters", "functions_text", "plan_inventory",
           "plan_summary_row", "plan_what_if", "registry_steps", "render_host", "usable_gpus"]


@dataclass(frozen=True)
class PlannedUnit:
    """One serving unit of an inventory: a host, or a cluster under its head's name."""

    label: str  # the host's name, or "<cluster> (N nodes)"
    settings: StackSettings
    cluster: Cluster | None
    plan: HostPlan | None  # None: the GPUs are read from nvidia-smi at deploy (no gpu_profile)


class NotRendered(Exception):
    """A host ``render`` cannot render, and ``why``: ``gpus_at_deploy`` (its GPUs are known only there),
    ``platform`` (an image without a build for its CPU) or ``does_not_fit`` (its model)."""

    def __init__(self, reason: str, why: Literal["gpus_at_deploy", "platform", "does_not_fit"]) -> None:
        super().__init__(reason)
        self.why = why


def usable_gpus(settings: StackSettings) -> list[Gpu]:
    """The declared GPUs of a host that the stack may use (``gpu_indices``; checked by the settings)."""
    declared = settings.declared_gpus()
    assert declared is not None
    return select_gpus(declared, settings.gpu_indices)


def plan_what_if(req: PlanRequest) -> ServingPlan:
    """A what-if plan, with its layout trade-offs on the same GPUs."""
    plan = make_plan(req)
    plan.alternatives = alternatives(req, plan)  # for the engines that plan GPU layouts
    return plan


def plan_inventory(settings: dict[str, StackSettings], with_alternatives: bool = True) -> list[PlannedUnit]:
    """Every serving unit of an inventory with its plan: a single-model host's plan carries its alternatives
    (unless ``with_alternatives`` is False: ``check`` asks only whether it fits), a cluster's its nodes and ranks in
    ``layout_reason``."""
    clusters = find_clusters(settings)
    units = []
    for host, host_settings in settings.items():
        cluster = clusters.get(host_settings.cluster or "")
        label = host
        if cluster is not None:
            if host != cluster.head:
                continue  # the cluster is one serving instance, shown once under its name
            label = f"{cluster.name} ({len(cluster.nodes)} nodes)"
        if host_settings.declared_gpus() is None:
            units.append(PlannedUnit(label, host_settings, cluster, None))
            continue
        gpus = usable_gpus(host_settings)
        host_plan = plan_host(host_settings, gpus, len(cluster.nodes) if cluster else 1)
        if host_plan.fits and len(host_plan.instances) == 1:
            plan = host_plan.instances[0].plan
            if cluster is None:
                if with_alternatives:
                    plan.alternatives = alternatives(request_from_settings(host_settings, gpus), plan)
            else:
                plan.layout_reason += "; nodes: " + ", ".join(
                    f"{node} (rank {rank}{', API' if rank == 0 else ''})" for rank, node in enumerate(cluster.nodes))
        units.append(PlannedUnit(label, host_settings, cluster, host_plan))
    return units


def render_host(name: str, settings: StackSettings, clusters: dict[str, Cluster], ssh_user: str | None
                ) -> dict[str, str]:
    """Every file the deploy would put on host ``name``, by path, secrets as placeholders; raises
    :class:`NotRendered` saying why a host cannot be rendered here."""
    if settings.declared_gpus() is None:
        raise NotRendered("its GPUs are read from nvidia-smi at deploy; set gpu_profile (and gpu_count), or "
                          "gpu_memory_gib for a card the catalogue lacks, to render it here", "gpus_at_deploy")
    cluster = clusters.get(settings.cluster or "")
    try:
        settings = settings.for_arch(declared_arch(settings.gpu_profile))
    except PlatformError as exc:
        raise NotRendered(str(exc), "platform") from None
    host_plan = plan_host(settings, usable_gpus(settings), len(cluster.nodes) if cluster else 1)
    if not host_plan.fits:
        raise NotRendered(host_plan.reason, "does_not_fit")
    platform = platforms.of_engine(settings.engine)
    return platform.files(settings, host_plan, settings.gpu_count or 1, name, cluster, ssh_user)


def registry_steps(settings: StackSettings) -> list[str]:
    """The registry logins the deploy does on this host before it pulls (Engine.registry_login), as the
    command it runs: the password comes from its 0600 file through stdin."""
    return [f"before its pulls, with the {login.title} ({login.secret_setting}): {login.command()}"
            for login in engines.registry_logins(settings)]
