"""The smoke-test helper against the stand-in vLLM server (reasoning apart) and a server without a parser."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from testhosts import free_port

from reasoning_stack.catalogue import MODELS
from reasoning_stack.operations.http import smoke_test
from reasoning_stack.render import render

STANDIN = Path(__file__).parent / "standins" / "vllm_standin.py"


@pytest.fixture
def helper(tmp_path: Path) -> Path:
    script = tmp_path / "smoke-test"
    script.write_text(render("smoke-test.py.j2"))
    return script


def test_reasoning_apart_from_answer(helper: Path, tmp_path: Path):
    port = free_port()
    server = subprocess.Popen([sys.executable, str(STANDIN), "Qwen/QwQ-32B-AWQ", "--host", "127.0.0.1",
                               "--port", str(port), "--served-model-name", "qwq-32b"],
                              env={"VLLM_API_KEY": "k2", "PATH": "/usr/bin:/bin"}, stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        env_file = tmp_path / "vllm.env"
        env_file.write_text("VLLM_API_KEY=k2\n")
        record = tmp_path / "status" / "reasoning-vllm-smoke-test.json"
        out = subprocess.run([sys.executable, str(helper), f"http://127.0.0.1:{port}", "qwq-32b",
                              "--key-from", str(env_file), "--expect-tps", "36.0", "--record", str(record)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        figures = json.loads(record.read_text())  # kept for `reasoning-stack status`
        assert figures["reasoning_apart"] and figures["reasoning_tokens"] == 17 and figures["tokens_per_s"] > 0
        assert "time to first token" in out.stdout and "tokens/s" in out.stdout
        assert "tokens/s measured, 36.0 tokens/s estimated by the plan for one request" in out.stdout
        assert "reasoning 17 tokens, answer 4 tokens" in out.stdout
        assert "\\boxed{391}" in out.stdout
        unauthorised = subprocess.run([sys.executable, str(helper), f"http://127.0.0.1:{port}", "qwq-32b"],
                                      capture_output=True, text=True, timeout=60)
        assert unauthorised.returncode == 1 and "401" in unauthorised.stderr
    finally:
        server.terminate()
        server.wait()


class _NoParser(BaseHTTPRequestHandler):
    """A server started without --reasoning-parser: the <think> block stays inside the content."""

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.end_headers()
        for text in ("<think>", "17*23=391", "</think>", "\\boxed{391}"):
            chunk = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args):
        pass


def test_missing_reasoning_parser_is_caught(helper: Path):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _NoParser)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        out = subprocess.run([sys.executable, str(helper), f"http://127.0.0.1:{httpd.server_address[1]}", "m"],
                             capture_output=True, text=True, timeout=60)
    finally:
        httpd.shutdown()
    assert out.returncode == 1
    assert "no reasoning arrived apart from the answer" in out.stderr


class _ThinksWhenAsked(BaseHTTPRequestHandler):
    """DeepSeek V4 behind vLLM's deepseek_v4 parser: reasoning only when the request's chat_template_kwargs says
    ``thinking: true`` (its encoder reads no enable_thinking); the body it was sent is kept."""

    bodies: list[dict] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.bodies.append(body)
        self.send_response(200)
        self.end_headers()
        thinks = (body.get("chat_template_kwargs") or {}).get("thinking") is True
        for field, text in ([("reasoning_content", "17*23=391")] if thinks else []) + [("content", "\\boxed{391}")]:
            chunk = {"choices": [{"index": 0, "delta": {field: text}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args):
        pass


def test_the_smoke_test_asks_each_model_to_think_with_its_own_switch(helper: Path):
    """The deploy passes the model's own switch (units.py: ``thinking_request_kwarg``): DeepSeek V4's ``thinking``,
    Qwen3's ``enable_thinking``, nothing for a thinking-only model; V4 asked with Qwen's would not think, and the
    smoke test would fail the deploy with the stack working."""
    assert MODELS["deepseek-v4-flash"].thinking_request_kwarg == "thinking"
    assert MODELS["qwen3-8b"].thinking_request_kwarg == "enable_thinking"
    assert MODELS["qwq-32b"].thinking_request_kwarg == ""
    command = next(smoke_test._inner("/opt/smoke-test", "http://127.0.0.1:8000", "deepseek-v4-flash",
                                     thinking_kwarg=MODELS["deepseek-v4-flash"].thinking_request_kwarg))
    assert "--thinking-kwarg thinking" in str(command)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ThinksWhenAsked)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        runs = {kwarg: subprocess.run([sys.executable, str(helper), url, "m", "--thinking-kwarg", kwarg],
                                      capture_output=True, text=True, timeout=60)
                for kwarg in ("thinking", "enable_thinking")}
    finally:
        httpd.shutdown()
    assert runs["thinking"].returncode == 0, runs["thinking"].stderr
    assert runs["enable_thinking"].returncode == 1  # the wrong switch: no reasoning, and the smoke test says so
    assert [b["chat_template_kwargs"] for b in _ThinksWhenAsked.bodies] == [{"thinking": True},
                                                                         {"enable_thinking": True}]
