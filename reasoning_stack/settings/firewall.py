"""The host firewall for the stack's ports (nftables), when networks are let in."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, Field, field_validator


class FirewallSettings(BaseModel):
    """Firewall"""

    firewall_allow: list[str] | None = Field(
        None,
        description="Networks (CIDR, e.g. ['192.168.1.0/24']) that may reach Open WebUI and, when vLLM listens beyond "
        "loopback, its API; the deploy then manages nftables rules for the stack's ports only (SSH and other ports "
        "untouched; cluster ports open only between the nodes). None = no firewall rules managed.",
    )

    @field_validator("firewall_allow")
    @classmethod
    def _networks(cls, value: list[str] | None) -> list[str] | None:
        for network in value or []:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not a network: write it as an address or CIDR, like "
                                 "'192.168.1.0/24' or '10.0.0.5/32'") from None
        return value
