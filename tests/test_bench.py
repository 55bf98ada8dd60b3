"""`reasoning-stack bench`: the figures read from AIPerf's own export, the report beside the plan, the plot, the
AIPerf command line (no key on it), the endpoints a manifest lists; and (slow) the real AIPerf 0.13.0 driving the
real vLLM 0.17.1 CPU build. Through an SSH tunnel to a test host: tests/e2e/test_monitoring.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import real_engines
from testhosts import free_port

from reasoning_stack.bench import (
    DEFAULT_AIPERF_PYTHON,
    KEY_VARIABLE,
    BenchError,
    Endpoint,
    EndpointResult,
    Options,
    aiperf_command,
    bench_endpoint,
    check_health,
    endpoints_of,
    find_aiperf,
    format_result,
    plot_html,
    point_from,
)
from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.services import engine_service
from reasoning_stack.status import status_manifest
from reasoning_stack.validation import validate_host_data

EXPORT = Path(__file__).parent / "fixtures" / "aiperf" / "profile_export_aiperf-0.13.0.json"
AIPERF_PYTHON = Path(os.environ.get("AIPERF_PYTHON", DEFAULT_AIPERF_PYTHON))
ENDPOINT = Endpoint("box", "reasoning-vllm", "qwen3-8b", "Qwen/Qwen3-8B", "http://127.0.0.1:8000", 61.5, 32.5,
                    "/var/lib/reasoning-stack/status/reasoning-vllm-bench.json")


def test_the_figures_come_from_aiperfs_own_export():
    # recorded from AIPerf 0.13.0 against the real vLLM CPU build (concurrency 1, 4 requests of 200 tokens)
    export = json.loads(EXPORT.read_text())
    point = point_from(export, 1)
    assert point.requests == 4 and point.errors == 0
    assert point.ttft_p50_s == pytest.approx(export["time_to_first_token"]["p50"] / 1000)
    assert point.itl_p50_ms == pytest.approx(export["inter_token_latency"]["p50"])
    assert point.tokens_per_s_per_request == pytest.approx(export["output_token_throughput_per_user"]["p50"])
    assert point.tokens_per_s_total == pytest.approx(export["output_token_throughput"]["avg"])
    # reasoning tokens counted apart, and inside the output length
    assert 0 < point.reasoning_tokens_avg < point.output_tokens_avg
    assert point.trace_s == pytest.approx(point.ttft_p50_s + 2000 / point.tokens_per_s_per_request)


def test_the_report_puts_each_figure_beside_the_plan():
    point = point_from(json.loads(EXPORT.read_text()), 1)
    result = EndpointResult(ENDPOINT, [point], "2026-12-01 20:00 UTC")
    text = format_result(result)
    assert text.splitlines()[0] == ("box reasoning-vllm (qwen3-8b): plan 61.5 tokens/s per request, "
                                    "a 2,000-token trace 32.5 s")
    row = text.splitlines()[2].split()
    assert row[0] == "1" and float(row[5]) == pytest.approx(point.tokens_per_s_per_request, abs=0.05)
    assert row[-1] == f"{point.tokens_per_s_per_request / 61.5:.2f}x"
    assert result.ratio == pytest.approx(point.tokens_per_s_per_request / 61.5)
    saved = result.to_json()
    assert saved["points"][0]["concurrency"] == 1 and saved["trace_tokens"] == 2000
    page = plot_html(result)
    assert page.startswith("<!doctype html>") and "<svg" in page and "plan 61.5 per request" in page


def test_the_api_key_reaches_aiperf_in_its_environment_never_its_command_line():
    command = aiperf_command(Path("/venv/bin/python"), ENDPOINT, "http://127.0.0.1:4242", 4,
                             Options(tokenizer="tok/"), Path("/tmp/a"))
    text = " ".join(command)
    assert "--concurrency 4" in text and "--request-count 8" in text and "--osl 2000" in text
    assert "--tokenizer tok/" in text and "ignore_eos:true" in text and "--url http://127.0.0.1:4242" in text
    assert "--api-key" not in command[3:] and KEY_VARIABLE in command[2]  # added inside the process


def test_a_manifest_lists_its_endpoints_with_the_plans_figures():
    s = validate_host_data("box", {"model": "qwen3-8b"}, environ={})
    plan = plan_host(s, gpus_from_profile("rtx-4090", 1))
    (endpoint,) = endpoints_of("box", status_manifest(s, plan, "box", None))
    assert endpoint.unit == "reasoning-vllm" and endpoint.remote_url == "http://127.0.0.1:8000"
    assert endpoint.plan_tokens_per_s == plan.instances[0].plan.decode_tokens_per_s
    assert endpoint.plan_trace_s == plan.instances[0].plan.trace_seconds
    assert endpoint.record == "/var/lib/reasoning-stack/status/reasoning-vllm-bench.json"


def test_a_bench_that_cannot_run_says_which_and_why(tmp_path: Path):
    with pytest.raises(BenchError) as caught:
        find_aiperf(str(tmp_path / "nope" / "bin" / "python"))
    assert "pip install aiperf==0.13.0" in str(caught.value)
    port = free_port()  # nothing listens there
    with pytest.raises(BenchError) as caught:
        check_health(f"http://127.0.0.1:{port}", ENDPOINT, timeout=3)
    assert "host 'box': reasoning-vllm (http://127.0.0.1:8000 on the host) does not answer /health through the " \
           "SSH tunnel" in str(caught.value)
    cli = [sys.executable, "-m", "reasoning_stack.cli", "bench", "--concurrency", "0,4", "inv.py"]
    out = subprocess.run(cli, capture_output=True, text=True)
    assert out.returncode == 2 and "each concurrency must be between 1 and 1024" in out.stderr


@pytest.mark.slow
def test_the_real_aiperf_measures_the_real_vllm_beside_the_plan(tmp_path: Path, capsys):
    real_engines.require_vllm()
    if not AIPERF_PYTHON.exists():
        message = f"AIPerf is not installed ({AIPERF_PYTHON}); scripts/test runs tests/tools/aiperf/setup.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    key = "sk-bench-0123456789"
    settings = validate_host_data("box", {"model": "qwen3-8b", "api_port": free_port(),
                                          "vllm_version": real_engines.VLLM_RELEASE},
                                  environ={"REASONING_STACK_VLLM_API_KEY": key})
    plan = plan_host(settings, gpus_from_profile("rtx-4090", 1))
    instance = plan.instances[0]
    service = engine_service(settings, instance, 1)
    workdir = Path(tempfile.mkdtemp(prefix="rs-bench-", dir=tmp_path))
    hf_home = workdir / "huggingface"
    snapshot = real_engines.tiny_model_cache("qwen3", hf_home, instance.plan.model_repo)
    server = real_engines.real_vllm("bench", service.unit_text, service.image, service.env_text, hf_home, workdir)
    (endpoint,) = endpoints_of("box", status_manifest(settings, plan, "box", None))
    try:
        server.start()
        options = Options(concurrencies=(1, 2), output_tokens=96, input_tokens=32, tokenizer=str(snapshot))
        try:
            result, saved, plot = bench_endpoint(endpoint, server.url, key, AIPERF_PYTHON, options, workdir / "out")
        except BenchError as exc:  # say whether the server was still there, and what it logged last
            state = "running" if server.process.poll() is None else f"exited ({server.process.returncode})"
            raise AssertionError(f"{exc}\n--- the real vLLM at {server.url}: {state}; its log ends:\n"
                                 f"{server.log_tail(4000)}") from exc
        generated = server.metric("vllm:generation_tokens_total")
    finally:
        server.stop()
    text = format_result(result)
    print(text)
    assert [p.concurrency for p in result.points] == [1, 2]
    for point in result.points:
        assert point.errors == 0 and point.requests == 4
        assert point.tokens_per_s_per_request > 0 and point.tokens_per_s_total > 0 and point.ttft_p50_s > 0
        assert point.reasoning_tokens_avg > 0  # the tiny model's reasoning, counted apart by AIPerf
        assert point.output_tokens_avg > point.reasoning_tokens_avg  # the answer's tokens too
    # ignore_eos: vLLM generated every request's full length, by its own counter (AIPerf counts the text again
    # with the tokenizer, which merges some of the tiny model's tokens)
    assert generated == 96 * sum(p.requests for p in result.points)
    assert result.ratio == pytest.approx(result.points[0].tokens_per_s_per_request / endpoint.plan_tokens_per_s)
    assert json.loads(saved.read_text())["points"][1]["concurrency"] == 2
    assert "<svg" in plot.read_text()
    assert key not in saved.read_text() and key not in "".join(p.read_text(errors="replace")
                                                               for p in (workdir / "out").rglob("*.json"))
