"""HTTPS in front of the stack: the settings, the proxy's sites, what it changes in Open WebUI, Grafana and the
firewall, and the rendered Caddyfile checked and run by Debian 12's own Caddy (its CA signs, plain HTTP redirects)."""

from __future__ import annotations

import http.server
import os
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from testhosts import free_port, unpacked_tool

from reasoning_stack.cluster import Cluster
from reasoning_stack.firewall import firewall_rules
from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.inventory import plain_http_shared
from reasoning_stack.monitoring.services import grafana_service
from reasoning_stack.openwebui.service import openwebui_service
from reasoning_stack.platforms.linux import LINUX
from reasoning_stack.proxy import CADDYFILE, Proxy, proxy_for
from reasoning_stack.validation import SettingsInvalid, validate_host_data

KEY = {"REASONING_STACK_VLLM_API_KEY": "sk-test"}
CADDY = Path(os.environ.get("CADDY", Path.home() / ".cache/reasoning-stack/caddy-2.6.2/usr/bin/caddy"))


def settings(**values: object):
    return validate_host_data("box", {"model": "deepseek-r1-distill-qwen-7b", **values}, environ=KEY)


def proxy(in_cluster: Cluster | None = None, **values: object) -> Proxy | None:
    s = settings(**values)
    return proxy_for(s, plan_host(s, gpus_from_profile("rtx-4090", 1)), "box", "192.168.1.20", in_cluster)


def refused(**values: object) -> str:
    with pytest.raises(SettingsInvalid) as caught:
        settings(**values)
    return str(caught.value)


def caddy() -> Path:
    return unpacked_tool(CADDY, "tests/tools/caddy/setup.sh")


def test_off_by_default_and_nothing_changes():
    assert proxy() is None
    s = settings()
    assert "WEBUI_URL" not in openwebui_service(s, plan_host(s, gpus_from_profile("rtx-4090", 1))).env_text


def test_bad_https_settings_are_refused_naming_the_key_and_the_fix():
    assert "https = 'acme' needs acme_email" in refused(https="acme", https_names=["chat.example.org"])
    assert "a public CA signs no bare address" in refused(https="acme", acme_email="ops@example.org",
                                                          https_names=["192.168.1.20"])
    assert "is neither a DNS name nor an IP address" in refused(https="internal", https_names=["https://chat/"])
    assert "https_names is empty" in refused(https="internal", https_names=[])
    assert "not an e-mail address" in refused(acme_email="ops")
    text = refused(https="internal", api_listen="0.0.0.0")
    assert "keep api_listen on 127.0.0.1 and set https_api_port" in text
    assert "https_port 3000 is already openwebui_port's port" in refused(https="internal", https_port=3000)
    assert "https_port 22 is sshd's port" in refused(https="internal", https_port=22)
    text = refused(https="internal", https_api_port=7999, gpu_profile="rtx-4090", gpu_count=2,
                   extra_models=[{"name": "b", "model": "deepseek-r1-distill-qwen-1.5b", "port": 8001}])
    assert "https_api_port 7999 serves model 2 on port 8000, already api_port's" in text


def test_the_sites_and_their_urls():
    p = proxy(https="internal")
    assert p is not None and p.names == ("192.168.1.20",)  # the inventory address by default
    assert [(s.title, s.port, s.upstream) for s in p.sites] == [("Open WebUI", 443, "127.0.0.1:3000")]
    assert p.url_for("Open WebUI") == "https://192.168.1.20" and p.ports == (80, 443)
    p = proxy(https="internal", https_names=["chat.lab.test", "fd00::5"], grafana_listen="0.0.0.0",
              https_api_port=8443)
    assert [s.title for s in p.sites] == ["Open WebUI", "Grafana", "API deepseek-r1-distill-qwen-7b"]
    assert p.url_for("Grafana") == "https://chat.lab.test:3443" and p.ports == (80, 443, 3443, 8443)
    assert "https://[fd00::5]:443" in p.caddyfile()
    assert proxy(https="internal", grafana_listen="127.0.0.1").url_for("Grafana") is None  # kept on loopback
    worker = proxy(Cluster("c", "head", ("box",), "mp"), https="internal", cluster="c", cluster_role="worker",
                   cluster_interface="eth0")
    assert worker is None  # a worker serves nobody directly


def test_open_webui_and_grafana_listen_on_loopback_behind_it():
    s = settings(https="internal", https_names=["chat.lab.test"], grafana_listen="0.0.0.0")
    plan = plan_host(s, gpus_from_profile("rtx-4090", 1))
    env = openwebui_service(s, plan, "https://chat.lab.test").env_text
    assert "HOST=127.0.0.1\n" in env and "WEBUI_URL=https://chat.lab.test\n" in env
    assert "WEBUI_SESSION_COOKIE_SECURE=True" in env and "WEBUI_AUTH_COOKIE_SECURE=True" in env
    assert "CORS_ALLOW_ORIGIN=https://chat.lab.test\n" in env
    grafana = grafana_service(s, "https://chat.lab.test:3443").env_text
    assert "GF_SERVER_HTTP_ADDR=127.0.0.1" in grafana and "GF_SERVER_ROOT_URL=https://chat.lab.test:3443/" in grafana


def test_the_firewall_opens_the_proxy_instead_of_the_services():
    s = settings(https="internal", firewall_allow=["192.168.1.0/24"], grafana_listen="0.0.0.0")
    plan = plan_host(s, gpus_from_profile("rtx-4090", 1))
    p = proxy_for(s, plan, "box", None, None)
    text = firewall_rules(s, plan, "box", None, (), None, p).text()
    assert "tcp dport { 80, 443, 3443 } drop" in text and "3000" not in text


def test_render_and_manifest_carry_the_proxy():
    s = settings(https="internal", https_names=["chat.lab.test"])
    plan = plan_host(s, gpus_from_profile("rtx-4090", 1))
    out = LINUX.files(s, plan, 1, "box", None, None)
    assert "https://chat.lab.test:443 {" in out[CADDYFILE]
    assert "WEBUI_URL=https://chat.lab.test" in out["/etc/reasoning-stack/reasoning-openwebui.env"]
    entry = next(u for u in LINUX.manifest(s, plan, "box", None)["units"] if u["kind"] == "proxy")
    assert entry == {"unit": "caddy", "kind": "proxy", "sites": {"Open WebUI": 443}}


def test_check_warns_when_open_webui_is_shared_over_plain_http():
    shared = {"box": settings(firewall_allow=["192.168.1.0/24"])}
    assert plain_http_shared(shared) == [
        "host 'box': Open WebUI is open to 192.168.1.0/24 over plain HTTP (passwords and chats in clear text); set "
        "https = 'internal' (the stack's own CA) or 'acme' (a real domain)"]
    assert plain_http_shared({"box": settings(firewall_allow=["192.168.1.0/24"], https="internal")}) == []


def test_caddy_accepts_every_rendered_caddyfile(tmp_path: Path):
    for values in ({"https": "internal"},
                   {"https": "internal", "https_names": ["chat.lab.test", "192.168.1.20", "fd00::5"],
                    "grafana_listen": "0.0.0.0", "https_api_port": 8443, "https_port": 8444, "http_port": 8080},
                   {"https": "acme", "acme_email": "ops@example.org", "https_names": ["chat.example.org"]}):
        config = tmp_path / "Caddyfile"
        config.write_text(proxy(**values).caddyfile())
        out = subprocess.run([str(caddy()), "validate", "--adapter", "caddyfile", "--config", str(config)],
                             capture_output=True, text=True, timeout=60, env=_caddy_env(tmp_path))
        assert out.returncode == 0 and "Valid configuration" in out.stdout + out.stderr, (values, out.stderr[-2000:])


def _caddy_env(home: Path) -> dict[str, str]:
    return {**os.environ, "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config"),
            "HOME": str(home)}




class _Backend(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = f"open webui stand-in: {self.path} for {self.headers.get('X-Forwarded-Proto')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_the_real_caddy_serves_https_with_its_own_ca_and_redirects_http(tmp_path: Path):
    backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Backend)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    https_port, http_port = free_port(), free_port()
    p = proxy(https="internal", https_names=["chat.lab.test"], openwebui_port=backend.server_address[1],
              https_port=https_port, http_port=http_port)
    config = tmp_path / "Caddyfile"
    config.write_text(p.caddyfile())
    server = subprocess.Popen([str(caddy()), "run", "--adapter", "caddyfile", "--config", str(config)],
                              env=_caddy_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = tmp_path / "data/caddy/pki/authorities/local/root.crt"
    try:
        deadline = time.monotonic() + 60
        while not (root.exists() and _listening(https_port)) and time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            time.sleep(0.5)
        trusted = ssl.create_default_context(cafile=str(root))
        answer = _get(https_port, trusted)
        assert answer == "open webui stand-in: /c/42 for https"
        with pytest.raises(ssl.SSLCertVerificationError):  # a client that does not trust the stack's CA
            _get(https_port, ssl.create_default_context())
        request = urllib.request.Request(f"http://127.0.0.1:{http_port}/c/42", headers={"Host": "chat.lab.test"})
        with pytest.raises(urllib.error.HTTPError) as redirect:
            urllib.request.build_opener(_NoRedirect).open(request, timeout=10)
        assert redirect.value.code == 308
        assert redirect.value.headers["Location"] == f"https://chat.lab.test:{https_port}/c/42"
    finally:
        server.terminate()
        server.wait(timeout=30)
        backend.shutdown()


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _get(port: int, context: ssl.SSLContext) -> str:
    """GET /c/42 from the proxy at 127.0.0.1:port as a browser at https://chat.lab.test would."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="chat.lab.test") as tls:
        tls.sendall(b"GET /c/42 HTTP/1.1\r\nHost: chat.lab.test\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return body.decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None
