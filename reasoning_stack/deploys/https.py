"""The HTTPS proxy on a Linux host (``https``): Caddy from the distribution's packages in front of Open WebUI (and
Grafana and the API where they are reached beyond the host), as ``reasoning_stack.proxy`` lays it out.

The Caddyfile is written before the package is installed (apt keeps it), so Caddy never serves its welcome page.
With its own CA (``internal``) the CA's root certificate is fetched back to ``https_ca_dir`` on the deploying
machine, for people to trust. Switching https off stops Caddy; ``remove`` takes the package off.
"""

from __future__ import annotations

import os
import shlex

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.api.exceptions import PyinfraError
from pyinfra.facts.files import File, FindInFile
from pyinfra.operations import files, server, systemd

from reasoning_stack.context import host_proxy, host_settings, settings_from_arguments
from reasoning_stack.operations import stack_file, unit_running
from reasoning_stack.prepared import prepared_fact
from reasoning_stack.proxy import CADDY_CA_ROOT, CADDY_PACKAGES, CADDY_UNIT, CADDYFILE, CADDYFILE_MARK, Proxy
from reasoning_stack.units import packages_present

CA_WAIT_S = 60  # Caddy makes its CA within a second of its first start


@deploy("HTTPS proxy")
@settings_from_arguments(mode="https", names="https_names", port="https_port", acme_email="acme_email")
def stack_https(mode: str | None = None, names: list[str] | None = None, port: int | None = None,
                acme_email: str | None = None) -> None:
    """Caddy serving this host's sites over HTTPS, plain HTTP redirected; its CA's root fetched back.

    + mode: off, internal (the proxy's own CA) or acme (Let's Encrypt) (default: ``https``)
    + names: the names it answers to (default: ``https_names``; none: the host's address in the inventory)
    + port: its HTTPS port (default: ``https_port``, 443)
    + acme_email: with mode acme, the address Let's Encrypt writes to (default: ``acme_email``)

    .. code:: python

        stack_https(mode="internal", names=["ai.home.arpa"])
    """
    settings = host_settings()
    proxy = host_proxy()
    if proxy is None:
        _switched_off()
        return
    if prepared_fact(host, File, path=CADDYFILE) and not _ours():
        raise PyinfraError(f"host {host.name!r}: {CADDYFILE} is not the stack's (a Caddy of your own serves this "
                           "host?); move it aside for the stack's HTTPS proxy, or set https = 'off' and proxy the "
                           "stack yourself")
    files.directory(name="Caddy config folder", path="/etc/caddy", mode="755")
    config = stack_file(name="Caddy: the stack's HTTPS sites", dest=CADDYFILE, content=proxy.caddyfile(), mode="644")
    packages_present("Caddy (the HTTPS proxy)", list(CADDY_PACKAGES))
    # restarted, not reloaded: a reload needs Caddy running, and https may have been switched off before
    systemd.service(name="Restart Caddy for its changed sites", service=f"{CADDY_UNIT}.service", restarted=True,
                    _if=config.did_change)
    unit_running(name="caddy running and enabled", service=f"{CADDY_UNIT}.service")
    if proxy.mode == "internal":
        _ca_fetched(proxy, settings.https_ca_dir)
    for site in proxy.sites:
        logger.info(f"{host.name}: {site.title} at {proxy.url(site)}")


def _ca_fetched(proxy: Proxy, ca_dir: str) -> None:
    """Wait for Caddy's CA on its first start, then fetch its root certificate (only when the local copy differs)."""
    if not prepared_fact(host, File, path=CADDY_CA_ROOT):
        server.shell(
            name=f"Wait for Caddy's CA (up to {CA_WAIT_S} s)",
            commands=[f"for i in $(seq {CA_WAIT_S}); do [ -s {shlex.quote(CADDY_CA_ROOT)} ] && exit 0; sleep 1; "
                      f"done; echo 'Caddy made no CA in {CA_WAIT_S} s: journalctl -u caddy' >&2; exit 1"],
        )
    dest = os.path.join(ca_dir, f"{host.name}.crt")
    files.get(name=f"CA certificate to trust, fetched to {dest}", src=CADDY_CA_ROOT, dest=dest, create_local_dir=True)
    logger.info(f"{host.name}: people trust {dest} (the stack's CA for {', '.join(proxy.names)}); see the README")


def _ours() -> bool:
    """Whether the Caddyfile on the host is the one the stack writes."""
    return bool(prepared_fact(host, FindInFile, path=CADDYFILE, pattern=CADDYFILE_MARK))


def _switched_off() -> None:
    """https off after it was on: Caddy stopped and disabled (its package and CA stay until ``remove``)."""
    if prepared_fact(host, File, path=CADDYFILE) and _ours():
        systemd.service(name="Stop the HTTPS proxy (https is off)", service=f"{CADDY_UNIT}.service", running=False,
                        enabled=False)
