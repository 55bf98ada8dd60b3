"""What a pyinfra deploy file needs about the host it runs for: settings, OS, GPUs and serving plan.

The first call validates *every* host of the inventory, so one bad host stops the run before any
operation is added for any host. Errors are raised as PyinfraError naming the host.
"""

from __future__ import annotations

from pyinfra import host, logger
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.host import Host
from pyinfra.context import ctx_inventory
from pyinfra.facts.server import Arch, LinuxDistribution

from reasoning_stack import engines
from reasoning_stack.cluster import Cluster, find_clusters
from reasoning_stack.driver import explain_nvidia_smi_error
from reasoning_stack.facts import InterfaceAddress, MacHardware, NvidiaGpus, NvidiaKernelState
from reasoning_stack.gpus import Gpu, gpus_from_profile, select_gpus
from reasoning_stack.instances import HostPlan, plan_host
from reasoning_stack.inventory import renamed_settings, validate_inventory
from reasoning_stack.macos import mac_gpu
from reasoning_stack.platforms import PlatformError
from reasoning_stack.settings import StackSettings
from reasoning_stack.validation import SettingsInvalid

SUPPORTED_OS = {("debian", "12"), ("ubuntu", "22.04"), ("ubuntu", "24.04")}

_settings_cache: dict[int, dict[str, StackSettings]] = {}
_platform_cache: dict[tuple[int, str], StackSettings] = {}
_plan_cache: dict[tuple[int, str], tuple[HostPlan, list[Gpu]]] = {}


def host_settings() -> StackSettings:
    """Validated settings of the current pyinfra host, with the images for its CPU architecture (raises a
    clear error for any bad host, and for an image that has no build for this host's architecture)."""
    inventory = ctx_inventory.get()
    key = id(inventory)
    if key not in _settings_cache:
        try:
            _settings_cache[key] = validate_inventory(inventory)
        except SettingsInvalid as exc:
            raise PyinfraError(str(exc)) from None
        for warning in renamed_settings(inventory):
            logger.warning(f"reasoning-stack: {warning}")
    if (key, host.name) not in _platform_cache:
        try:
            _platform_cache[(key, host.name)] = _settings_cache[key][host.name].for_arch(host.get_fact(Arch))
        except PlatformError as exc:
            raise PyinfraError(f"host {host.name!r}: {exc}") from None
    return _platform_cache[(key, host.name)]


def host_cluster() -> Cluster | None:
    """The cluster the current host belongs to, or None for a box of its own."""
    settings = host_settings()
    if settings.cluster is None:
        return None
    return find_clusters(_settings_cache[id(ctx_inventory.get())])[settings.cluster]


def cluster_host(name: str) -> Host:
    """Another host of the inventory (a node of the current host's cluster), for its facts."""
    return ctx_inventory.get().get_host(name)


def cluster_address(name: str, interface: str) -> str:
    """A cluster node's address on the cluster network; a node without one stops the run naming it."""
    target = host if name == host.name else cluster_host(name)
    address = target.get_fact(InterfaceAddress, interface=interface)
    if not address:
        raise PyinfraError(f"host {name!r}: cluster_interface {interface!r} has no IPv4 address there; name the "
                           "interface of the cluster network (`ip -br addr` on the node)")
    return address


def _platform(settings: StackSettings) -> str:
    """The platform the settings' primary engine runs on (auto: Linux, where it chooses between engines)."""
    return engines.candidates(settings.engine)[0].platform


def _engines_on(platform: str) -> list[engines.Engine]:
    return [e for e in engines.registered() if e.platform == platform]


def host_is_mac() -> bool:
    """Whether the current host is a Mac (macOS engines: MLX-LM); a Mac asked for an engine of another platform, or
    a macOS engine on anything else, stops the run naming the host."""
    mac = host.get_fact(MacHardware) is not None
    engine = host_settings().engine
    platform = _platform(host_settings())
    if mac and platform != "macos":
        ours = " or ".join(f"engine = {e.name!r} ({e.title})" for e in _engines_on("macos"))
        raise PyinfraError(f"host {host.name!r} is a Mac (macOS): engine {engine!r} needs NVIDIA GPUs; set "
                           f"{ours} for it")
    if platform == "macos" and not mac:
        raise PyinfraError(f"host {host.name!r}: {_not_a_mac(engine)}")
    return mac


def _not_a_mac(engine: str) -> str:
    linux = [repr(e.name) for e in _engines_on("linux")]
    either = " or ".join([", ".join(linux[:-1]), linux[-1]] if len(linux) > 1 else linux)
    return f"engine {engine!r} runs on Apple Silicon Macs, and this host is not macOS; use engine {either} here"


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


def nvidia_smi_failed(error: str, target: Host | None = None) -> PyinfraError:
    """The error that stops a host whose nvidia-smi fails, with the explanation and the way out."""
    target = host if target is None else target
    state = target.get_fact(NvidiaKernelState)
    return PyinfraError(f"host {target.name!r}: nvidia-smi failed: {error}\n  "
                        f"{explain_nvidia_smi_error(error, state)}")


def host_gpus(settings: StackSettings, target: Host | None = None) -> list[Gpu]:
    """The GPUs the stack may use on this host (``gpu_indices`` of nvidia-smi's report or of the declared
    gpu_profile); a disagreement between the two, or an index the host lacks, is an error."""
    target = host if target is None else target
    gpus = _reported_or_declared(settings, target)
    try:
        return select_gpus(gpus, settings.gpu_indices)
    except ValueError as exc:
        raise PyinfraError(f"host {target.name!r}: {exc}") from None


def _reported_or_declared(settings: StackSettings, target: Host | None = None) -> list[Gpu]:
    target = host if target is None else target
    if _platform(settings) == "macos":
        return [_mac(settings, target)]
    fact = target.get_fact(NvidiaGpus)
    reported: list[Gpu] = list(fact["gpus"]) if fact else []
    if settings.gpu_profile is None:
        if fact and fact["error"]:
            raise nvidia_smi_failed(str(fact["error"]), target)
        return reported
    declared = gpus_from_profile(settings.gpu_profile, settings.gpu_count or max(1, len(reported)))
    if reported:
        slugs = {g.slug for g in reported}
        if slugs != {settings.gpu_profile} or (settings.gpu_count and settings.gpu_count != len(reported)):
            seen = ", ".join(f"{g.index}: {g.name} ({g.memory_mib} MiB)" for g in reported)
            raise PyinfraError(
                f"host {target.name!r}: gpu_profile {settings.gpu_profile!r} x{settings.gpu_count or len(reported)} "
                f"disagrees with nvidia-smi, which reports {len(reported)} GPU(s): {seen}; fix or remove "
                f"gpu_profile/gpu_count"
            )
        return reported
    return declared


def _mac(settings: StackSettings, target: Host) -> Gpu:
    """The Mac's GPU from its facts; a declared gpu_profile must match its chip and memory."""
    hardware = target.get_fact(MacHardware)
    if hardware is None:
        raise PyinfraError(f"host {target.name!r}: {_not_a_mac(settings.engine)}")
    gpu = mac_gpu(hardware)
    if settings.gpu_profile is not None:
        declared = gpus_from_profile(settings.gpu_profile)[0]
        if declared.name != gpu.name:
            raise PyinfraError(f"host {target.name!r}: gpu_profile {settings.gpu_profile!r} ({declared.name}) "
                               f"disagrees with the Mac, an {gpu.name}; fix or remove gpu_profile")
    return gpu


def host_plan() -> tuple[HostPlan, list[Gpu]]:
    """The serving plan of the current host (every vLLM instance, on the GPUs ``gpu_indices`` allows) and
    every GPU of the host; a plan that does not fit stops the run with its numbers, before any host is
    changed. A cluster is planned once, on its smallest node, for all of its nodes."""
    key = (id(ctx_inventory.get()), host.name)
    if key not in _plan_cache:
        settings = host_settings()
        cluster = host_cluster()
        gpus, smallest = host_gpus(settings), host.name
        if cluster is not None and settings.gpu_profile is None:  # declared GPUs are the same on every node
            every = [(n, host_gpus(settings, cluster_host(n))) for n in cluster.nodes]
            smallest, gpus = min(every, key=lambda item: (len(item[1]), min((g.memory_mib for g in item[1]),
                                                                               default=0)))
            if len({tuple((g.name, g.memory_mib) for g in node_gpus) for _n, node_gpus in every}) > 1:
                seen = "; ".join(f"{n}: {len(g)}x {g[0].name if g else 'no GPU'}" for n, g in every)
                logger.warning(f"cluster {cluster.name!r}: the nodes' GPUs differ ({seen}); every node is planned "
                               f"like the smallest, {smallest!r}")
        if not gpus:
            raise PyinfraError(f"host {smallest!r}: nvidia-smi reports no GPU and no gpu_profile is set; set "
                               "gpu_profile (and gpu_count) in group_data to plan before the driver is installed")
        hardware = host.get_fact(MacHardware) if _platform(settings) == "macos" else None
        wired = int(hardware["wired_limit_mib"]) if hardware else 0
        plan = plan_host(settings, gpus, len(cluster.nodes) if cluster else 1, wired)
        if not plan.fits:
            where = f"cluster {cluster.name!r} ({len(cluster.nodes)} nodes like {smallest!r})" if cluster else ""
            raise PyinfraError(f"host {host.name!r}: {where + ': ' if where else ''}{plan.reason}")
        _plan_cache[key] = (plan, _reported_or_declared(settings))
    return _plan_cache[key]
