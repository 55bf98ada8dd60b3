"""The serving planner: KV math from config.json figures, honest refusals with numbers, suggestions."""

import json
import subprocess
import sys

import pytest

from reasoning_stack.catalogue import MODELS, match_gpu, weights_gib
from reasoning_stack.gpus import Gpu, gpus_from_profile, parse_nvidia_smi_csv
from reasoning_stack.plan import PlanRequest, make_plan

KIB = 1024


def plan(gpu: str, count: int = 1, **kw):
    return make_plan(PlanRequest(gpus=tuple(gpus_from_profile(gpu, count)), **kw))


@pytest.mark.parametrize(
    ("slug", "kib"),
    # bf16 KV bytes per token = 2 (K,V) x layers x kv_heads x head_dim x 2 bytes, from each config.json
    [("deepseek-r1-distill-qwen-1.5b", 28), ("deepseek-r1-distill-qwen-7b", 56), ("deepseek-r1-distill-qwen-14b", 192),
     ("deepseek-r1-distill-qwen-32b", 256), ("deepseek-r1-distill-llama-8b", 128),
     ("deepseek-r1-distill-llama-70b", 320), ("qwq-32b", 256), ("qwen3-8b", 144), ("qwen3-14b", 160),
     ("qwen3-32b", 256)],
)
def test_kv_bytes_per_token(slug, kib):
    assert MODELS[slug].kv_bytes_per_token() == kib * KIB


def test_mla_kv_bytes_per_token():
    # DeepSeek-R1: 61 layers x (kv_lora_rank 512 + qk_rope_head_dim 64) x 2 bytes
    assert MODELS["deepseek-r1"].kv_bytes_per_token() == 61 * 576 * 2


def test_awq_32b_weights_match_published_size():
    # The 32B AWQ checkpoints are about 19.3 GB (GiB) of safetensors.
    assert 17.5 < weights_gib(MODELS["deepseek-r1-distill-qwen-32b"], "awq") < 19.5
    assert 60 < weights_gib(MODELS["qwq-32b"], "bf16") < 62


def test_32b_awq_32k_on_one_4090_is_refused_with_numbers():
    result = plan("rtx-4090", model="deepseek-r1-distill-qwen-32b", quantization="awq", max_model_len=32768)
    assert not result.fits
    assert "does not fit 1x NVIDIA GeForce RTX 4090 (24.0 GiB each, 23.52 GiB to CUDA)" in result.reason
    assert "GiB per GPU" in result.reason and "tokens of KV cache" in result.reason
    tips = " | ".join(result.suggestions)
    assert "tensor_parallel_size 2" in tips
    assert "max_model_len" in tips
    assert "model " in tips  # a smaller model


def test_dual_4090_runs_qwq_32k_with_tensor_parallel_2_and_bf16_kv():
    result = plan("rtx-4090", 2, model="qwq-32b", max_model_len=32768)
    assert result.fits
    assert result.tensor_parallel_size == 2 and result.kv_cache_dtype == "auto"
    assert result.kv_cache_tokens >= 32768
    assert result.output.args[:1] == ["Qwen/QwQ-32B-AWQ"]
    assert "--tensor-parallel-size" in result.output.args


def test_fp8_kv_only_when_needed():
    short = plan("rtx-4090", model="deepseek-r1-distill-qwen-14b", quantization="awq", max_model_len=16384)
    assert short.fits and short.kv_cache_dtype == "auto"
    long = plan("rtx-4090", model="deepseek-r1-distill-qwen-14b", quantization="awq", max_model_len=65536)
    assert long.fits and long.kv_cache_dtype == "fp8"
    assert "--kv-cache-dtype" in long.output.args


def test_full_r1_needs_two_h100_nodes():
    one = plan("h100", 8, model="deepseek-r1")
    assert not one.fits
    assert any("2 nodes" in s for s in one.suggestions)
    two = plan("h100", 8, model="deepseek-r1", nodes=2)
    assert two.fits and (two.tensor_parallel_size, two.pipeline_parallel_size) == (8, 2)
    args = two.output.args
    assert args[args.index("--pipeline-parallel-size") + 1] == "2"
    assert "--distributed-executor-backend" not in args  # mp: the node arguments come per node
    ray = plan("h100", 8, model="deepseek-r1", nodes=2, cluster_backend="ray").output.args
    assert ray[ray.index("--distributed-executor-backend") + 1] == "ray"
    assert plan("h200", 8, model="deepseek-r1").fits


def test_auto_prefers_stronger_models_on_bigger_hardware():
    small = plan("rtx-8gb", model="auto")
    mid = plan("rtx-4090", model="auto")
    big = plan("h100", 2, model="auto")
    assert small.fits and mid.fits and big.fits
    assert MODELS[small.model].strength < MODELS[mid.model].strength < MODELS[big.model].strength
    assert mid.max_model_len >= 16384


def test_every_plan_keeps_its_promise():
    for gpu in ("rtx-3090", "rtx-4090", "rtx-5090", "a100-80", "h100"):
        for count in (1, 2):
            for model in MODELS:
                result = plan(gpu, count, model=model, min_context=8192)
                if result.fits:
                    assert result.kv_cache_tokens >= result.max_model_len >= 8192
                    assert result.weights_gib_per_gpu + result.reserve_gib_per_gpu + result.kv_cache_gib_per_gpu <= (
                        result.gpu_memory_gib * result.gpu_memory_utilization + 1e-6)
                else:
                    assert result.reason


def test_unknown_gpu_planned_from_reported_memory():
    gpus = (Gpu(0, "NVIDIA RTX PRO 6000 Blackwell", 97887),)
    result = make_plan(PlanRequest(gpus=gpus, model="qwq-32b"))
    assert result.fits and result.quantization == "bf16"


def test_context_beyond_native_is_refused():
    result = plan("h100", model="qwq-32b", max_model_len=131072)
    assert not result.fits and "native context 40960" in result.reason


def test_nvidia_smi_names_match_catalogue():
    csv = "0, NVIDIA GeForce RTX 4090, 24564, GPU-1, 550.127.05, 8.9, 00000000:01:00.0\n" \
          "1, NVIDIA H100 80GB HBM3, 81559, GPU-2, 565.57.01, 9.0, 00000000:18:00.0\n"
    gpus = parse_nvidia_smi_csv(csv)
    assert [g.slug for g in gpus] == ["rtx-4090", "h100"]
    assert match_gpu("NVIDIA A100-SXM4-80GB").slug == "a100-80"
    assert match_gpu("NVIDIA A100-PCIE-40GB").slug == "a100-40"
    assert match_gpu("Tesla T4") is None


def test_every_profile_s_gpus_are_their_own_card_with_its_figures():
    """A plan from gpu_profile knows the card as the catalogue does: an A100 or an L4 profile once lost its
    bandwidth (no speed estimate) and L4's FP8, as its name matched none of the card's nvidia-smi names."""
    from reasoning_stack.catalogue import GPUS

    for slug, spec in GPUS.items():
        gpu = gpus_from_profile(slug)[0]
        assert gpu.slug == slug and match_gpu(gpu.name) is spec
    assert plan("l4", model="qwen3-8b").decode_tokens_per_s is not None


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "plan", *args], capture_output=True, text=True)


def test_what_if_json():
    out = _cli("--gpu", "rtx-4090", "--count", "2", "--model", "qwq-32b", "--context", "32768", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for key in ("fits", "reason", "suggestions", "model_repo", "quantization", "tensor_parallel_size",
                "pipeline_parallel_size", "nodes", "gpu_memory_utilization", "kv_cache_dtype", "max_model_len",
                "weights_gib_per_gpu", "kv_cache_gib_per_gpu", "kv_cache_tokens", "max_concurrent_full_context",
                "vllm_args"):
        assert key in data, key
    assert data["fits"] is True and data["tensor_parallel_size"] == 2


def test_what_if_refusal_exits_3():
    out = _cli("--gpu", "rtx-4090", "--model", "deepseek-r1-distill-qwen-32b", "--quantization", "awq",
               "--context", "32768")
    assert out.returncode == 3
    assert "DOES NOT FIT" in out.stdout and "instead:" in out.stdout


def test_a_plan_that_runs_the_repositorys_own_code_says_so():
    """--trust-remote-code runs Python from the model's repository: plan says so (Nemotron 3's repos ship their config
    class), and says nothing of it for a model that needs none."""
    nemotron = _cli("--gpu", "rtx-pro-6000", "--model", "nemotron-3-nano-30b-a3b")
    assert nemotron.returncode == 0, nemotron.stderr
    assert "--trust-remote-code" in nemotron.stdout.split(" runs: ")[1].splitlines()[0]
    assert "runs the model repository's own Python" in nemotron.stdout and "model_revision" in nemotron.stdout
    qwen = _cli("--gpu", "rtx-4090", "--model", "qwen3-8b")
    assert qwen.returncode == 0 and "--trust-remote-code" not in qwen.stdout and "own Python" not in qwen.stdout


def test_inventory_plan_table():
    out = _cli("inventories/home.py")
    assert out.returncode == 0, out.stderr
    assert "gpu-box" in out.stdout and "KV tokens" in out.stdout


def test_fewer_sequences_before_fp8_kv_cache():
    # QwQ-32B AWQ on one 4090: vLLM's default 256 sequences leave ~5K tokens of bf16 KV cache; the
    # planner lowers max_num_seqs (the profiling sampler pass shrinks) before it touches the KV dtype.
    result = plan("rtx-4090", model="qwq-32b", quantization="awq", max_model_len=8192)
    assert result.fits and result.kv_cache_dtype == "auto"
    assert result.max_num_seqs in (64, 16)
    args = result.output.args
    assert args[args.index("--max-num-seqs") + 1] == str(result.max_num_seqs)
    assert result.activation_gib_per_gpu < 0.5


def test_users_max_num_seqs_is_kept_and_counted():
    result = plan("rtx-4090", model="qwq-32b", quantization="awq", max_model_len=8192,
                  extra_args=("--max-num-seqs", "8"))
    assert result.fits and result.max_num_seqs is None
    assert result.output.args.count("--max-num-seqs") == 1
    assert result.activation_gib_per_gpu < 0.1


def test_eager_only_when_cuda_graphs_lack_room_beside_the_budget():
    """vLLM 0.17.1 keeps context, NCCL and the graph pool beside its budget (later releases count them inside)."""
    default = plan("rtx-4090", model="qwen3-8b", max_model_len=16384, release="0.17.1")
    assert default.fits and not default.enforce_eager
    assert default.headroom_gib_per_gpu >= default.headroom_needed_gib_per_gpu
    tight = plan("rtx-4090", model="qwen3-8b", max_model_len=16384, gpu_memory_utilization=0.96, release="0.17.1")
    assert tight.fits and tight.enforce_eager and "--enforce-eager" in tight.output.args
    assert tight.cuda_graph_gib_per_gpu == 0


def test_refusal_names_the_missing_room_beside_the_budget():
    result = plan("rtx-4090", model="qwen3-8b", max_model_len=16384, gpu_memory_utilization=0.97,
                  enforce_eager=False, release="0.17.1")
    assert not result.fits
    assert "remain for CUDA context, NCCL and CUDA graphs" in result.reason
    assert "gpu_memory_utilization 0.95 or less leaves enough" in result.reason


def test_colocated_instances_need_room_for_each_context():
    single = plan("rtx-4090", model="qwen3-8b", max_model_len=8192, gpu_memory_utilization=0.45)
    shared = plan("rtx-4090", model="qwen3-8b", max_model_len=8192, gpu_memory_utilization=0.45, colocated=2)
    assert single.headroom_gib_per_gpu > shared.headroom_gib_per_gpu
    assert shared.headroom_needed_gib_per_gpu == pytest.approx(2 * single.headroom_needed_gib_per_gpu)
