"""Test stand-in for the Hugging Face Hub: the two endpoints huggingface_hub calls to read a model's files
(``/api/models/<repo>/revision/<rev>`` for the commit and file sizes, ``/<repo>/resolve/<rev>/<file>`` for a file,
HEAD then GET), with the Hub's error codes for a missing, gated or unknown-revision repo. Tests point
``HF_ENDPOINT`` at it; it serves the files it is given and never reaches the network.

    hub = HubStandin({"acme/thinker": {"config.json": {...}, "model.safetensors": 1234}})
    hub.start(); os.environ["HF_ENDPOINT"] = hub.url
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Files = dict[str, Any]  # name -> JSON document (served as JSON) or int (a weights file of that many bytes)


class HubStandin:
    """A local Hub holding ``repos``; ``gated`` repos answer 403 GatedRepo unless the right token is sent."""

    def __init__(self, repos: dict[str, Files], gated: dict[str, str] | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.repos = repos
        self.gated = gated or {}
        self.requests: list[str] = []
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HubStandin:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @staticmethod
    def sha(repo: str) -> str:
        return hashlib.sha1(repo.encode()).hexdigest()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _error(self, status: int, code: str) -> None:
                body = json.dumps({"error": code}).encode()
                self.send_response(status)
                self.send_header("X-Error-Code", code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _repo(self, repo: str, revision: str) -> Files | None:
                if repo not in hub.repos:
                    self._error(404, "RepoNotFound")
                    return None
                token = hub.gated.get(repo)
                if token is not None and self.headers.get("Authorization") != f"Bearer {token}":
                    self._error(403, "GatedRepo")
                    return None
                if revision not in ("main", hub.sha(repo)):
                    self._error(404, "RevisionNotFound")
                    return None
                return hub.repos[repo]

            def _send(self, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(200)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self) -> None:  # noqa: N802
                self.do_GET()

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?", 1)[0]
                hub.requests.append(f"{self.command} {path}")
                parts = path.strip("/").split("/")
                if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "revision":
                    repo = "/".join(parts[2:4])
                    files = self._repo(repo, parts[5])
                    if files is None:
                        return
                    siblings = [{"rfilename": name, "size": value if isinstance(value, int) else
                                 len(json.dumps(value).encode())} for name, value in files.items()]
                    self._send(json.dumps({"id": repo, "modelId": repo, "sha": hub.sha(repo), "private": False,
                                           "siblings": siblings}).encode(), {"Content-Type": "application/json"})
                    return
                if len(parts) >= 5 and parts[2] == "resolve":
                    repo, revision, name = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
                    files = self._repo(repo, revision)
                    if files is None:
                        return
                    if name not in files or isinstance(files[name], int):
                        self._error(404, "EntryNotFound")
                        return
                    body = json.dumps(files[name]).encode()
                    self._send(body, {"ETag": f'"{hashlib.sha1(body).hexdigest()}"',
                                      "X-Repo-Commit": hub.sha(repo), "Content-Type": "application/json"})
                    return
                self._error(404, "EntryNotFound")

        return Handler
