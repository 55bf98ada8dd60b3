"""NVIDIA NIM as an engine: planned as the vLLM inside its model-free image (NIM LLM 2.1.6: vLLM 0.32.0), its flags
through that vLLM's own parser, refused with the way out where it cannot run (a Mac, a GPU below its floor, an image
the stack cannot plan, a tag that needs a key not given, beyond loopback), rendered with the NGC API key only in
its 0600 file and the login step printed. The deploy on a test host is in tests/e2e/test_single_box.py."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
from pathlib import Path

import pytest
from engine_parsers import vllm_argcheck

from reasoning_stack import engines
from reasoning_stack.cli import main
from reasoning_stack.engines.nim.releases import DEFAULT_RELEASE, RELEASES, read_image
from reasoning_stack.gpus import Gpu, gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.plan import PlanRequest, make_plan
from reasoning_stack.services import engine_service
from reasoning_stack.validation import SettingsInvalid, validate_host_data

REPO = Path(__file__).resolve().parents[1]
NGC_KEY = "nvapi-unit-SECRET-77"
IMAGE = RELEASES[DEFAULT_RELEASE].image


def _cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(argv))
    return code, out.getvalue()


def _plan(profile: str, count: int = 1, **kw) -> object:
    return make_plan(PlanRequest(gpus=tuple(gpus_from_profile(profile, count)), engine="nim", **kw))


@pytest.mark.parametrize("gpu", ["gb10", "rtx-4090"])
def test_the_issue_s_plans_fit_as_the_vllm_inside_nim(gpu: str):
    code, text = _cli("plan", "--engine", "nim", "--gpu", gpu, "--model", "deepseek-r1-distill-qwen-32b")
    assert code == 0, text
    assert "NVIDIA NIM 2.1.6: planned as the vLLM 0.32.0 inside it" in text
    runs = next(line for line in text.splitlines() if line.startswith("  nim runs: "))
    assert runs.startswith("  nim runs: nim-serve --served-model-name deepseek-r1-distill-qwen-32b --host 127.0.0.1")
    assert "--reasoning-parser deepseek_r1" in runs and "Qwen" not in runs  # the model is NIM_MODEL_PATH's
    assert "NIM_MODEL_PATH=hf://" in text


def test_a_nim_plan_is_the_vllm_0_32_plan_of_the_same_request():
    """The memory, the context, the layout and the flags are those vLLM 0.32.0 plans: NIM adds no figure of its own."""
    for profile, count, model in (("rtx-4090", 1, "deepseek-r1-distill-qwen-7b"), ("h100", 2, "qwq-32b"),
                                  ("gb10", 1, "gpt-oss-120b")):
        gpus = tuple(gpus_from_profile(profile, count))
        nim = make_plan(PlanRequest(gpus=gpus, model=model, engine="nim"))
        vllm = make_plan(PlanRequest(gpus=gpus, model=model, engine="vllm", release="0.32.0"))
        assert nim.fits and vllm.fits, (nim.reason, vllm.reason)
        for field in ("max_model_len", "kv_cache_tokens", "quantization", "kv_cache_dtype", "tensor_parallel_size",
                      "gpu_memory_utilization", "max_num_seqs"):
            assert getattr(nim, field) == getattr(vllm, field), field
        assert nim.output.args == vllm.output.args[1:] and nim.output.release == "0.32.0"
        assert nim.output.model_path == f"hf://{vllm.output.args[0]}"
        assert nim.to_json()["nim_release"] == "2.1.6" and vllm.to_json()["nim_release"] is None


def test_planned_flags_pass_the_parser_of_the_vllm_inside_nim(tmp_path: Path):
    """What NIM hands its vLLM (the model from NIM_MODEL_PATH, then the image's arguments) is accepted by vLLM
    0.32.0's own parser, for a spread of models, GPUs and settings."""
    arg_lists = {}
    for profile, count in (("rtx-4090", 1), ("rtx-4090", 2), ("h100", 4), ("gb10", 1), ("rtx-pro-6000", 1)):
        for model in ("deepseek-r1-distill-qwen-7b", "qwen3-32b", "gpt-oss-20b", "qwen3.6-35b-a3b", "glm-4.7-flash"):
            for kv in ("auto", "fp8"):
                plan = _plan(profile, count, model=model, kv_cache_dtype=kv, thinking_default=count != 2)
                if plan.fits:
                    args = [plan.output.model_path.removeprefix("hf://"), *plan.output.args]
                    arg_lists[json.dumps(args)] = args
    assert len(arg_lists) >= 20 and any("--kv-cache-dtype" in a for a in arg_lists.values())
    batch = tmp_path / "args.json"
    batch.write_text(json.dumps(list(arg_lists.values())))
    out = subprocess.run([*vllm_argcheck("0.32.0"), "--batch", str(batch)], capture_output=True, text=True,
                         timeout=600)
    print(f"{len(arg_lists)} NIM argument lists checked by vLLM 0.32.0's parser")
    assert out.returncode == 0 and out.stdout.count("ok ") == len(arg_lists), out.stdout[-3000:] + out.stderr[-2000:]


def test_refused_below_its_floor_and_on_a_mac_with_what_serves_instead():
    old = Gpu(0, "Tesla V100-SXM2-32GB", 32768, compute_cap="7.0")
    plan = make_plan(PlanRequest(gpus=(old,), model="qwen3-8b", engine="nim"))
    assert not plan.fits
    assert "compute capability 7.0; NVIDIA's model-free vLLM NIM needs 7.5 or higher" in plan.reason
    assert any(tip.startswith("engine 'vllm' (vLLM) fits it") for tip in plan.suggestions), plan.suggestions
    mac = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("m4-max-128")), model="qwen3-8b", engine="nim"))
    assert not mac.fits and "is served by engine 'mlx' (MLX-LM)" in mac.reason


def _settings(environ: dict[str, str] | None = None, **data: object):
    return validate_host_data("spark", {"gpu_profile": "gb10", "engine": "nim",
                                        "model": "deepseek-r1-distill-qwen-32b", **data},
                              environ=environ if environ is not None else {})


@pytest.mark.parametrize(("data", "words"), [
    ({"nim_image": "nvcr.io/nim/deepseek-ai/deepseek-r1-distill-qwen-32b:1.5.2"},
     "nim_image: nvcr.io/nim/deepseek-ai/deepseek-r1-distill-qwen-32b:1.5.2 is not a model-free vLLM NIM of a "
     "release the stack plans (NIM LLM 2.1.6"),
    ({"nim_image": "nvcr.io/nim/nvidia/vllm-model-free-nim:2.1.6-pb8"},
     "is a Production Branch tag, which needs an NGC API key to pull: export NGC_API_KEY"),
    ({"nim_image": "nvcr.io/nim/nvidia/vllm-model-free-nim:latest"}, "'latest' moves with every upstream release"),
    ({"api_listen": "0.0.0.0"}, "NVIDIA NIM has no API key, so its server listens on 127.0.0.1 only"),
    ({"offline": True}, "offline: NIM downloads the model itself into <data_dir>/nim"),
    ({"nvidia_driver_branch": 570}, "NIM 2.1.6 runs vLLM 0.32.0 on CUDA 13.0, which needs driver branch 580"),
    ({"nim_model_profile": "vllm fp8"}, "a profile is one word"),
    ({"cluster": "lab", "cluster_role": "head", "cluster_interface": "eth0"}, "engine: 'nim' is planned on one host"),
])
def test_check_refuses_what_nim_cannot_do_naming_the_host_and_the_way_out(data: dict, words: str):
    with pytest.raises(SettingsInvalid) as caught:
        _settings(**data)
    assert "spark" in str(caught.value) and words in str(caught.value), str(caught.value)


def test_a_profile_set_for_a_host_that_runs_no_nim_is_refused():
    with pytest.raises(SettingsInvalid, match="nim_model_profile: no instance of this host runs NVIDIA NIM"):
        validate_host_data("box", {"gpu_profile": "rtx-4090", "nim_model_profile": "vllm-bf16-tp1-pp1"}, environ={})


def test_image_names_read_as_nim_reads_them():
    pinned = read_image(IMAGE)
    assert (pinned.registry, pinned.model_free, pinned.version, pinned.needs_key) == ("nvcr.io", True, "2.1.6", False)
    mirror = read_image("127.0.0.1:5000/nim/nvidia/vllm-model-free-nim:2.1.6")
    assert mirror.registry == "127.0.0.1:5000" and mirror.release is RELEASES["2.1.6"]
    assert read_image("nvcr.io/nim/nvidia/model-free-nim:2.0.4").needs_key  # before 2.0.10
    assert read_image("nvcr.io/nim/nvidia/vllm-model-free-nim:2.1.5-pb7").needs_key
    assert read_image("mirror/vllm-model-free-nim:2.1.6").registry == "docker.io"


def test_the_unit_env_file_and_key_file_keep_the_key_where_it_belongs():
    settings = _settings({"NGC_API_KEY": NGC_KEY, "HF_TOKEN": "hf_unitSECRET"}, nim_model_profile="vllm-bf16-tp1-pp1")
    plan = plan_host(settings, gpus_from_profile("gb10"))
    service = engine_service(settings, plan.instances[0], 1)
    assert NGC_KEY not in service.unit_text and NGC_KEY not in service.env_text and "hf_unitSECRET" not in \
        service.unit_text
    assert f"{IMAGE} --served-model-name deepseek-r1-distill-qwen-32b --host 127.0.0.1 --port 8000" in \
        service.unit_text
    assert "--volume /var/lib/reasoning-stack/nim:/opt/nim/.cache" in service.unit_text
    env = dict(line.split("=", 1) for line in service.env_text.splitlines() if "=" in line and line[0] != "#")
    assert env == {"NIM_MODEL_PATH": "hf://deepseek-ai/DeepSeek-R1-Distill-Qwen-32B",
                   "NIM_SERVED_MODEL_NAME": "deepseek-r1-distill-qwen-32b", "NIM_SERVER_PORT": "8000",
                   "NIM_CACHE_PATH": "/opt/nim/.cache", "NIM_MODEL_PROFILE": "vllm-bf16-tp1-pp1",
                   "HF_TOKEN": "hf_unitSECRET"}
    assert service.health_url == "http://127.0.0.1:8000/v1/health/ready" and service.base_url == "http://127.0.0.1:8000"
    login = engines.get("nim").registry_login(settings)
    assert login is not None and login.registry == "nvcr.io" and login.password_file == \
        "/etc/reasoning-stack/registry-nvcr.io.key"
    assert login.command() == ("docker login nvcr.io --username '$oauthtoken' --password-stdin "
                               "< /etc/reasoning-stack/registry-nvcr.io.key")
    assert engines.get("nim").registry_login(_settings()) is None  # keyless: no login


def test_render_writes_the_key_as_a_placeholder_and_prints_the_login_step(tmp_path: Path, monkeypatch):
    (tmp_path / "inventories").mkdir()
    (tmp_path / "group_data").mkdir()
    (tmp_path / "inventories" / "spark.py").write_text('spark = [("spark-1.example", {"ssh_user": "ops"})]\n')
    (tmp_path / "group_data" / "spark.py").write_text(
        'gpu_profile = "gb10"\nengine = "nim"\nmodel = "deepseek-r1-distill-qwen-32b"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NGC_API_KEY", NGC_KEY)
    code, text = _cli("check", "inventories/spark.py")
    assert code == 0, text
    code, text = _cli("render", "inventories/spark.py", "--out", str(tmp_path / "out"))
    assert code == 0, text
    assert ("before its pulls, with the NGC API key (ngc_api_key): docker login nvcr.io --username '$oauthtoken' "
            "--password-stdin < /etc/reasoning-stack/registry-nvcr.io.key") in text
    host = tmp_path / "out" / "spark-1.example"
    assert (host / "etc/reasoning-stack/registry-nvcr.io.key").read_text() == "<secret from $NGC_API_KEY>"
    assert (host / "etc/systemd/system/reasoning-nim.service").exists()
    assert "metrics_path: /v1/metrics" in (host / "etc/prometheus/prometheus.yml").read_text()
    status = json.loads((host / "etc/reasoning-stack/status.json").read_text())
    unit = next(u for u in status["units"] if u["unit"] == "reasoning-nim")
    assert unit["health_path"] == "/v1/health/ready" and unit["release"] == "NIM 2.1.6 (vLLM 0.32.0)"
    assert not [p for p in host.rglob("*") if p.is_file() and NGC_KEY in p.read_text(errors="replace")]
    assert NGC_KEY not in text


def test_nothing_outside_its_package_names_nim():
    """NIM is one package: no other module of the product, and no template, names it (the registry, the engine's
    settings group, secrets and registry login reach the rest of the stack)."""
    pattern = re.compile(r"\bnim\b|NIM_|\bngc", re.IGNORECASE)
    named = []
    for path in [*(REPO / "reasoning_stack").rglob("*.py"), *(REPO / "templates").glob("*")]:
        if "engines/nim/" in path.as_posix() or path == REPO / "reasoning_stack/engines/__init__.py":
            continue  # its package, and the registry that registers every built-in engine
        named += [f"{path.relative_to(REPO)}:{n}" for n, line in enumerate(path.read_text().splitlines(), 1)
                  if pattern.search(line)]
    assert named == []


def test_check_refuses_a_gpu_below_nim_s_floor_naming_the_engines_that_serve_it(tmp_path: Path, monkeypatch):
    (tmp_path / "group_data").mkdir()
    (tmp_path / "inventory.py").write_text('boxes = [("old-box", {})]\n')
    (tmp_path / "group_data" / "boxes.py").write_text(
        'gpu_memory_gib = 32\ngpu_compute_capability = "7.0"\nengine = "nim"\nmodel = "qwen3-8b"\n')
    monkeypatch.chdir(tmp_path)
    code, text = _cli("check", "inventory.py")
    assert code != 0, text
    assert ("old-box: does not fit: GPU with 32 GiB has compute capability 7.0; NVIDIA's model-free vLLM NIM needs "
            "7.5 or higher") in text
    assert "instead: engine 'vllm' (vLLM) fits it" in text and "engine 'nim'" not in text.split("does not fit")[1]


def test_a_vllm_release_asked_of_nim_is_refused_not_ignored():
    asked = ("plan", "--gpu", "rtx-4090", "--model", "qwen3-8b", "--vllm-version", "0.17.1")
    code, text = _cli(*asked, "--engine", "nim")
    assert code != 0 and ("--vllm-version chooses the release engine 'vllm' is planned for; NVIDIA NIM (engine "
                          "'nim') is planned for its own") in text, text
    code, text = _cli(*asked, "--engine", "auto")
    assert code == 0, text  # auto may run vLLM: the release is for that


def test_debian_s_own_driver_is_read_as_engine_vllm_reads_it():
    """nvidia_driver 'debian' means branch 535, older than the CUDA 13 of the vLLM inside NIM 2.1.6."""
    with pytest.raises(SettingsInvalid, match="nvidia_driver: branch 535: NIM 2.1.6 runs vLLM 0.32.0 on CUDA 13.0, "
                       "which needs driver branch 580 or newer"):
        validate_host_data("box", {"gpu_profile": "rtx-4090", "engine": "nim", "nvidia_driver": "debian"},
                           environ={})
