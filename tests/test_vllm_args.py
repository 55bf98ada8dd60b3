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
from engine_parsers import vllm_argcheck

from reasoning_stack.catalogue import GPUS, MODELS
from reasoning_stack.cluster import Cluster
from reasoning_stack.engines.vllm.checks import FLAGS_BY_RELEASE
from reasoning_stack.engines.vllm.command import node_args
from reasoning_stack.engines.vllm.releases import DEFAULT_RELEASE, RELEASES
from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.plan import PlanRequest, make_plan


def all_planned_arg_lists(release: str = "") -> list[list[str]]:
    """Distinct vllm_args over the catalogue, planned for ``release`` ('' : the default release)."""
    return _planned_arg_lists(release or DEFAULT_RELEASE)  # the default's lists are planned once, whichever way named


@functools.cache  # several tests read it; planning them all takes about a minute a release
def _planned_arg_lists(release: str) -> list[list[str]]:
    """Distinct vllm_args over the catalogue, planned for ``release``: every model x GPU x count x nodes x weights
    format x KV dtype, data-parallel layouts included (3 and 6 GPUs allow no power-of-two tensor parallel), prefix
    caching and chunked prefill off on 6 GPUs (the release's own spelling of off), the MTP head drafting on 3."""
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
                                          speculative_tokens=2 if count == 3 and spec.drafts else 0,
                                          sampling_overrides=(("temperature", 0.6), ("top_p", 0.95))
                                          if count == 4 else (), release=release,
                                          enable_prefix_caching=count != 6, enable_chunked_prefill=count != 6)
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
    assert any("--speculative-config" in a for a in arg_lists)
    assert any("openai_gptoss" in a for a in arg_lists) and any("glm45" in a for a in arg_lists)
    assert any("--data-parallel-size" in a and a[a.index("--tensor-parallel-size") + 1] != "1" for a in arg_lists)


@pytest.mark.parametrize("version", list(RELEASES))
def test_planned_args_pass_vllm_parser(tmp_path: Path, version: str):
    """Every list planned for a release is accepted by that release's own parser, with none of the flags it
    removed."""
    arg_lists = all_planned_arg_lists(version)
    removed = RELEASES[version].removed_flags
    assert [a for a in arg_lists if removed & set(a)] == []
    batch = tmp_path / "args.json"
    batch.write_text(json.dumps(arg_lists))
    out = subprocess.run([*vllm_argcheck(version), "--batch", str(batch)], capture_output=True, text=True,
                         timeout=900)
    print(f"{len(arg_lists)} distinct argument lists checked by vLLM {version}'s parser")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    assert out.stdout.count("ok ") == len(arg_lists)


@pytest.mark.parametrize("version", list(RELEASES))
def test_each_shipped_flag_list_is_its_release_s(version: str):
    """Each release's generated flag list (what `check` knows of vllm_extra_args without vLLM) is exactly that
    release's `vllm serve` flags; regenerate one with scripts/vllm-flags VERSION."""
    out = subprocess.run([*vllm_argcheck(version), "--list-flags"], capture_output=True, text=True, timeout=300,
                         check=True)
    flags = {line.strip() for line in out.stdout.splitlines() if line.strip().startswith("--")}
    assert flags == set(FLAGS_BY_RELEASE[version])


def test_each_release_plans_its_own_defaults_and_spelling():
    """0.34 sizes its KV cache after warm-up with the whole GPU: no --gpu-memory-utilization unless one is set, and
    its flags turned off as --disable-x; 0.32 has its own default share (0.92); 0.17.1 keeps the stack's 0.9."""
    lists = {version: all_planned_arg_lists(version) for version in RELEASES}
    single = {v: [a for a in lists[v] if "--nnodes" not in a and "--distributed-executor-backend" not in a]
              for v in RELEASES}
    assert all("--gpu-memory-utilization" not in a or a[a.index("--gpu-memory-utilization") + 1] == "0.8"
               for a in single["0.34.0"])  # 0.8: a GB10's unified memory keeps the stack's share
    assert any("--gpu-memory-utilization" not in a for a in single["0.34.0"])
    assert any(a[a.index("--gpu-memory-utilization") + 1] == "0.92" for a in single["0.32.0"])
    assert all(a[a.index("--gpu-memory-utilization") + 1] in ("0.9", "0.8") for a in single["0.17.1"])
    assert any("--disable-prefix-caching" in a for a in lists["0.34.0"])
    assert not any("--disable-prefix-caching" in a for a in lists["0.17.1"] + lists["0.32.0"])
    assert any("--no-enable-prefix-caching" in a for a in lists["0.32.0"])
