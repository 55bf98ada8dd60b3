"""The wait-http helper the deploy installs on hosts: waits, reports crashes with the journal, times out."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from reasoning_stack.render import render


class _Health(BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/health" or (self.path == "/v1/models" and self.headers.get("Authorization") == "Bearer k1")
        body = b'{"data": [{"id": "qwq-32b"}]}' if ok else b"no"
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def helper(tmp_path: Path):
    script = tmp_path / "wait-http"
    script.write_text(render("wait-http.py.j2"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    state = tmp_path / "state"
    state.write_text("ActiveState=activating\nSubState=start\nNRestarts=0\n")
    (bin_dir / "systemctl").write_text(f"#!/bin/sh\ncat {state}\n")
    (bin_dir / "journalctl").write_text("#!/bin/sh\necho 'torch.OutOfMemoryError: CUDA out of memory'\n")
    for tool in ("systemctl", "journalctl"):
        (bin_dir / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}

    def run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True,
                              timeout=timeout)

    run.state = state  # type: ignore[attr-defined]
    return run


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_answers(helper, server):
    out = helper(f"{server}/health", "10", "reasoning-vllm")
    assert out.returncode == 0 and "answered" in out.stdout


def test_api_key_read_from_env_file(helper, server, tmp_path):
    env_file = tmp_path / "vllm.env"
    env_file.write_text("HF_HOME=/x\nVLLM_API_KEY=k1\n")
    out = helper(f"{server}/v1/models", "10", "reasoning-vllm", "--expect", "qwq-32b", "--key-from", str(env_file))
    assert out.returncode == 0, out.stderr
    assert "k1" not in out.stdout + out.stderr


def test_crashing_unit_fails_fast_with_journal(helper):
    helper.state.write_text("ActiveState=activating\nSubState=auto-restart\nNRestarts=1\n")
    start = time.monotonic()
    out = helper("http://127.0.0.1:9/health", "600", "reasoning-vllm")
    assert out.returncode == 1
    assert time.monotonic() - start < 10
    assert "--- last lines of the reasoning-vllm journal ---" in out.stderr
    assert "CUDA out of memory" in out.stderr


def test_timeout_reports(helper):
    out = helper("http://127.0.0.1:9/health", "3", "reasoning-vllm")
    assert out.returncode == 1
    assert "no answer from http://127.0.0.1:9/health after 3s" in out.stderr
    assert "waiting for" in out.stdout  # progress was printed while waiting
