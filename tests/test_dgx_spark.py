"""DGX Spark: the GB10's unified memory from the facts, the plan that leaves the system room, the aarch64 images
and two Sparks as a cluster. The facts are recorded outputs (tests/fixtures: nvidia-smi with [N/A] memory,
lspci, MemTotal); their parsing is also run by the fact fixtures in tests/test_fixtures.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from reasoning_stack.arch import PlatformError
from reasoning_stack.catalogue import MODELS
from reasoning_stack.cluster import find_clusters
from reasoning_stack.cuda import cuda_total_gib
from reasoning_stack.engines.vllm.memory import max_safe_utilization
from reasoning_stack.engines.vllm.service import vllm_service
from reasoning_stack.facts import NvidiaGpus
from reasoning_stack.gpus import GpuQueryError, gpus_from_profile, parse_nvidia_smi_csv
from reasoning_stack.instances import plan_host
from reasoning_stack.pci import parse_lspci
from reasoning_stack.plan import PlanRequest, make_plan
from reasoning_stack.services import ClusterNode, ray_service
from reasoning_stack.settings import StackSettings
from reasoning_stack.validation import SettingsInvalid, validate_host_data

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia-smi"
MEMTOTAL = "MemTotal:       127600748 kB"  # a DGX Spark's /proc/meminfo (121.69 GiB)


def _spark(**wishes: object) -> PlanRequest:
    return PlanRequest(gpus=tuple(gpus_from_profile("gb10")), **wishes)  # type: ignore[arg-type]


def test_the_gpu_fact_takes_the_systems_memory_when_nvidia_smi_reports_none():
    output = [*FIXTURES.joinpath("gb10x1.csv").read_text().splitlines(), "rc=0", MEMTOTAL]
    fact = NvidiaGpus().process(output)
    assert fact is not None and fact["error"] is None
    (gpu,) = fact["gpus"]
    assert gpu.unified and gpu.memory_mib == 124610 and gpu.slug == "gb10" and gpu.compute_cap == "12.1"
    assert round(cuda_total_gib(gpu), 2) == 121.69  # what CUDA reports on a Spark: MemTotal, nothing hidden
    # the same line without MemTotal cannot be sized: said, not guessed
    with pytest.raises(GpuQueryError, match="unified memory"):
        parse_nvidia_smi_csv(FIXTURES.joinpath("gb10x1.csv").read_text())


def test_lspci_names_the_gb10_a_blackwell_gpu_and_skips_its_bridges():
    (gpu,) = parse_lspci(FIXTURES.joinpath("gb10x1.lspci").read_text().splitlines())
    assert (gpu.bus_id, gpu.device_id, gpu.architecture) == ("000f:01:00.0", "2e12", "blackwell")


def test_70b_distill_at_fp8_fits_one_spark_leaving_the_system_a_fifth():
    plan = make_plan(_spark(model="deepseek-r1-distill-llama-70b"))
    assert plan.fits and plan.quantization == "fp8" and plan.gpu_memory_utilization == 0.8
    # bf16 (131 GiB of weights) cannot fit 121.7 GiB; fp8 weights ~67.7 GiB leave KV cache for 79872 tokens
    assert 67 < plan.weights_gib_per_gpu < 68.5 and plan.max_model_len >= 65536
    assert "--gpu-memory-utilization 0.8" in " ".join(plan.output.args)
    bf16 = make_plan(_spark(model="deepseek-r1-distill-llama-70b", quantization="bf16"))
    assert not bf16.fits and "GiB" in bf16.reason


def test_32b_at_bf16_fits_one_spark_with_a_long_context():
    plan = make_plan(_spark(model="deepseek-r1-distill-qwen-32b", quantization="bf16"))
    assert plan.fits and plan.quantization == "bf16" and plan.max_model_len >= 114688
    budget = 121.69 * 0.8
    assert plan.weights_gib_per_gpu + plan.reserve_gib_per_gpu + plan.kv_cache_gib_per_gpu == pytest.approx(
        budget, abs=0.3)


def test_unified_memory_keeps_the_systems_share_unless_the_operator_sets_another():
    assert make_plan(_spark(model="qwq-32b")).gpu_memory_utilization == 0.8
    assert make_plan(_spark(model="qwq-32b", gpu_memory_utilization=0.7)).gpu_memory_utilization == 0.7
    # the "higher utilization" trade-off never offers more than the system's share on unified memory
    assert max_safe_utilization(MODELS["qwq-32b"], gpus_from_profile("gb10")[0], 1, 1, True) == 0.8
    # discrete GPUs keep their release's own: the whole GPU on 0.34.0 (the default), 0.90 on 0.17.1
    h100 = tuple(gpus_from_profile("h100"))
    assert make_plan(PlanRequest(gpus=h100, model="qwq-32b")).gpu_memory_utilization == 1.0
    assert make_plan(PlanRequest(gpus=h100, model="qwq-32b", release="0.17.1")).gpu_memory_utilization == 0.9


def test_aarch64_hosts_run_the_cuda_13_vllm_build_and_refuse_images_without_one():
    settings = StackSettings()  # 0.34.0: one multi-arch tag built on CUDA 13
    assert settings.for_arch("x86_64").vllm_image == "vllm/vllm-openai:v0.34.0"
    assert settings.for_arch("aarch64").vllm_image == "vllm/vllm-openai:v0.34.0"
    seed = StackSettings(vllm_version="0.17.1")  # 0.17.1's plain tag is CUDA 12.9 amd64: its -cu130 build on aarch64
    assert seed.for_arch("x86_64").vllm_image == "vllm/vllm-openai:v0.17.1"
    assert seed.for_arch("aarch64").vllm_image == "vllm/vllm-openai:v0.17.1-cu130"
    assert seed.for_arch("arm64").vllm_image == "vllm/vllm-openai:v0.17.1-cu130"
    with pytest.raises(PlatformError, match="ppc64le"):
        settings.for_arch("ppc64le")
    # the amd64-only vLLM build named for aarch64 hosts is refused, naming the setting
    pinned_wrong = StackSettings(vllm_version="0.17.1", vllm_image_arm64="vllm/vllm-openai:v0.17.1")
    with pytest.raises(PlatformError, match="vllm_image_arm64: vllm/vllm-openai:v0.17.1 has no aarch64 build"):
        pinned_wrong.for_arch("aarch64")
    # an image the stack does not pin is the operator's choice
    own = StackSettings(vllm_version="0.17.1", vllm_image_arm64="example/vllm-spark:0.17.1")
    assert own.for_arch("aarch64").vllm_image == "example/vllm-spark:0.17.1"
    assert StackSettings(engine="ollama").for_arch("aarch64").ollama_image == "ollama/ollama:0.32.6"


def test_check_refuses_sglang_on_a_declared_spark_before_any_host_is_contacted():
    with pytest.raises(SettingsInvalid) as caught:
        validate_host_data("spark", {"gpu_profile": "gb10", "engine": "sglang"})
    message = str(caught.value)
    assert "spark" in message and "sglang_image" in message and "engine 'vllm' or 'ollama'" in message
    assert validate_host_data("spark", {"gpu_profile": "gb10"}).engine == "vllm"


def test_the_spark_driver_is_kept_as_dgx_os_ships_it():
    settings = validate_host_data("spark", {"gpu_profile": "gb10", "nvidia_driver": "preinstalled"})
    assert settings.nvidia_driver == "preinstalled"
    with pytest.raises(SettingsInvalid, match="nvidia_driver_branch"):
        validate_host_data("spark", {"gpu_profile": "gb10", "nvidia_driver_branch": 535})


SPARKS = {"cluster": "sparks", "cluster_interface": "enp1s0f1np1", "gpu_profile": "gb10",
          "model": "deepseek-r1-distill-llama-70b", "quantization": "bf16"}


def _two_sparks(backend: str) -> tuple[dict[str, StackSettings], object]:
    release = {"vllm_version": "0.17.1"} if backend == "ray" else {}  # Ray: the release whose image carries it
    settings = {name: validate_host_data(name, {**SPARKS, "cluster_role": role, "cluster_backend": backend, **release})
                for name, role in (("spark-1", "head"), ("spark-2", "worker"))}
    return settings, find_clusters(settings)["sparks"]


def test_two_sparks_linked_serve_the_70b_distill_at_bf16_across_both():
    settings, cluster = _two_sparks("mp")
    plan = plan_host(settings["spark-1"], gpus_from_profile("gb10"), len(cluster.nodes))
    assert plan.fits, plan.reason
    (instance,) = plan.instances
    args = " ".join(instance.plan.output.args)
    assert instance.plan.quantization == "bf16" and "--gpu-memory-utilization 0.8" in args
    assert instance.plan.tensor_parallel_size * instance.plan.pipeline_parallel_size == 2
    # one Spark alone cannot hold it at bf16
    assert not plan_host(settings["spark-1"], gpus_from_profile("gb10"), 1).fits
    node = ClusterNode(cluster, "spark-2", "192.168.100.11", "192.168.100.10", "enp1s0f1np1")
    unit = vllm_service(settings["spark-2"].for_arch("aarch64"), instance, 1, node).unit_text
    assert "vllm/vllm-openai:v0.34.0" in unit and "--node-rank 1" in unit and "--headless" in unit
    assert "NCCL_SOCKET_IFNAME=enp1s0f1np1" in unit


def test_ray_on_sparks_turns_the_memory_monitor_off():
    settings, cluster = _two_sparks("ray")
    node = ClusterNode(cluster, "spark-2", "192.168.100.11", "192.168.100.10", "enp1s0f1np1")
    unit = ray_service(settings["spark-2"].for_arch("aarch64"), node, 1, unified=True).unit_text
    assert "--env RAY_memory_monitor_refresh_ms=0" in unit and "vllm/vllm-openai:v0.17.1-cu130" in unit
    assert "RAY_memory_monitor" not in ray_service(settings["spark-2"], node, 1).unit_text


def test_the_plan_cli_sizes_a_spark(capsys: pytest.CaptureFixture[str]):
    from reasoning_stack.cli import main

    assert main(["plan", "--gpu", "gb10", "--model", "deepseek-r1-distill-qwen-32b"]) == 0
    out = capsys.readouterr().out
    assert "unified memory" in out and "--gpu-memory-utilization 0.8" in out
