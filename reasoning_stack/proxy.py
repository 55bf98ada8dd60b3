"""The HTTPS proxy in front of a host's services (``https`` on): Caddy from the distribution's packages, its sites
and certificates, from the settings and the plan.

One site per service a person or tool reaches, each on a port of its own and all under ``https_names``: Open WebUI
on ``https_port``, Grafana on ``grafana_https_port`` (when it was meant to be reached beyond the host), each model's
OpenAI API from ``https_api_port`` on (when set). Behind it every service listens on loopback. Plain HTTP on
``http_port`` answers with a redirect. ``internal``: Caddy's own CA signs the certificates (its root is fetched
back to the deploying machine); ``acme``: Let's Encrypt does, for real DNS names.
"""

from __future__ import annotations

from dataclasses import dataclass

from reasoning_stack.planning.types import HostPlan
from reasoning_stack.render import render
from reasoning_stack.settings import StackSettings
from reasoning_stack.topology import Cluster

CADDYFILE = "/etc/caddy/Caddyfile"
CADDYFILE_MARK = "Managed by reasoning-stack"  # in the first line of the stack's Caddyfile
CADDY_UNIT = "caddy"
# Where the package's Caddy (user caddy, home /var/lib/caddy) keeps its own CA's root certificate.
CADDY_CA_ROOT = "/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt"
CADDY_PACKAGES = ("caddy",)


@dataclass(frozen=True)
class Site:
    """One service behind the proxy: what it is, the port people use, and where it listens on the host."""

    title: str
    port: int
    upstream: str  # host:port on loopback


@dataclass(frozen=True)
class Proxy:
    """The proxy of one host: its names, how certificates are signed, and its sites."""

    names: tuple[str, ...]
    mode: str  # "internal" or "acme"
    http_port: int
    sites: tuple[Site, ...]
    email: str | None = None

    def url(self, site: Site) -> str:
        """The URL people use for ``site`` (its first name; the port left out where it is HTTPS's own)."""
        return f"https://{_host(self.names[0])}" + ("" if site.port == 443 else f":{site.port}")

    def url_for(self, title: str) -> str | None:
        """The URL of the site named ``title`` ("Open WebUI", "Grafana"), or None when the proxy does not serve it."""
        site = next((s for s in self.sites if s.title == title), None)
        return None if site is None else self.url(site)

    @property
    def ports(self) -> tuple[int, ...]:
        """Every port the proxy listens on (the firewall opens these instead of the services')."""
        return tuple(sorted({self.http_port, *(s.port for s in self.sites)}))

    def caddyfile(self) -> str:
        """The Caddyfile (``/etc/caddy/Caddyfile``)."""
        return render("Caddyfile.j2", proxy=self, hosts=[_host(n) for n in self.names])


def proxy_for(settings: StackSettings, plan: HostPlan, host_name: str, address: str | None,
              cluster: Cluster | None) -> Proxy | None:
    """The proxy this host runs (None: https off, or a cluster worker, which serves nobody directly). ``address``:
    the host's address in the inventory (ssh_hostname), the default name."""
    if settings.https == "off" or (cluster is not None and cluster.head != host_name):
        return None
    sites = []
    if settings.openwebui_enabled:
        sites.append(Site("Open WebUI", settings.https_port, f"127.0.0.1:{settings.openwebui_port}"))
    if settings.proxies_grafana():
        sites.append(Site("Grafana", settings.grafana_https_port, f"127.0.0.1:{settings.grafana_port}"))
    if settings.https_api_port is not None:
        for index, instance in enumerate(plan.instances):
            sites.append(Site(f"API {instance.served_model_name}", settings.https_api_port + index,
                              f"127.0.0.1:{instance.port}"))
    if not sites:
        return None
    names = tuple(settings.https_names or [address or host_name])
    return Proxy(names, settings.https, settings.http_port, tuple(sites), settings.acme_email)


def _host(name: str) -> str:
    """A name as it stands in a URL (an IPv6 address in brackets)."""
    return f"[{name}]" if ":" in name else name
