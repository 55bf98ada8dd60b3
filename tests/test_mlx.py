"""Apple Silicon Macs and MLX-LM: the plan from a Mac's unified memory, every planned `mlx_lm.server` command line
through MLX-LM 0.32.2's own parser, the launchd plists read back with a plist parser, env-exec run for real, and
the settings a Mac refuses."""

from __future__ import annotations

import json
import os
import plistlib
import pwd
import subprocess
import sys
from pathlib import Path

import pytest
from engine_parsers import parser_command

from reasoning_stack.catalogue import GIB, MODELS
from reasoning_stack.engines.mlx import VERSION as MLX_VERSION
from reasoning_stack.engines.mlx import memory as mlx
from reasoning_stack.engines.mlx.service import mlx_job
from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.launchd import ENV_EXEC, MLX_VENV
from reasoning_stack.openwebui.mac import OPENWEBUI_VENV, openwebui_job
from reasoning_stack.plan import PlanRequest, make_plan
from reasoning_stack.platforms.macos import helper_text, mac_gpu
from reasoning_stack.render import render
from reasoning_stack.settings import StackSettings
from reasoning_stack.validation import SettingsInvalid, validate_host_data

ROOT = Path(__file__).resolve().parents[1]
ARGCHECK = ROOT / "tests/tools/mlx-argcheck/mlx_argcheck.py"
MACS = ("m3-max-64", "m3-max-128", "m4-max-64", "m4-max-128", "m3-ultra-256")


def _mac(profile: str = "m4-max-128", **wishes: object) -> PlanRequest:
    return PlanRequest(gpus=tuple(gpus_from_profile(profile)), engine="mlx", **wishes)  # type: ignore[arg-type]


def test_published_mlx_community_sizes_match_the_weights_formula():
    # mlx-community's own listings: DeepSeek-R1-Distill-Qwen-32B-4bit 17.18 GiB, DeepSeek-R1-Distill-Llama-70B-4bit
    # 39.7 GB (decimal), from 4.5 bits per weight (group size 64, bf16 scale and bias)
    assert mlx.weights_gib(MODELS["deepseek-r1-distill-qwen-32b"], 4) == pytest.approx(17.18, abs=0.05)
    assert mlx.weights_gib(MODELS["deepseek-r1-distill-llama-70b"], 4) * GIB / 1e9 == pytest.approx(39.7, abs=0.1)


def test_metal_working_set_leaves_macos_its_share():
    assert mlx.working_set_gib(gpus_from_profile("m4-max-128")[0]) == 96.0
    assert mlx.working_set_gib(gpus_from_profile("m3-max-64")[0]) == 48.0
    # a raised iogpu.wired_limit_mb is what Metal then allows
    assert mlx.working_set_gib(gpus_from_profile("m3-max-64")[0], wired_limit_mib=57344) == 56.0


def test_the_70b_distill_on_a_128_gb_mac_at_8_bits_and_on_a_64_gb_mac_at_4():
    big = make_plan(_mac("m4-max-128", model="deepseek-r1-distill-llama-70b"))
    assert big.fits and big.engine == "mlx" and big.quantization == "mlx-8bit"
    assert big.model_repo == "mlx-community/DeepSeek-R1-Distill-Llama-70B-8bit" and big.max_model_len >= 16384
    small = make_plan(_mac("m3-max-64", model="deepseek-r1-distill-llama-70b"))
    assert small.fits and small.quantization == "mlx-4bit" and small.max_num_seqs == 1
    # weights + KV cache + runtime stay inside Metal's 48 GiB
    kv_gib = small.kv_cache_tokens * small.kv_bytes_per_token / GIB
    assert small.weights_gib_per_gpu + kv_gib + small.reserve_gib_per_gpu <= 48.0


def test_a_context_that_cannot_fit_is_refused_with_the_numbers_and_what_would():
    plan = make_plan(_mac("m3-max-64", model="deepseek-r1-distill-llama-70b", max_model_len=65536))
    assert not plan.fits
    assert "Metal keeps 48.0 GiB" in plan.reason and "4-bit weights take 37.0 GiB" in plan.reason
    assert any(s.startswith("max_model_len ") for s in plan.suggestions)


def test_a_raised_wired_limit_gives_more_kv_cache():
    default = make_plan(_mac("m3-max-64", model="deepseek-r1-distill-llama-70b"))
    raised = make_plan(_mac("m3-max-64", model="deepseek-r1-distill-llama-70b", wired_limit_mib=57344))
    assert raised.kv_cache_tokens > default.kv_cache_tokens
    assert raised.max_num_seqs * raised.max_model_len > default.max_num_seqs * default.max_model_len


def test_the_server_gets_the_models_sampling_and_a_generation_cap():
    plan = make_plan(_mac(model="qwen3-32b"))
    command = plan.command
    assert command[0] == "mlx_lm.server" and command[command.index("--model") + 1] == "mlx-community/Qwen3-32B-4bit"
    assert command[command.index("--temp") + 1] == "0.6" and command[command.index("--top-k") + 1] == "20"
    assert command[command.index("--max-tokens") + 1] == str(plan.max_model_len)  # not the server's 512
    assert json.loads(command[command.index("--chat-template-args") + 1]) == {"enable_thinking": True}
    assert "--chat-template-args" not in make_plan(_mac(model="qwq-32b")).command  # no thinking switch


def test_macs_are_planned_for_mlx_only():
    assert make_plan(PlanRequest(gpus=tuple(gpus_from_profile("m4-max-128")), engine="auto")).engine == "mlx"
    refused = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("m4-max-128")), model="qwq-32b"))
    assert not refused.fits and "engine 'mlx'" in refused.reason
    nvidia = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-4090")), engine="mlx"))
    assert not nvidia.fits and "Apple Silicon" in nvidia.reason


def _all_mlx_command_lines() -> list[list[str]]:
    seen: dict[str, list[str]] = {}
    for profile in MACS:
        for model in [*mlx.REPOS, "auto"]:
            for quant in ("auto", "mlx-8bit", "mlx-4bit"):
                for thinking in (True, False):
                    plan = make_plan(_mac(profile, model=model, quantization=quant, thinking_default=thinking,
                                          min_context=8192))
                    if plan.fits:
                        seen.setdefault(json.dumps(plan.command), plan.command)
    return list(seen.values())


@pytest.fixture(scope="module")
def argcheck() -> list[str]:
    return parser_command("MLX-LM", "MLX_ARGCHECK_PYTHON", ARGCHECK)


def test_every_planned_command_line_passes_mlx_lms_own_parser(tmp_path: Path, argcheck: list[str]):
    lines = [command[1:] for command in _all_mlx_command_lines()]
    assert len(lines) >= 20
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps(lines))
    out = subprocess.run([*argcheck, "--batch", str(batch)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stdout + out.stderr


def test_mlx_lms_parser_refuses_what_the_server_would(argcheck: list[str]):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*argcheck, "--", "--model", "m", *args], capture_output=True, text=True, timeout=120)

    assert run("--temp", "0.6").returncode == 0
    assert run("--temp", "warm").returncode == 1
    assert run("--tem", "0.6").returncode == 1  # an abbreviation argparse would take
    assert run("--chat-template-args", "{not json").returncode == 1
    assert run("--context-length", "4096").returncode == 1  # MLX-LM has no context flag: the plan caps tokens


def test_the_flags_the_stack_sets_are_the_pinned_mlx_lms(argcheck: list[str]):
    out = subprocess.run([*argcheck, "--list-flags"], capture_output=True, text=True, timeout=120, check=True)
    flags = set(out.stdout.split())
    used = {a for command in _all_mlx_command_lines() for a in command if a.startswith("--")}
    assert used <= flags, used - flags


def _settings(**data: object) -> StackSettings:
    return validate_host_data("mac", {"engine": "mlx", "gpu_profile": "m4-max-128", **data})


def test_the_mlx_job_is_a_plist_launchd_can_read():
    settings = _settings()
    plan = plan_host(settings, gpus_from_profile("m4-max-128"))
    job = mlx_job(settings, plan.instances[0], "alice", MLX_VERSION)
    plist = plistlib.loads(job.plist_text.encode())
    assert plist["Label"] == "com.reasoning-stack.mlx" and plist["UserName"] == "alice"
    assert plist["ProgramArguments"][0] == f"{MLX_VENV}/bin/mlx_lm.server"
    assert plist["ProgramArguments"][1:] == list(plan.instances[0].plan.command[1:])
    assert plist["KeepAlive"] is True and plist["RunAtLoad"] is True
    assert plist["EnvironmentVariables"]["HF_HUB_OFFLINE"] == "1"  # the deploy downloads the weights first
    assert plist["StandardOutPath"] == job.log_path == "/var/lib/reasoning-stack/logs/mlx.log"
    assert job.health_url == "http://127.0.0.1:8000/health"


def test_the_open_webui_job_keeps_every_secret_out_of_its_plist(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("REASONING_STACK_OPENWEBUI_ADMIN_PASSWORD", "s3cret-admin-pw")
    monkeypatch.setenv("REASONING_STACK_OPENWEBUI_SECRET_KEY", "s3cret-signing-key")
    settings = _settings(openwebui_admin_email="admin@localhost")
    plan = plan_host(settings, gpus_from_profile("m4-max-128"))
    job, env_path, env_text = openwebui_job(settings, plan, "alice")
    plist = plistlib.loads(job.plist_text.encode())
    assert "s3cret" not in job.plist_text and "s3cret-admin-pw" in env_text
    args = plist["ProgramArguments"]
    assert args[1:4] == [ENV_EXEC, "--user", "alice"] and env_path in args
    assert args[args.index("--") + 1:] == [f"{OPENWEBUI_VENV}/bin/open-webui", "serve", "--host", "0.0.0.0",
                                           "--port", "3000"]
    assert "UserName" not in plist  # env-exec starts as root to read the 0600 files, then drops to alice
    assert plist["EnvironmentVariables"]["DATA_DIR"] == "/var/lib/reasoning-stack/open-webui"
    repo = plan.instances[0].plan.model_repo
    assert "OPENAI_API_BASE_URLS=http://127.0.0.1:8000/v1" in env_text and f"DEFAULT_MODELS={repo}" in env_text


def test_env_exec_reads_the_env_files_then_runs_the_command(tmp_path: Path):
    helper = tmp_path / "env-exec"
    helper.write_text(render("env-exec.py.j2"))
    env = tmp_path / "service.env"
    env.write_text("# a comment\nWEBUI_SECRET_KEY=a=b c;d\nEMPTY=\n")
    user = pwd.getpwuid(os.getuid()).pw_name
    out = subprocess.run([sys.executable, str(helper), "--user", user, str(env), "--", sys.executable, "-c",
                          "import os; print(repr(os.environ['WEBUI_SECRET_KEY']), repr(os.environ['EMPTY']))"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "'a=b c;d' ''"
    assert subprocess.run([sys.executable, str(helper), str(env)], capture_output=True, timeout=30).returncode != 0


def test_helpers_on_a_mac_run_with_the_stacks_own_python():
    text = helper_text("wait-http.py.j2")
    assert text.startswith(f"#!{MLX_VENV}/bin/python\n") and "--log" in text


def test_the_mac_fact_becomes_the_planners_gpu():
    gpu = mac_gpu({"memsize": 137438953472, "brand": "Apple M4 Max"})
    assert gpu.name == "Apple M4 Max 128 GB" and gpu.slug == "m4-max-128" and gpu.unified and gpu.apple
    assert gpu.memory_mib == 131072


@pytest.mark.parametrize("data, key", [
    ({"gpu_profile": "rtx-4090"}, "NVIDIA GPU"),
    ({"api_listen": "0.0.0.0"}, "no API key"),
    ({"extra_models": [{"name": "fast", "model": "qwen3-8b", "port": 8001}]}, "one model on one Mac"),
    ({"quantization": "awq"}, "mlx-community weights"),
])
def test_what_a_mac_refuses_before_any_host_is_contacted(data: dict[str, object], key: str):
    with pytest.raises(SettingsInvalid, match=key):
        _settings(**data)
    with pytest.raises(SettingsInvalid, match="set engine = 'mlx'"):
        validate_host_data("mac", {"gpu_profile": "m4-max-128"})


def test_the_example_desk_inventory_checks_and_plans_a_spark_and_a_mac():
    run = [sys.executable, "-m", "reasoning_stack.cli"]
    check = subprocess.run([*run, "check", "inventories/desk.py"], capture_output=True, text=True, cwd=ROOT)
    assert check.returncode == 0, check.stderr
    plan = subprocess.run([*run, "plan", "inventories/desk.py", "--json"], capture_output=True, text=True, cwd=ROOT)
    assert plan.returncode == 0, plan.stderr
    plans = json.loads(plan.stdout)["plans"]
    assert plans["spark"]["engine"] == "vllm" and plans["spark"]["gpu_memory_utilization"] == 0.8
    assert plans["mac"]["engine"] == "mlx" and plans["mac"]["model_repo"] == "mlx-community/gpt-oss-120b-MXFP4-Q8"
    # the examples ship what the planner itself picks there (the 70B distill at ~3 tokens/s was not)
    assert plans["spark"]["model"] == "gpt-oss-120b"
