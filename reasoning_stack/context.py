"""What a pyinfra deploy file needs about the host it runs for: settings, OS, GPUs and serving plan.

The first call validates *every* host of the inventory, so one bad host stops the run before any
operation is added for any host. Errors are raised as PyinfraError naming the host.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api.exceptions import PyinfraError
from pyinfra.context import ctx_inventory
from pyinfra.facts.server import LinuxDistribution

from reasoning_stack.driver import explain_nvidia_smi_error
from reasoning_stack.facts import NvidiaGpus, NvidiaKernelState
from reasoning_stack.gpus import Gpu, gpus_from_profile, select_gpus
from reasoning_stack.instances import HostPlan, plan_host
from reasoning_stack.inventory import validate_inventory
from reasoning_stack.settings import StackSettings
from reasoning_stack.validation import SettingsInvalid

SUPPORTED_OS = {("debian", "12"), ("ubuntu", "22.04"), ("ubuntu", "24.04")}

_settings_cache: dict[int, dict[str, StackSettings]] = {}
_plan_cache: dict[tuple[int, str], tuple[HostPlan, list[Gpu]]] = {}


def host_settings() -> StackSettings:
    """Validated settings of the current pyinfra host (raises a clear error for any bad host)."""
    inventory = ctx_inventory.get()
    key = id(inventory)
    if key not in _settings_cache:
        try:
            _settings_cache[key] = validate_inventory(inventory)
        except SettingsInvalid as exc:
            raise PyinfraError(str(exc)) from None
    return _settings_cache[key][host.name]


def check_os() -> tuple[str, str]:
    """(distribution id, version) of the host; unsupported systems are refused with a clear message."""
    dist = host.get_fact(LinuxDistribution)
    meta = dist.get("release_meta") or {}
    os_id = (meta.get("ID") or dist.get("name") or "unknown").lower()
    version = meta.get("VERSION_ID") or str(dist.get("major") or "")
    if (os_id, version) not in SUPPORTED_OS:
        supported = ", ".join(f"{n.capitalize()} {v}" for n, v in sorted(SUPPORTED_OS))
        raise PyinfraError(f"host {host.name!r}: {meta.get('PRETTY_NAME') or os_id + ' ' + version} is not "
                           f"supported; reasoning-stack deploys to {supported}")
    return os_id, version


def nvidia_smi_failed(error: str) -> PyinfraError:
    """The error that stops a host whose nvidia-smi fails, with the explanation and the way out."""
    state = host.get_fact(NvidiaKernelState)
    return PyinfraError(f"host {host.name!r}: nvidia-smi failed: {error}\n  {explain_nvidia_smi_error(error, state)}")


def host_gpus(settings: StackSettings) -> list[Gpu]:
    """The GPUs the stack may use on this host (``gpu_indices`` of nvidia-smi's report or of the declared
    gpu_profile); a disagreement between the two, or an index the host lacks, is an error."""
    gpus = _reported_or_declared(settings)
    try:
        return select_gpus(gpus, settings.gpu_indices)
    except ValueError as exc:
        raise PyinfraError(f"host {host.name!r}: {exc}") from None


def _reported_or_declared(settings: StackSettings) -> list[Gpu]:
    fact = host.get_fact(NvidiaGpus)
    reported: list[Gpu] = list(fact["gpus"]) if fact else []
    if settings.gpu_profile is None:
        if fact and fact["error"]:
            raise nvidia_smi_failed(str(fact["error"]))
        return reported
    declared = gpus_from_profile(settings.gpu_profile, settings.gpu_count or max(1, len(reported)))
    if reported:
        slugs = {g.slug for g in reported}
        if slugs != {settings.gpu_profile} or (settings.gpu_count and settings.gpu_count != len(reported)):
            seen = ", ".join(f"{g.index}: {g.name} ({g.memory_mib} MiB)" for g in reported)
            raise PyinfraError(
                f"host {host.name!r}: gpu_profile {settings.gpu_profile!r} x{settings.gpu_count or len(reported)} "
                f"disagrees with nvidia-smi, which reports {len(reported)} GPU(s): {seen}; fix or remove "
                f"gpu_profile/gpu_count"
            )
        return reported
    return declared


def host_plan() -> tuple[HostPlan, list[Gpu]]:
    """The serving plan of the current host (every vLLM instance, on the GPUs ``gpu_indices`` allows) and
    every GPU of the host; a plan that does not fit stops the run with its numbers, before any host is
    changed."""
    key = (id(ctx_inventory.get()), host.name)
    if key not in _plan_cache:
        settings = host_settings()
        gpus = host_gpus(settings)
        if not gpus:
            raise PyinfraError(f"host {host.name!r}: nvidia-smi reports no GPU and no gpu_profile is set; set "
                               "gpu_profile (and gpu_count) in group_data to plan before the driver is installed")
        plan = plan_host(settings, gpus)
        if not plan.fits:
            raise PyinfraError(f"host {host.name!r}: {plan.reason}")
        _plan_cache[key] = (plan, _reported_or_declared(settings))
    return _plan_cache[key]
