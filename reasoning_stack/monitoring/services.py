"""The monitoring services that run in containers (Grafana; NVIDIA's DCGM exporter), the DCGM fields they
export, and what ``status`` asks Prometheus for (the live figures per instance)."""

from __future__ import annotations

from typing import Any

from reasoning_stack.monitoring.dashboard import DASHBOARD_UID, DASHBOARDS_IN_CONTAINER
from reasoning_stack.monitoring.scrape import LOOPBACK, Monitoring
from reasoning_stack.render import render
from reasoning_stack.service_files import CONFIG_DIR, ServiceFiles, local_url

GRAFANA_UNIT = "reasoning-grafana"
GRAFANA_ADMIN_ENV = f"{CONFIG_DIR}/grafana-admin.env"  # the admin password, when the host generates it
GRAFANA_UID = 472  # the user the Grafana image runs as: its data folder is its own
DCGM_UNIT = "reasoning-dcgm-exporter"
DCGM_COUNTERS_IN_CONTAINER = "/etc/dcgm-exporter/reasoning-stack.csv"
# The DCGM fields exported: dcgm-exporter's defaults for memory, utilisation, temperature, power, clocks and XID,
# plus the ECC counters its default file leaves commented out (an uncorrectable error is worth an alert).
DCGM_COUNTERS = (
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB)."),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %)."),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."),
    ("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C)."),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz)."),
    ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz)."),
    ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered."),
    ("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "counter", "Total number of single-bit volatile ECC errors."),
    ("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "counter", "Total number of double-bit volatile ECC errors."),
    ("DCGM_FI_DEV_ROW_REMAP_FAILURE", "gauge", "Whether remapping of rows has failed."),
)
# What `reasoning-stack status` shows per instance, from the host's Prometheus: (name, query by unit).
LIVE_QUERIES = (
    ("kv_cache", "max by (unit) (vllm:kv_cache_usage_perc)"),
    ("running", "sum by (unit) (vllm:num_requests_running)"),
    ("waiting", "sum by (unit) (vllm:num_requests_waiting)"),
    ("tokens_per_s", "sum by (unit) (rate(vllm:generation_tokens_total[5m]))"),
)


def grafana_dirs(settings: Any) -> dict[str, str]:
    """Grafana's folders on the host: its own data (owned by the image's user), provisioning, the dashboards."""
    base = f"{settings.data_dir}/grafana"
    return {"data": f"{base}/data", "provisioning": f"{base}/provisioning", "dashboards": f"{base}/dashboards"}


def grafana_service(settings: Any, public_url: str | None = None) -> ServiceFiles:
    """The Grafana unit and env file: host network, bound to ``grafana_listen``, provisioned from files.
    ``public_url``: the HTTPS proxy's address of it (then it listens on loopback behind the proxy)."""
    listen = "127.0.0.1" if public_url else settings.grafana_listen
    env_path = f"{CONFIG_DIR}/{GRAFANA_UNIT}.env"
    dirs = grafana_dirs(settings)
    docker_args = ["--network", "host", "--env-file", env_path]
    if settings.grafana_admin_password is None:
        docker_args += ["--env-file", GRAFANA_ADMIN_ENV]
    docker_args += [
        "--volume", f"{dirs['data']}:/var/lib/grafana",
        "--volume", f"{dirs['provisioning']}:/etc/grafana/provisioning:ro",
        "--volume", f"{dirs['dashboards']}:{DASHBOARDS_IN_CONTAINER}:ro",
        "--label", "managed-by=reasoning-stack",
    ]
    unit_text = render("container.service.j2", description="Grafana dashboards for the reasoning stack",
                       container=GRAFANA_UNIT, image=settings.grafana_image, docker_args=docker_args,
                       unit_name=GRAFANA_UNIT, after_units=["prometheus.service"])
    password = settings.grafana_admin_password
    env_text = render("grafana.env.j2", unit_name=GRAFANA_UNIT, listen=listen, public_url=public_url,
                      port=settings.grafana_port, home_dashboard=f"{DASHBOARDS_IN_CONTAINER}/{DASHBOARD_UID}.json",
                      admin_password=password.get_secret_value() if password else "")
    base = local_url(listen, settings.grafana_port)
    return ServiceFiles(GRAFANA_UNIT, unit_text, env_path, env_text, GRAFANA_UNIT, settings.grafana_image,
                        f"{base}/api/health", f"{base}/api/health")


def dcgm_counters_path(settings: Any) -> str:
    return f"{settings.data_dir}/monitoring/dcgm-counters.csv"


def dcgm_counters_csv() -> str:
    """The DCGM exporter's field list (its ``-f`` file)."""
    return ("# Managed by reasoning-stack: the DCGM fields exported (field, Prometheus type, help)\n"
            + "".join(f"{name}, {kind}, {text}\n" for name, kind, text in DCGM_COUNTERS))


def dcgm_service(settings: Any, monitoring: Monitoring) -> ServiceFiles:
    """The DCGM exporter unit: every GPU, SYS_ADMIN (its embedded host engine), bound like the node exporter."""
    env_path = f"{CONFIG_DIR}/{DCGM_UNIT}.env"
    docker_args = ["--network", "host", "--gpus", "all", "--cap-add", "SYS_ADMIN", "--env-file", env_path,
                   "--volume", f"{dcgm_counters_path(settings)}:{DCGM_COUNTERS_IN_CONTAINER}:ro",
                   "--label", "managed-by=reasoning-stack"]
    address = f"{monitoring.exporter_address}:{settings.dcgm_exporter_port}"
    unit_text = render("container.service.j2", description="NVIDIA DCGM exporter for the reasoning stack",
                       container=DCGM_UNIT, image=settings.dcgm_exporter_image, docker_args=docker_args,
                       unit_name=DCGM_UNIT, after_units=[], args=["-f", DCGM_COUNTERS_IN_CONTAINER, "-a", address])
    env_text = (f"# Managed by reasoning-stack. Settings for {DCGM_UNIT}; read by docker --env-file.\n"
                f"DCGM_EXPORTER_LISTEN={address}\n")
    url = f"http://{address}/metrics"
    return ServiceFiles(DCGM_UNIT, unit_text, env_path, env_text, DCGM_UNIT, settings.dcgm_exporter_image, url, url)


def prometheus_entry(settings: Any, monitoring: Monitoring) -> dict[str, Any]:
    """Prometheus in the status manifest: where ``status`` asks for the live figures, and the queries."""
    return {"unit": "prometheus", "kind": "prometheus", "url": f"http://{LOOPBACK}:{settings.prometheus_port}",
            "queries": dict(LIVE_QUERIES), "instances": list(monitoring.engine_units)}
