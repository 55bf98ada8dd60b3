"""Every `vllm serve` argument list the planner can produce is accepted by each supported vLLM release's own parser.

The parsers run from shared/tools/vllm-argcheck (a CPU-only install of each supported vLLM release that
scripts/test builds once and caches). It also rejects abbreviated flags, which vLLM itself would accept.
"""

from __future__ import annotations

import functools
import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from engine_parsers import parser_command, vllm_argcheck

from reasoning_stack.catalogue import GPUS, MODELS
from reasoning_stack.cluster import Cluster
from reasoning_stack.engines.vllm.command import node_args
from reasoning_stack.engines.vllm.releases import RELEASES
from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.plan import PlanRequest, make_plan


@functools.cache  # two tests read it; planning them all takes half a minute
def all_planned_arg_lists() -> list[list[str]]:
    """Distinct vllm_args over the catalogue: every model x GPU x count x nodes x weights format x KV dtype,
    data-parallel layouts included (3 and 6 GPUs allow no power-of-two tensor parallel)."""
    seen: dict[str, list[str]] = {}
    for model, spec in MODELS.items():
        for gpu in GPUS:
            for count in (1, 2, 3, 4, 6, 8):
                for nodes, quant in [(1, "auto"), (2, "auto"), *((1, q) for q in spec.repos)]:
                    for kv in ("auto", "fp8"):
                        req = PlanRequest(gpus=tuple(gpus_from_profile(gpu, count)), model=model, nodes=nodes,
                                          quantization=quant, kv_cache_dtype=kv, min_context=4096,
                                          extra_args=("--max-num-seqs", "64") if count == 8 else (),
                                          thinking_default=count != 2,
                                          max_num_batched_tokens=4096 if count == 3 else None,
                                          sampling_overrides=(("temperature", 0.6), ("top_p", 0.95))
                                          if count == 4 else ())
                        plan = make_plan(req)
                        if plan.fits:
                            seen.setdefault(json.dumps(plan.output.args), plan.output.args)
                        if plan.fits and nodes > 1:  # what each node of a cluster runs, both backends
                            for backend in ("mp", "ray"):
                                cluster = Cluster("c", "head", ("w1",), backend)
                                node_plan = make_plan(replace(req, cluster_backend=backend))
                                for host in cluster.nodes:
                                    args = node_plan.output.args + node_args(cluster, host, "192.0.2.1", 29501)
                                    seen.setdefault(json.dumps(args), args)
    return list(seen.values())


def test_arg_lists_cover_the_catalogue():
    arg_lists = all_planned_arg_lists()
    models = {args[0] for args in arg_lists}
    assert {repo for m in MODELS.values() for repo in m.repos.values()} - models == set()
    assert any("--kv-cache-dtype" in a for a in arg_lists)
    assert any("--pipeline-parallel-size" in a for a in arg_lists)
    assert any("--enforce-eager" in a for a in arg_lists)
    assert any("--default-chat-template-kwargs" in a for a in arg_lists)
    assert any("--override-generation-config" in a for a in arg_lists)
    assert any("--data-parallel-size" in a for a in arg_lists)
    assert any("--headless" in a and "--nnodes" in a for a in arg_lists)
    assert any("--distributed-executor-backend" in a for a in arg_lists)
    assert any("--max-num-batched-tokens" in a for a in arg_lists)
    assert any("openai_gptoss" in a for a in arg_lists) and any("glm45" in a for a in arg_lists)
    assert any("--data-parallel-size" in a and a[a.index("--tensor-parallel-size") + 1] != "1" for a in arg_lists)


@pytest.fixture(scope="module")
def argcheck() -> list[str]:
    """The command of vLLM 0.17.1's own parser (scripts/test sets it up); fails under CI when missing."""
    return parser_command("vLLM", "VLLM_ARGCHECK_PYTHON", script_var="VLLM_ARGCHECK")


@pytest.mark.parametrize("version", list(RELEASES))
def test_planned_args_pass_vllm_parser(tmp_path: Path, version: str):
    """Every planned list is accepted by each supported release's own parser, with none of the flags it removed
    (an operator may pin any of them in vllm_image today)."""
    arg_lists = all_planned_arg_lists()
    removed = RELEASES[version].removed_flags
    assert [a for a in arg_lists if removed & set(a)] == []
    batch = tmp_path / "args.json"
    batch.write_text(json.dumps(arg_lists))
    out = subprocess.run([*vllm_argcheck(version), "--batch", str(batch)], capture_output=True, text=True,
                         timeout=900)
    print(f"{len(arg_lists)} distinct argument lists checked by vLLM {version}'s parser")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    assert out.stdout.count("ok ") == len(arg_lists)


def test_the_shipped_flag_list_is_the_pinned_vllm_s(argcheck: list[str]):
    """reasoning_stack/vllm_flags.py (what `check` knows without vLLM) is exactly vLLM 0.17.1's `vllm serve` flags;
    regenerate it with scripts/vllm-flags when the pin moves."""
    from reasoning_stack.engines.vllm.flags import VLLM_SERVE_FLAGS

    out = subprocess.run([*argcheck, "--list-flags"], capture_output=True, text=True, timeout=300, check=True)
    flags = {line.strip() for line in out.stdout.splitlines() if line.strip().startswith("--")}
    assert flags == set(VLLM_SERVE_FLAGS)
