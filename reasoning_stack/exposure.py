"""What each host lets in, from where and how: the lines ``check`` and ``plan`` print for every host, and the
warnings for a door left wide open. Read from the settings alone (nothing is contacted), so it says what the deploy
would set up, whatever runs there today.

The stack's choice for a fresh single box: Open WebUI answers on every address of the host (people open it from
their own machines), over plain HTTP, sign-up 'pending' (the admin approves each account), and ``check`` warns,
naming the address and the one-line ways to limit it. The model API and Grafana stay on loopback unless set.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reasoning_stack import platforms

if TYPE_CHECKING:
    from reasoning_stack.settings import StackSettings

SIGNUP = {
    "closed": "sign-up closed (the admin adds each person)",
    "pending": "sign-up pending (anyone who reaches it may ask; the admin approves each account)",
    "open": "sign-up OPEN (anyone who reaches it gets an account)",
}


@dataclass(frozen=True)
class Door:
    """One way into a host: what answers, at which URL, who reaches it and how."""

    service: str
    url: str
    reached_from: str  # "this host only", "192.168.1.0/24 only (...)", "every network that reaches the host (...)"
    how: str  # "plain HTTP, sign-up pending (...)"
    wide_open: bool  # beyond loopback with no packet filter in front of it


def _loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback


def _url(scheme: str, name: str, port: int) -> str:
    host = f"[{name}]" if ":" in name else name
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + ("" if port == default else f":{port}")


def doors(settings: StackSettings, address: str) -> list[Door]:
    """Every way into a host with these settings; ``address``: how the inventory reaches it (ssh_hostname)."""
    if settings.cluster_role == "worker":
        return []  # a worker serves nobody directly: its head does
    platform = platforms.of_engine(settings.engine)
    filtered = bool(settings.firewall_allow) and platform.firewall
    if filtered:
        beyond = f"{', '.join(settings.firewall_allow or [])} only (the stack's packet filter)"
    else:
        beyond = "every network that reaches the host (no firewall rules: firewall_allow is unset)"
    found: list[Door] = []

    def door(service: str, listen: str, scheme: str, port: int, how: str) -> None:
        local = _loopback(listen)
        url = _url(scheme, "127.0.0.1" if local else address, port)
        found.append(Door(service, url, "this host only (an SSH tunnel reaches it)" if local else beyond, how,
                          not local and not filtered))

    names = settings.https_names or [address]
    if settings.openwebui_enabled:
        signup = SIGNUP[settings.openwebui_signup]
        if settings.https != "off":
            tls = "the stack's own CA" if settings.https == "internal" else "Let's Encrypt"
            found.append(Door("Open WebUI", _url("https", names[0], settings.https_port), beyond,
                              f"HTTPS ({tls}; plain HTTP on port {settings.http_port} redirects), {signup}",
                              not filtered))
        else:
            door("Open WebUI", settings.openwebui_listen, "http", settings.openwebui_port,
                 f"plain HTTP (passwords and chats in clear text), {signup}")
    key = "the API key needed" if settings.api_key is not None else "no API key (api_key is unset)"
    ports = [settings.api_port] + [extra.port for extra in settings.extra_models]
    for index, port in enumerate(ports):
        service = "model API" if len(ports) == 1 else f"model API ({settings.served_model_names()[index]})"
        if settings.https_api_port is not None:
            found.append(Door(service, _url("https", names[0], settings.https_api_port + index), beyond,
                              f"HTTPS, {key}", not filtered))
        else:
            door(service, settings.api_listen, "http", port, f"plain HTTP, {key}")
    if settings.monitoring_enabled and settings.grafana_enabled and platform.monitoring:
        if settings.proxies_grafana():
            found.append(Door("Grafana", _url("https", names[0], settings.grafana_https_port), beyond,
                              "HTTPS, Grafana's admin login", not filtered))
        else:
            door("Grafana", settings.grafana_listen, "http", settings.grafana_port, "plain HTTP, Grafana's admin login")
    return found


def exposure_lines(settings: StackSettings, address: str) -> list[str]:
    """What ``check`` and ``plan`` print under a host: one line per door."""
    found = doors(settings, address)
    if not found:
        return ["  serves nobody directly (a cluster worker: its head serves the cluster)"]
    width = max(len(d.service) for d in found)
    return [f"  {d.service:<{width}}  {d.url}  from {d.reached_from}; {d.how}" for d in found]


def exposure_report(name: str, settings: StackSettings, address: str) -> list[str]:
    """What ``check``, ``plan`` and the deploy print for a host: ``NAME (ADDRESS) lets in:``, then its doors."""
    return [f"{name} ({address}) lets in:", *exposure_lines(settings, address)]


def exposure_warnings(name: str, settings: StackSettings, address: str) -> list[str]:
    """Warnings for doors wide open to every network, and for sign-up open beyond the host, each with the fix."""
    warnings = []
    for door in doors(settings, address):
        if door.wide_open and door.service == "Open WebUI" and door.url.startswith("http:"):
            warnings.append(
                f"host {name!r}: Open WebUI answers {door.url} from every network that reaches the host, over plain "
                f"HTTP, {SIGNUP[settings.openwebui_signup]}; on a box with a public address that is a public login "
                "page. To limit it: firewall_allow = ['192.168.1.0/24'] (your network), https = 'internal', or "
                "openwebui_listen = '127.0.0.1' (reach it through an SSH tunnel)")
        elif door.wide_open and door.service == "Grafana":
            warnings.append(f"host {name!r}: Grafana answers {door.url} from every network that reaches the host; "
                            "set firewall_allow to your network, or grafana_listen = '127.0.0.1'")
        elif door.wide_open and door.service.startswith("model API"):
            warnings.append(f"host {name!r}: the {door.service} answers {door.url} from every network that reaches "
                            "the host (the API key guards it); set firewall_allow to your network to limit it")
        if door.service == "Open WebUI" and settings.openwebui_signup == "open" and not door.url.startswith(
                ("http://127.", "http://[::1]")):
            warnings.append(f"host {name!r}: openwebui_signup = 'open': anyone who reaches {door.url} gets an "
                            "account and the models; 'pending' lets the admin approve each person")
    return warnings
