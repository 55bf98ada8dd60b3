"""The whole machine serves: layouts (TP x PP x DP), the rule that picks one, parallel sizes checked everywhere,
trade-offs shown, what-if arguments bounded."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reasoning_stack.catalogue import GPUS, MODELS
from reasoning_stack.gpus import Gpu, gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.layout import layouts, tp_problem
from reasoning_stack.plan import PlanRequest, make_plan
from reasoning_stack.planning.gpu_search import ENOUGH_REQUESTS
from reasoning_stack.tradeoffs import alternatives
from reasoning_stack.validation import SettingsInvalid, validate_host_data


def plan(gpu: str, count: int = 1, **kw):
    return make_plan(PlanRequest(gpus=tuple(gpus_from_profile(gpu, count)), **kw))


@pytest.mark.parametrize(
    ("model", "tp", "quant", "why"),
    [
        ("deepseek-r1-distill-qwen-14b", 3, "bf16", "40 attention heads do not divide by 3"),
        ("deepseek-r1-distill-qwen-1.5b", 8, "bf16", "12 attention heads do not divide by 8"),
        # 13824 / 8 = 1728, not whole AWQ groups of 128: vLLM's "input size is not aligned" at load
        ("deepseek-r1-distill-qwen-14b", 8, "awq", "not whole quantization groups of 128"),
        ("deepseek-r1-distill-qwen-7b", 8, "bf16", "28 attention heads do not divide by 8"),
    ],
)
def test_tensor_parallel_sizes_vllm_would_refuse(model, tp, quant, why):
    problem = tp_problem(MODELS[model], tp, quant)
    assert problem is not None and why in problem


@pytest.mark.parametrize(("model", "tp", "quant"), [
    ("deepseek-r1-distill-llama-70b", 8, "bf16"), ("deepseek-r1", 8, "fp8"), ("deepseek-r1", 16, "fp8"),
    ("qwq-32b", 8, "awq"), ("deepseek-r1-distill-qwen-1.5b", 4, "bf16"), ("qwen3-14b", 8, "fp8"),
])
def test_tensor_parallel_sizes_vllm_accepts(model, tp, quant):
    assert tp_problem(MODELS[model], tp, quant) is None


def test_layouts_use_every_gpu_and_only_valid_sizes():
    options = layouts(MODELS["deepseek-r1-distill-qwen-14b"], "bf16", 8)
    assert {(o.tp, o.dp) for o in options if o.gpus_per_node == 8} == {(1, 8), (2, 4), (4, 2), (8, 1)}
    three = layouts(MODELS["deepseek-r1-distill-qwen-14b"], "bf16", 3)
    assert [(o.tp, o.dp) for o in three if o.gpus_per_node == 3] == [(1, 3)]  # 40 heads: no TP 3


def test_auto_on_eight_h100s_uses_all_eight():
    result = plan("h100", 8, model="auto")
    assert result.fits and result.model == "gpt-oss-120b"  # the strongest by AIME; one replica per GPU
    assert result.gpus_used == list(range(8)) and result.gpus_idle == []
    assert result.tensor_parallel_size * result.data_parallel_size == 8
    assert result.max_concurrent_full_context > 1.0  # the old plan: 2 GPUs, 1.0 request


@pytest.mark.parametrize("gpu", ["rtx-3090", "rtx-4090", "rtx-5090", "a6000", "l40s", "a100-80", "h100", "h200"])
def test_every_two_gpu_box_uses_both_when_the_model_fits_one(gpu):
    for model in MODELS:
        if not plan(gpu, 1, model=model).fits:
            continue
        both = plan(gpu, 2, model=model)
        assert both.fits, (gpu, model)
        assert both.gpus_used == [0, 1] and both.gpus_idle == [], (gpu, model, both.layout_reason)
        assert both.tensor_parallel_size * both.data_parallel_size == 2
        assert both.layout_reason.startswith(both.layout.label)


def test_rule_speed_decides_once_enough_requests_fit():
    # Qwen3-14B AWQ on two 4090s: two replicas decode a request faster than TP 2 over PCIe, and both
    # layouts serve more than ENOUGH_REQUESTS requests of 16K at once.
    result = plan("rtx-4090", 2, model="qwen3-14b", quantization="awq")
    assert (result.tensor_parallel_size, result.data_parallel_size) == (1, 2)
    assert "over 2x1x1: decodes one request faster" in result.layout_reason
    assert result.output.args[result.output.args.index("--data-parallel-size") + 1] == "2"
    served = re.search(r"serves ([\d.]+) requests of 16384 tokens at once \(([\d.]+) for 2x1x1", result.layout_reason)
    assert served and min(float(served[1]), float(served[2])) >= ENOUGH_REQUESTS


def test_rule_concurrency_decides_when_a_layout_serves_too_few():
    # QwQ-32B AWQ with an fp8 KV cache: one 4090 per replica holds 2.3 requests of 16K in all, TP 2 holds 10.
    result = plan("rtx-4090", 2, model="qwq-32b", quantization="awq", kv_cache_dtype="fp8", max_model_len=16384)
    assert (result.tensor_parallel_size, result.data_parallel_size) == (2, 1)
    assert "over 1x1x2: serves" in result.layout_reason and "speed decides only between" in result.layout_reason
    assert "--data-parallel-size" not in result.output.args


def test_only_layout_that_fits_says_so():
    result = plan("rtx-4090", 2, model="qwq-32b", max_model_len=32768)
    assert result.tensor_parallel_size == 2
    assert "the only layout of qwq-32b that fits" in result.layout_reason


def test_gpu_left_idle_only_when_no_layout_uses_it():
    # 70B AWQ needs two 4090s for its weights; three GPUs allow no TP 3 (64 heads), so one GPU is idle.
    result = plan("rtx-4090", 3, model="deepseek-r1-distill-llama-70b", max_model_len=8192)
    assert result.fits and result.gpus_used == [0, 1] and result.gpus_idle == [2]
    assert "GPU(s) 2 idle" in result.layout_reason


def test_parallel_sizes_are_valid_everywhere():
    """Every plan, every suggestion's layout: a TP size within the node that the model allows."""
    counts = (1, 2, 3, 4, 6, 8)
    for gpu in ("rtx-4090", "a6000", "h100"):
        for count in counts:
            for model in [*MODELS, "auto"]:
                result = plan(gpu, count, model=model, min_context=8192)
                checked = [result] if result.fits else []
                for plan_ in checked:
                    spec = MODELS[plan_.model]
                    assert tp_problem(spec, plan_.tensor_parallel_size, plan_.quantization) is None
                    assert plan_.tensor_parallel_size * plan_.data_parallel_size <= count
                for tip in result.suggestions:
                    for tp, _pp, _dp in re.findall(r"layout (\d+)x(\d+)x(\d+)", tip):
                        assert int(tp) <= max(count, 8), tip
                        assert MODELS[model if model != "auto" else result.model].attention_heads % int(tp) == 0


def test_users_tensor_parallel_size_is_checked_for_auto_and_named_models():
    too_big = plan("rtx-4090", 2, model="auto", tensor_parallel_size=3)
    assert not too_big.fits and "tensor_parallel_size 3 needs 3 GPUs per node, the node has 2" in too_big.reason
    unsuited = plan("rtx-4090", 4, model="deepseek-r1-distill-qwen-14b", tensor_parallel_size=3)
    assert not unsuited.fits
    assert "tensor_parallel_size 3 does not suit DeepSeek-R1-Distill-Qwen-14B" in unsuited.reason
    assert "sizes that do on 4 GPU(s): 1, 2, 4" in unsuited.reason
    fixed = plan("h100", 8, model="deepseek-r1-distill-qwen-14b", tensor_parallel_size=2)
    assert fixed.fits and (fixed.tensor_parallel_size, fixed.data_parallel_size) == (2, 4)


def test_a_context_no_model_reaches_blames_max_model_len():
    result = plan("h200", 8, model="auto", max_model_len=2_000_000)
    assert not result.fits
    assert "max_model_len 2000000 is longer than every catalogue model's native context" in result.reason
    assert "min_context" not in result.reason


def test_alternatives_show_what_the_choice_costs():
    req = PlanRequest(gpus=tuple(gpus_from_profile("h100", 8)), model="auto")
    chosen = make_plan(req)
    alts = alternatives(req, chosen)
    changes = [a["change"] for a in alts]
    assert any(c.startswith("layout ") for c in changes)
    assert "kv_cache_dtype fp8" in changes
    assert any(c.startswith("model ") for c in changes)
    for alt in alts:
        assert "now" in alt["trade"] and alt["max_model_len"] >= 8192
        if alt["change"].startswith("model "):
            other = MODELS[alt["model"]]
            assert other.slug != chosen.model
            assert alt["max_concurrent_full_context"] >= 2 * chosen.max_concurrent_full_context or \
                alt["max_model_len"] >= 2 * chosen.max_model_len or other.strength > MODELS[chosen.model].strength


def test_a_smaller_weights_format_of_the_same_model_is_shown_when_it_serves_much_more():
    """Qwen3.8-27B on one RTX 5090: the planner keeps FP8 (the better format that fits 16K), and the plan shows
    that its NVFP4 checkpoint holds several times the context, as operators run it."""
    req = PlanRequest(gpus=tuple(gpus_from_profile("rtx-5090")), model="qwen3.8-27b")
    chosen = make_plan(req)
    assert chosen.fits and chosen.quantization == "fp8"
    nvfp4 = next(a for a in alternatives(req, chosen) if a["change"] == "quantization nvfp4")
    assert nvfp4["quantization"] == "nvfp4" and nvfp4["max_model_len"] >= 4 * chosen.max_model_len
    h100 = PlanRequest(gpus=tuple(gpus_from_profile("h100")), model="gpt-oss-20b")
    assert not [a for a in alternatives(h100, make_plan(h100)) if a["change"].startswith("quantization")]


def test_a_model_without_a_rank_is_neither_stronger_nor_weaker():
    """Presets whose cards report no AIME figure rank last for ``auto``, but an alternative does not call them
    weaker (or another model stronger than them): the plan says they are not ranked."""
    req = PlanRequest(gpus=tuple(gpus_from_profile("rtx-5090")), model="qwen3.8-27b")
    trades = [a["trade"] for a in alternatives(req, make_plan(req)) if a["change"].startswith("model ")]
    assert trades and all(t.startswith("reasoning not ranked here") for t in trades)
    ranked = PlanRequest(gpus=tuple(gpus_from_profile("rtx-5090")), model="gpt-oss-20b")
    assert not [a for a in alternatives(ranked, make_plan(ranked)) if MODELS[a["model"]].strength == 0]


def test_extra_models_leave_no_gpu_idle():
    settings = validate_host_data("box", {"model": "deepseek-r1-distill-qwen-14b", "quantization": "awq",
                                          "extra_models": [{"name": "fast", "model": "qwen3-8b", "port": 8001}]})
    host_plan = plan_host(settings, gpus_from_profile("rtx-4090", 3))
    assert host_plan.fits and host_plan.layout == "split"
    used = sorted(i for inst in host_plan.instances for i in inst.plan.gpus_used)
    assert used == [0, 1, 2]
    assert "(2+1)" in host_plan.reason


def test_reserved_gpus_are_left_alone():
    settings = validate_host_data("box", {"gpu_profile": "rtx-4090", "gpu_count": 2, "gpu_indices": [1],
                                          "model": "deepseek-r1-distill-qwen-7b"})
    gpus = [g for g in gpus_from_profile("rtx-4090", 2) if g.index in settings.gpu_indices]
    only = plan_host(settings, gpus).instances[0].plan
    assert only.gpus_used == [1] and only.gpus_idle == []


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"gpu_profile": "rtx-4090", "gpu_count": 2, "tensor_parallel_size": 3},
         "tensor_parallel_size 3 x data_parallel_size 1 needs 3 GPUs; this host may use 2"),
        ({"model": "deepseek-r1-distill-qwen-14b", "tensor_parallel_size": 3}, "sizes that suit it: 1, 2, 4, 8"),
        ({"gpu_profile": "rtx-4090", "gpu_count": 2, "gpu_indices": [0, 2]}, "gpu_indices [2] name GPUs"),
        ({"gpu_indices": [1, 1]}, "list each GPU index"),
    ],
)
def test_check_refuses_parallel_sizes_the_host_cannot_run(data, words):
    with pytest.raises(SettingsInvalid) as info:
        validate_host_data("box", data, {k: "group_data/gpu_boxes.py" for k in data})
    text = str(info.value)
    assert words in text and "host 'box'" in text
    assert "(settings)" not in text and "(set in group_data/gpu_boxes.py)" in text


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "plan", *args], capture_output=True, text=True)


@pytest.mark.parametrize(
    "args",
    [["--gpu", "h100", "--nodes", "0"], ["--gpu", "h100", "--count", "0"], ["--gpu", "h100", "--context", "-5"],
     ["--gpu", "h100", "--context", "512"], ["--vram-gib", "0"], ["--vram-gib", "-3"],
     ["--gpu", "h100", "--gpu-memory-utilization", "1.5"], ["--gpu", "h100", "--gpu-memory-utilization", "0.01"],
     ["--gpu", "h100", "--count", "two"], ["--gpu", "h100", "--tensor-parallel-size", "0"]],
)
def test_what_if_arguments_out_of_bounds_are_usage_errors(args):
    out = _cli(*args)
    assert out.returncode == 2, out.stdout
    assert "usage:" in out.stderr and "Traceback" not in out.stderr
    assert "out of range" in out.stderr or "expected an integer" in out.stderr


def test_what_if_table_json_and_alternatives():
    out = _cli("--gpu", "h100", "--count", "8", "--model", "deepseek-r1-distill-llama-70b")
    assert out.returncode == 0, out.stderr
    assert "layout 8x1x1 (TPxPPxDP) on GPU(s) 0,1,2,3,4,5,6,7" in out.stdout
    assert "alternatives on the same GPUs:" in out.stdout and "speed, one request: ~" in out.stdout
    data = json.loads(_cli("--gpu", "rtx-4090", "--count", "2", "--model", "qwen3-14b", "--quantization", "awq",
                           "--json").stdout)
    assert data["data_parallel_size"] == 2 and data["gpus_used"] == [0, 1] and data["gpus_idle"] == []
    assert data["layout"] == "1x1x2" and data["alternatives"] and data["decode_tokens_per_s"] > 0
    assert data["decode_bound_tokens_per_s"] > data["decode_tokens_per_s"]


def test_unknown_gpu_still_gets_a_layout_but_no_speed_figure():
    gpus = tuple(Gpu(i, "NVIDIA A40", 46068) for i in range(2))
    result = make_plan(PlanRequest(gpus=gpus, model="qwq-32b"))
    assert result.fits and result.gpus_used == [0, 1]
    assert result.decode_tokens_per_s is None and result.layout_reason


def test_a_card_operators_buy_now_is_known_by_the_name_nvidia_smi_prints():
    gpus = tuple(Gpu(i, "NVIDIA RTX PRO 6000 Blackwell Workstation Edition", 97887, compute_cap="12.0")
                 for i in range(2))
    result = make_plan(PlanRequest(gpus=gpus, model="qwq-32b"))
    assert result.fits and result.decode_tokens_per_s is not None
    assert result.memory_bandwidth_gb_s == 1597


def test_every_catalogue_gpu_has_a_bandwidth():
    assert all(spec.bandwidth_gb_s > 0 for spec in GPUS.values())


def test_readme_table_is_what_plan_prints():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("reasoning-stack plan inventories/lab.py\n", 1)[1].split("\n\n", 1)[0]
    out = _cli("inventories/lab.py")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(block + "\n"), out.stdout[:600]


def test_gpu_indices_the_host_lacks_are_named():
    from reasoning_stack.gpus import select_gpus

    gpus = gpus_from_profile("rtx-4090", 2)
    assert [g.index for g in select_gpus(gpus, [1])] == [1]
    assert select_gpus(gpus, None) == gpus
    with pytest.raises(ValueError, match=r"gpu_indices \[3\] name GPUs the host lacks \(its GPUs: 0, 1\)"):
        select_gpus(gpus, [0, 3])
