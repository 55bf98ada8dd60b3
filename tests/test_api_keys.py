"""A key per person as planned and rendered: Open WebUI's own API keys, its model access by group, its record of
model calls and the usage probe that sums it. The real Open WebUI runs in tests/test_openwebui_api_keys.py; the
deploy on a test host in tests/e2e/test_single_box.py."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from real_openwebui import parse_env_file

from reasoning_stack.cli import main
from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.manifest import openwebui_entry
from reasoning_stack.openwebui.entries import USAGE_LOG, model_entries
from reasoning_stack.openwebui.service import openwebui_service
from reasoning_stack.openwebui.usage import HostUsage, format_usage, usage_script
from reasoning_stack.render import render
from reasoning_stack.validation import validate_host_data

ENGINE_KEY = "sk-engine-0123456789abcdef"


def _service(**data):
    settings = validate_host_data("box", {"model": "qwen3-8b", **data},
                                  environ={"REASONING_STACK_VLLM_API_KEY": ENGINE_KEY})
    plan = plan_host(settings, gpus_from_profile("rtx-4090", 1))
    return settings, plan, openwebui_service(settings, plan)


def test_off_by_default_and_open_webui_env_unchanged():
    settings, _plan, service = _service()
    assert settings.openwebui_api_keys == "off"
    for name in ("ENABLE_API_KEYS", "AUDIT_LOG_LEVEL", "USER_PERMISSIONS_FEATURES_API_KEYS"):
        assert name not in service.env_text
    assert "usage_log" not in openwebui_entry(settings, settings.openwebui_image)


@pytest.mark.parametrize(("who", "everyone"), [("everyone", "True"), ("admins", "False")])
def test_keys_on_limits_them_to_the_openai_api_and_records_each_call(who: str, everyone: str):
    settings, _plan, service = _service(openwebui_api_keys=who)
    env = parse_env_file(service.env_text)
    assert env["ENABLE_API_KEYS"] == "True" and env["USER_PERMISSIONS_FEATURES_API_KEYS"] == everyone
    assert env["ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS"] == "True"
    assert env["API_KEYS_ALLOWED_ENDPOINTS"] == "/api/models,/api/chat/completions"
    # the audit log at the metadata level (no prompt, no answer), of chat completions alone, in the data volume
    assert env["AUDIT_LOG_LEVEL"] == "METADATA" and env["AUDIT_INCLUDED_PATHS"] == "chat/completions"
    assert env["AUDIT_LOGS_FILE_PATH"] == f"/app/backend/data/{USAGE_LOG}"
    assert f"{settings.data_dir}/open-webui:/app/backend/data" in service.unit_text
    # the engine's key stays between Open WebUI and the engine
    assert env["OPENAI_API_KEYS"] == ENGINE_KEY and ENGINE_KEY not in service.unit_text
    entry = openwebui_entry(settings, settings.openwebui_image)
    assert entry["usage_log"] == f"{settings.data_dir}/open-webui/{USAGE_LOG}"


def test_a_mac_records_under_its_own_data_folder():
    settings, plan, _service_files = _service(openwebui_api_keys="everyone")
    service = openwebui_service(settings, plan, webui_data="/Users/lab/rs/open-webui")
    assert parse_env_file(service.env_text)["AUDIT_LOGS_FILE_PATH"] == f"/Users/lab/rs/open-webui/{USAGE_LOG}"


def test_model_entries_name_the_groups_that_may_use_them():
    settings = validate_host_data("box", {"model": "qwen3-8b", "openwebui_model_groups": {
        "deepseek-r1-distill-qwen-7b": ["research", "staff"]}, "extra_models": [
        {"name": "r1", "model": "deepseek-r1-distill-qwen-7b", "port": 8001}]}, environ={})
    plan = plan_host(settings, gpus_from_profile("rtx-4090", 2))
    assert plan.fits, plan.reason
    entries = {e["id"]: e for e in model_entries(plan, settings.openwebui_model_groups)}
    restricted = entries["deepseek-r1-distill-qwen-7b"]
    assert restricted["groups"] == ["research", "staff"] and restricted["access_grants"] == []
    assert "groups" not in entries["qwen3-8b"]
    assert entries["qwen3-8b"]["access_grants"] == [{"principal_type": "user", "principal_id": "*",
                                                    "permission": "read"}]


def _audit_line(email: str, model: str, tokens: tuple[int, int], when: float, event: str = "model_usage") -> str:
    """One line of Open WebUI 0.12.4's audit log as utils/logger.py's file_format writes it."""
    return json.dumps({"id": "x", "timestamp": int(when), "user": {"id": email, "name": email.split("@")[0],
                                                                     "email": email, "role": "user"},
                       "audit_level": "METADATA", "verb": "POST", "request_uri": "http://h/api/chat/completions",
                       "response_status_code": 0, "source_ip": "127.0.0.1", "user_agent": "OpenAI/Python",
                       "model_id": model, "usage": {"input_tokens": tokens[0], "output_tokens": tokens[1],
                                                    "total_tokens": sum(tokens)},
                       "request_object": "", "response_object": "",
                       "extra": {"event": event, "request_id": "r"} if event else {}})


def _probe(tmp_path: Path, manifest: dict | None, since: float) -> dict:
    path = tmp_path / "status.json"
    if manifest is not None:
        path.write_text(json.dumps(manifest))
    script = tmp_path / "usage.py"
    script.write_text(render("openwebui-usage.py.j2", manifest_path=str(path), since=int(since)))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_the_usage_probe_sums_each_persons_calls_since_a_time(tmp_path: Path):
    now = time.time()
    log = tmp_path / "audit" / "usage.log"
    log.parent.mkdir()
    # a file Open WebUI (loguru) rotated and zipped, then the current one
    with zipfile.ZipFile(tmp_path / "audit" / "usage.2026-11-30_10-00-00_000000.log.zip", "w") as archive:
        archive.writestr("usage.2026-11-30_10-00-00_000000.log",
                         _audit_line("alice@lab.example", "qwq-32b", (10, 100), now - 3600) + "\n")
    log.write_text("\n".join([
        _audit_line("alice@lab.example", "qwq-32b", (20, 200), now - 60),
        _audit_line("alice@lab.example", "qwen3-8b", (5, 7), now - 60),
        _audit_line("bob@lab.example", "qwq-32b", (1, 2), now - 30 * 86400),  # before the period
        _audit_line("bob@lab.example", "qwq-32b", (3, 4), now - 10, event=""),  # a request line, not a call
        "not json",
    ]) + "\n")
    manifest = {"units": [{"kind": "openwebui", "usage_log": str(log)}]}
    answer = _probe(tmp_path, manifest, now - 7 * 86400)
    alice = answer["people"]["alice@lab.example"]
    assert alice["name"] == "alice"
    assert alice["models"]["qwq-32b"] == {"calls": 2, "input_tokens": 30, "output_tokens": 300, "total_tokens": 330}
    assert alice["models"]["qwen3-8b"]["calls"] == 1
    assert "bob@lab.example" not in answer["people"] and answer["unreadable_lines"] == 1
    report = format_usage([HostUsage("box", answer["people"])], 7)
    lines = report.splitlines()
    assert lines[0] == "box: model calls in the last 7 day(s), from Open WebUI's record"
    assert lines[2].split() == ["alice@lab.example", "qwq-32b", "2", "30", "300"]  # most tokens first
    assert "tokens out include the reasoning" in lines[-1]


def test_the_usage_probe_says_why_there_is_nothing(tmp_path: Path):
    assert "no status manifest" in _probe(tmp_path, None, 0)["error"]
    assert "openwebui_api_keys" in _probe(tmp_path, {"units": [{"kind": "openwebui"}]}, 0)["error"]
    assert "no Open WebUI" in _probe(tmp_path, {"units": []}, 0)["error"]
    assert format_usage([HostUsage("box", error="per-person API keys are off")], 7).splitlines()[1] == (
        "  per-person API keys are off")


def test_the_usage_script_reads_the_deployed_manifest():
    assert '"/etc/reasoning-stack/status.json"' in usage_script(0)
    compile(usage_script(time.time()), "usage", "exec")


def test_usage_of_a_bad_inventory_is_refused_before_connecting(tmp_path: Path, capsys):
    (tmp_path / "inventory.py").write_text('boxes = [("box", {"ssh_hostname": "192.0.2.10"})]\n')
    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data" / "boxes.py").write_text('openwebui_api_keys = "sometimes"\n')
    assert main(["usage", str(tmp_path / "inventory.py")]) == 2
    assert "openwebui_api_keys" in capsys.readouterr().err


def test_status_says_keys_are_on_and_where_usage_is():
    from reasoning_stack.status import HostStatus, format_report, status_manifest

    for keys, shown in (("everyone", True), ("off", False)):
        settings = validate_host_data("box", {"model": "qwen3-8b", "monitoring_enabled": False,
                                              "openwebui_api_keys": keys}, environ={})
        manifest = status_manifest(settings, plan_host(settings, gpus_from_profile("rtx-4090", 1)), "box", None)
        units = [{"unit": u["unit"], "kind": u["kind"], "state": "active", "health": 200,
                  "models": 200, "max_model_len": 4096, "smoke_test": None,
                  "completion": {"status": 200, "seconds": 0.04, "error": ""}} for u in manifest["units"]]
        text = format_report([HostStatus("box", True, {"manifest": manifest, "units": units})], {})
        line = next(t for t in text.splitlines() if "reasoning-openwebui" in t)
        assert ("per-person API keys, usage in `reasoning-stack usage`" in line) == shown, line
