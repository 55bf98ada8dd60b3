"""An engine is one package: ``tests/engines/lite`` is registered from the test folder, and the planner, the
services, the Open WebUI wiring, ``render`` and ``status`` handle it with no change outside that package."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from reasoning_stack import engines
from reasoning_stack.cli import main
from reasoning_stack.gpus import NVIDIA_SMI_QUERY, gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.openwebui.entries import model_entries
from reasoning_stack.openwebui.service import openwebui_service
from reasoning_stack.services import engine_service
from reasoning_stack.status import HostStatus, format_report, manifest_text, status_manifest
from reasoning_stack.validation import SettingsInvalid, validate_host_data

sys.path.insert(0, str(Path(__file__).parent))
from engines.lite import ENGINE as LITE  # noqa: E402
from engines.lite import IMAGE, SERVER  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent / "hosts"))
from testhosts import free_port  # noqa: E402

KEY = "lite-key-5e1f"


@pytest.fixture()
def lite():
    engines.register(LITE)
    yield LITE
    engines.unregister(LITE.name)


def _host(port: int = 8100, **extra):
    settings = validate_host_data("box", {"gpu_profile": "rtx-4090", "engine": "lite", "model": "qwen3-8b",
                                          "api_port": port, **extra},
                                  environ={"REASONING_STACK_VLLM_API_KEY": KEY})
    plan = plan_host(settings, gpus_from_profile("rtx-4090"))
    assert plan.fits, plan.reason
    return settings, plan


def _cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(argv))
    return code, out.getvalue()


def test_an_unregistered_engine_is_refused_naming_the_valid_ones():
    valid = "valid: 'vllm', 'sglang', 'ollama', 'mlx', 'nim', 'auto'"
    with pytest.raises(SettingsInvalid, match=f"engine: got 'lite'; unknown engine; {valid}"):
        validate_host_data("box", {"gpu_profile": "rtx-4090", "engine": "lite"}, environ={})


def test_settings_and_the_planner_use_the_registered_engine(lite):
    settings, plan = _host()
    instance = plan.instances[0]
    assert instance.engine == "lite" and instance.unit == "reasoning-lite" and instance.container == "lite"
    assert instance.plan.command[:2] == ["lite-server", "Qwen/Qwen3-8B"]
    assert settings.serving_images() == [IMAGE]
    with pytest.raises(SettingsInvalid, match="the lite server has none"):
        validate_host_data("box", {"gpu_profile": "rtx-4090", "engine": "lite", "sampling_overrides":
                                   {"temperature": 0.6}}, environ={})


def test_plan_cli_offers_it_and_describes_its_plan(lite):
    code, text = _cli("plan", "--gpu", "rtx-4090", "--engine", "lite", "--model", "qwen3-8b")
    assert code == 0, text
    assert "Lite: 15.3 GiB of weights" in text and "lite runs: lite-server Qwen/Qwen3-8B" in text
    assert "speed, one request" not in text  # it plans no GPU layouts, so no vLLM speed estimate or trade-offs
    code, text = _cli("plan", "--gpu", "rtx-4090", "--engine", "lite", "--model", "qwen3-8b", "--json")
    assert json.loads(text)["engine"] == "lite" and json.loads(text)["alternatives"] == []


def test_services_and_open_webui_reach_it(lite):
    settings, plan = _host()
    files = engine_service(settings, plan.instances[0], 1)
    assert files.unit == "reasoning-lite" and files.health_url == "http://127.0.0.1:8100/livez"
    assert f" {IMAGE} lite-server Qwen/Qwen3-8B " in files.unit_text and KEY not in files.unit_text
    assert f"VLLM_API_KEY={KEY}" in files.env_text
    webui = openwebui_service(settings, plan)
    assert "OPENAI_API_BASE_URLS=http://127.0.0.1:8100/v1" in webui.env_text
    assert "reasoning-lite.service" in webui.unit_text  # Open WebUI starts after it
    assert model_entries(plan)[0]["id"] == "qwen3-8b"


def test_render_writes_its_files(lite, tmp_path):
    inventory = tmp_path / "inv" / "boxes.py"
    inventory.parent.mkdir()
    inventory.write_text('boxes = [("box", {"ssh_hostname": "192.0.2.7", "gpu_profile": "rtx-4090", '
                         '"engine": "lite", "model": "qwen3-8b"})]\n')
    code, _text = _cli("render", str(inventory), "--out", str(tmp_path / "out"))
    assert code == 0
    unit = tmp_path / "out/box/etc/systemd/system/reasoning-lite.service"
    assert "lite-server" in unit.read_text()
    manifest = json.loads((tmp_path / "out/box/etc/reasoning-stack/status.json").read_text())
    assert manifest["units"][1]["health_path"] == "/livez" and manifest["units"][1]["image"] == IMAGE


def test_status_probes_it_on_its_own_health_path(lite, tmp_path):
    """The real probe, run here: a stand-in systemctl says the units run, the engine's own server answers."""
    port = free_port()
    settings, plan = _host(port)
    manifest = status_manifest(settings, plan, "box", None)
    unit = next(u for u in manifest["units"] if u["unit"] == "reasoning-lite")
    unit["env_file"] = str(tmp_path / "reasoning-lite.env")
    unit["smoke_record"] = str(tmp_path / "smoke.json")
    (tmp_path / "reasoning-lite.env").write_text(f"VLLM_API_KEY={KEY}\n")
    manifest["units"] = [u for u in manifest["units"] if u["unit"] in ("docker", "reasoning-lite")]
    (tmp_path / "status.json").write_text(manifest_text(manifest))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text("#!/bin/sh\necho active\n")
    fixture = Path(__file__).parent / "fixtures" / "nvidia-smi" / "rtx-4090x1.csv"
    (bin_dir / "nvidia-smi").write_text(f"#!/bin/sh\ncat {fixture}\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    from reasoning_stack.render import render

    probe = render("status-probe.py.j2", manifest_path=str(tmp_path / "status.json"),
                   nvidia_smi_query=NVIDIA_SMI_QUERY, timeout=5)
    server = subprocess.Popen([sys.executable, str(SERVER), "qwen3-8b", str(port)],
                              env={"LITE_API_KEY": KEY, "PATH": "/usr/bin:/bin"})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "the lite server did not answer /livez"
                time.sleep(0.2)
        out = subprocess.run([sys.executable, "-"], input=probe, capture_output=True, text=True, timeout=60,
                             env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    lite_report = next(u for u in report["units"] if u["unit"] == "reasoning-lite")
    assert lite_report["health"] == 200 and lite_report["completion"]["status"] == 200
    status = HostStatus("box", True, report)
    assert status.healthy, status.problems
    assert "reasoning-lite: active, serves qwen3-8b (Qwen/Qwen3-8B)" in format_report([status], {})
