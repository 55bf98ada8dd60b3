"""HTTPS in front of what people and their tools reach: Caddy (the distribution's package) with its own CA or ACME."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from reasoning_stack.settings.common import is_ip_address

# A DNS name (letters, digits, hyphens; dot-separated labels) or an IP address.
_NAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                   r"[A-Za-z0-9])?)*$")


class HttpsSettings(BaseModel):
    """HTTPS"""

    https: Literal["off", "internal", "acme"] = Field(
        "off",
        description="TLS in front of Open WebUI (and Grafana and the API where they are reached beyond the host), by "
        "Caddy from the distribution's packages. internal: Caddy's own CA signs the certificate; the deploy fetches "
        "the CA certificate to https_ca_dir for people to trust. acme: a certificate from Let's Encrypt for "
        "https_names (real DNS names that reach the host on ports 80 and 443; needs acme_email). With either, "
        "Open WebUI and Grafana listen on loopback behind it, plain HTTP is redirected, and the firewall opens the "
        "proxy's ports instead of theirs. off (the default): they answer plain HTTP themselves; turning HTTPS on "
        "changes the URL people use and asks each of them to trust the CA, so it is the operator's call.",
    )

    https_names: list[str] | None = Field(
        None,
        description="The names and addresses people reach the host by, all in the certificate (e.g. "
        "['chat.lab.example', '192.168.1.20']); the first is the URL Open WebUI is told. None: the host's address in "
        "the inventory (ssh_hostname, else its name).",
    )

    https_port: int = Field(443, ge=1, le=65535, description="Port of the HTTPS proxy in front of Open WebUI.")

    http_port: int = Field(80, ge=1, le=65535, description="Port where plain HTTP is answered with a redirect to "
                           "HTTPS (ACME's HTTP challenge needs 80).")

    grafana_https_port: int = Field(3443, ge=1, le=65535, description="Port of Grafana through the HTTPS proxy, "
                                    "when grafana_listen is beyond loopback (Grafana itself then listens on "
                                    "loopback).")

    https_api_port: int | None = Field(
        None, ge=1, le=65535,
        description="Serve the models' OpenAI API through the HTTPS proxy on this port (each further model on the "
        "next port), with the engine's API key; None: the API stays where api_listen puts it.",
    )

    acme_email: str | None = Field(None, description="With https = 'acme': the address Let's Encrypt writes to "
                                   "about the certificates.")

    https_ca_dir: str = Field(
        "ca", description="Folder on the deploying machine, relative to where pyinfra runs, that the CA certificate "
        "of each host (https = 'internal') is fetched into as <host>.crt.",
    )

    @field_validator("https_names")
    @classmethod
    def _names(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("https_names is empty: list the names or addresses people reach the host by, or "
                             "leave it unset for the host's inventory address")
        for name in value:
            if not is_ip_address(name) and not _NAME.match(name):
                raise ValueError(f"{name!r} is neither a DNS name nor an IP address (no scheme, port or path: "
                                 "'chat.lab.example' or '192.168.1.20')")
        return value

    @field_validator("acme_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value
