"""Linux with NVIDIA GPUs, systemd and Docker (Debian 12, Ubuntu 22.04 and 24.04; DGX OS is Ubuntu): how the stack
finds its GPUs (nvidia-smi, or the declared gpu_profile before a driver exists), what it refuses, the files it
writes, its status manifest and how ``status`` reads nvidia-smi in the probe's report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyinfra.api.exceptions import PyinfraError
from pyinfra.facts.server import LinuxDistribution

from reasoning_stack.driver import explain_nvidia_smi_error
from reasoning_stack.facts import MacHardware, NvidiaGpus, NvidiaKernelState
from reasoning_stack.firewall import TABLE, firewall_rules
from reasoning_stack.gpus import Gpu, GpuQueryError, gpus_from_profile, parse_nvidia_smi_csv
from reasoning_stack.host_files import address_placeholder, helper_files, model_server_files, without_secrets
from reasoning_stack.manifest import MANIFEST, api_entry, database_entries, manifest_text, openwebui_entry
from reasoning_stack.monitoring import (
    ALERT_RULES,
    DCGM_UNIT,
    GRAFANA_UNIT,
    NODE_EXPORTER_DEFAULTS,
    PROMETHEUS_CONFIG,
    PROMETHEUS_DEFAULTS,
    Monitoring,
    alert_rules_text,
    dashboard_json,
    dcgm_counters_csv,
    dcgm_service,
    grafana_provisioning,
    grafana_service,
    monitoring_for,
    node_exporter_defaults,
    prometheus_config,
    prometheus_defaults,
    prometheus_entry,
)
from reasoning_stack.monitoring.dashboard import DASHBOARD_UID
from reasoning_stack.monitoring.services import dcgm_counters_path, grafana_dirs
from reasoning_stack.openwebui.database import database_for
from reasoning_stack.openwebui.paths import ADMIN_HELPERS
from reasoning_stack.openwebui.service import host_files as webui_host_files
from reasoning_stack.openwebui.service import openwebui_service
from reasoning_stack.platforms.base import Platform
from reasoning_stack.prepared import prepared_fact
from reasoning_stack.proxy import CADDY_UNIT, CADDYFILE, proxy_for
from reasoning_stack.render import render
from reasoning_stack.service_files import SMOKE_TEST, UNIT_DIR, WAIT_HTTP, local_url
from reasoning_stack.services import CLUSTER_HELPERS, CONFIG_DIR, RAY_UNIT, ClusterNode, ray_service

if TYPE_CHECKING:
    from pyinfra.api.host import Host

    from reasoning_stack.planning.types import HostPlan
    from reasoning_stack.topology import Cluster

SUPPORTED_OS = {("debian", "12"), ("ubuntu", "22.04"), ("ubuntu", "24.04")}
FIREWALL_UNIT = "reasoning-firewall"
FIREWALL_RULES = f"{CONFIG_DIR}/firewall.nft"


def check_os(target: Host) -> tuple[str, str]:
    """(distribution id, version) of the host; unsupported systems are refused with a clear message."""
    dist = prepared_fact(target, LinuxDistribution)
    meta = dist.get("release_meta") or {}
    os_id = (meta.get("ID") or dist.get("name") or "unknown").lower()
    version = meta.get("VERSION_ID") or str(dist.get("major") or "")
    if (os_id, version) not in SUPPORTED_OS:
        supported = ", ".join(f"{n.capitalize()} {v}" for n, v in sorted(SUPPORTED_OS))
        raise PyinfraError(f"host {target.name!r}: {meta.get('PRETTY_NAME') or os_id + ' ' + version} is not "
                           f"supported; reasoning-stack deploys to {supported}")
    return os_id, version


def nvidia_smi_failed(error: str, target: Host) -> PyinfraError:
    """The error that stops a host whose nvidia-smi fails, with the explanation and the way out."""
    state = prepared_fact(target, NvidiaKernelState)
    return PyinfraError(f"host {target.name!r}: nvidia-smi failed: {error}\n  "
                        f"{explain_nvidia_smi_error(error, state)}")


class Linux(Platform):
    """Linux with NVIDIA GPUs, systemd and Docker."""

    name = "linux"
    title = "Linux (NVIDIA GPUs, systemd, Docker)"
    needs = "needs NVIDIA GPUs on Linux"
    is_ = "is not macOS"
    monitoring = True
    proxy = True
    webui_postgresql = True
    firewall = True

    def detect(self, target: Host) -> bool:
        return prepared_fact(target, MacHardware) is None

    def check_host(self, target: Host) -> None:
        check_os(target)

    def gpus(self, settings: Any, target: Host) -> list[Gpu]:
        """nvidia-smi's GPUs, or the declared gpu_profile's before a driver works; the two must agree."""
        fact = prepared_fact(target, NvidiaGpus)
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
                    f"host {target.name!r}: gpu_profile {settings.gpu_profile!r} "
                    f"x{settings.gpu_count or len(reported)} disagrees with nvidia-smi, which reports "
                    f"{len(reported)} GPU(s): {seen}; fix or remove gpu_profile/gpu_count"
                )
            return reported
        return declared

    def manifest(self, settings: Any, plan: HostPlan, host_name: str, cluster: Cluster | None) -> dict[str, Any]:
        units: list[dict[str, Any]] = [{"unit": "docker", "kind": "system"}]
        if settings.firewall_allow is not None:
            units.append({"unit": FIREWALL_UNIT, "kind": "firewall"})
        head = cluster is None or cluster.head == host_name
        if cluster is not None and cluster.backend == "ray":
            units.append({"unit": RAY_UNIT, "kind": "ray-node"})
        for instance in plan.instances:
            if not head:
                if cluster is not None and cluster.backend == "mp":
                    units.append({"unit": instance.unit, "kind": "vllm-node"})
                continue
            units.append(api_entry(settings, instance))
        if settings.openwebui_enabled and head:
            units.append(openwebui_entry(settings, settings.openwebui_image))
            units += database_entries(database_for(settings))
        monitoring = _monitoring(settings, plan, host_name, cluster)
        if monitoring is not None:
            if monitoring.prometheus:
                units.append(prometheus_entry(settings, monitoring))
            units.append({"unit": "prometheus-node-exporter", "kind": "exporter"})
            if monitoring.dcgm:
                units.append({"unit": DCGM_UNIT, "kind": "exporter", "image": settings.dcgm_exporter_image})
            if monitoring.grafana:
                units.append({"unit": GRAFANA_UNIT, "kind": "grafana", "image": settings.grafana_image,
                              "url": local_url(settings.grafana_listen, settings.grafana_port)})
        proxy = proxy_for(settings, plan, host_name, None, cluster)
        if proxy is not None:
            units.append({"unit": CADDY_UNIT, "kind": "proxy", "sites": {s.title: s.port for s in proxy.sites}})
        return {"host": host_name, "cluster": cluster.name if cluster else None,
                "role": None if cluster is None else ("head" if head else "worker"), "units": units}

    def files(self, settings: Any, plan: HostPlan, host_gpu_count: int, host_name: str, cluster: Cluster | None,
              ssh_user: str | None) -> dict[str, str]:
        settings = without_secrets(settings)
        out: dict[str, str] = {}
        helpers = [(WAIT_HTTP, "wait-http.py.j2"), (SMOKE_TEST, "smoke-test.py.j2")]
        node = None
        if cluster is not None:
            assert settings.cluster_interface is not None
            iface = settings.cluster_interface
            node = ClusterNode(cluster, host_name, address_placeholder(host_name, iface),
                               address_placeholder(cluster.head, iface), iface)
            helpers += CLUSTER_HELPERS
        head = cluster is None or cluster.head == host_name
        serves = cluster is None or cluster.backend != "ray" or head  # with Ray only the head runs the engine
        if serves:
            helpers += model_server_files(settings, plan, host_gpu_count, node, out)
        if node is not None and node.cluster.backend == "ray":
            ray = ray_service(settings, node, host_gpu_count)
            out[ray.unit_path] = ray.unit_text
            out[ray.env_path] = ray.env_text
        proxy = proxy_for(settings, plan, host_name, None, cluster)  # named like the host unless https_names
        if proxy is not None:
            out[CADDYFILE] = proxy.caddyfile()
        if settings.openwebui_enabled and head:
            helpers += ADMIN_HELPERS
            webui = openwebui_service(settings, plan, proxy.url_for("Open WebUI") if proxy else None)
            out[webui.unit_path] = webui.unit_text
            out[webui.env_path] = webui.env_text
            out.update(webui_host_files(settings, plan))
        nodes: tuple[str, ...] = ()
        if cluster is not None and settings.firewall_allow is not None:
            assert settings.cluster_interface is not None
            nodes = tuple(address_placeholder(n, settings.cluster_interface) for n in cluster.nodes)
        monitoring = _monitoring(settings, plan, host_name, cluster)
        if monitoring is not None:
            out.update(monitoring_files(settings, monitoring, proxy.url_for("Grafana") if proxy else None))
        rules = firewall_rules(settings, plan, host_name, cluster, nodes, monitoring, proxy)
        if rules is not None:
            out[FIREWALL_RULES] = rules.text()
            out[f"{UNIT_DIR}/{FIREWALL_UNIT}.service"] = render("firewall.service.j2", table=TABLE,
                                                               rules_path=FIREWALL_RULES)
        out[MANIFEST] = manifest_text(self.manifest(settings, plan, host_name, cluster))
        out.update(helper_files(helpers))
        return dict(sorted(out.items()))

    def report_gpus(self, report: dict[str, Any]) -> list[Gpu]:
        smi = report.get("nvidia_smi") or {}
        if smi.get("rc") != 0:
            return []
        try:
            return parse_nvidia_smi_csv(smi["output"])
        except GpuQueryError:
            return []

    def report_gpu_problem(self, report: dict[str, Any]) -> str:
        smi = report.get("nvidia_smi") or {}
        if smi.get("rc") == 0:
            return "" if self.report_gpus(report) else "nvidia-smi: nvidia-smi reported no GPU"
        lines = str(smi.get("output", "")).strip().splitlines()
        return f"nvidia-smi: {lines[-1] if lines else 'nvidia-smi failed'}"

    def hardware_line(self, report: dict[str, Any], gpus: list[Gpu]) -> str:
        return f"GPUs: {len(gpus)}x {gpus[0].name} ({gpus[0].memory_mib} MiB), driver {gpus[0].driver_version}"


def _monitoring(settings: Any, plan: HostPlan, host_name: str, cluster: Cluster | None) -> Monitoring | None:
    """The host's monitoring, cluster addresses as placeholders (only a node's facts tell them)."""
    addresses = {}
    if cluster is not None and settings.cluster_interface is not None:
        addresses = {n: address_placeholder(n, settings.cluster_interface) for n in cluster.nodes}
    return monitoring_for(settings, plan, host_name, cluster, addresses)


def monitoring_files(settings: Any, monitoring: Monitoring, grafana_url: str | None = None) -> dict[str, str]:
    """The files the monitoring deploy writes on the host (``grafana_url``: Grafana's address through the HTTPS
    proxy, when it serves it)."""
    out = {NODE_EXPORTER_DEFAULTS: node_exporter_defaults(settings, monitoring)}
    if monitoring.prometheus:
        out[PROMETHEUS_DEFAULTS] = prometheus_defaults(settings)
        out[PROMETHEUS_CONFIG] = prometheus_config(settings, monitoring)
        out[ALERT_RULES] = alert_rules_text()
    if monitoring.dcgm:
        dcgm = dcgm_service(settings, monitoring)
        out[dcgm.unit_path] = dcgm.unit_text
        out[dcgm.env_path] = dcgm.env_text
        out[dcgm_counters_path(settings)] = dcgm_counters_csv()
    if monitoring.grafana:
        grafana = grafana_service(settings, grafana_url)
        out[grafana.unit_path] = grafana.unit_text
        out[grafana.env_path] = grafana.env_text
        dirs = grafana_dirs(settings)
        for path, text in grafana_provisioning(settings.prometheus_port).items():
            out[f"{dirs['provisioning']}/{path}"] = text
        out[f"{dirs['dashboards']}/{DASHBOARD_UID}.json"] = dashboard_json()
    return out


LINUX = Linux()
