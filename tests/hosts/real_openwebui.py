"""The real Open WebUI (the release the stack pins, from PyPI) started on loopback with exactly the environment
the deploy renders, in front of stand-in vLLM servers, for tests that talk to its own HTTP API.

The venv is built once by ``../shared/tools/open-webui/setup.sh`` into the user cache (``scripts/test`` does
it); ``OPENWEBUI_VENV`` points elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from reasoning_stack.openwebui.paths import WEBUI_DATA
from reasoning_stack.settings import DEFAULT_OPENWEBUI_IMAGE

HERE = Path(__file__).resolve().parent
STANDIN_VLLM = HERE.parent / "standins" / "vllm_standin.py"
VERSION = DEFAULT_OPENWEBUI_IMAGE.rsplit(":v", 1)[1]
VENV = Path(os.environ.get("OPENWEBUI_VENV", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                           / "reasoning-stack" / f"open-webui-{VERSION}"))


PERSON_PASSWORD = "Pass-word-123!"  # the accounts tests add


def available() -> bool:
    """True when the pinned Open WebUI is built."""
    return (VENV / "bin" / "open-webui").exists()


def require() -> None:
    """Fail (under CI) or skip a test that needs the real Open WebUI when it is not built."""
    import pytest

    if not available():
        message = f"the real Open WebUI {VERSION} is not built in {VENV}; scripts/test builds it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def parse_env_file(text: str) -> dict[str, str]:
    """An env file as ``docker --env-file`` reads it: KEY=VALUE lines taken verbatim, comments skipped."""
    env = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value
    return env


def wait_answering(url: str, process: subprocess.Popen, log: Path, timeout: float, tail: int = 4000) -> None:
    """Wait until ``url`` answers 2xx; raise with the last ``tail`` characters of ``log`` if ``process`` exits or
    ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited ({process.returncode}):\n{log.read_text(errors='replace')[-tail:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer in {timeout}s:\n{log.read_text(errors='replace')[-tail:]}")


@dataclass
class StandinVllm:
    """The stand-in vLLM server on 127.0.0.1, logging what each completion request asked for."""

    served: str
    port: int
    api_key: str
    workdir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen | None = None

    @property
    def request_log(self) -> Path:
        return self.workdir / f"requests-{self.served.replace('/', '_')}.jsonl"

    def start(self) -> StandinVllm:
        log = self.workdir / f"vllm-{self.served.replace('/', '_')}.log"  # a repository id has a slash
        env = {**os.environ, "VLLM_API_KEY": self.api_key, "STANDIN_REQUEST_LOG": str(self.request_log),
               **self.extra_env}
        self.process = subprocess.Popen(
            [sys.executable, str(STANDIN_VLLM), self.served, "--served-model-name", self.served, "--host",
             "127.0.0.1", "--port", str(self.port), *self.extra_args], stdout=log.open("w"),
            stderr=subprocess.STDOUT, env=env)
        wait_answering(f"http://127.0.0.1:{self.port}/health", self.process, log, 30)
        return self

    def requests(self) -> list[dict]:
        if not self.request_log.exists():
            return []
        return [json.loads(line) for line in self.request_log.read_text().splitlines()]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@dataclass
class OpenWebUI:
    """The real Open WebUI, started with a rendered env file's variables (HOST/PORT become --host/--port,
    as the image's start script does), its data in ``data_dir``."""

    env_text: str
    data_dir: Path
    process: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['PORT']}"

    def start(self, timeout: float = 180) -> OpenWebUI:
        self.env = parse_env_file(self.env_text)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.data_dir / "open-webui.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "WEBUI_", "ENABLE_"))}
        env.update(self.env)
        if "AUDIT_LOGS_FILE_PATH" in env:  # its data folder in the container is this one here
            env["AUDIT_LOGS_FILE_PATH"] = env["AUDIT_LOGS_FILE_PATH"].replace(WEBUI_DATA, str(self.data_dir))
        env.update({"DATA_DIR": str(self.data_dir), "OFFLINE_MODE": "true", "HF_HUB_OFFLINE": "1",
                    "WEBUI_SECRET_KEY": self.env.get("WEBUI_SECRET_KEY", "test-secret-key")})
        self.process = subprocess.Popen(
            [str(VENV / "bin" / "open-webui"), "serve", "--host", "127.0.0.1", "--port", self.env["PORT"]],
            stdout=log.open("a"), stderr=subprocess.STDOUT, env=env, cwd=self.data_dir)
        wait_answering(f"{self.url}/health", self.process, log, timeout)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def call(self, method: str, path: str, body: object = None, token: str = "") -> tuple[int, object]:
        """One request to Open WebUI's API: (HTTP status, decoded JSON body or text)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def signin(self, email: str, password: str) -> str:
        """Sign in: the session token (an AssertionError naming the account when refused)."""
        status, answer = self.call("POST", "/api/v1/auths/signin", {"email": email, "password": password})
        assert status == 200, f"{email} cannot sign in: {answer}"
        return answer["token"]

    def add_person(self, admin_token: str, name: str, password: str = PERSON_PASSWORD) -> str:
        """An account ``name@example.com`` made by the admin (Open WebUI's own admin API), signed in: its token."""
        status, answer = self.call("POST", "/api/v1/auths/add", {"name": name, "email": f"{name}@example.com",
                                                                 "password": password, "role": "user"}, admin_token)
        assert status == 200, answer
        return self.signin(f"{name}@example.com", password)

    def new_chat(self, token: str, title: str, model: str) -> str:
        """A saved chat with one question and its answer, as the web page leaves it: its id."""
        user_id, answer_id = str(uuid.uuid4()), str(uuid.uuid4())
        messages = {user_id: {"id": user_id, "parentId": None, "childrenIds": [answer_id], "role": "user",
                              "content": f"{title}?", "timestamp": 1},
                    answer_id: {"id": answer_id, "parentId": user_id, "childrenIds": [], "role": "assistant",
                                "content": f"An answer about {title}.", "model": model, "done": True, "timestamp": 2}}
        status, answer = self.call("POST", "/api/v1/chats/new", {"chat": {
            "title": title, "models": [model], "history": {"messages": messages, "currentId": answer_id},
            "messages": list(messages.values())}}, token)
        assert status == 200, answer
        return answer["id"]

    def chat_titles(self, token: str) -> list[str]:
        """The titles of the signed-in person's chats, sorted."""
        status, chats = self.call("GET", "/api/v1/chats/", token=token)
        assert status == 200, chats
        return sorted(c["title"] for c in chats)

    def signup(self, name: str) -> tuple[int, dict]:
        """Sign a person up: (HTTP status, the answer with token and role)."""
        status, answer = self.call("POST", "/api/v1/auths/signup",
                                   {"name": name, "email": f"{name}@example.com", "password": "Pass-word-123!"})
        return status, answer if isinstance(answer, dict) else {"detail": answer}


def apply_model_entries(webui: OpenWebUI, host_plan: object, workdir: Path,
                        model_groups: dict[str, list[str]] | None = None,
                        settings: object | None = None) -> subprocess.CompletedProcess:
    """Run the deploy's own model-entries helper against ``webui`` for ``host_plan`` (``model_groups``: the
    settings' openwebui_model_groups; ``settings``: the host's, for the very files the deploy writes, the stack's
    functions among them), as the deploy does after Open WebUI starts (the admin's credentials from the rendered
    env file); returns the helper's run."""
    from reasoning_stack.openwebui.entries import model_entries, model_entries_json
    from reasoning_stack.openwebui.functions import functions_json
    from reasoning_stack.render import render

    helper, env_file, models = workdir / "openwebui-models", workdir / "openwebui.env", workdir / "models.json"
    helper.write_text(render("openwebui-models.py.j2"))
    env_file.write_text(webui.env_text)
    models.write_text(model_entries_json(settings, host_plan) if settings is not None
                      else json.dumps(model_entries(host_plan, model_groups)))
    command = [sys.executable, str(helper), webui.url, str(models), "--env-file", str(env_file)]
    if settings is not None:
        functions = workdir / "functions.json"
        functions.write_text(functions_json(settings))
        command += ["--functions", str(functions)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


AUDIT_LINE = HERE.parent / "standins" / "openwebui-audit-line.json"  # a model call's line, from the real one


def audit_shape(line: dict) -> dict:
    """The keys of an audit-log line and of its nested objects (the values differ from call to call)."""
    return {"keys": sorted(line), **{k: sorted(v) for k, v in line.items() if isinstance(v, dict)}}

