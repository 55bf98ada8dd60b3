"""The hardware stand-ins behave like the real pieces where the deploy relies on them: the GPU hook exposes only
the GPUs a container asked for, and the vLLM stand-in refuses a layout needing more GPUs than it sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from testhosts import free_port

from reasoning_stack.openwebui.functions import functions_json
from reasoning_stack.settings import StackSettings

STANDINS = Path(__file__).parent / "standins"
FIXTURES = Path(__file__).parent / "fixtures" / "nvidia-smi"


def _bundle(tmp_path: Path, visible: str) -> Path:
    root = tmp_path / "rootfs"
    share = root / "usr/local/share/standin-nvidia-smi"
    share.mkdir(parents=True)
    (share / "rtx-4090x2.csv").write_text((FIXTURES / "rtx-4090x2.csv").read_text())
    (root / "etc").mkdir()
    (root / "etc/standin-gpu-profile").write_text("rtx-4090x2\n")
    config = {"root": {"path": "rootfs"}, "process": {"env": ["PATH=/usr/bin", f"NVIDIA_VISIBLE_DEVICES={visible}"]}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    return root


def _hook(tmp_path: Path) -> None:
    state = json.dumps({"bundle": str(tmp_path)})
    subprocess.run([sys.executable, str(STANDINS / "nvidia-container-runtime-hook")], input=state, text=True,
                   check=True, env={"PATH": "/nonexistent"})


def test_hook_exposes_only_the_requested_gpus(tmp_path: Path):
    root = _bundle(tmp_path, "1")
    _hook(tmp_path)
    assert (root / "etc/standin-gpu-profile").read_text().strip() == "visible"
    rows = (root / "usr/local/share/standin-nvidia-smi/visible.csv").read_text().splitlines()
    assert len(rows) == 1 and rows[0].startswith("0, NVIDIA GeForce RTX 4090, 24564, GPU-7b2d")  # host GPU 1


def test_hook_keeps_every_gpu_for_all(tmp_path: Path):
    root = _bundle(tmp_path, "all")
    _hook(tmp_path)
    assert (root / "etc/standin-gpu-profile").read_text().strip() == "rtx-4090x2"


def _fake_nvidia_smi(tmp_path: Path, gpus: int) -> dict[str, str]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    lines = "".join(f"echo 'GPU {i}: NVIDIA GeForce RTX 4090 (UUID: GPU-{i})'\n" for i in range(gpus))
    (bindir / "nvidia-smi").write_text("#!/bin/sh\n" + lines)
    (bindir / "nvidia-smi").chmod(0o755)
    return {**os.environ, "PATH": f"{bindir}:/usr/bin:/bin"}


def test_vllm_standin_refuses_a_layout_bigger_than_its_gpus(tmp_path: Path):
    env = _fake_nvidia_smi(tmp_path, 1)
    out = subprocess.run([sys.executable, str(STANDINS / "vllm_standin.py"), "m", "--tensor-parallel-size", "1",
                          "--data-parallel-size", "2", "--port", "1"], capture_output=True, text=True, env=env,
                         timeout=30)
    assert out.returncode == 1
    assert "world size 2 (tensor parallel 1 x data parallel 2) is greater than the 1 GPU(s)" in out.stdout


def _node(rank: int, nodes: int, master_port: int, http_port: int, env: dict[str, str], *extra: str):
    cmd = [sys.executable, str(STANDINS / "vllm_standin.py"), "m", "--port", str(http_port), "--host", "127.0.0.1",
           "--nnodes", str(nodes), "--node-rank", str(rank), "--master-addr", "127.0.0.1",
           "--master-port", str(master_port), "--pipeline-parallel-size", str(nodes), *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def test_native_multi_node_head_serves_only_after_every_rank_joined():
    import urllib.request

    env = {"PATH": "/usr/bin:/bin", "VLLM_HOST_IP": "127.0.0.1", "GLOO_SOCKET_IFNAME": "lo", "NCCL_SOCKET_IFNAME": "lo"}
    master, http = free_port(), free_port()
    head = _node(0, 3, master, http, env)
    workers = []
    try:
        workers.append(_node(1, 3, master, free_port(), env, "--headless"))
        import time

        time.sleep(1.5)
        with pytest.raises(OSError):  # one rank missing: no API yet
            urllib.request.urlopen(f"http://127.0.0.1:{http}/health", timeout=1)
        workers.append(_node(2, 3, master, free_port(), env, "--headless"))
        for _ in range(50):
            try:
                assert urllib.request.urlopen(f"http://127.0.0.1:{http}/health", timeout=1).status == 200
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the head never served")
        workers[0].kill()  # a rank lost: the head goes down too, as on an NCCL failure
        assert head.wait(timeout=10) == 1
    finally:
        for proc in [head, *workers]:
            proc.kill()
    assert "rank 1 joined" in head.stdout.read()


@pytest.mark.parametrize(
    ("rank", "extra", "env_over", "words"),
    [(1, (), {}, "must run --headless"), (0, ("--headless",), {}, "must not be --headless"),
     (0, (), {"VLLM_HOST_IP": "10.9.9.9"}, "is not this head's address"),
     (0, (), {"GLOO_SOCKET_IFNAME": ""}, "GLOO_SOCKET_IFNAME must be set")],
)
def test_native_multi_node_refuses_wrong_node_arguments(rank, extra, env_over, words):
    env = {"PATH": "/usr/bin:/bin", "VLLM_HOST_IP": "127.0.0.1", "GLOO_SOCKET_IFNAME": "lo", "NCCL_SOCKET_IFNAME": "lo",
           **env_over}
    proc = _node(rank, 2, free_port(), free_port(), env, *extra)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 1 and words in out


def test_openwebui_standin_accounts_behave_like_the_real_one_and_the_helper_mends_them(tmp_path: Path):
    """The sequence tests/test_openwebui_real.py checks against the real Open WebUI, on the stand-in the
    end-to-end tests use: the admin from the environment switches sign-up off; the deploy's helper puts the
    policy back."""
    import time
    import urllib.error
    import urllib.request

    import real_openwebui

    from reasoning_stack.render import render

    port = free_port()
    env_text = (f"HOST=127.0.0.1\nPORT={port}\nENABLE_SIGNUP=True\nDEFAULT_USER_ROLE=pending\n"
                "WEBUI_ADMIN_EMAIL=admin@localhost\nWEBUI_ADMIN_PASSWORD=pw-0123\n")
    env = {**os.environ, **real_openwebui.parse_env_file(env_text), "DATA_DIR": str(tmp_path / "data")}
    server = subprocess.Popen([sys.executable, str(STANDINS / "openwebui_standin.py")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def signup(name: str) -> tuple[int, str]:
        body = json.dumps({"name": name, "email": f"{name}@example.com", "password": "x"}).encode()
        request = urllib.request.Request(f"{url}/api/v1/auths/signup", data=body, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())["role"]
        except urllib.error.HTTPError as error:
            return error.code, ""

    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        assert signup("before") == (403, "")
        helper, env_file = tmp_path / "openwebui-signup", tmp_path / "openwebui.env"
        helper.write_text(render("openwebui-signup.py.j2"))
        env_file.write_text(env_text)
        run = subprocess.run([sys.executable, str(helper), url, "pending", "--env-file", str(env_file)],
                             capture_output=True, text=True, timeout=30)
        assert run.returncode == 0 and "applied" in run.stdout, run.stderr
        assert "pw-0123" not in run.stdout + run.stderr
        assert signup("second") == (200, "pending")
        models = tmp_path / "models.json"
        models.write_text(json.dumps([{"id": "m", "name": "Model M", "meta": {"description": "d"}, "params": {}}]))
        (tmp_path / "openwebui-models").write_text(render("openwebui-models.py.j2"))
        functions = tmp_path / "functions.json"
        functions.write_text(functions_json(StackSettings(model="qwen3-8b")))
        for expected in (("'m' shown as 'Model M', for everyone (created)",
                          "'Reply cut off' on for every model (created, switched on, on for every model)"),
                         ("'m' shown as 'Model M', for everyone (unchanged)",
                          "'Reply cut off' on for every model (unchanged)")):
            run = subprocess.run([sys.executable, str(tmp_path / "openwebui-models"), url, str(models), "--env-file",
                                  str(env_file), "--functions", str(functions)], capture_output=True, text=True,
                                 timeout=30)
            assert run.returncode == 0 and all(line in run.stdout for line in expected), run
        env_file.write_text(env_text.replace("pw-0123", "changed"))  # the password changed in Open WebUI
        run = subprocess.run([sys.executable, str(helper), url, "closed", "--env-file", str(env_file)],
                             capture_output=True, text=True, timeout=30)
        assert run.returncode == 1 and "could not sign in" in run.stderr and "systemctl restart" in run.stderr
    finally:
        server.terminate()
        server.wait(5)


def _get(url: str, key: str | None = None) -> tuple[int, dict | None]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            body = resp.read()
            return resp.status, json.loads(body) if body else None
    except urllib.error.HTTPError as err:
        return err.code, None


def test_sglang_standin_runs_the_planned_command_and_takes_the_key_only_from_its_config(tmp_path: Path):
    from reasoning_stack.gpus import gpus_from_profile
    from reasoning_stack.plan import PlanRequest, make_plan
    from reasoning_stack.render import render

    port = free_port()
    plan = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-4090")), model="qwen3-8b", engine="sglang",
                                 port=port))
    config = tmp_path / "secrets.yaml"
    config.write_text('api-key: "sk-from-config"\n')
    env = {**_fake_nvidia_smi(tmp_path, 1), "STANDIN_VLLM": str(STANDINS / "vllm_standin.py"),
           "VLLM_API_KEY": "sk-from-env-ignored"}
    cmd = [sys.executable, str(STANDINS / "sglang_standin.py"), *plan.command[3:], "--config", str(config)]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if _get(f"{base}/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        assert _get(f"{base}/health_generate")[0] == 200
        assert _get(f"{base}/v1/models", "sk-from-env-ignored")[0] == 401
        status, models = _get(f"{base}/v1/models", "sk-from-config")
        assert status == 200 and models["data"][0]["id"] == "qwen3-8b"
        env_file = tmp_path / "unit.env"  # the stack's helpers read the key from the unit's env file
        env_file.write_text("VLLM_API_KEY=sk-from-config\n")
        helper = tmp_path / "smoke-test"
        helper.write_text(render("smoke-test.py.j2"))
        smoke = subprocess.run([sys.executable, str(helper), base, "qwen3-8b", "--key-from", str(env_file)],
                               text=True, capture_output=True, timeout=60)
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
        assert "reasoning 0 tokens" not in smoke.stdout  # reasoning_content counted as reasoning
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("bad, words", [
    (["--reasoning-parser", "deepseek_r1"], "invalid choice: 'deepseek_r1'"),
    (["--mem-frac", "0.8"], "unrecognized arguments: --mem-frac"),
    (["--mem-fraction-static", "1.2"], "between 0 and 1"),
])
def test_sglang_standin_refuses_what_sglang_refuses(bad: list[str], words: str):
    out = subprocess.run([sys.executable, str(STANDINS / "sglang_standin.py"), "--model-path", "m", *bad],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and words in out.stderr, out.stderr


def test_ollama_standin_pulls_with_progress_and_serves_thinking(tmp_path: Path):
    from reasoning_stack.render import render

    port = free_port()
    env = {**os.environ, "OLLAMA_HOST": f"127.0.0.1:{port}", "OLLAMA_MODELS": str(tmp_path / "models"),
           "OLLAMA_KV_CACHE_TYPE": "q8_0", "OLLAMA_FLASH_ATTENTION": "1", "OLLAMA_NUM_PARALLEL": "2"}
    server = subprocess.Popen([sys.executable, str(STANDINS / "ollama_standin.py"), "serve"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        helper = tmp_path / "ollama-pull"
        helper.write_text(render("ollama-pull.py.j2"))
        pull = subprocess.run([sys.executable, str(helper), base, "deepseek-r1:7b", "reasoning-ollama",
                               "--timeout", "20"], capture_output=True, text=True, timeout=60)
        assert pull.returncode == 0, pull.stdout + pull.stderr
        assert "pulling sha256:5e8f: 50% of 4.70 GB" in pull.stdout and "success" in pull.stdout
        assert _get(f"{base}/api/tags")[1]["models"][0]["name"] == "deepseek-r1:7b"
        missing = subprocess.run([sys.executable, str(helper), base, "deepseek-r1:9b", "reasoning-ollama"],
                                 capture_output=True, text=True, timeout=60)
        assert missing.returncode == 1 and "file does not exist" in missing.stderr
        env_file = tmp_path / "unit.env"
        env_file.write_text("OLLAMA_NUM_PARALLEL=2\n")
        smoke = tmp_path / "smoke-test"
        smoke.write_text(render("smoke-test.py.j2"))
        run = subprocess.run([sys.executable, str(smoke), base, "deepseek-r1:7b", "--key-from", str(env_file)],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0 and "reasoning 0 tokens" not in run.stdout, run.stdout + run.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("env, words", [
    ({"OLLAMA_NUM_PARALLEL": "four"}, "not a whole number"),
    ({"OLLAMA_KV_CACHE_TYPE": "q8_0"}, "needs OLLAMA_FLASH_ATTENTION=1"),
    ({"OLLAMA_KV_CACHE_TYPE": "fp8"}, "use f16, q8_0 or q4_0"),
])
def test_ollama_standin_refuses_settings_ollama_cannot_use(env: dict[str, str], words: str):
    out = subprocess.run([sys.executable, str(STANDINS / "ollama_standin.py"), "serve"], capture_output=True,
                         text=True, timeout=30, env={**os.environ, **env})
    assert out.returncode == 1 and words in out.stdout, out.stdout


def test_openwebui_standin_keys_and_usage_record_behave_like_the_real_ones(tmp_path: Path):
    """What tests/test_openwebui_api_keys.py checks against the real Open WebUI, on the stand-in the end-to-end
    tests use, started with the env the deploy renders: a person's key reaches the model with the OpenAI client,
    only the OpenAI endpoints, an unknown or revoked key is refused, and each call is a line of the real format."""
    import openai
    import real_openwebui as real

    from reasoning_stack.gpus import gpus_from_profile
    from reasoning_stack.instances import plan_host
    from reasoning_stack.openwebui.entries import USAGE_LOG
    from reasoning_stack.openwebui.service import openwebui_service
    from reasoning_stack.validation import validate_host_data

    engine_port, port = free_port(), free_port()
    vllm = real.StandinVllm("qwen3-8b", engine_port, "sk-engine-0123", tmp_path).start()
    settings = validate_host_data("box", {"model": "qwen3-8b", "api_port": engine_port, "openwebui_port": port,
                                          "openwebui_api_keys": "everyone"},
                                  environ={"REASONING_STACK_VLLM_API_KEY": "sk-engine-0123",
                                           "REASONING_STACK_OPENWEBUI_ADMIN_PASSWORD": "pw-0123"})
    service = openwebui_service(settings, plan_host(settings, gpus_from_profile("rtx-4090", 1)),
                                webui_data=str(tmp_path / "data"))
    env = {**os.environ, **real.parse_env_file(service.env_text), "DATA_DIR": str(tmp_path / "data")}
    server = subprocess.Popen([sys.executable, str(STANDINS / "openwebui_standin.py")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        webui = real.OpenWebUI(service.env_text, tmp_path / "data")
        webui.env = real.parse_env_file(service.env_text)
        real.wait_answering(f"{webui.url}/health", server, tmp_path / "vllm-qwen3-8b.log", 30)
        session = webui.add_person(webui.signin("admin@localhost", "pw-0123"), "ada")
        status, made = webui.call("POST", "/api/v1/auths/api_key", token=session)
        assert status == 200 and made["api_key"].startswith("sk-"), made
        client = openai.OpenAI(base_url=f"{webui.url}/api", api_key=made["api_key"], max_retries=0)
        assert [m.id for m in client.models.list()] == ["qwen3-8b"]
        answer = client.chat.completions.create(model="qwen3-8b", messages=[{"role": "user", "content": "2+2?"}])
        assert answer.choices[0].message.content and answer.usage.completion_tokens > 0
        assert webui.call("GET", "/api/v1/chats/", token=made["api_key"])[0] == 403  # only the OpenAI endpoints
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{webui.url}/api", api_key="sk-unknown", max_retries=0).models.list()
        assert webui.call("DELETE", "/api/v1/auths/api_key", token=session)[0] == 200
        with pytest.raises(openai.AuthenticationError):
            client.models.list()
        lines = [json.loads(t) for t in (tmp_path / "data" / USAGE_LOG).read_text().splitlines()]
        assert len(lines) == 1 and lines[0]["user"]["email"] == "ada@example.com"
        assert lines[0]["usage"]["output_tokens"] == answer.usage.completion_tokens
        assert real.audit_shape(lines[0]) == real.audit_shape(json.loads(real.AUDIT_LINE.read_text()))
    finally:
        server.terminate()
        server.wait(5)
        vllm.stop()


def test_vllm_standin_takes_a_burst_of_connections_as_uvicorn_does(tmp_path: Path):
    """300 people's pages asking at the same moment: the real servers (uvicorn, backlog 2048) accept them all at
    once; a listen backlog of 5 left a third waiting for SYN retries past Open WebUI's 10 s model-list timeout."""
    import threading
    import urllib.request

    port = free_port()
    env = {**_fake_nvidia_smi(tmp_path, 1), "VLLM_API_KEY": "k"}
    server = subprocess.Popen([sys.executable, str(STANDINS / "vllm_standin.py"), "m", "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/v1/models"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": "Bearer k"}), timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        start, late = threading.Barrier(300), []

        def ask() -> None:
            start.wait()
            try:
                urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": "Bearer k"}), timeout=10)
            except OSError as error:
                late.append(str(error))

        people = [threading.Thread(target=ask) for _ in range(300)]
        for person in people:
            person.start()
        for person in people:
            person.join(timeout=60)
    finally:
        server.kill()
    assert late == [], f"{len(late)} of 300 not answered within 10 s: {late[:3]}"
