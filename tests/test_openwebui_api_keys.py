"""A key per person, against the real Open WebUI 0.12.4 started with the environment the deploy renders
(``openwebui_api_keys = "everyone"``, one model kept for a group) in front of two stand-in vLLM servers that
demand the engine's key.

The official OpenAI client with one person's key reaches a model through Open WebUI; the engine's key never leaves
the host; a model kept for a group is refused to someone outside it; a key reaches only the model list and chat
completions; an unknown or revoked key is refused; and the deploy's usage probe, over the audit log Open WebUI
wrote, shows each person's calls and tokens. Slow: Open WebUI takes 15-30 s to start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import openai
import pytest
import real_openwebui as real
from testhosts import free_port

from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.openwebui.entries import USAGE_LOG
from reasoning_stack.openwebui.service import openwebui_service
from reasoning_stack.openwebui.usage import HostUsage, format_usage
from reasoning_stack.render import render
from reasoning_stack.settings import SECRET_ENV_VARS
from reasoning_stack.validation import validate_host_data

pytestmark = pytest.mark.slow

ENGINE_KEY = "sk-engine-only-0123456789"
ADMIN_PASSWORD = "Admin-pass-0123456789"
PRIMARY, FAST = "deepseek-r1-distill-qwen-7b", "qwen3-8b"


@pytest.fixture(scope="module")
def team():
    """Open WebUI with keys for everyone and qwen3-8b kept for the group 'research'; alice is in it, bob is not.
    Yields (webui, host plan, workdir, the model helper's first and second run, {name: session token})."""
    real.require()
    workdir = Path(tempfile.mkdtemp(prefix="rs-keys-"))
    ports = {"primary": free_port(), "fast": free_port(), "webui": free_port()}
    vllms = [real.StandinVllm(PRIMARY, ports["primary"], ENGINE_KEY, workdir),
             real.StandinVllm(FAST, ports["fast"], ENGINE_KEY, workdir)]
    data = {"model": PRIMARY, "api_port": ports["primary"], "openwebui_port": ports["webui"],
            "extra_models": [{"name": "fast", "model": FAST, "port": ports["fast"]}],
            "openwebui_api_keys": "everyone", "openwebui_model_groups": {FAST: ["research"]}}
    settings = validate_host_data("dual-4090", data, environ={
        SECRET_ENV_VARS["api_key"]: ENGINE_KEY, SECRET_ENV_VARS["openwebui_admin_password"]: ADMIN_PASSWORD})
    host_plan = plan_host(settings, gpus_from_profile("rtx-4090", 2))
    data_dir = workdir / "data"
    webui = real.OpenWebUI(openwebui_service(settings, host_plan, webui_data=str(data_dir)).env_text, data_dir)
    try:
        for vllm in vllms:
            vllm.start()
        webui.start()
        runs = [real.apply_model_entries(webui, host_plan, workdir, settings.openwebui_model_groups)
                for _ in range(2)]
        admin = webui.signin("admin@localhost", ADMIN_PASSWORD)
        tokens = {name: webui.add_person(admin, name) for name in ("alice", "bob")}
        status, groups = webui.call("GET", "/api/v1/groups/", token=admin)
        research = next(g for g in groups if g["name"] == "research")
        status, alice = webui.call("GET", "/api/v1/auths/", token=tokens["alice"])
        status, answer = webui.call("POST", f"/api/v1/groups/id/{research['id']}/users/add",
                                    {"user_ids": [alice["id"]]}, admin)
        assert status == 200, answer
        yield webui, workdir, runs, tokens
    finally:
        webui.stop()
        for vllm in vllms:
            vllm.stop()


def _new_key(webui: real.OpenWebUI, session: str) -> str:
    status, answer = webui.call("POST", "/api/v1/auths/api_key", token=session)
    assert status == 200, answer
    return answer["api_key"]


def _client(webui: real.OpenWebUI, key: str) -> openai.OpenAI:
    """A person's tool: the OpenAI client with base URL <Open WebUI>/api and their own key."""
    return openai.OpenAI(base_url=f"{webui.url}/api", api_key=key, max_retries=0, timeout=120)


def test_groups_made_and_models_kept_for_them_by_the_deploys_helper(team):
    _webui, _workdir, (first, second), _tokens = team
    assert first.returncode == 0, first.stderr
    assert "Open WebUI group 'research' made" in first.stdout
    assert f"'{FAST}' shown as 'Qwen3-8B', for the groups research (created)" in first.stdout
    assert f"'{PRIMARY}' shown as 'DeepSeek-R1-Distill-Qwen-7B', for everyone (created)" in first.stdout
    assert ADMIN_PASSWORD not in first.stdout + first.stderr
    assert second.stdout.count("(unchanged)") == 2 and "made" not in second.stdout  # a re-run changes nothing


def test_a_persons_key_reaches_the_models_their_groups_allow_and_nothing_else(team):
    webui, workdir, _runs, tokens = team
    alice, bob = (_client(webui, _new_key(webui, tokens[name])) for name in ("alice", "bob"))
    assert {m.id for m in alice.models.list()} >= {PRIMARY, FAST}
    assert FAST not in {m.id for m in bob.models.list()}
    answer = alice.chat.completions.create(model=FAST, messages=[{"role": "user", "content": "What is 2 + 2?"}])
    assert answer.choices[0].message.content and answer.usage.completion_tokens > 0
    stream = bob.chat.completions.create(model=PRIMARY, stream=True,
                                         messages=[{"role": "user", "content": "What is 3 + 3?"}])
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    fast_log = workdir / f"requests-{FAST}.jsonl"
    reached = len(fast_log.read_text().splitlines())
    with pytest.raises(openai.BadRequestError) as refused:  # kept for 'research', which bob is not in
        bob.chat.completions.create(model=FAST, messages=[{"role": "user", "content": "What is 4 + 4?"}])
    # Open WebUI 0.12.4 answers as if the model did not exist, and nothing reaches the engine
    assert refused.value.body == {"detail": "Model not found"}, refused.value.body
    assert len(fast_log.read_text().splitlines()) == reached
    # a key reaches the model list and chat completions only: not the person's chats or account
    status, _answer = webui.call("GET", "/api/v1/chats/", token=alice.api_key)
    assert status == 403, _answer
    # the engine saw only its own key: each stand-in vLLM answers 401 to any other
    asked = [json.loads(line) for path in sorted(workdir.glob("requests-*.jsonl"))
             for line in path.read_text().splitlines()]
    assert {a["model"] for a in asked} >= {PRIMARY, FAST}


def test_an_unknown_or_revoked_key_is_refused(team):
    webui, _workdir, _runs, tokens = team
    with pytest.raises(openai.AuthenticationError):
        _client(webui, "sk-not-a-key-of-anyone-0000000000").models.list()
    key = _new_key(webui, tokens["bob"])
    _client(webui, key).models.list()
    status, answer = webui.call("DELETE", "/api/v1/auths/api_key", token=tokens["bob"])  # bob revokes it
    assert status == 200, answer
    with pytest.raises(openai.AuthenticationError):
        _client(webui, key).models.list()
    replaced = _new_key(webui, tokens["bob"])  # a new one works, the old one stays refused
    assert replaced != key
    _client(webui, replaced).models.list()


def test_usage_shows_under_each_person(team):
    webui, workdir, _runs, tokens = team
    carol = webui.add_person(webui.signin("admin@localhost", ADMIN_PASSWORD), "carol")
    client = _client(webui, _new_key(webui, carol))
    for question in ("What is 5 + 5?", "What is 6 + 6?"):
        client.chat.completions.create(model=PRIMARY, messages=[{"role": "user", "content": question}])
    log = workdir / "data" / USAGE_LOG
    assert log.exists(), list((workdir / "data").iterdir())
    assert "What is 5 + 5" not in log.read_text()  # the record holds no prompt or answer
    manifest = workdir / "status.json"
    manifest.write_text(json.dumps({"units": [{"kind": "openwebui", "usage_log": str(log)}]}))
    line = next(json.loads(t) for t in log.read_text().splitlines() if '"model_usage"' in t)
    if os.environ.get("RS_RECORD_FIXTURES"):  # the line the stand-in Open WebUI of the test hosts copies
        real.AUDIT_LINE.write_text(json.dumps(line, indent=1, sort_keys=True) + "\n")
    assert real.audit_shape(line) == real.audit_shape(json.loads(real.AUDIT_LINE.read_text()))
    probe = workdir / "usage.py"
    probe.write_text(render("openwebui-usage.py.j2", manifest_path=str(manifest), since=0))
    run = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    people = json.loads(run.stdout)["people"]
    used = people["carol@example.com"]["models"][PRIMARY]
    assert used["calls"] == 2 and used["input_tokens"] > 0 and used["output_tokens"] > 0, used
    assert used["total_tokens"] == used["input_tokens"] + used["output_tokens"]
    assert people["alice@example.com"]["models"][FAST]["calls"] >= 1
    assert people["bob@example.com"]["models"][PRIMARY]["calls"] >= 1  # streamed: its usage came at the end
    assert FAST not in people["bob@example.com"]["models"]  # the refused call used nothing
    report = format_usage([HostUsage("box", people)], 7)
    assert "carol@example.com" in report and PRIMARY in report, report
