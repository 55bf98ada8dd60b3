"""The real MLX-LM 0.32.2 server (``mlx_lm.server`` on MLX's CPU build for Linux) started with the launchd job the
deploy renders for an Apple Silicon Mac, on the tiny Qwen3 model converted to a 4-bit MLX model as the
mlx-community repos are: it starts, splits the reasoning from the answer, answers in the shape of the stand-in that
the Mac tests use in its place (``STANDIN_ENGINE=mlx``), and the real Open WebUI in front of it keeps the reasoning
apart.

Slow: converting the model and starting the server take about half a minute; Open WebUI 15-30 s more.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import contract
import pytest
import real_engines
import real_openwebui
import tiny_models
from testhosts import free_port

from reasoning_stack.engines.mlx.service import mlx_job
from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.openwebui.service import openwebui_service
from reasoning_stack.settings import SECRET_ENV_VARS
from reasoning_stack.validation import validate_host_data

pytestmark = pytest.mark.slow

STANDIN = Path(__file__).parent / "standins" / "vllm_standin.py"
ADMIN_PASSWORD = "Admin-pass-real-mlx-1"


@pytest.fixture(scope="module")
def mac():
    real_engines.require_mlx()
    workdir = Path(tempfile.mkdtemp(prefix="rs-real-mlx-"))
    data = {"engine": "mlx", "gpu_profile": "m4-max-128", "model": "qwen3-8b", "api_port": free_port(),
            "openwebui_port": free_port()}
    settings = validate_host_data("mac", data, environ={SECRET_ENV_VARS["openwebui_admin_password"]:
                                                        ADMIN_PASSWORD})
    plan = plan_host(settings, gpus_from_profile("m4-max-128", 1))
    assert plan.fits, plan.reason
    instance = plan.instances[0]
    job = mlx_job(settings, instance, "reasoning", "0.32.2")
    real_engines.tiny_model_cache("qwen3", workdir / "huggingface", instance.plan.model_repo, mlx=True)
    server = real_engines.real_mlx("mac-mlx", job.plist_text, workdir / "huggingface", workdir)
    try:
        server.start()
        yield settings, plan, instance, server, workdir
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_the_macs_planned_command_line_starts_the_real_mlx_lm(mac):
    _settings, _plan, instance, server, _workdir = mac
    assert server.planned[1:] == instance.plan.command[1:]  # the job runs the plan's arguments
    assert server.command[1:] == server.planned[1:]  # only the program's path differs (MLX_CPU_CHANGES)
    status, _headers, raw = real_engines.http("GET", f"{server.url}/v1/models")
    assert status == 200 and json.loads(raw)["data"][0]["id"] == instance.plan.model_repo
    print(f"\nmlx_lm.server {' '.join(server.planned[1:])} -> up in {server.started_s:.0f} s")


def test_the_reasoning_comes_apart_and_thinking_switches_off_per_request(mac):
    _settings, _plan, instance, server, _workdir = mac
    served = instance.served_model_name
    for thinking, reasoning in ((None, tiny_models.REASONING_TEXT), (False, None)):
        body = contract.chat(served, False, thinking)
        status, _headers, raw = real_engines.http("POST", f"{server.url}/v1/chat/completions", body)
        message = json.loads(raw)["choices"][0]["message"]
        assert status == 200 and message.get("reasoning") == reasoning, message  # no reasoning: no field
        assert message["content"].strip() == tiny_models.ANSWER_TEXT


def _assert_a_tool_call_comes_back_parsed(server, served: str) -> None:
    """Offered a tool, the tiny model calls it by itself after its reasoning, in its family's format (the template
    lists the tools); MLX-LM's tool parser (chosen from the template, as for the real checkpoints) hands it back
    as one parsed call, the reasoning apart, nothing of the call or the reasoning in the content."""
    body = {"model": served, "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
            "tools": [tiny_models.TOOL], "max_tokens": 200}
    status, _headers, raw = real_engines.http("POST", f"{server.url}/v1/chat/completions", body)
    assert status == 200, raw
    contract.assert_the_call_is_parsed(json.loads(raw)["choices"][0]["message"], tiny_models.REASONING_TEXT,
                                       tiny_models.CHOSEN_CALL, ("tool_call",), trimmed=True)


def test_a_tool_call_on_the_mac_comes_back_parsed_with_the_reasoning_apart(mac):
    _settings, _plan, instance, server, _workdir = mac
    _assert_a_tool_call_comes_back_parsed(server, instance.served_model_name)


def test_the_mlx_standin_answers_in_the_real_servers_shape(mac):
    _settings, _plan, instance, server, workdir = mac
    served = instance.served_model_name
    real = contract.observe(server.url, "", served, True, auth=False)
    port = free_port()
    standin = real_engines.Server("standin-mlx", [sys.executable, str(STANDIN), served, "--served-model-name", served,
                                                  "--host", "127.0.0.1", "--port", str(port)],
                                  {"STANDIN_ENGINE": "mlx"}, port, workdir).start(60)
    try:
        stood_in = contract.observe(standin.url, "", served, True, auth=False)
    finally:
        standin.stop()
    found = contract.compare(real, stood_in)
    assert found == [], "\n".join(found)
    assert real["texts"]["stream"]["reasoning"] == tiny_models.REASONING_TEXT
    assert "reasoning" not in real["texts"]["thinking=False"]


def test_the_real_open_webui_in_front_of_the_real_mlx_lm(mac):
    """Open WebUI as the Mac's job starts it (the same env file as on Linux): it lists the MLX model and a chat
    through it streams the reasoning apart from the answer."""
    settings, plan, instance, _server, workdir = mac
    real_openwebui.require()
    webui = real_openwebui.OpenWebUI(openwebui_service(settings, plan).env_text, workdir / "open-webui").start()
    try:
        status, admin = webui.call("POST", "/api/v1/auths/signin", {"email": settings.openwebui_admin_email,
                                                                     "password": ADMIN_PASSWORD})
        if status != 200:
            status, admin = webui.signup("admin")
        assert status == 200, admin
        status, models = webui.call("GET", "/api/models", token=admin["token"])
        assert status == 200 and [m["id"] for m in models["data"]] == [instance.served_model_name], models
        status, streamed = webui.call("POST", "/api/chat/completions",
                                      {"model": instance.served_model_name, "stream": True,
                                       "messages": [{"role": "user", "content": "What is 17 * 23?"}]},
                                      admin["token"])
        assert status == 200
        events = contract.sse_events(streamed.encode() if isinstance(streamed, str) else json.dumps(streamed).encode())
        texts = contract.delta_texts(events)
        assert texts.get("reasoning") == tiny_models.REASONING_TEXT, streamed
        assert texts["content"].strip() == tiny_models.ANSWER_TEXT
    finally:
        webui.stop()


def test_a_person_sees_the_real_mlx_lms_reasoning_collapsed_in_the_real_open_webui(mac):
    """The real Open WebUI in a real browser in front of the real mlx_lm.server, with the deploy's model entries:
    the answer shows with its reasoning collapsed under "Thought for…", saved apart from the answer."""
    import browser_chat

    settings, plan, _instance, _server, workdir = mac
    real_openwebui.require()
    webui = real_openwebui.OpenWebUI(openwebui_service(settings, plan).env_text, workdir / "browser").start()
    browser = None
    try:
        made = real_openwebui.apply_model_entries(webui, plan, workdir)
        assert made.returncode == 0, made.stdout + made.stderr
        browser = browser_chat.open_browser()
        browser_chat.sign_in(browser, webui.url, settings.openwebui_admin_email, ADMIN_PASSWORD)
        browser_chat.ask(browser, "What is 17 times 23?")
        browser_chat.see_reasoning_collapsed(browser, "The answer is", "340 + 51 = 391", "real-mlx-reasoning")
        content, thinking = browser_chat.saved_answer(webui, settings.openwebui_admin_email, ADMIN_PASSWORD)
        assert content.strip() == tiny_models.ANSWER_TEXT and thinking == [tiny_models.REASONING_TEXT]
    finally:
        if browser is not None:
            browser.quit()
        webui.stop()


def test_gemma_4_on_the_real_mlx_lm_thinks_as_planned_and_keeps_its_reasoning_apart():
    """Gemma 4 E4B as the planner plans it for a Mac, on the tiny Gemma 4 (sliding and global layers with their
    own head sizes, the last two reading the first two's KV) converted to 4 bits: the planned job starts the real
    MLX-LM, which takes ``<|channel>thought … <channel|>`` apart as the reasoning; the plan asks for thinking
    (Gemma's template thinks only when told) and a request can switch it off; offered a tool, it calls it in
    Gemma's format and MLX-LM's gemma4 tool parser hands the call back parsed."""
    real_engines.require_mlx()
    workdir = Path(tempfile.mkdtemp(prefix="rs-real-mlx-gemma-"))
    data = {"engine": "mlx", "gpu_profile": "m4-max-64", "model": "gemma-4-e4b", "api_port": free_port(),
            "openwebui_enabled": False}
    settings = validate_host_data("mac", data, environ={})
    plan = plan_host(settings, gpus_from_profile("m4-max-64", 1))
    assert plan.fits, plan.reason
    instance = plan.instances[0]
    assert instance.plan.model_repo.startswith("mlx-community/gemma-4-e4b-it-")
    job = mlx_job(settings, instance, "reasoning", "0.32.2")
    real_engines.tiny_model_cache("gemma4", workdir / "huggingface", instance.plan.model_repo, mlx=True)
    server = real_engines.real_mlx("mac-mlx-gemma", job.plist_text, workdir / "huggingface", workdir)
    try:
        server.start()
        assert server.planned[1:] == instance.plan.command[1:]
        for thinking, reasoning in ((None, tiny_models.REASONING_TEXT), (False, None)):
            body = contract.chat(instance.served_model_name, False, thinking)
            status, _headers, raw = real_engines.http("POST", f"{server.url}/v1/chat/completions", body)
            message = json.loads(raw)["choices"][0]["message"]
            # MLX-LM keeps the newline after the channel's "thought" label (vLLM's parser drops it)
            said = message.get("reasoning")
            assert status == 200 and (said and said.strip()) == reasoning, message
            assert message["content"].strip() == tiny_models.ANSWER_TEXT and "<channel|>" not in message["content"]
        _assert_a_tool_call_comes_back_parsed(server, instance.served_model_name)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
