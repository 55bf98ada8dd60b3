"""Every setting a user can put in an inventory or in ``group_data/``: type, default and one line of help.

This package is the single place a setting is *defined* and *validated*, one module per concern (``hardware``,
``nvidia``, ``serving``, ``api``, ``openwebui``, ``monitoring``, ``https``, ``firewall``, ``cluster``, ``host``,
``removal``; each engine's own in ``engines/<name>/settings.py``). They compose one flat :class:`StackSettings`:
group_data keys stay flat, as pyinfra merges host data key by key. ``docs/settings.md`` is generated from it
(``reasoning-stack settings``). Planning lives in :mod:`reasoning_stack.plan`, rendering in
:mod:`reasoning_stack.services`.
"""

from __future__ import annotations

import ipaddress
import re
import textwrap
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator, model_validator

from reasoning_stack import engines
from reasoning_stack.arch import check_image, declared_arch, normalise_arch
from reasoning_stack.engines.ollama.settings import DEFAULT_IMAGE as DEFAULT_OLLAMA_IMAGE
from reasoning_stack.engines.sglang.settings import DEFAULT_IMAGE as DEFAULT_SGLANG_IMAGE
from reasoning_stack.engines.vllm.settings import DEFAULT_IMAGE as DEFAULT_VLLM_IMAGE
from reasoning_stack.engines.vllm.settings import DEFAULT_IMAGE_ARM64 as DEFAULT_VLLM_IMAGE_ARM64
from reasoning_stack.settings.api import ApiSettings
from reasoning_stack.settings.api_keys import ApiKeySettings
from reasoning_stack.settings.cluster import ClusterSettings
from reasoning_stack.settings.common import env_var_name, image_reference, ip_address, is_ip_address, one_line_secret
from reasoning_stack.settings.firewall import FirewallSettings
from reasoning_stack.settings.hardware import HardwareSettings
from reasoning_stack.settings.host import HostSettings
from reasoning_stack.settings.https import HttpsSettings
from reasoning_stack.settings.monitoring import (
    DEFAULT_DCGM_EXPORTER_IMAGE,
    DEFAULT_GRAFANA_IMAGE,
    MONITORING_ARCHES,
    MonitoringSettings,
)
from reasoning_stack.settings.nvidia import NvidiaSettings
from reasoning_stack.settings.openwebui import (
    DEFAULT_OPENWEBUI_IMAGE,
    OPENWEBUI_ARCHES,
    OPENWEBUI_VERSION,
    CloudConnection,
    OpenWebUISettings,
)
from reasoning_stack.settings.removal import RemovalSettings
from reasoning_stack.settings.serving import ExtraModel, ServingSettings
from reasoning_stack.settings.webui_database import WebuiDatabaseSettings

__all__ = ["DEFAULT_DCGM_EXPORTER_IMAGE", "DEFAULT_GRAFANA_IMAGE", "DEFAULT_OLLAMA_IMAGE", "DEFAULT_OPENWEBUI_IMAGE",
           "DEFAULT_SGLANG_IMAGE", "OPENWEBUI_VERSION", "DEFAULT_VLLM_IMAGE",
           "DEFAULT_VLLM_IMAGE_ARM64", "GROUPS", "RENAMED_SETTINGS", "SECRET_ENV_VARS", "SECRET_SETTINGS",
           "CloudConnection", "ExtraModel", "StackSettings", "env_var_name", "group_data_all_py", "setting_names",
           "settings_reference_markdown"]

# The settings by concern, in the order the reference and group_data/all.py show them.
# Each engine's own group comes from the engine (Engine.settings_group), in the registry's order.
ENGINE_GROUPS: tuple[type[BaseModel], ...] = tuple(e.settings_group for e in engines.registered() if e.settings_group)
GROUPS: tuple[type[BaseModel], ...] = (
    HardwareSettings, ServingSettings, ApiSettings, *ENGINE_GROUPS,
    OpenWebUISettings, WebuiDatabaseSettings, ApiKeySettings, MonitoringSettings, HttpsSettings, FirewallSettings,
    ClusterSettings, HostSettings, NvidiaSettings, RemovalSettings,
)
# Settings that were renamed, and their names now: the old ones are still accepted, and `check` says the new one.
RENAMED_SETTINGS = {"vllm_listen": "api_listen", "vllm_port": "api_port", "vllm_api_key": "api_key",
                    "vllm_api_key_env": "api_key_env"}
# What the user decides for each host or group; group_data/all.py shows every other setting commented out.
DECIDED_IN_GROUP_DATA = ("gpu_profile", "gpu_count", "model", "api_key_env", "hf_token_env")


SSH_PORT = 22  # sshd's default port: the one pyinfra reaches the host through unless ssh_port says otherwise


class StackSettings(*reversed(GROUPS)):  # type: ignore[misc]  # reversed: pydantic orders fields by the MRO
    """The validated settings of one host (inventory data merged with its groups' ``group_data``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    # --- checks of one field that several groups share -----------------------------------------------------
    @field_validator("vllm_image", "vllm_image_arm64", "openwebui_image", "sglang_image", "ollama_image",
                     "grafana_image", "dcgm_exporter_image")
    @classmethod
    def _image_reference(cls, value: str) -> str:
        return image_reference(value)

    @field_validator("api_listen", "openwebui_listen", "grafana_listen")
    @classmethod
    def _ip_address(cls, value: str) -> str:
        return ip_address(value)

    @field_validator("api_key_env", "hf_token_env", "openwebui_secret_key_env", "openwebui_admin_password_env",
                     "grafana_admin_password_env")
    @classmethod
    def _env_var_name(cls, value: str) -> str:
        return env_var_name(value)

    @field_validator("api_key", "hf_token", "openwebui_secret_key", "openwebui_admin_password",
                     "grafana_admin_password")
    @classmethod
    def _one_line_secret(cls, value: SecretStr | None) -> SecretStr | None:
        return one_line_secret(value)

    # --- checks across groups, in this order (the first problem found is the one reported) -----------------
    @model_validator(mode="after")
    def _every_group_checked(self) -> StackSettings:
        for check in (self._signup_policy_can_hold, self._cloud_connections_apart, self._task_model_served_here,
                      self._check_api_keys, self._check_webui_workers, self._ports_differ,
                      self._check_context, self._check_model_files,
                      self._check_parallel_sizes, self._check_cluster, self._check_driver, self._check_engines,
                      self._check_exposure, self._check_https, self._check_daemon_options):
            check()
        arch = declared_arch(self.gpu_profile)
        if arch is not None:  # a GB10 is an aarch64 machine: its images are known before connecting
            self.for_arch(arch)
        return self

    def _ports_differ(self) -> None:
        """The primary API, Open WebUI, every extra model and a cluster's ports each need a port of their own,
        none of them sshd's; and every instance a name of its own."""
        if self.openwebui_enabled and self.openwebui_port == self.api_port:
            fields = type(self).model_fields
            moved, other = (("api_port", "openwebui_port") if self.api_port != fields["api_port"].default
                            else ("openwebui_port", "api_port"))
            raise ValueError(f"{moved}: {self.api_port} is {other}'s port too; give {moved} another port (default "
                             f"{fields[moved].default}) or move {other}")
        taken = {self.api_port: "api_port"}
        if self.openwebui_enabled:
            taken[self.openwebui_port] = "openwebui_port"
        names: set[str] = set()
        for extra in self.extra_models:
            if extra.port in taken:
                raise ValueError(f"extra model {extra.name!r} uses port {extra.port}, already taken by "
                                 f"{taken[extra.port]}; give it a free port")
            if extra.name in names:
                raise ValueError(f"two extra models are named {extra.name!r}; names must differ")
            taken[extra.port] = f"extra model {extra.name!r}"
            names.add(extra.name)
        if self.cluster is not None:
            cluster_ports = {self.cluster_port: "cluster_port", **({self.ray_port: "ray_port"}
                                                                  if self.cluster_backend == "ray" else {})}
            self._own_ports(taken, list(cluster_ports.values()), "the cluster")
        if self.monitoring_enabled:
            self._own_ports(taken, self.monitoring_ports(), "monitoring")
        self._own_ports(taken, self.webui_database_ports(), "Open WebUI's database")
        self._own_ports(taken, self.https_ports(), "the HTTPS proxy")
        if self.https_api_port is not None:
            for index, _instance in enumerate(self.served_model_names()[1:], start=1):
                port = self.https_api_port + index
                if port in taken:
                    raise ValueError(f"https_api_port {self.https_api_port} serves model {index + 1} on port {port}, "
                                     f"already {taken[port]}'s; move https_api_port")
                taken[port] = "https_api_port"
        for port, key in taken.items():
            if port == SSH_PORT:
                raise ValueError(f"{key} {port} is sshd's port, which pyinfra itself connects through: pick another")
        served = self.served_model_names()
        twice = sorted({n for n in served if served.count(n) > 1})
        if twice:
            raise ValueError(f"served model name {twice[0]!r} is served by two instances of this host; Open WebUI and "
                             "clients would reach only one: give one of them its own served_model_name")
        if self.gpu_count is not None and self.gpu_profile is None and self.gpu_memory_gib is None:
            raise ValueError("gpu_count needs gpu_profile (the GPU model it counts), or gpu_memory_gib for a card the "
                             "catalogue lacks")
        if self.gpu_profile is not None and self.gpu_memory_gib is not None:
            raise ValueError(f"gpu_memory_gib: gpu_profile {self.gpu_profile!r} already describes the GPU; "
                             "gpu_memory_gib is for a card the catalogue lacks: set one of them")
        if self.gpu_memory_bandwidth_gb_s is not None and self.gpu_memory_gib is None:
            raise ValueError("gpu_memory_bandwidth_gb_s goes with gpu_memory_gib (a card the catalogue lacks); the "
                             "catalogue's cards carry their own bandwidth")
        if self.gpu_compute_capability is not None and self.gpu_memory_gib is None:
            raise ValueError("gpu_compute_capability goes with gpu_memory_gib (a card the catalogue lacks); "
                             "gpu_profile already knows its card's")

    def _own_ports(self, taken: dict[int, str], keys: list[str], who: str) -> None:
        """Claim the ports of the settings ``keys`` in ``taken`` (port -> setting), each one free until now."""
        for key in keys:
            port = getattr(self, key)
            if port in taken:
                raise ValueError(f"{key} {port} is already {taken[port]}'s port; {who} needs a port of its own "
                                 f"(default {type(self).model_fields[key].default})")
            taken[port] = key

    def https_ports(self) -> list[str]:
        """The port settings of the HTTPS proxy these settings run (none with https off)."""
        if self.https == "off":
            return []
        keys = ["https_port", "http_port"]
        if self.proxies_grafana():
            keys.append("grafana_https_port")
        if self.https_api_port is not None:
            keys.append("https_api_port")
        return keys

    def proxies_grafana(self) -> bool:
        """Whether the HTTPS proxy serves Grafana: HTTPS is on and Grafana was meant to be reached beyond the host."""
        return (self.https != "off" and self.monitoring_enabled and self.grafana_enabled
                and not ipaddress.ip_address(self.grafana_listen).is_loopback)

    def _check_https(self) -> None:
        """ACME needs real DNS names and an e-mail address; behind the proxy the API stays on loopback."""
        if self.https == "off":
            return
        if self.https == "acme":
            if self.acme_email is None:
                raise ValueError("https = 'acme' needs acme_email (Let's Encrypt writes there about the certificates)")
            if not self.https_names or any(is_ip_address(n) for n in self.https_names):
                raise ValueError("https = 'acme' needs https_names with the host's DNS names (a public CA signs no "
                                 "bare address); use https = 'internal' for addresses")
        if not ipaddress.ip_address(self.api_listen).is_loopback:
            raise ValueError(f"api_listen {self.api_listen} with https = {self.https!r} would serve the API in plain "
                             "HTTP beside the proxy: keep api_listen on 127.0.0.1 and set https_api_port to serve it "
                             "through the proxy")

    def monitoring_ports(self) -> list[str]:
        """The port settings of the monitoring services these settings run."""
        keys = ["prometheus_port", "node_exporter_port"]
        if self.dcgm_exporter_enabled:
            keys.append("dcgm_exporter_port")
        if self.grafana_enabled:
            keys.append("grafana_port")
        return keys

    def for_arch(self, arch: str | None) -> StackSettings:
        """These settings on a host whose CPU is ``arch`` (``uname -m``): each engine's image for it (aarch64 hosts
        run vllm_image_arm64); an image without a build for the host is refused (a PlatformError naming the
        setting)."""
        arch = normalise_arch(arch)
        update: dict[str, object] = {}
        for engine in self._engines_used():
            update.update(engine.for_arch(self, arch))
        if self.openwebui_enabled:
            check_image("openwebui_image", self.openwebui_image, arch, OPENWEBUI_ARCHES.get(self.openwebui_image))
        if self.monitoring_enabled:
            for setting in ("grafana_image", "dcgm_exporter_image"):
                image = getattr(self, setting)
                check_image(setting, image, arch, MONITORING_ARCHES.get(image))
        return self.model_copy(update=update) if update else self


def setting_names() -> list[str]:
    """All setting names, by concern."""
    return [name for group in GROUPS for name in group.model_fields]


def _group_title(group: type[BaseModel]) -> str:
    return (group.__doc__ or group.__name__).strip().splitlines()[0]


def settings_reference_markdown() -> str:
    """The settings reference page: every setting with its type, default and help line, by concern."""
    lines = [
        "# Settings reference",
        "",
        "Generated from `reasoning_stack/settings/` by `reasoning-stack settings`; do not edit by hand.",
        "Set any of these in `group_data/<group>.py` or on a host in the inventory. Renamed settings still work under",
        "their old names (`check` says the new one): " + ", ".join(f"`{o}` is `{n}`"
                                                         for o, n in RENAMED_SETTINGS.items()) + ".",
    ]
    for group in GROUPS:
        lines += ["", f"## {_group_title(group)}", "", "| setting | type | default | help |",
                  "| --- | --- | --- | --- |"]
        for name in group.model_fields:
            field = StackSettings.model_fields[name]
            default = field.default
            shown = "(none)" if default is None else repr(default)
            if name in SECRET_SETTINGS:
                shown = f"${StackSettings.model_fields[SECRET_SETTINGS[name]].default}"
            lines.append(f"| `{name}` | {_type_name(field.annotation)} | `{shown}` | {field.description} |")
    return "\n".join(lines) + "\n"


# Secrets come from the environment of the machine that runs the deploy, never from host data (which pyinfra
# prints, e.g. with debug-inventory) or a file in the repo: each secret setting and the setting naming its variable.
SECRET_SETTINGS = {"api_key": "api_key_env", "hf_token": "hf_token_env",
                   "openwebui_secret_key": "openwebui_secret_key_env",
                   "openwebui_admin_password": "openwebui_admin_password_env",
                   "grafana_admin_password": "grafana_admin_password_env",
                   **{name: env for e in engines.registered() for name, env in e.secret_settings.items()}}
SECRET_ENV_VARS = {name: StackSettings.model_fields[env].default for name, env in SECRET_SETTINGS.items()}


def group_data_all_py() -> str:
    """The text of ``group_data/all.py``: what a user decides for every host, and every other setting commented
    out with its default and help line (so copying the file freezes no image pin or default)."""
    out = [
        '"""Settings for every host. Generated by `reasoning-stack settings --group-data` (a test keeps it in step',
        "with the schema).",
        "",
        "The few lines that are not comments are what you decide for your hosts; every other setting is shown",
        "commented out with its default: uncomment one to change it here, or set it in a group's own file. Image",
        "pins and defaults left commented move with the stack's releases. Secrets are read from the environment of",
        'the machine you deploy from (the *_env settings name the variables), never written here."""',
        "",
    ]
    for group in GROUPS:
        out += [f"# --- {_group_title(group)} " + "-" * max(3, 100 - len(_group_title(group))), ""]
        for name in group.model_fields:
            if name in SECRET_SETTINGS:
                continue
            field = StackSettings.model_fields[name]
            out += ["# " + line for line in textwrap.wrap(field.description or "", 100)]
            line = f"{name} = {field.default!r}"
            out.append(line if name in DECIDED_IN_GROUP_DATA else f"# {line}")
            out.append("")
    return "\n".join(out)


def _type_name(annotation: Any) -> str:
    text = str(annotation)
    for prefix in ("typing.", "pydantic.types.", "reasoning_stack.settings.serving.",
                   "reasoning_stack.settings.openwebui.", "reasoning_stack.settings."):
        text = text.replace(prefix, "")
    text = re.sub(r"<class '([\w.]+)'>", r"\1", text)
    return text.replace("|", "\\|")
