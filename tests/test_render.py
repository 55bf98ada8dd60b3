"""Rendering: systemd quoting, env files, and the units the deploy writes (no secret in a unit)."""

import pytest

from reasoning_stack.engines.vllm.service import vllm_service
from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.openwebui.service import openwebui_service
from reasoning_stack.plan import PlanRequest, make_plan
from reasoning_stack.render import env_quote, systemd_quote
from reasoning_stack.service_files import gpu_request, local_url
from reasoning_stack.settings import SECRET_ENV_VARS
from reasoning_stack.validation import validate_host_data


def test_systemd_quote():
    assert systemd_quote("--port") == "--port"
    assert systemd_quote("a b") == '"a b"'
    assert systemd_quote('{"enable_thinking": false}') == '"{\\"enable_thinking\\": false}"'
    assert systemd_quote("100%") == "100%%"
    assert systemd_quote("$HOME") == '"$$HOME"'


def test_env_values_cannot_span_lines():
    with pytest.raises(ValueError):
        env_quote("a\nINJECTED=1")


def _files(**settings):
    secrets = {name: settings.pop(name) for name in list(settings) if name in SECRET_ENV_VARS}
    s = validate_host_data("box", settings, environ={SECRET_ENV_VARS[n]: v for n, v in secrets.items()})
    gpus = gpus_from_profile("rtx-4090", 2)
    host_plan = plan_host(s, gpus)
    assert host_plan.fits, host_plan.reason
    primary = host_plan.instances[0]
    return s, primary.plan, vllm_service(s, primary, len(gpus)), openwebui_service(s, host_plan)


def test_units_hold_no_secrets_and_env_files_do():
    _s, _plan, vllm, webui = _files(api_key="sk-abc-123", hf_token="hf_zzz", model="qwq-32b",
                                    openwebui_secret_key="webui-key-1")
    for text in (vllm.unit_text, webui.unit_text):
        assert "sk-abc-123" not in text and "hf_zzz" not in text and "webui-key-1" not in text
    assert "VLLM_API_KEY=sk-abc-123" in vllm.env_text and "HF_TOKEN=hf_zzz" in vllm.env_text
    assert "OPENAI_API_KEYS=sk-abc-123" in webui.env_text and "WEBUI_SECRET_KEY=webui-key-1" in webui.env_text
    assert "--env-file /etc/reasoning-stack/openwebui-secret.env" not in webui.unit_text


def test_vllm_unit_runs_the_plan():
    _s, plan, vllm, _w = _files(model="qwq-32b", max_model_len=32768)
    exec_start = next(line for line in vllm.unit_text.splitlines() if line.startswith("ExecStart="))
    assert exec_start.startswith("ExecStart=/usr/bin/docker run --rm --name vllm --network host --ipc host")
    assert " vllm/vllm-openai:v0.34.0 Qwen/QwQ-32B-AWQ " in exec_start  # image entrypoint is `vllm serve`
    assert " serve " not in exec_start
    assert "--max-model-len 32768" in exec_start and "--reasoning-parser deepseek_r1" in exec_start
    assert "Restart=on-failure" in vllm.unit_text and "TimeoutStopSec=" in vllm.unit_text


def test_gpu_request():
    whole = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-4090", 2)), model="qwq-32b"))
    assert gpu_request(whole, 2) == "all"
    both = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-4090", 2)), model="deepseek-r1-distill-qwen-7b"))
    assert gpu_request(both, 2) == "all"  # a 7B model fits one GPU, but every GPU serves
    # gpu_indices [1]: GPU 0 is kept for other work
    one = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-4090", 2)[1:]), model="deepseek-r1-distill-qwen-7b"))
    assert gpu_request(one, 2) == '"device=1"'
    # gpu_indices [0] on a two-GPU host: the container must not see GPU 1
    first = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-4090", 2)[:1]),
                                  model="deepseek-r1-distill-qwen-7b"))
    assert gpu_request(first, 2) == '"device=0"'


def test_local_url():
    assert local_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert local_url("10.1.2.3", 3000) == "http://10.1.2.3:3000"
    assert local_url("::", 8000) == "http://[::1]:8000"


def test_openwebui_signup_policy():
    _s, _p, _v, closed = _files(openwebui_signup="closed")
    assert "ENABLE_SIGNUP=False" in closed.env_text
    _s, _p, _v, opened = _files(openwebui_signup="open")
    assert "ENABLE_SIGNUP=True" in opened.env_text and "DEFAULT_USER_ROLE=user" in opened.env_text


def test_two_models_on_a_dual_4090_get_a_gpu_each():
    s, _plan, _vllm, webui = _files(model="deepseek-r1-distill-qwen-14b", quantization="awq",
                                    extra_models=[{"name": "fast", "model": "qwq-32b", "port": 8001}])
    host_plan = plan_host(s, gpus_from_profile("rtx-4090", 2))
    assert host_plan.layout == "split"
    primary, fast = host_plan.instances
    assert (primary.unit, fast.unit) == ("reasoning-vllm", "reasoning-vllm-fast")
    assert primary.plan.gpus_used == [0] and fast.plan.gpus_used == [1]
    fast_files = vllm_service(s, fast, 2)
    assert '--gpus "\\"device=1\\""' in fast_files.unit_text
    assert "--name vllm-fast" in fast_files.unit_text and "--port 8001" in fast_files.unit_text
    assert "After=docker.service network-online.target reasoning-vllm.service" in fast_files.unit_text
    assert "OPENAI_API_BASE_URLS=http://127.0.0.1:8000/v1;http://127.0.0.1:8001/v1" in webui.env_text


def test_two_small_models_share_one_gpu_when_both_fit():
    s = validate_host_data("box", {"model": "deepseek-r1-distill-qwen-7b", "gpu_memory_utilization": 0.9,
                                   "extra_models": [{"name": "tiny", "model": "deepseek-r1-distill-qwen-1.5b",
                                                     "port": 8001}]})
    host_plan = plan_host(s, gpus_from_profile("h100", 1))
    assert host_plan.fits and host_plan.layout == "shared"
    assert all(i.plan.gpu_memory_utilization == 0.45 for i in host_plan.instances)


def test_two_32b_models_on_one_4090_are_refused():
    s = validate_host_data("box", {"model": "qwq-32b", "extra_models": [
        {"name": "r1", "model": "deepseek-r1-distill-qwen-32b", "port": 8001}]})
    host_plan = plan_host(s, gpus_from_profile("rtx-4090", 1))
    assert not host_plan.fits
    assert "do not fit 1x NVIDIA GeForce RTX 4090 together" in host_plan.reason


def _render_cli(*argv: str) -> tuple[int, str, str]:
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "render", *argv], cwd=repo,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


def test_render_writes_each_hosts_files_under_its_name(tmp_path):
    code, out, err = _render_cli("inventories/lab.py", "--host", "workstation", "--out", str(tmp_path))
    assert code == 0, err
    assert [p.name for p in tmp_path.iterdir()] == ["workstation"]
    unit = (tmp_path / "workstation/etc/systemd/system/reasoning-vllm.service").read_text()
    assert "qwen3-14b" in unit and "--data-parallel-size 2" in unit
    assert (tmp_path / "workstation/etc/reasoning-stack/status.json").is_file()
    assert "workstation: " in out


def test_render_names_hosts_it_cannot_render_and_bad_hosts(tmp_path):
    inventory = tmp_path / "inv" / "boxes.py"
    inventory.parent.mkdir()
    inventory.write_text('boxes = [("found-later", {"ssh_hostname": "192.0.2.9"}),\n'
                         '         ("declared", {"ssh_hostname": "192.0.2.8", "gpu_profile": "rtx-3090"})]\n')
    code, _out, err = _render_cli(str(inventory), "--out", str(tmp_path / "out"))
    assert code == 0 and "found-later: not rendered: its GPUs are read from nvidia-smi at deploy" in err, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["declared"]
    code, _out, err = _render_cli("inventories/lab.py", "--host", "nope", "--out", str(tmp_path))
    assert code == 2 and "--host nope: not in inventories/lab.py; hosts: gpu-box, workstation, lab" in err
