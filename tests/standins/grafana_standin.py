"""Test stand-in for the Grafana image (no registry here): reads what the stack provisions, as Grafana does.

From its environment (``GF_SERVER_HTTP_ADDR``/``GF_SERVER_HTTP_PORT``, ``GF_SECURITY_ADMIN_PASSWORD``) and
``/etc/grafana/provisioning``: every data source file must name a Prometheus data source with a ``uid:``, every
dashboard provider's ``path:`` must hold dashboards that parse as JSON, and every panel's data source uid must be
a provisioned one; otherwise it exits with the reason, as Grafana stops on broken provisioning. It refuses to
start without an admin password (Grafana would fall back to admin/admin). Then it answers ``/api/health`` and,
with the admin's basic auth, ``/api/dashboards/uid/<uid>`` and ``/api/search``. Only the stdlib: the test hosts'
python3 has no YAML parser, so the provisioning files are read line by line for the keys named above.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PROVISIONING = Path(os.environ.get("GF_PATHS_PROVISIONING", "/etc/grafana/provisioning"))


def values(text: str, key: str) -> list[str]:
    return [m.strip().strip("'\"") for m in re.findall(rf"^\s*-?\s*{key}:\s*(.+)$", text, re.M)]


def provisioned() -> tuple[set[str], dict[str, dict]]:
    uids: set[str] = set()
    for path in sorted((PROVISIONING / "datasources").glob("*.yml")):
        text = path.read_text()
        if values(text, "type") != ["prometheus"] or not values(text, "uid"):
            sys.exit(f"grafana stand-in: {path}: not one Prometheus data source with a uid")
        uids.update(values(text, "uid"))
    dashboards: dict[str, dict] = {}
    for path in sorted((PROVISIONING / "dashboards").glob("*.yml")):
        for folder in values(path.read_text(), "path"):
            for board in sorted(Path(folder).glob("*.json")):
                dashboard = json.loads(board.read_text())
                for panel in dashboard.get("panels", []):
                    uid = (panel.get("datasource") or {}).get("uid")
                    if panel.get("type") != "row" and uid not in uids:
                        sys.exit(f"grafana stand-in: {board}: panel {panel.get('title')!r} uses data source {uid!r}")
                dashboards[dashboard["uid"]] = dashboard
    if not dashboards:
        sys.exit("grafana stand-in: no dashboard provisioned")
    return uids, dashboards


def main() -> None:
    password = os.environ.get("GF_SECURITY_ADMIN_PASSWORD", "")
    if not password:
        sys.exit("grafana stand-in: no GF_SECURITY_ADMIN_PASSWORD: the admin would be admin/admin")
    uids, dashboards = provisioned()
    expected = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path == "/api/health":
                self._send(200, {"database": "ok", "version": "stand-in"})
            elif self.headers.get("Authorization") != expected:
                self._send(401, {"message": "invalid username or password"})
            elif self.path == "/api/search":
                self._send(200, [{"uid": u, "title": d["title"]} for u, d in dashboards.items()])
            elif self.path.startswith("/api/dashboards/uid/") and self.path.rsplit("/", 1)[1] in dashboards:
                self._send(200, {"dashboard": dashboards[self.path.rsplit("/", 1)[1]]})
            else:
                self._send(404, {"message": "not found"})

        def log_message(self, *args: object) -> None:
            pass

    address = os.environ.get("GF_SERVER_HTTP_ADDR", "0.0.0.0")
    port = int(os.environ.get("GF_SERVER_HTTP_PORT", "3000"))
    print(f"grafana stand-in: {len(dashboards)} dashboard(s), data sources {sorted(uids)}, on {address}:{port}",
          flush=True)
    ThreadingHTTPServer((address, port), Handler).serve_forever()


if __name__ == "__main__":
    main()
