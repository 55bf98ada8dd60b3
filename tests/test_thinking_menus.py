"""Thinking per chat in Open WebUI: the deploy's model entry gives each chat a "Thinking" menu (on or off) where a
request switches it, and a "Thinking budget" menu where the engine's release caps the reasoning with a request's
``thinking_token_budget`` (Open WebUI 0.12.4's model controls); nowhere else, and ``check`` refuses budgets asked
for where they would not hold. The real vLLM and the real Open WebUI prove both (tests/test_real_vllm.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.openwebui.entries import chat_menus_text, model_entries_json
from reasoning_stack.settings.openwebui import DEFAULT_THINKING_BUDGETS
from reasoning_stack.validation import SettingsInvalid, validate_host_data

R1 = "deepseek-r1-distill-qwen-7b"
ENVIRON = {"NGC_API_KEY": "nvapi-" + "x" * 40}


def _entries(data: dict, profile: str = "rtx-4090", count: int = 2) -> dict[str, dict]:
    settings = validate_host_data("box", data, environ=ENVIRON)
    plan = plan_host(settings, gpus_from_profile(profile, count))
    assert plan.fits, plan.reason
    return {e["id"]: e for e in json.loads(model_entries_json(settings, plan))}


def _menu(entry: dict, key: str = "thinking_budget") -> dict | None:
    return entry["params"].get("model_controls", {}).get(key)


def test_each_chat_gets_a_budget_menu_whose_default_sends_nothing():
    """On the default vLLM release: "No limit" first and the default (no parameter, so an API request's own
    fields still win), then each budget in tokens, in the order a person reads them (the file keeps it)."""
    menu = _menu(_entries({"model": R1})[R1])
    assert menu["default"] == "no_limit" and menu["label"] == "Thinking budget"
    assert list(menu["options"]) == ["no_limit", *(f"tokens_{b}" for b in DEFAULT_THINKING_BUDGETS)]
    assert menu["options"]["no_limit"]["params"] == {}
    assert menu["options"]["tokens_4096"] == {"label": "4,096 tokens", "params": {"thinking_token_budget": 4096}}


def test_budgets_the_context_cannot_reach_are_left_out():
    menu = _menu(_entries({"model": R1, "max_model_len": 8192, "min_context": 8192,
                           "openwebui_thinking_budgets": [512, 8192, 4096]})[R1])
    assert list(menu["options"]) == ["no_limit", "tokens_512", "tokens_4096"]  # sorted; 8,192 could never bind


@pytest.mark.parametrize("data", [
    {"model": R1, "vllm_version": "0.17.1"},  # ignores the field
    {"model": R1, "engine": "sglang"}, {"model": R1, "engine": "ollama"},
    {"model": R1, "openwebui_thinking_budgets": []},  # the operator turned the menu off
])
def test_no_menu_where_a_budget_would_not_hold_or_none_is_wanted(data):
    assert all(_menu(entry) is None for entry in _entries(data).values())


def test_nim_offers_the_menu_as_the_vllm_inside_it_honours_budgets():
    assert _menu(_entries({"model": R1, "engine": "nim"}, "h100", 1)[R1]) is not None


def test_gpt_oss_gets_no_menu_and_plan_says_why():
    """gpt-oss's harmony parser gives vLLM no end of reasoning to force: vLLM answers a budget with a 400, so its
    chats get no menu (reasoning effort grades it instead) and plan says so."""
    settings = validate_host_data("box", {"model": "gpt-oss-20b"}, environ=ENVIRON)
    plan = plan_host(settings, gpus_from_profile("rtx-4090", 1))
    (entry,) = json.loads(model_entries_json(settings, plan))
    assert _menu(entry) is None and entry["params"]["reasoning_effort"]
    (line,) = chat_menus_text(settings, plan.instances[0])  # no thinking switch either: it always reasons
    assert "'openai_gptoss' gives vLLM no end of reasoning to force" in line


@pytest.mark.parametrize(("data", "words"), [
    ({"vllm_version": "0.17.1"}, "vLLM 0.17.1 (vllm_version) ignores a request's thinking_token_budget; vLLM "
                                 "0.32.0 and later cap the reasoning with it: set vllm_version = '0.34.0'"),
    ({"engine": "sglang"}, "SGLang (engine 'sglang') takes no thinking_token_budget per request; serve with "
                           "engine 'vllm' or 'nim'"),
])
def test_budgets_asked_for_where_they_would_not_hold_are_refused(data, words):
    with pytest.raises(SettingsInvalid) as refused:
        validate_host_data("box", {"model": R1, "openwebui_thinking_budgets": [2048], **data}, environ=ENVIRON)
    assert "host 'box': openwebui_thinking_budgets: " + words in str(refused.value)
    assert "leave openwebui_thinking_budgets unset" in str(refused.value)


@pytest.mark.parametrize(("budgets", "words"), [
    ([0], "0 is not a budget"), ([2048, 2048], "lists a budget twice"),
    ([1, 2, 3, 4, 5, 6, 7], "a menu of at most 6 stays readable"),
])
def test_a_budget_list_that_makes_no_menu_is_refused(budgets, words):
    with pytest.raises(SettingsInvalid, match=words):
        validate_host_data("box", {"model": R1, "openwebui_thinking_budgets": budgets}, environ=ENVIRON)


def test_plan_names_the_budgets_each_chat_offers(tmp_path: Path):
    (tmp_path / "group_data").mkdir()
    (tmp_path / "inventory.py").write_text('boxes = [("gpu-box", {"ssh_hostname": "192.0.2.10"})]\n')
    (tmp_path / "group_data" / "boxes.py").write_text(f'gpu_profile = "rtx-4090"\nmodel = "{R1}"\n')
    out = subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "plan", "inventory.py"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert ("thinking budget per chat (Open WebUI's menu, sent as thinking_token_budget): No limit (the default), "
            "1,024, 4,096, 16,384 tokens") in out.stdout


@pytest.mark.parametrize(("data", "default", "other"), [
    ({"model": "qwen3-8b"}, "on", {"chat_template_kwargs": {"enable_thinking": False}}),
    ({"model": "qwen3-8b", "thinking_default": False}, "off", {"chat_template_kwargs": {"enable_thinking": True}}),
])
def test_a_model_with_a_thinking_switch_gets_an_on_off_menu_whose_default_is_the_servers(data, default, other):
    """The server's default (thinking_default for the primary model) is the menu's default and sends nothing; the
    other choice sends the switch."""
    menu = _menu(_entries(data)["qwen3-8b"], "thinking")
    assert menu["default"] == default and list(menu["options"]) == ["on", "off"]
    assert menu["options"][default]["params"] == {}
    assert menu["options"]["off" if default == "on" else "on"]["params"] == other


@pytest.mark.parametrize("data", [{"model": R1}, {"model": "qwen3-8b", "engine": "ollama"}])
def test_no_thinking_menu_where_no_request_switches_it(data):
    """The R1 family always reasons; Ollama's API takes no chat-template switch."""
    assert all(_menu(entry, "thinking") is None for entry in _entries(data).values())


def test_plan_names_the_thinking_menu_with_its_default(tmp_path: Path):
    (tmp_path / "group_data").mkdir()
    (tmp_path / "inventory.py").write_text('boxes = [("gpu-box", {"ssh_hostname": "192.0.2.10"})]\n')
    (tmp_path / "group_data" / "boxes.py").write_text('gpu_profile = "rtx-4090"\nmodel = "qwen3-8b"\n'
                                                      "thinking_default = False\n")
    out = subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "plan", "inventory.py"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "thinking per chat (Open WebUI's menu, sent as enable_thinking): Off (the default), On" in out.stdout


@pytest.mark.parametrize(("data", "why"), [
    ({"openwebui_thinking_budgets": []}, "openwebui_thinking_budgets is []"),
    ({"openwebui_thinking_budgets": [200000]}, "openwebui_thinking_budgets offers none below max_model_len"),
])
def test_plan_says_why_a_model_offers_no_budget(data, why):
    settings = validate_host_data("box", {"model": R1, **data}, environ=ENVIRON)
    plan = plan_host(settings, gpus_from_profile("rtx-4090", 1))
    (line,) = chat_menus_text(settings, plan.instances[0])  # the R1 distill has no thinking switch
    assert line.startswith(f"thinking budget per chat: none offered ({why}"), line
