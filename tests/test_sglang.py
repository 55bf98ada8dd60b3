"""SGLang as an engine: its memory model, its command line (checked by SGLang 0.5.23's own parser), its unit
and the settings it refuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from engine_parsers import parser_command

from reasoning_stack.catalogue import GPUS, MODELS
from reasoning_stack.engines import sglang
from reasoning_stack.engines.sglang import memory as sglang_memory
from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.plan import PlanRequest, make_plan
from reasoning_stack.services import engine_service
from reasoning_stack.settings import SECRET_ENV_VARS
from reasoning_stack.validation import SettingsInvalid, validate_host_data

ROOT = Path(__file__).resolve().parent.parent
ARGCHECK = ROOT / "tests/tools/sglang-argcheck/sglang_argcheck.py"


def _plan(profile: str, count: int = 1, **kw) -> object:
    return make_plan(PlanRequest(gpus=tuple(gpus_from_profile(profile, count)), engine="sglang", **kw))


def test_mem_fraction_static_follows_sglang_s_own_rule():
    """handle_gpu_memory_settings: reserved = 512 + chunked x 1.5 + tp/8 GiB + 2 MiB per decode graph batch
    (+ prefill graphs), at least 10 GiB above 60 GiB; fraction = (mem - reserved) / mem, three decimals."""
    model = MODELS["qwq-32b"]
    rtx = gpus_from_profile("rtx-4090")[0]  # 24564 MiB, CUDA sees 24084
    assert sglang_memory.gpu_class_defaults(rtx, 1) == (4096, 48)
    assert sglang_memory.mem_fraction_static(model, rtx, 1, 1, False) == round((24084 - (512 + 6144 + 128 + 96 + 256))
                                                                         / 24084, 3) == 0.704
    h100 = gpus_from_profile("h100")[0]
    assert sglang_memory.gpu_class_defaults(h100, 1) == (8192, 256)
    assert sglang_memory.mem_fraction_static(model, h100, 1, 1, False) == 0.831
    # tensor parallel 8 on H100: 1 GiB for parallel slack and 512 decode graph batches (2 MiB each)
    reserved = 512 + 12288 + 1024 + 1024 + 256
    assert sglang_memory.mem_fraction_static(model, h100, 8, 1, False) == round((81079 - reserved) / 81079, 3)
    # no CUDA graphs: their reserve goes to the static share
    assert sglang_memory.mem_fraction_static(model, rtx, 1, 1, True) > 0.704


def test_kv_cache_is_the_static_share_minus_the_weights():
    plan = _plan("rtx-4090", model="deepseek-r1-distill-qwen-7b", quantization="bf16")
    assert plan.fits and plan.engine == "sglang"
    pre_load = (24564 - 480) / 1024 - 0.5  # CUDA's total less the CUDA context
    kv = pre_load * plan.output.mem_fraction_static - plan.weights_gib_per_gpu
    assert plan.kv_cache_gib_per_gpu == pytest.approx(kv, abs=1e-6)
    per_token = 2 * 28 * 4 * 128 * 2  # layers x KV heads x head_dim x K,V x bf16
    assert plan.kv_cache_tokens == int(kv * 1024**3 // per_token)
    assert plan.max_model_len <= plan.kv_cache_tokens
    # SGLang keeps less for the KV cache than vLLM at 0.9 on the same card, and the planner says so in tokens
    vllm = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-4090")), model="deepseek-r1-distill-qwen-7b",
                                 quantization="bf16"))
    assert plan.kv_cache_tokens < vllm.kv_cache_tokens


def test_known_answer_qwen3_235b_on_four_h100():
    """A published SGLang start-up (vllm-project/vllm#21348): Qwen3-235B-A22B-FP8, ``--tp 4
    --mem-fraction-static 0.93`` on 4x H100 logged "KV Cache is allocated. #tokens: 367404, K size: 8.23 GB,
    V size: 8.23 GB". The cell size is exact (K + V of 367404 tokens at 94 layers x 1 KV head per GPU x 128 x
    2 bytes = 16.47 GiB, SGLang's "GB" being GiB); the token count is within the 15% the vLLM known answers
    allow (the checkpoint's scales and bf16 norms and gates make its weights a little larger than 1 byte per
    parameter)."""
    from reasoning_stack.catalogue import ModelSpec

    # Qwen3-235B-A22B config.json: 94 layers, 4 KV heads, head_dim 128, hidden 4096, vocab 151936, untied
    model = ModelSpec("qwen3-235b-a22b", "Qwen3-235B-A22B", "qwen3", 0, 235.09, 1.24, 94, 4, 128, 4096, 151936,
                      40960, {"fp8": "Qwen/Qwen3-235B-A22B-FP8"}, "qwen3")
    budget = sglang_memory.gpu_budget(model, "fp8", gpus_from_profile("h100")[0], 4, 1, 0.9, "auto", False,
                               fraction=0.93)
    logged_tokens, logged_kv_gib = 367404, 8.23 + 8.23
    assert logged_tokens * budget.kv_per_token / 1024**3 == pytest.approx(logged_kv_gib, abs=0.01)
    assert abs(budget.tokens / logged_tokens - 1) < 0.15
    print(f"SGLang known answer: {budget.tokens} planned vs {logged_tokens} logged "
          f"({budget.tokens / logged_tokens - 1:+.1%})")


def test_command_line_spells_sglang_s_names():
    plan = _plan("rtx-4090", 2, model="qwq-32b", listen="0.0.0.0", port=30001)
    cmd = plan.command
    assert cmd[:3] == ["python3", "-m", "sglang.launch_server"]
    assert cmd[cmd.index("--model-path") + 1] == "Qwen/QwQ-32B-AWQ"
    assert cmd[cmd.index("--tp-size") + 1] == "2"
    assert cmd[cmd.index("--reasoning-parser") + 1] == "deepseek-r1"  # vLLM's spelling is deepseek_r1
    assert cmd[cmd.index("--context-length") + 1] == str(plan.max_model_len)
    assert cmd[cmd.index("--mem-fraction-static") + 1] == f"{plan.output.mem_fraction_static:g}"
    assert "--enable-metrics" in cmd and "--api-key" not in cmd and not hasattr(plan.output, "args")
    qwen3 = _plan("h100", model="qwen3-32b", thinking_default=False)
    assert qwen3.command[qwen3.command.index("--reasoning-parser") + 1] == "qwen3"
    assert json.loads(qwen3.command[qwen3.command.index("--default-chat-template-kwargs") + 1]) == {
        "enable_thinking": False}


def all_sglang_arg_lists() -> list[list[str]]:
    """Distinct SGLang argument lists over the catalogue: every model x GPU x count x weights format x KV dtype."""
    seen: dict[str, list[str]] = {}
    for model, spec in MODELS.items():
        for gpu in GPUS:
            for count in (1, 2, 4, 8):
                for quant in ("auto", *spec.repos):
                    for kv in ("auto", "fp8"):
                        plan = make_plan(PlanRequest(
                            gpus=tuple(gpus_from_profile(gpu, count)), model=model, quantization=quant,
                            kv_cache_dtype=kv, min_context=4096, engine="sglang", thinking_default=count != 2,
                            enable_prefix_caching=count != 4,
                            extra_args=("--max-running-requests", "64") if count == 8 else ()))
                        if plan.fits:
                            seen.setdefault(json.dumps(plan.command), plan.command[3:])
    return list(seen.values())


@pytest.fixture(scope="module")
def argcheck() -> list[str]:
    """SGLang 0.5.23's own parser (scripts/test sets it up); fails under CI when missing."""
    return parser_command("SGLang", "SGLANG_ARGCHECK_PYTHON", ARGCHECK)


def test_planned_command_lines_pass_sglang_s_parser(tmp_path: Path, argcheck: list[str]):
    arg_lists = all_sglang_arg_lists()
    assert {a[a.index("--model-path") + 1] for a in arg_lists} >= {"Qwen/QwQ-32B-AWQ", "Qwen/Qwen3-32B"}
    for flag in ("--dp-size", "--kv-cache-dtype", "--disable-cuda-graph", "--max-running-requests",
                 "--default-chat-template-kwargs", "--disable-radix-cache", "--trust-remote-code"):
        assert any(flag in a for a in arg_lists), flag
    batch = tmp_path / "args.json"
    # as the unit runs them on a host with an API key: --config names the 0600 file
    batch.write_text(json.dumps([a + ["--config", "/etc/sglang/secrets.yaml"] for a in arg_lists]))
    out = subprocess.run([*argcheck, "--batch", str(batch)], capture_output=True, text=True, timeout=600)
    print(f"{len(arg_lists)} distinct SGLang argument lists checked")
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stdout[-3000:] + out.stderr[-3000:]


def test_sglang_s_parser_refuses_what_sglang_refuses(argcheck: list[str]):
    def check(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*argcheck, "--", "--model-path", "m", *args], capture_output=True, text=True,
                              timeout=120)

    assert check("--reasoning-parser", "deepseek_r1").returncode == 1  # vLLM's spelling
    assert check("--mem-frac", "0.8").returncode == 1  # an abbreviation argparse would take
    assert check("--tp-size", "two").returncode == 1


def test_the_shipped_flag_list_is_the_pinned_sglang_s(argcheck: list[str]):
    """reasoning_stack/sglang_flags.py is exactly SGLang 0.5.23's server flags; scripts/sglang-flags regenerates it."""
    from reasoning_stack.engines.sglang.flags import SGLANG_FLAGS, SGLANG_OWNED_FLAGS

    out = subprocess.run([*argcheck, "--list-flags"], capture_output=True, text=True, timeout=300, check=True)
    assert set(out.stdout.split()) == set(SGLANG_FLAGS)
    assert set(SGLANG_OWNED_FLAGS) <= set(SGLANG_FLAGS)


def _settings(environ: dict[str, str] | None = None, **data):
    return validate_host_data("box", data, environ=environ or {})


def test_settings_refuse_what_sglang_cannot_do():
    cases = {
        "sampling_overrides": dict(sampling_overrides={"temperature": 0.6}),
        "nvidia_driver_branch 570": dict(nvidia_driver_branch=570),
        "--tp-size is set by the stack; use tensor_parallel_size": dict(sglang_extra_args=["--tp-size", "2"]),
        "did you mean '--max-total-tokens'": dict(sglang_extra_args=["--max-total-token", "4096"]),
        "full --flag-name": dict(sglang_extra_args=["-h"]),
        "api-key": dict(sglang_extra_args=["--api-key=abc"]),
    }
    for words, data in cases.items():
        with pytest.raises(SettingsInvalid) as err:
            _settings(engine="sglang", **data)
        assert words in str(err.value), (words, str(err.value))
    with pytest.raises(SettingsInvalid, match="no instance of this host runs SGLang"):
        _settings(sglang_extra_args=["--max-total-tokens", "4096"])
    assert _settings(engine="sglang", sglang_extra_args=["--schedule-policy", "lpm"]).engine == "sglang"


def test_vllm_and_sglang_side_by_side_get_a_gpu_each_and_units_named_by_engine():
    s = _settings(model="deepseek-r1-distill-qwen-14b", quantization="awq",
                  extra_models=[{"name": "batch", "model": "qwen3-8b", "port": 30000, "engine": "sglang"}])
    host_plan = plan_host(s, gpus_from_profile("rtx-4090", 2))
    assert host_plan.fits and host_plan.layout == "split", host_plan.reason
    primary, batch = host_plan.instances
    assert (primary.unit, batch.unit) == ("reasoning-vllm", "reasoning-sglang-batch")
    assert (primary.engine, batch.engine, batch.container) == ("vllm", "sglang", "sglang-batch")
    assert batch.plan.gpus_used == [1]
    # one GPU for both: only vLLM instances share GPUs
    refused = plan_host(s, gpus_from_profile("rtx-4090", 1))
    assert not refused.fits and "only vLLM instances share GPUs" in refused.reason


def test_sglang_unit_keeps_the_api_key_in_a_0600_config_file():
    env = {SECRET_ENV_VARS["api_key"]: "sk-sgl-42", SECRET_ENV_VARS["hf_token"]: "hf_tok"}
    s = _settings(env, engine="sglang", model="qwq-32b")
    instance = plan_host(s, gpus_from_profile("rtx-4090", 2)).instances[0]
    files = engine_service(s, instance, 2)
    assert files.unit == "reasoning-sglang" and files.image == sglang.IMAGE
    exec_start = next(line for line in files.unit_text.splitlines() if line.startswith("ExecStart="))
    assert "--entrypoint python3" in exec_start and f" {sglang.IMAGE} -m sglang.launch_server " in exec_start
    assert "--volume /etc/reasoning-stack/reasoning-sglang.yaml:/etc/sglang/secrets.yaml:ro" in exec_start
    assert exec_start.endswith("--config /etc/sglang/secrets.yaml")
    assert "sk-sgl-42" not in files.unit_text and "hf_tok" not in files.unit_text
    assert files.secret_path == "/etc/reasoning-stack/reasoning-sglang.yaml"
    assert 'api-key: "sk-sgl-42"' in files.secret_text and "HF_TOKEN=hf_tok" in files.env_text
    assert files.health_url.endswith(":8000/health") and files.ready_url.endswith(":8000/v1/models")
    no_key = engine_service(_settings(engine="sglang", model="qwq-32b"), instance, 2)
    assert "--config" not in no_key.unit_text and no_key.secret_path == ""


def test_plan_cli_answers_what_if_for_sglang():
    out = subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "plan", "--gpu", "rtx-4090", "--count", "2",
                          "--model", "qwq-32b", "--engine", "sglang", "--json"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["engine"] == "sglang" and data["command"][:3] == ["python3", "-m", "sglang.launch_server"]
    assert data["mem_fraction_static"] == data["gpu_memory_utilization"] < 0.75
    vllm = json.loads(subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "plan", "--gpu", "rtx-4090",
                                      "--count", "2", "--model", "qwq-32b", "--json"], capture_output=True, text=True,
                                     cwd=ROOT, timeout=120).stdout)
    assert vllm["engine"] == "vllm" and vllm["command"][:2] == ["vllm", "serve"]
