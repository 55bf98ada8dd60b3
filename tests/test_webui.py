"""Which model runs Open WebUI's background tasks, and which tasks run (reasoning_stack/openwebui/entries.py)."""

import json

import pytest

from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.openwebui.entries import model_entries, task_config
from reasoning_stack.openwebui.service import openwebui_service
from reasoning_stack.validation import SettingsInvalid, validate_host_data

FAST = {"name": "fast", "model": "qwen3-8b", "port": 8001}


def _tasks(gpus: int = 2, **data):
    settings = validate_host_data("box", {"model": "deepseek-r1-distill-qwen-7b", **data}, environ={})
    host_plan = plan_host(settings, gpus_from_profile("rtx-4090", gpus))
    assert host_plan.fits, host_plan.reason
    return task_config(settings, host_plan), openwebui_service(settings, host_plan).env_text


def test_qwen3_beside_a_reasoning_model_takes_every_task_without_thinking():
    tasks, env = _tasks(extra_models=[FAST])
    assert tasks.model == "qwen3-8b" and not tasks.thinks
    assert tasks.params == {"max_tokens": 512, "chat_template_kwargs": {"enable_thinking": False}}
    assert tasks.tasks == ("title", "tags", "follow_up")
    assert "TASK_MODEL_EXTERNAL=qwen3-8b\n" in env
    assert json.loads(env.split("TASK_MODEL_PARAMS=", 1)[1].splitlines()[0]) == tasks.params
    assert "ENABLE_TAGS_GENERATION=True\n" in env and "ENABLE_AUTOCOMPLETE_GENERATION=False\n" in env
    # every model shows its token counts; no sampling defaults of Open WebUI's own
    assert 'DEFAULT_MODEL_METADATA={"capabilities": {"usage": true}}\n' in env
    assert "DEFAULT_MODEL_PARAMS" not in env


def test_a_lone_reasoning_model_makes_titles_only_with_room_to_think():
    tasks, env = _tasks(gpus=1)
    assert tasks.model == "deepseek-r1-distill-qwen-7b" and tasks.thinks
    assert tasks.params == {"max_tokens": 4096} and tasks.tasks == ("title",)
    assert "ENABLE_TITLE_GENERATION=True\n" in env
    assert "ENABLE_TAGS_GENERATION=False\n" in env and "ENABLE_FOLLOW_UP_GENERATION=False\n" in env


def test_smallest_reasoning_model_is_chosen_when_no_qwen3_is_there():
    tasks, _env = _tasks(extra_models=[{"name": "small", "model": "deepseek-r1-distill-qwen-1.5b", "port": 8001}])
    assert tasks.model == "deepseek-r1-distill-qwen-1.5b" and tasks.tasks == ("title",)


def test_qwen3_primary_switches_thinking_off_for_tasks_only():
    tasks, _env = _tasks(gpus=1, model="qwen3-8b")
    assert tasks.model == "qwen3-8b" and tasks.params["chat_template_kwargs"] == {"enable_thinking": False}


def test_operator_choices_win():
    tasks, env = _tasks(extra_models=[FAST], openwebui_task_model="deepseek-r1-distill-qwen-7b",
                        openwebui_tasks=[])
    assert tasks.model == "deepseek-r1-distill-qwen-7b" and tasks.tasks == ()
    assert "ENABLE_TITLE_GENERATION=False\n" in env
    tasks, _env = _tasks(extra_models=[FAST], openwebui_tasks=["title"])
    assert tasks.model == "qwen3-8b" and tasks.tasks == ("title",)


def test_a_task_model_not_served_here_is_refused_with_the_choices():
    with pytest.raises(SettingsInvalid) as error:
        validate_host_data("box", {"model": "deepseek-r1-distill-qwen-7b", "extra_models": [FAST],
                                   "openwebui_task_model": "qwen3-32b"}, environ={})
    assert ("openwebui_task_model 'qwen3-32b' is not served on this host; use one of: "
            "deepseek-r1-distill-qwen-7b, qwen3-8b") in str(error.value)


CLOUD = {"name": "deepseek", "base_url": "https://api.deepseek.com/v1/", "models": ["deepseek-reasoner"]}


def test_cloud_connection_follows_the_local_ones_with_its_prefix_and_key():
    settings = validate_host_data("box", {"model": "deepseek-r1-distill-qwen-7b", "extra_models": [FAST],
                                          "openwebui_cloud": [CLOUD]},
                                  environ={"REASONING_STACK_DEEPSEEK_API_KEY": "sk-cloud-1"})
    env = openwebui_service(settings, plan_host(settings, gpus_from_profile("rtx-4090", 2))).env_text
    assert "OPENAI_API_BASE_URLS=http://127.0.0.1:8000/v1;http://127.0.0.1:8001/v1;https://api.deepseek.com/v1\n" in env
    assert "OPENAI_API_KEYS=none;none;sk-cloud-1\n" in env
    configs = json.loads(env.split("OPENAI_API_CONFIGS=", 1)[1].splitlines()[0])
    assert configs["0"] == configs["1"] == {"enable": True}
    assert configs["2"]["prefix_id"] == "deepseek" and configs["2"]["model_ids"] == ["deepseek-reasoner"]
    # no cloud connection: Open WebUI's own defaults, no configs at all
    assert "OPENAI_API_CONFIGS" not in _tasks()[1]


def test_models_without_tool_calls_have_open_webuis_builtin_tools_off():
    """A web-page chat attaches Open WebUI's built-in tools; vLLM refuses `tools` without a tool-call parser
    (found by the real vLLM in tests/test_real_vllm.py), so those models' entries turn them off."""
    s = validate_host_data("dual-4090", {"model": "deepseek-r1-distill-qwen-7b", "extra_models": [
        {"name": "fast", "model": "qwen3-8b", "port": 8001}]}, environ={})
    entries = {e["id"]: e for e in model_entries(plan_host(s, gpus_from_profile("rtx-4090", 2)))}
    assert entries["deepseek-r1-distill-qwen-7b"]["meta"]["capabilities"] == {"builtin_tools": False}
    assert "capabilities" not in entries["qwen3-8b"]["meta"]  # Qwen3 calls tools (hermes): left to the defaults
