"""Metrics, dashboards and alerts on a Linux host (``monitoring_enabled``): Debian/Ubuntu's Prometheus and node
exporter, NVIDIA's DCGM exporter and Grafana (pinned images), all configured from files before they first start.

A single box or a cluster's head runs Prometheus (loopback only) with the stack's alert rules, and Grafana; every
node runs the exporters. The packages' conffiles are written before the packages are installed (apt keeps them),
so Prometheus never starts on its default, all-interfaces address. Switching monitoring off stops it all.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.files import File
from pyinfra.operations import files, systemd

from reasoning_stack.context import host_monitoring, host_proxy, host_settings, settings_from_arguments
from reasoning_stack.monitoring import (
    ALERT_RULES,
    DCGM_UNIT,
    GRAFANA_ADMIN_ENV,
    GRAFANA_UNIT,
    NODE_EXPORTER_DEFAULTS,
    PROMETHEUS_CONFIG,
    PROMETHEUS_DEFAULTS,
    PROMETHEUS_PACKAGES,
    Monitoring,
    alert_rules_text,
    dashboard_json,
    dcgm_counters_csv,
    dcgm_service,
    grafana_provisioning,
    grafana_service,
    node_exporter_defaults,
    prometheus_config,
    prometheus_defaults,
)
from reasoning_stack.monitoring.dashboard import DASHBOARD_UID
from reasoning_stack.monitoring.services import GRAFANA_UID, dcgm_counters_path, grafana_dirs
from reasoning_stack.operations import (
    directory_owned,
    docker_image,
    host_notice,
    secret_env_file,
    stack_file,
    unit_running,
    wait_http,
)
from reasoning_stack.prepared import prepared_fact
from reasoning_stack.services import CONFIG_DIR, UNIT_DIR, WAIT_HTTP
from reasoning_stack.settings import StackSettings
from reasoning_stack.units import (
    install_env_file,
    install_service,
    packages_present,
    retire_service,
    stack_directories,
)


@deploy("Monitoring")
@settings_from_arguments(enabled="monitoring_enabled", retention="monitoring_retention", grafana_port="grafana_port",
                         prometheus_port="prometheus_port")
def stack_monitoring(enabled: bool | None = None, retention: str | None = None, grafana_port: int | None = None,
                     prometheus_port: int | None = None) -> None:
    """Prometheus, the exporters and Grafana as ``monitoring_for`` lays them out for this host.

    + enabled: whether the host runs them (default: ``monitoring_enabled``); False stops and removes them
    + retention: how long Prometheus keeps its figures, e.g. ``"30d"`` (default: ``monitoring_retention``)
    + grafana_port: Grafana's port (default: ``grafana_port``, 3001)
    + prometheus_port: Prometheus's port, on loopback (default: ``prometheus_port``, 9090)

    .. code:: python

        stack_monitoring(grafana_port=3002, retention="90d")
    """
    settings = host_settings()
    monitoring = host_monitoring()
    if monitoring is None:
        _switched_off()
        return
    exporter = stack_file(name="Node exporter: listen address", dest=NODE_EXPORTER_DEFAULTS,
                          content=node_exporter_defaults(settings, monitoring), mode="644")
    if monitoring.prometheus:
        prometheus_files = _prometheus_files(settings, monitoring)
        packages_present("Prometheus and the node exporter", list(PROMETHEUS_PACKAGES))
        _prometheus_running(*prometheus_files)
    else:
        packages_present("The node exporter", ["prometheus-node-exporter"])
    systemd.service(name="Restart the node exporter for its changed address",
                    service="prometheus-node-exporter.service", restarted=True, _if=exporter.did_change)
    unit_running(name="prometheus-node-exporter running and enabled", service="prometheus-node-exporter.service")
    if monitoring.dcgm:
        _dcgm_exporter(settings, monitoring)
    elif prepared_fact(host, File, path=f"{UNIT_DIR}/{DCGM_UNIT}.service"):
        retire_service(f"{UNIT_DIR}/{DCGM_UNIT}.service", f"{CONFIG_DIR}/{DCGM_UNIT}.env")
    if monitoring.grafana:
        _grafana(settings)
    elif prepared_fact(host, File, path=f"{UNIT_DIR}/{GRAFANA_UNIT}.service"):
        retire_service(f"{UNIT_DIR}/{GRAFANA_UNIT}.service", f"{CONFIG_DIR}/{GRAFANA_UNIT}.env")


def _prometheus_files(settings: StackSettings, monitoring: Monitoring) -> tuple[OperationMeta, ...]:
    """Prometheus's address and retention, scrape jobs and alert rules (written before its package, which keeps
    them: it never starts on its default, all-interfaces address)."""
    files.directory(name="Prometheus config folder", path="/etc/prometheus", mode="755")
    defaults = stack_file(name="Prometheus: loopback only, retention", dest=PROMETHEUS_DEFAULTS,
                          content=prometheus_defaults(settings), mode="644")
    config = stack_file(name="Prometheus: scrape jobs", dest=PROMETHEUS_CONFIG,
                        content=prometheus_config(settings, monitoring), mode="644")
    rules = stack_file(name="Prometheus: the stack's alert rules", dest=ALERT_RULES, content=alert_rules_text(),
                       mode="644")
    return defaults, config, rules


def _prometheus_running(defaults: OperationMeta, config: OperationMeta, rules: OperationMeta) -> None:
    """Prometheus restarted for a changed address or retention, reloaded for changed scrape jobs or rules."""
    systemd.service(name="Restart Prometheus for its changed address or retention", service="prometheus.service",
                    restarted=True, _if=defaults.did_change)
    systemd.service(name="Reload Prometheus for changed scrape jobs or alert rules", service="prometheus.service",
                    reloaded=True,
                    _if=lambda: (config.did_change() or rules.did_change()) and not defaults.did_change())
    unit_running(name="prometheus running and enabled", service="prometheus.service")


def _dcgm_exporter(settings: StackSettings, monitoring: Monitoring) -> None:
    """NVIDIA's DCGM exporter with the stack's field list (its defaults plus the ECC counters)."""
    stack_directories()
    files.directory(name="Monitoring data folder", path=f"{settings.data_dir}/monitoring", mode="755")
    counters = stack_file(name="DCGM exporter: the fields exported", dest=dcgm_counters_path(settings),
                          content=dcgm_counters_csv(), mode="644")
    service = dcgm_service(settings, monitoring)
    docker_image(name=f"DCGM exporter image {service.image}", image=service.image, pull=settings.pull_images)
    env = install_env_file(service)
    install_service(service, env, also_restart_on=(counters,))


def _grafana(settings: StackSettings) -> None:
    """Grafana provisioned from files: the Prometheus data source, the stack's folder and dashboard."""
    proxy = host_proxy()
    service = grafana_service(settings, proxy.url_for("Grafana") if proxy else None)
    dirs = grafana_dirs(settings)
    stack_directories(helpers=True)
    files.directory(name="Grafana folder", path=f"{settings.data_dir}/grafana", mode="755")
    directory_owned(name="Grafana data (the image's own user)", path=dirs["data"], uid=GRAFANA_UID, gid=0,
                    mode="750")
    changed = []
    for sub in ("datasources", "dashboards"):
        files.directory(name=f"Grafana provisioning: {sub}", path=f"{dirs['provisioning']}/{sub}", mode="755")
    for path, text in grafana_provisioning(settings.prometheus_port).items():
        changed.append(stack_file(name=f"Grafana provisioning: {path}", dest=f"{dirs['provisioning']}/{path}",
                                  content=text, mode="644"))
    files.directory(name="Grafana dashboards", path=dirs["dashboards"], mode="755")
    changed.append(stack_file(name="Grafana dashboard: Reasoning stack", dest=f"{dirs['dashboards']}/"
                              f"{DASHBOARD_UID}.json", content=dashboard_json(), mode="644"))
    docker_image(name=f"Grafana image {service.image}", image=service.image, pull=settings.pull_images)
    if settings.grafana_admin_password is None:
        password = secret_env_file(name="Grafana admin password (generated once, kept)", path=GRAFANA_ADMIN_ENV,
                                   variable="GF_SECURITY_ADMIN_PASSWORD", nbytes=18)
        changed.append(password)
        host_notice(name="Where the Grafana admin password is",
                    message=f"Grafana admin: admin; its password: sudo cat {GRAFANA_ADMIN_ENV} (generated on this "
                            "host, root only)", _if=password.did_change)
    env = install_env_file(service)
    came_up = install_service(service, env, also_restart_on=tuple(changed))
    wait_http(name="Wait for Grafana /api/health", helper=WAIT_HTTP, url=service.health_url, timeout=300,
              unit=service.unit, _if=came_up)


def _switched_off() -> None:
    """Monitoring switched off after it was deployed: stop Prometheus and the exporters, retire the containers'
    units (the packages and their data stay until the stack is removed)."""
    if not prepared_fact(host, File, path=NODE_EXPORTER_DEFAULTS):
        return
    for unit in (GRAFANA_UNIT, DCGM_UNIT):
        if prepared_fact(host, File, path=f"{UNIT_DIR}/{unit}.service"):
            retire_service(f"{UNIT_DIR}/{unit}.service", f"{CONFIG_DIR}/{unit}.env")
    for unit in ("prometheus", "prometheus-node-exporter"):
        if prepared_fact(host, File, path=f"/lib/systemd/system/{unit}.service"):
            systemd.service(name=f"Stop {unit} (monitoring_enabled is off)", service=f"{unit}.service",
                            running=False, enabled=False)
    files.file(name="Remove the stack's node exporter settings", path=NODE_EXPORTER_DEFAULTS, present=False)
