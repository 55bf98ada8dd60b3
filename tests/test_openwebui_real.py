"""The real Open WebUI 0.12.4 (from PyPI), started with the environment the deploy renders for a dual-4090 host
with two models, in front of two stand-in vLLM servers: what it lists and where its background tasks go.

Slow: Open WebUI takes 15-30 s to start, and is started twice (as the stack renders it, and without the
task settings, for the figures before).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import real_openwebui as real
from testhosts import free_port

from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.openwebui.entries import TASK_SWITCHES
from reasoning_stack.openwebui.service import openwebui_service
from reasoning_stack.render import render
from reasoning_stack.settings import SECRET_ENV_VARS
from reasoning_stack.validation import validate_host_data

pytestmark = pytest.mark.slow

API_KEY = "sk-owui-test-0123456789"
STANDINS = Path(__file__).parent / "standins"
TASKS = ("title", "tags", "follow_up")
CONVERSATION = [{"role": "user", "content": "What is 17 * 23?"},
                {"role": "assistant", "content": "The answer is \\boxed{391}."}]


def _rendered_env(ports: dict[str, int], **extra: object) -> str:
    data = {"model": "deepseek-r1-distill-qwen-7b", "api_port": ports["primary"],
            "openwebui_port": ports["webui"],
            "extra_models": [{"name": "fast", "model": "qwen3-8b", "port": ports["fast"]}], **extra}
    settings = validate_host_data("dual-4090", data, environ={SECRET_ENV_VARS["api_key"]: API_KEY})
    host_plan = plan_host(settings, gpus_from_profile("rtx-4090", 2))
    assert host_plan.fits, host_plan.reason
    return openwebui_service(settings, host_plan).env_text


@pytest.fixture(scope="module")
def servers():
    real.require()
    workdir = Path(tempfile.mkdtemp(prefix="rs-owui-"))
    ports = {"primary": free_port(), "fast": free_port(), "webui": free_port()}
    vllms = {"deepseek-r1-distill-qwen-7b": real.StandinVllm("deepseek-r1-distill-qwen-7b", ports["primary"], API_KEY,
                                                             workdir),
             "qwen3-8b": real.StandinVllm("qwen3-8b", ports["fast"], API_KEY, workdir)}
    try:
        for vllm in vllms.values():
            vllm.start()
        yield ports, vllms, workdir
    finally:
        for vllm in vllms.values():
            vllm.stop()


def _run_tasks(webui: real.OpenWebUI, token: str) -> None:
    """What Open WebUI runs after a chat turn: title, tags and follow-up suggestions (the model list is
    loaded first, as the web page does)."""
    status, _models = webui.call("GET", "/api/models", token=token)
    assert status == 200
    for task in TASKS:
        status, answer = webui.call("POST", f"/api/v1/tasks/{task}/completions",
                                    {"model": "deepseek-r1-distill-qwen-7b", "messages": CONVERSATION,
                                     "chat_id": "local"}, token)
        assert status == 200, (task, answer)


def test_as_rendered_models_listed_and_tasks_kept_off_the_reasoning_model(servers):
    ports, vllms, workdir = servers
    webui = real.OpenWebUI(_rendered_env(ports), workdir / "as-rendered").start()
    try:
        status, admin = webui.signup("admin")
        assert status == 200 and admin["role"] == "admin", admin
        token = admin["token"]
        status, models = webui.call("GET", "/api/models", token=token)
        assert status == 200
        assert {m["id"] for m in models["data"]} == {"deepseek-r1-distill-qwen-7b", "qwen3-8b"}
        status, config = webui.call("GET", "/api/v1/tasks/config", token=token)
        assert config["TASK_MODEL_EXTERNAL"] == "qwen3-8b"
        assert config["ENABLE_TITLE_GENERATION"] and config["ENABLE_TAGS_GENERATION"]
        assert config["ENABLE_FOLLOW_UP_GENERATION"] and not config["ENABLE_AUTOCOMPLETE_GENERATION"]
        # Every model has the "usage" capability, so a chat asks vLLM for token counts and sends no sampling
        # of its own (vLLM applies each model's generation_config.json).
        assert all(m["info"]["meta"]["capabilities"]["usage"] for m in models["data"]), models["data"]
        status, streamed = webui.call("POST", "/api/chat/completions",
                                      {"model": "deepseek-r1-distill-qwen-7b", "stream": True,
                                       "messages": [CONVERSATION[0]]}, token)
        assert status == 200 and "reasoning" in str(streamed) and "boxed{391}" in str(streamed), streamed
        chat = vllms["deepseek-r1-distill-qwen-7b"].requests()
        assert len(chat) == 1 and chat[0]["stream_options"] == {"include_usage": True}, chat
        assert chat[0]["temperature"] is None and chat[0]["top_p"] is None
        for vllm in vllms.values():
            vllm.request_log.unlink(missing_ok=True)
        _run_tasks(webui, token)
    finally:
        webui.stop()
    reasoning, quick = vllms["deepseek-r1-distill-qwen-7b"].requests(), vllms["qwen3-8b"].requests()
    print(f"\nas rendered: task requests to the reasoning model {len(reasoning)}, to qwen3-8b {len(quick)} "
          f"(max_tokens {sorted({r['max_tokens'] for r in quick})})")
    assert reasoning == []  # not one task request reached the reasoning model
    assert len(quick) == 3
    for request in quick:
        assert request["model"] == "qwen3-8b" and request["max_tokens"] == 512
        assert request["chat_template_kwargs"] == {"enable_thinking": False}


def test_before_every_task_went_to_the_reasoning_model(servers):
    """The figures before: Open WebUI's own defaults (no task settings) send every task to the chat's model."""
    ports, vllms, workdir = servers
    for vllm in vllms.values():
        vllm.request_log.unlink(missing_ok=True)
    env = "\n".join(line for line in _rendered_env(ports).splitlines()
                    if not line.startswith(("TASK_MODEL", *TASK_SWITCHES.values(), "ENABLE_AUTOCOMPLETE")))
    webui = real.OpenWebUI(env, workdir / "before").start()
    try:
        status, admin = webui.signup("admin")
        _run_tasks(webui, admin["token"])
    finally:
        webui.stop()
    reasoning, quick = vllms["deepseek-r1-distill-qwen-7b"].requests(), vllms["qwen3-8b"].requests()
    print(f"\nOpen WebUI defaults: task requests to the reasoning model {len(reasoning)} "
          f"(max_tokens {[r['max_tokens'] for r in reasoning]}), to qwen3-8b {len(quick)}")
    assert len(reasoning) == 3 and quick == []
    assert reasoning[0]["max_tokens"] == 1000  # the title's default budget, thinking included


def test_single_reasoning_model_keeps_only_titles_with_room_to_think(servers):
    ports, vllms, workdir = servers
    for vllm in vllms.values():
        vllm.request_log.unlink(missing_ok=True)
    data = {"model": "deepseek-r1-distill-qwen-7b", "api_port": ports["primary"], "openwebui_port": ports["webui"]}
    settings = validate_host_data("box", data, environ={SECRET_ENV_VARS["api_key"]: API_KEY})
    host_plan = plan_host(settings, gpus_from_profile("rtx-4090", 1))
    webui = real.OpenWebUI(openwebui_service(settings, host_plan).env_text, workdir / "single").start()
    try:
        status, admin = webui.signup("admin")
        _run_tasks(webui, admin["token"])
    finally:
        webui.stop()
    reasoning = vllms["deepseek-r1-distill-qwen-7b"].requests()
    assert [r["max_tokens"] for r in reasoning] == [4096]  # the title only; tags and follow-ups are off


ADMIN_PASSWORD = "Admin-pass-0123456789"


def _policy_env(ports: dict[str, int], policy: str) -> str:
    data = {"model": "deepseek-r1-distill-qwen-7b", "api_port": ports["primary"], "openwebui_port": ports["webui"],
            "openwebui_signup": policy}
    settings = validate_host_data("box", data, environ={SECRET_ENV_VARS["api_key"]: API_KEY,
                                                        SECRET_ENV_VARS["openwebui_admin_password"]: ADMIN_PASSWORD})
    return openwebui_service(settings, plan_host(settings, gpus_from_profile("rtx-4090", 1))).env_text


def _apply_policy(webui: real.OpenWebUI, policy: str, workdir: Path) -> subprocess.CompletedProcess:
    """Run the deploy's own helper, as the deploy does after Open WebUI (re)started."""
    helper, env_file = workdir / "openwebui-signup", workdir / "reasoning-openwebui.env"
    helper.write_text(render("openwebui-signup.py.j2"))
    env_file.write_text(webui.env_text)
    return subprocess.run([sys.executable, str(helper), webui.url, policy, "--env-file", str(env_file)],
                          capture_output=True, text=True, timeout=60)


def test_signup_policy_holds_for_everyone_after_the_admin(servers):
    ports, _vllms, workdir = servers
    data = workdir / "signup"
    webui = real.OpenWebUI(_policy_env(ports, "pending"), data).start()
    try:
        # Open WebUI created the admin from the environment and switched sign-up off: the bug the helper mends.
        status, admin = webui.call("POST", "/api/v1/auths/signin",
                                   {"email": "admin@localhost", "password": ADMIN_PASSWORD})
        assert status == 200 and admin["role"] == "admin", admin
        assert webui.signup("before")[0] == 403
        applied = _apply_policy(webui, "pending", workdir)
        assert applied.returncode == 0, applied.stderr
        assert "sign-up policy 'pending' applied" in applied.stdout
        assert ADMIN_PASSWORD not in applied.stdout + applied.stderr
        for person in ("second", "third"):
            status, answer = webui.signup(person)
            assert status == 200 and answer["role"] == "pending", answer
        again = _apply_policy(webui, "pending", workdir)
        assert again.returncode == 0 and "holds" in again.stdout
    finally:
        webui.stop()
    # A changed setting after a re-deploy (the same data, a restart with the new environment).
    for policy, expected in (("open", (200, "user")), ("closed", (403, None))):
        webui = real.OpenWebUI(_policy_env(ports, policy), data).start()
        try:
            held = _apply_policy(webui, policy, workdir)
            assert held.returncode == 0 and "holds" in held.stdout, held
            status, answer = webui.signup(f"after-{policy}")
            assert (status, answer.get("role")) == expected, answer
        finally:
            webui.stop()


CLOUD_KEY = "sk-cloud-provider-0123"


def test_cloud_api_beside_the_local_models(servers):
    """A cloud connection (a local stand-in for a provider that streams `reasoning_content`, as DeepSeek's API
    does) is listed beside the local models under its prefix; a chat through it reaches the provider with
    the provider's own model id and its key; the deploy's check finds the model ids or warns."""
    ports, vllms, workdir = servers
    provider = real.StandinVllm("deepseek-reasoner", free_port(), CLOUD_KEY, workdir,
                                extra_env={"STANDIN_REASONING_FIELD": "reasoning_content"}).start()
    try:
        cloud = [{"name": "deepseek", "base_url": f"http://127.0.0.1:{provider.port}/v1",
                  "models": ["deepseek-reasoner"]}]
        data = {"model": "deepseek-r1-distill-qwen-7b", "api_port": ports["primary"],
                "openwebui_port": ports["webui"], "openwebui_cloud": cloud,
                "extra_models": [{"name": "fast", "model": "qwen3-8b", "port": ports["fast"]}]}
        settings = validate_host_data("dual-4090", data, environ={SECRET_ENV_VARS["api_key"]: API_KEY,
                                                                  "REASONING_STACK_DEEPSEEK_API_KEY": CLOUD_KEY})
        env_text = openwebui_service(settings, plan_host(settings, gpus_from_profile("rtx-4090", 2))).env_text
        webui = real.OpenWebUI(env_text, workdir / "cloud").start()
        try:
            status, admin = webui.signup("admin")
            token = admin["token"]
            status, models = webui.call("GET", "/api/models", token=token)
            ids = {m["id"] for m in models["data"]}
            assert ids == {"deepseek-r1-distill-qwen-7b", "qwen3-8b", "deepseek.deepseek-reasoner"}, ids
            status, streamed = webui.call("POST", "/api/chat/completions",
                                          {"model": "deepseek.deepseek-reasoner", "stream": True,
                                           "messages": [CONVERSATION[0]]}, token)
            assert status == 200 and "reasoning_content" in str(streamed) and "boxed{391}" in str(streamed)
            asked = provider.requests()
            assert [r["model"] for r in asked] == ["deepseek-reasoner"]  # the prefix is Open WebUI's only
            # a cloud chat's background tasks stay on the local task model
            vllms["qwen3-8b"].request_log.unlink(missing_ok=True)
            status, _ = webui.call("POST", "/api/v1/tasks/title/completions",
                                   {"model": "deepseek.deepseek-reasoner", "messages": CONVERSATION}, token)
            assert status == 200 and len(provider.requests()) == 1
            assert [r["model"] for r in vllms["qwen3-8b"].requests()] == ["qwen3-8b"]
        finally:
            webui.stop()
        # The deploy's check, reading URL and key from the env file as on a host.
        helper, env_file = workdir / "cloud-models", workdir / "cloud.env"
        helper.write_text(render("cloud-models.py.j2"))
        env_file.write_text(env_text)

        def check(*specs: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, str(helper), str(env_file), *specs], capture_output=True,
                                  text=True, timeout=60)

        found = check("deepseek=2:deepseek-reasoner")
        assert found.returncode == 0 and "offers deepseek-reasoner" in found.stdout, found
        typo = check("deepseek=2:deepseek-reasonr")
        assert typo.returncode == 0 and "does not offer deepseek-reasonr" in typo.stdout
        assert "(it offers: deepseek-reasoner)" in typo.stdout
        provider.stop()
        gone = check("deepseek=2:deepseek-reasoner")
        assert gone.returncode == 0 and "warning: cloud connection 'deepseek': could not ask" in gone.stdout
        assert CLOUD_KEY not in found.stdout + typo.stdout + gone.stdout
    finally:
        provider.stop()


def test_models_get_names_a_person_understands_and_the_advice(servers):
    ports, _vllms, workdir = servers
    data = {"model": "deepseek-r1-distill-qwen-7b", "api_port": ports["primary"], "openwebui_port": ports["webui"],
            "openwebui_signup": "open", "extra_models": [{"name": "fast", "model": "qwen3-8b", "port": ports["fast"]}]}
    settings = validate_host_data("dual-4090", data, environ={
        SECRET_ENV_VARS["api_key"]: API_KEY, SECRET_ENV_VARS["openwebui_admin_password"]: ADMIN_PASSWORD})
    host_plan = plan_host(settings, gpus_from_profile("rtx-4090", 2))
    webui = real.OpenWebUI(openwebui_service(settings, host_plan).env_text, workdir / "models").start()

    def run(cut_off_notice: bool = True) -> subprocess.CompletedProcess:
        return real.apply_model_entries(webui, host_plan, workdir, settings=settings.model_copy(
            update={"openwebui_cut_off_notice": cut_off_notice}))

    try:
        first = run()
        assert first.returncode == 0, first.stderr
        assert ("'deepseek-r1-distill-qwen-7b' shown as 'DeepSeek-R1-Distill-Qwen-7B', for everyone (created)"
                in first.stdout)
        assert ("Open WebUI function 'Reply cut off' on for every model (created, switched on, on for every model)"
                in first.stdout), first.stdout
        assert ADMIN_PASSWORD not in first.stdout + first.stderr
        assert run().stdout.count("(unchanged)") == 3  # a second run changes nothing
        _status, admin = webui.call("POST", "/api/v1/auths/signin",
                                    {"email": settings.openwebui_admin_email, "password": ADMIN_PASSWORD})
        kept = webui.call("GET", "/api/v1/functions/id/reasoning_stack_cut_off", token=admin["token"])[1]
        assert kept["type"] == "filter" and kept["is_active"] and kept["is_global"], kept
        assert "Open WebUI function 'Reply cut off' off (switched off)" in run(cut_off_notice=False).stdout
        assert not webui.call("GET", "/api/v1/functions/id/reasoning_stack_cut_off", token=admin["token"]
                              )[1]["is_active"]
        assert "'Reply cut off' on for every model (switched on)" in run().stdout  # and back on, still global
        _apply_policy(webui, "open", workdir)
        status, person = webui.signup("reader")  # an ordinary user sees them too (read access for everyone)
        assert person["role"] == "user", person
        status, listed = webui.call("GET", "/api/models", token=person["token"])
        shown = {m["id"]: m for m in listed["data"]}
        assert shown["deepseek-r1-distill-qwen-7b"]["name"] == "DeepSeek-R1-Distill-Qwen-7B"
        assert shown["qwen3-8b"]["name"] == "Qwen3-8B"
        meta = shown["deepseek-r1-distill-qwen-7b"]["info"]["meta"]
        assert meta["description"].startswith("No system prompt")
        assert "\\boxed{}" in meta["suggestion_prompts"][0]["content"]
        assert meta["capabilities"]["usage"]  # the default capability still applies
        assert "suggestion_prompts" not in shown["qwen3-8b"]["info"]["meta"]
    finally:
        webui.stop()


def test_ollama_models_reach_open_webui_with_the_planned_context(tmp_path: Path):
    """An Ollama box as rendered: the real Open WebUI lists the Ollama model, and a chat reaches Ollama with the
    planned context as num_ctx (Open WebUI's own num_ctx would otherwise win over OLLAMA_CONTEXT_LENGTH)."""
    real.require()
    ollama_port, webui_port = free_port(), free_port()
    log = tmp_path / "ollama.log"
    env = {**os.environ, "OLLAMA_HOST": f"127.0.0.1:{ollama_port}", "OLLAMA_MODELS": str(tmp_path / "models")}
    ollama = subprocess.Popen([sys.executable, str(STANDINS / "ollama_standin.py"), "serve"], env=env,
                              stdout=log.open("w"), stderr=subprocess.STDOUT)
    data = {"engine": "ollama", "model": "deepseek-r1-distill-qwen-7b", "api_port": ollama_port,
            "openwebui_port": webui_port}
    settings = validate_host_data("small-box", data, environ={
        SECRET_ENV_VARS["openwebui_admin_password"]: ADMIN_PASSWORD})
    host_plan = plan_host(settings, gpus_from_profile("rtx-4090", 1))
    planned = host_plan.instances[0].plan.max_model_len
    webui = None
    try:
        pull = tmp_path / "ollama-pull"
        pull.write_text(render("ollama-pull.py.j2"))
        pulled = subprocess.run([sys.executable, str(pull), f"http://127.0.0.1:{ollama_port}", "deepseek-r1:7b",
                                 "reasoning-ollama"], capture_output=True, text=True, timeout=60)
        assert pulled.returncode == 0, pulled.stdout + pulled.stderr
        webui = real.OpenWebUI(openwebui_service(settings, host_plan).env_text, tmp_path / "owui").start()
        made = real.apply_model_entries(webui, host_plan, tmp_path)
        assert made.returncode == 0, made.stdout + made.stderr
        status, admin = webui.call("POST", "/api/v1/auths/signin",
                                   {"email": "admin@localhost", "password": ADMIN_PASSWORD})
        assert status == 200, admin
        status, listed = webui.call("GET", "/api/models", token=admin["token"])
        assert status == 200 and [m["id"] for m in listed["data"]] == ["deepseek-r1:7b"], listed
        assert listed["data"][0]["owned_by"] == "ollama"
        status, answer = webui.call("POST", "/api/chat/completions",
                                    {"model": "deepseek-r1:7b", "stream": False,
                                     "messages": [{"role": "user", "content": "What is 17 * 23?"}]},
                                    admin["token"])
        assert status == 200 and "391" in json.dumps(answer), answer
    finally:
        if webui is not None:
            webui.stop()
        ollama.terminate()
        ollama.wait(10)
    chats = [line for line in log.read_text().splitlines() if "chat with deepseek-r1:7b" in line]
    print(f"\nOpen WebUI -> Ollama: {chats}")
    assert chats and all(f"num_ctx {planned}," in line for line in chats), chats
