"""Ollama as an engine: its tags and sizes, the context and slots planned from them, engine auto, its unit and
environment, Open WebUI's Ollama connection with the planned num_ctx, the settings it refuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reasoning_stack.catalogue import GIB, MIB, MODELS
from reasoning_stack.engines import ollama
from reasoning_stack.engines.ollama import library
from reasoning_stack.engines.ollama.service import ollama_manifest
from reasoning_stack.gpus import Gpu, gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.openwebui.entries import model_entries
from reasoning_stack.openwebui.service import openwebui_service
from reasoning_stack.plan import PlanRequest, make_plan
from reasoning_stack.services import engine_service
from reasoning_stack.validation import SettingsInvalid, validate_host_data

ROOT = Path(__file__).resolve().parent.parent


def _plan(gpus, **kw):
    return make_plan(PlanRequest(gpus=tuple(gpus), engine="ollama", **kw))


def test_every_catalogue_model_has_its_library_tag():
    untagged = {"glm-4.5-air", "qwen3-next-80b-a3b-thinking", "qwen3.5-35b-a3b", "qwen3.5-27b", "qwen3.6-35b-a3b",
                "qwen3.6-27b", "qwen3.8-27b", "gemma-4-26b-a4b", "gemma-4-31b", "gemma-4-e4b", "gemma-4-e2b",
                "nemotron-3-nano-30b-a3b", "glm-4.7-flash", "minimax-m2.5", "kimi-k2-thinking", "glm-5.1",
                "nemotron-3-super-120b-a12b", "deepseek-v4-flash", "deepseek-v4-pro"}
    assert set(library.TAGS) == set(MODELS) - untagged
    assert library.TAGS["gpt-oss-20b"].tag == "gpt-oss:20b" and library.TAGS["gpt-oss-120b"].size_gb == 65
    assert library.TAGS["deepseek-r1-distill-qwen-7b"].tag == "deepseek-r1:7b"
    assert library.TAGS["qwq-32b"].tag == "qwq:32b" and library.TAGS["deepseek-r1"].size_gb == 404


def test_slots_and_context_come_from_the_tag_s_size():
    gpus = gpus_from_profile("rtx-4090")
    plan = _plan(gpus, model="deepseek-r1-distill-qwen-7b")
    assert plan.fits and plan.engine == "ollama" and plan.model_repo == "deepseek-r1:7b"
    model = MODELS["deepseek-r1-distill-qwen-7b"]
    free = (24564 - 480) / 1024 - 0.5 - 457 * MIB / GIB
    kv_gib = free - 4.7e9 / GIB - 4 * 512 * (model.vocab_size + model.hidden_size) / GIB
    per_token = 2 * 28 * 4 * 128 * 2  # K and V, every layer, f16
    assert plan.kv_cache_tokens == int(kv_gib * GIB // per_token)
    assert plan.max_num_seqs == 4  # four slots still reach the wanted 16384 tokens each
    assert plan.max_model_len == plan.kv_cache_tokens // 4 // 1024 * 1024
    env = plan.output.environment
    assert env["OLLAMA_NUM_PARALLEL"] == "4" and env["OLLAMA_CONTEXT_LENGTH"] == str(plan.max_model_len)
    assert env["OLLAMA_KV_CACHE_TYPE"] == "f16" and env["OLLAMA_FLASH_ATTENTION"] == "1"
    assert env["OLLAMA_HOST"] == "127.0.0.1:8000" and env["OLLAMA_KEEP_ALIVE"] == "-1"


def test_a_big_model_gets_fewer_slots_then_a_q8_kv_cache():
    qwq = _plan(gpus_from_profile("rtx-4090"), model="qwq-32b")
    assert qwq.fits and qwq.max_num_seqs == 1 and qwq.output.environment["OLLAMA_KV_CACHE_TYPE"] == "q8_0"
    assert qwq.max_model_len >= 16384
    two = _plan(gpus_from_profile("rtx-4090", 2), model="qwq-32b")  # layers split over both cards
    assert two.fits and two.gpus_used == [0, 1] and two.max_num_seqs > 1


def test_a_model_that_cannot_fit_is_refused_with_the_numbers():
    plan = _plan(gpus_from_profile("rtx-4090"), model="deepseek-r1-distill-llama-70b")
    assert not plan.fits
    assert "deepseek-r1:70b, 43 GB" in plan.reason and "the weights take 40.0 GiB" in plan.reason
    assert any(s.startswith("model gpt-oss-20b fits (gpt-oss:20b") for s in plan.suggestions)
    cluster = _plan(gpus_from_profile("h100"), model="qwq-32b", nodes=2)
    assert not cluster.fits and "splits a model's layers" in cluster.reason


def test_engine_auto_picks_ollama_where_it_serves_a_stronger_model():
    eight = make_plan(PlanRequest(gpus=(Gpu(0, "GPU with 8 GiB", 8192),), model="auto", engine="auto"))
    assert eight.fits and eight.engine == "ollama" and eight.model == "deepseek-r1-0528-qwen3-8b"
    assert "Ollama serves a stronger reasoning model here" in eight.reason
    big = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-4090")), model="auto", engine="auto"))
    assert big.fits and big.engine == "vllm" and big.reason.startswith("engine auto -> vLLM")
    # a named model vLLM cannot hold at the wanted context goes to Ollama
    named = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-4090")), model="qwq-32b", engine="auto",
                                  min_context=24576))
    assert named.engine == "ollama" and "vLLM cannot serve it here" in named.reason


def _settings(**data):
    return validate_host_data("box", data, environ={})


def test_unit_env_and_open_webui_wiring():
    s = _settings(engine="ollama", model="deepseek-r1-distill-qwen-14b",
                  extra_models=[{"name": "chat", "model": "qwen3-8b", "port": 8001}])
    host_plan = plan_host(s, gpus_from_profile("rtx-4090", 2))
    assert host_plan.fits, host_plan.reason
    primary, chat = host_plan.instances
    assert (primary.unit, primary.container, primary.served_model_name) == (
        "reasoning-ollama", "ollama", "deepseek-r1:14b")
    files = engine_service(s, primary, 2)
    exec_start = next(line for line in files.unit_text.splitlines() if line.startswith("ExecStart="))
    assert "--entrypoint /usr/bin/ollama" in exec_start and exec_start.endswith(f"{ollama.IMAGE} serve")
    assert "--volume /var/lib/reasoning-stack/ollama:/root/.ollama" in exec_start
    assert '--gpus "\\"device=0\\""' in exec_start
    assert f"OLLAMA_CONTEXT_LENGTH={primary.plan.max_model_len}\n" in files.env_text
    assert files.health_url == "http://127.0.0.1:8000/api/version" and files.base_url == "http://127.0.0.1:8000"
    assert ollama_manifest(s, "deepseek-r1:14b").endswith("/ollama/models/manifests/registry.ollama.ai/library/"
                                                          "deepseek-r1/14b")
    webui = openwebui_service(s, host_plan).env_text
    assert "ENABLE_OLLAMA_API=True\nOLLAMA_BASE_URLS=http://127.0.0.1:8000\n" in webui
    assert "OPENAI_API_BASE_URLS=http://127.0.0.1:8001/v1\n" in webui  # the vLLM instance only
    entries = {e["id"]: e for e in model_entries(host_plan)}
    assert entries["deepseek-r1:14b"]["params"] == {"num_ctx": primary.plan.max_model_len}
    assert entries["qwen3-8b"]["params"] == {}
    assert "TASK_MODEL_EXTERNAL=qwen3-8b" in webui  # Qwen3 on vLLM answers tasks without thinking


def test_settings_refuse_what_ollama_cannot_do():
    cases = {
        "Ollama has no API key": dict(api_listen="0.0.0.0"),
        "served under its library tag": dict(served_model_name="r1"),
        "sampling_overrides: Ollama": dict(sampling_overrides={"temperature": 0.6}),
    }
    for words, data in cases.items():
        with pytest.raises(SettingsInvalid) as err:
            _settings(engine="ollama", **data)
        assert words in str(err.value), (words, str(err.value))
    assert _settings(engine="ollama", model="qwq-32b").served_model_names() == ["qwq:32b"]


def test_plan_cli_shows_the_environment_for_ollama():
    out = subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "plan", "--gpu", "rtx-4090", "--model",
                          "deepseek-r1-distill-qwen-7b", "--engine", "ollama", "--json"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["engine"] == "ollama" and data["command"] == ["ollama", "serve"]
    assert data["environment"]["OLLAMA_NUM_PARALLEL"] == "4" and data["model_repo"] == "deepseek-r1:7b"
