"""Metrics, dashboards and alerts on Linux hosts: Prometheus (Debian/Ubuntu's package) with the node exporter,
NVIDIA's DCGM exporter and Grafana (pinned images). What is scraped, shown and alerted on is in
``reasoning_stack/monitoring/``."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, SecretStr, field_validator

from reasoning_stack.arch import AARCH64, X86_64

DEFAULT_GRAFANA_IMAGE = "grafana/grafana:12.2.0"
DEFAULT_DCGM_EXPORTER_IMAGE = "nvcr.io/nvidia/k8s/dcgm-exporter:4.4.2-4.7.1-ubuntu22.04"
# Both are multi-architecture images (x86_64 and aarch64, a DGX Spark's).
MONITORING_ARCHES = {DEFAULT_GRAFANA_IMAGE: (X86_64, AARCH64), DEFAULT_DCGM_EXPORTER_IMAGE: (X86_64, AARCH64)}


class MonitoringSettings(BaseModel):
    """Monitoring"""

    monitoring_enabled: bool = Field(
        True,
        description="Prometheus (the distribution's package, listening on loopback) scraping every engine's "
        "/metrics, the node exporter and the DCGM exporter, with the stack's alert rules; on a cluster the head "
        "scrapes every node over the cluster network. Linux hosts only (MLX-LM and Ollama have no /metrics).",
    )

    monitoring_retention: str = Field(
        "15d", description="How long Prometheus keeps samples (its --storage.tsdb.retention.time: 12h, 15d, 8w, 1y).",
    )

    monitoring_scrape_interval: str = Field(
        "15s", description="How often Prometheus scrapes every target and evaluates the alert rules (1s .. 5m).",
    )

    prometheus_port: int = Field(9090, ge=1, le=65535, description="Port of Prometheus (on loopback only).")

    node_exporter_port: int = Field(
        9100, ge=1, le=65535,
        description="Port of the node exporter (loopback; a cluster worker's: its cluster address, open to the "
        "head only when firewall_allow is set).",
    )

    dcgm_exporter_enabled: bool = Field(
        True, description="Run NVIDIA's DCGM exporter for GPU memory, utilisation, temperature, power, XID and "
        "ECC errors.",
    )

    dcgm_exporter_image: str = Field(DEFAULT_DCGM_EXPORTER_IMAGE, description="DCGM exporter image, pinned by tag.")

    dcgm_exporter_port: int = Field(
        9400, ge=1, le=65535, description="Port of the DCGM exporter (bound like the node exporter's).",
    )

    grafana_enabled: bool = Field(
        True, description="Grafana with the stack's dashboards, provisioned from files (data source, folder, "
        "dashboards), where Prometheus runs.",
    )

    grafana_image: str = Field(DEFAULT_GRAFANA_IMAGE, description="Grafana image, pinned by tag.")

    grafana_port: int = Field(3001, ge=1, le=65535, description="Port of Grafana's web interface.")

    grafana_listen: str = Field(
        "127.0.0.1",
        description="Address Grafana binds to: loopback (reach it through an SSH tunnel) unless you set another; "
        "beyond loopback, firewall_allow decides who reaches it, as for Open WebUI.",
    )

    grafana_admin_password: SecretStr | None = Field(
        None, description="Password of Grafana's admin account; None = generated once on the host into "
        "/etc/reasoning-stack/grafana-admin.env (root only). A secret: read from the environment variable "
        "grafana_admin_password_env names. Grafana takes it on its first start only.",
    )

    grafana_admin_password_env: str = Field(
        "REASONING_STACK_GRAFANA_ADMIN_PASSWORD", description="Environment variable that holds grafana_admin_password.",
    )

    @field_validator("monitoring_retention")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not re.fullmatch(r"[1-9][0-9]*[hdwy]", value):
            raise ValueError("must be a Prometheus duration in hours, days, weeks or years, like '12h', '15d', "
                             "'8w' or '1y'")
        return value

    @field_validator("monitoring_scrape_interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        match = re.fullmatch(r"([1-9][0-9]*)([sm])", value)
        seconds = int(match[1]) * (60 if match[2] == "m" else 1) if match else 0
        if not match or not 1 <= seconds <= 300:
            raise ValueError("must be seconds or minutes from 1s to 5m, like '15s' or '1m'")
        return value
