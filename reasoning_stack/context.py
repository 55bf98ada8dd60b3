"""What a pyinfra deploy file needs about the host it runs for: settings, OS, GPUs and serving plan.

The first call validates *every* host of the inventory, so one bad host stops the run before any
operation is added for any host. Errors are raised as PyinfraError naming the host.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from pyinfra import host, logger
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.host import Host
from pyinfra.context import ctx_inventory
from pyinfra.facts.hardware import Cpus
from pyinfra.facts.server import Arch

from reasoning_stack import engines, platforms
from reasoning_stack.arch import PlatformError
from reasoning_stack.cluster import Cluster, find_clusters
from reasoning_stack.exposure import exposure_report, exposure_warnings
from reasoning_stack.facts import InterfaceAddress, StackManifest
from reasoning_stack.gpus import Gpu, select_gpus
from reasoning_stack.instances import HostPlan, plan_host
from reasoning_stack.inventory import (
    host_address,
    host_sources,
    renamed_settings,
    unread_group_data,
    validate_inventory,
)
from reasoning_stack.monitoring import Monitoring, monitoring_for
from reasoning_stack.openwebui.database import WebuiDatabase, database_for
from reasoning_stack.platforms import Platform
from reasoning_stack.platforms.linux import nvidia_smi_failed as linux_nvidia_smi_failed
from reasoning_stack.prepared import prepared_fact
from reasoning_stack.proxy import Proxy, proxy_for
from reasoning_stack.settings import SECRET_SETTINGS, StackSettings
from reasoning_stack.validation import SettingsInvalid, validate_host_data

_settings_cache: dict[int, dict[str, StackSettings]] = {}
_platform_cache: dict[tuple[int, str], StackSettings] = {}
_kept_cache: dict[tuple[int, str], dict[str, Any]] = {}
_given_cache: dict[tuple[int, str, str], StackSettings] = {}
_plan_cache: dict[tuple[int, str, str], tuple[HostPlan, list[Gpu]]] = {}
_said: set[tuple[int, str, str]] = set()  # hosts (with the arguments in force) whose doors were said aloud
# Settings a @deploy function was given as arguments: setting -> (value, the function), while it adds its operations.
_given: ContextVar[dict[str, tuple[Any, str]]] = ContextVar("reasoning_stack_given_settings", default={})  # noqa: B039


def host_settings() -> StackSettings:
    """Validated settings of the current pyinfra host, with the images for its CPU architecture (raises a
    clear error for any bad host, and for an image that has no build for this host's architecture), and with
    the values the running ``@deploy`` functions were given as arguments (:func:`settings_from_arguments`)."""
    inventory = ctx_inventory.get()
    key = id(inventory)
    if key not in _settings_cache:
        unread = unread_group_data([Path.cwd()])  # the group_data/ the pyinfra CLI reads, beside where it runs
        if unread:
            raise PyinfraError("\n".join(unread))
        try:
            _settings_cache[key] = validate_inventory(inventory)
        except SettingsInvalid as exc:
            raise PyinfraError(str(exc)) from None
        for warning in renamed_settings(inventory):
            logger.warning(f"reasoning-stack: {warning}")
    if (key, host.name) not in _platform_cache:
        settings = _settings_cache[key][host.name]
        kept = _kept_cache[(key, host.name)] = _kept_from_last_deploy(settings)
        _platform_cache[(key, host.name)] = _for_host(_revalidated(kept, {}) if kept else settings)
    given = _given.get()
    if not given:
        return _platform_cache[(key, host.name)]
    cached = (key, host.name, _given_key())
    if cached not in _given_cache:
        values = {**_kept_cache[(key, host.name)], **{setting: value for setting, (value, _f) in given.items()}}
        sources = {setting: f"{function}()'s arguments" for setting, (_v, function) in given.items()}
        _given_cache[cached] = _for_host(_revalidated(values, sources))
    return _given_cache[cached]


def _given_key() -> str:
    """The arguments in force, as a cache key (a plan made with them is not the host's own)."""
    return repr(sorted((setting, repr(value)) for setting, (value, _f) in _given.get().items()))


def _for_host(settings: StackSettings) -> StackSettings:
    try:
        return settings.for_arch(prepared_fact(host, Arch))
    except PlatformError as exc:
        raise PyinfraError(f"host {host.name!r}: {exc}") from None


def _revalidated(values: dict[str, Any], sources: dict[str, str]) -> StackSettings:
    """The host's data with ``values`` over it, validated again, so that what follows a setting (its images)
    follows it; a bad value stops the run naming the host, the setting and where it was given."""
    try:
        return validate_host_data(host.name, {**host.data.dict(), **values},
                                  {**host_sources(ctx_inventory.get(), host), **sources})
    except SettingsInvalid as exc:  # given as a deploy's arguments: the errors alone, each naming the host
        raise PyinfraError(str(exc) if not sources else "\n".join(str(e) for e in exc.errors)) from None


def _kept_from_last_deploy(settings: StackSettings) -> dict[str, Any]:
    """What the host keeps from its last deploy where its group_data names nothing (an engine release it runs,
    when the stack's default has moved on since), said aloud with the setting that moves it."""
    data = host.data.dict()
    manifest = prepared_fact(host, StackManifest) or {}
    used = engines.uses(settings)
    kept = {setting: value for engine in engines.registered() if used[engine.name].any
            for setting, value in engine.kept_from_last_deploy(data, manifest).items()}
    for setting, value in kept.items():
        default = StackSettings.model_fields[setting].default
        logger.warning(f"reasoning-stack: host {host.name!r} keeps {setting} = {value!r}, what its last deploy runs "
                       f"(its group_data names none; the default is now {default!r}): set {setting} = {default!r} "
                       f"to move it, or {setting} = {value!r} to keep it")
    return kept


F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def settings_given(function: str, **values: Any) -> Iterator[None]:
    """While the block runs, ``values`` (None: keep the host's) are the current host's settings of those names, for
    every helper here (settings, plan, proxy, monitoring, Open WebUI's database); an error names ``function``."""
    given = {setting: (value, function) for setting, value in values.items() if value is not None}
    for secret in sorted(given.keys() & SECRET_SETTINGS.keys()):
        variable = StackSettings.model_fields[SECRET_SETTINGS[secret]].default
        raise PyinfraError(f"host {host.name!r}: {secret} ({function}()'s arguments): a secret is not taken as an "
                           f"argument (it would sit in a deploy file); export {variable} in the environment you "
                           f"deploy from (value not shown)")
    token = _given.set({**_given.get(), **given})
    try:
        yield
    finally:
        _given.reset(token)


def settings_from_arguments(**setting_of: str) -> Callable[[F], F]:
    """A ``@deploy`` function's typed arguments as host settings: each argument named here (``port=
    "openwebui_port"``), when given, is that setting for everything the function plans and adds, checked as the
    same setting in group_data is; a ``**settings`` parameter takes any other setting by its group_data name.
    Arguments hold for the call they are given to, and for the layers it calls."""

    def wrap(function: F) -> F:
        signature = inspect.signature(function)
        rest = next((p.name for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD), None)

        @functools.wraps(function)
        def with_arguments(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs).arguments
            values = {setting_of[name]: value for name, value in bound.items() if name in setting_of}
            if rest is not None:
                values.update(bound.get(rest, {}))
            before = _doors() if values else None
            with settings_given(function.__name__, **values):
                if before is not None and _doors() != before:
                    say_what_the_host_lets_in()  # these arguments open or close a door: said before any operation
                return function(*args, **kwargs)

        with_arguments.settings_of = dict(setting_of)  # type: ignore[attr-defined]  # for the docs and tests
        return with_arguments  # type: ignore[return-value]

    return wrap


def _doors() -> list[str]:
    return exposure_report(host.name, host_settings(), host_address(host))


def say_what_the_host_lets_in() -> None:
    """Before any operation runs, the lines ``check`` and ``plan`` print for the host: what it will let in, from where
    and how, and a warning for a door open to every network; said once for the host and the arguments in force."""
    said = (id(ctx_inventory.get()), host.name, _given_key())
    if said in _said:
        return
    _said.add(said)
    for line in _doors():
        logger.info(line)
    for warning in exposure_warnings(host.name, host_settings(), host_address(host)):
        logger.warning(f"warning: {warning}")


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
    address = prepared_fact(target, InterfaceAddress, interface=interface)
    if not address:
        raise PyinfraError(f"host {name!r}: cluster_interface {interface!r} has no IPv4 address there; name the "
                           "interface of the cluster network (`ip -br addr` on the node)")
    return address


def host_monitoring() -> Monitoring | None:
    """What monitoring runs on the current host (None: monitoring off, or a platform without it); on a cluster,
    every node's address on the cluster network is looked up for the head's scrape jobs and the firewall."""
    settings = host_settings()
    if not settings.monitoring_enabled or not host_platform().monitoring:
        return None
    plan, _gpus = host_plan()
    cluster = host_cluster()
    addresses = {}
    if cluster is not None:
        assert settings.cluster_interface is not None
        addresses = {n: cluster_address(n, settings.cluster_interface) for n in cluster.nodes}
    return monitoring_for(settings, plan, host.name, cluster, addresses)


def host_proxy() -> Proxy | None:
    """The HTTPS proxy the current host runs (None: https off, a cluster worker, or nothing to serve); its default
    name is the host's address in the inventory. A platform without one (a Mac) stops the run naming the host."""
    settings = host_settings()
    if settings.https == "off":
        return None
    host_platform()  # stops a host whose platform has no proxy (platforms.limits)
    plan, _gpus = host_plan()
    return proxy_for(settings, plan, host.name, host.data.get("ssh_hostname"), host_cluster())


def host_webui_database() -> WebuiDatabase:
    """Open WebUI's database on the current host, its workers sized to the host's cores. A platform without
    PostgreSQL for it (a Mac) stops the run naming the host."""
    settings = host_settings()
    postgresql = settings.webui_database() == "postgresql"
    database = database_for(settings, prepared_fact(host, Cpus) if postgresql else None)  # SQLite runs one worker
    if database.postgresql:
        host_platform()  # stops a host whose platform has no PostgreSQL for it (platforms.limits)
    return database


def _platform(settings: StackSettings) -> Platform:
    """The platform the settings' primary engine runs on."""
    return platforms.of_engine(settings.engine)


def _engines_on(platform: Platform) -> list[engines.Engine]:
    return [e for e in engines.registered() if e.platform == platform.name]


def host_platform() -> Platform:
    """The current host's platform, from its facts; a host whose engine runs on another platform (a Mac asked for
    vLLM, MLX-LM asked of a Linux box) stops the run naming the host and the engines that run there. Then the
    platform's own checks of the host (a Linux distribution the stack does not deploy to is refused)."""
    found = platforms.detect(host)
    settings = host_settings()
    wanted = _platform(settings)
    if found is not wanted:
        ours = [repr(e.name) for e in _engines_on(found)]
        either = " or ".join([", ".join(ours[:-1]), ours[-1]] if len(ours) > 1 else ours)
        raise PyinfraError(f"host {host.name!r}: engine {settings.engine!r} {wanted.needs}, and this host "
                           f"{found.is_}; use engine {either} here")
    found.check_host(host)
    for limit in platforms.limits(settings, found):
        raise PyinfraError(f"host {host.name!r}: {limit}")
    return found


def nvidia_smi_failed(error: str, target: Host | None = None) -> PyinfraError:
    """The error that stops a host whose nvidia-smi fails, with the explanation and the way out."""
    return linux_nvidia_smi_failed(error, host if target is None else target)


def host_gpus(settings: StackSettings, target: Host | None = None) -> list[Gpu]:
    """The GPUs the stack may use on this host (``gpu_indices`` of what its platform reports or of the declared
    gpu_profile); a disagreement between the two, or an index the host lacks, is an error."""
    target = host if target is None else target
    gpus = _reported_or_declared(settings, target)
    try:
        return select_gpus(gpus, settings.gpu_indices)
    except ValueError as exc:
        raise PyinfraError(f"host {target.name!r}: {exc}") from None


def _reported_or_declared(settings: StackSettings, target: Host | None = None) -> list[Gpu]:
    return _platform(settings).gpus(settings, host if target is None else target)


def host_plan() -> tuple[HostPlan, list[Gpu]]:
    """The serving plan of the current host (every vLLM instance, on the GPUs ``gpu_indices`` allows) and
    every GPU of the host; a plan that does not fit stops the run with its numbers, before any host is
    changed. A cluster is planned once, on its smallest node, for all of its nodes."""
    key = (id(ctx_inventory.get()), host.name, _given_key())
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
        wired = _platform(settings).wired_limit_mib(host)
        plan = plan_host(settings, gpus, len(cluster.nodes) if cluster else 1, wired)
        if not plan.fits:
            where = f"cluster {cluster.name!r} ({len(cluster.nodes)} nodes like {smallest!r})" if cluster else ""
            raise PyinfraError(f"host {host.name!r}: {where + ': ' if where else ''}{plan.reason}")
        _plan_cache[key] = (plan, _reported_or_declared(settings))
    return _plan_cache[key]
