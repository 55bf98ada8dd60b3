"""Test stand-in for a container registry's login check (what ``docker login`` asks: ``GET /v2/``), on a test
host's loopback: 200 with the Basic credentials it was started with (``STANDIN_REGISTRY_USER``,
``STANDIN_REGISTRY_PASSWORD``), 401 otherwise; each attempt is logged (user and outcome, never the password) to
``STANDIN_REGISTRY_LOG``. Docker treats a registry on 127.0.0.0/8 as insecure, so it speaks plain HTTP to it."""

import base64
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USER = os.environ["STANDIN_REGISTRY_USER"]
PASSWORD = os.environ["STANDIN_REGISTRY_PASSWORD"]
LOG = os.environ.get("STANDIN_REGISTRY_LOG", "/tmp/registry-standin.log")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        given = self.headers.get("Authorization", "")
        user = ""
        if given.startswith("Basic "):
            user, _, password = base64.b64decode(given[6:]).decode(errors="replace").partition(":")
            ok = user == USER and password == PASSWORD
        else:
            ok = False
        with open(LOG, "a") as log:
            log.write(json.dumps({"path": self.path, "user": user, "ok": ok}) + "\n")
        self.send_response(200 if ok else 401)
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        if not ok:
            self.send_header("WWW-Authenticate", 'Basic realm="standin"')
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("STANDIN_REGISTRY_PORT", "5000"))), Handler).serve_forever()
