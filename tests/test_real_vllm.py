"""The real vLLM, 0.17.1 and 0.32.0 (their CPU builds), each started with the command lines the deploy renders
for representative hosts planned for that release (tests/hosts/real_fixtures.py), on tiny reasoning models made in
the test: the plans start, the reasoning comes apart from the answer, the deploy's own readiness wait, smoke test
and status probe pass against it, the real Open WebUI in a browser shows the reasoning collapsed, and the stand-in
vLLM the end-to-end tests use answers every request in the same shape as that release (tests/hosts/contract.py).

Slow: the servers take about a minute to start on two cores; each test's requests take seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import contract
import pytest
import real_engines
import real_openwebui
import tiny_models
from real_fixtures import ADMIN_PASSWORD, API_KEY, SAMPLING, THINKING_BUDGET, RealHost, for_release, host_data
from testhosts import free_port

from reasoning_stack.catalogue import find_model
from reasoning_stack.planning.types import HostPlan
from reasoning_stack.render import render
from reasoning_stack.settings import StackSettings
from reasoning_stack.status import manifest_text, status_manifest

pytestmark = pytest.mark.slow

STANDIN = Path(__file__).parent / "standins" / "vllm_standin.py"
METRICS = ("vllm:request_success_total", "vllm:prompt_tokens_total", "vllm:generation_tokens_total",
           "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
           "vllm:time_to_first_token_seconds", "vllm:e2e_request_latency_seconds",
           "vllm:inter_token_latency_seconds")


def _chat(server: real_engines.Server, served: str, **extra: object) -> dict:
    body = {"model": served, "messages": [{"role": "user", "content": "What is 17 * 23?"}], **extra}
    status, _headers, raw = real_engines.http("POST", f"{server.url}/v1/chat/completions", body, key=server.key)
    assert status == 200, raw
    return json.loads(raw)["choices"][0]["message"]


_reasoning = contract.reasoning_of  # a message's reasoning, in whichever field it came


def _streamed(server: real_engines.Server, served: str, **extra: object) -> dict:
    """The same request streamed, its deltas put back together into one message (as a streaming client does)."""
    body = {"model": served, "messages": [{"role": "user", "content": "What is 17 * 23?"}], "stream": True, **extra}
    status, _headers, raw = real_engines.http("POST", f"{server.url}/v1/chat/completions", body, key=server.key)
    assert status == 200, raw
    message: dict = {"content": "", "reasoning": "", "tool_calls": []}
    for line in raw.decode().splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        for choice in json.loads(line[6:])["choices"]:
            delta = choice["delta"]
            message["content"] += delta.get("content") or ""
            message["reasoning"] += _reasoning(delta)
            for call in delta.get("tool_calls") or []:
                while len(message["tool_calls"]) <= call["index"]:
                    message["tool_calls"].append({"function": {"name": "", "arguments": ""}})
                merged = message["tool_calls"][call["index"]]["function"]
                merged["name"] += (call.get("function") or {}).get("name") or ""
                merged["arguments"] += (call.get("function") or {}).get("arguments") or ""
    return message


def test_the_planned_command_lines_start_the_real_vllm(real_vllm_hosts):
    for host, unit, server in real_vllm_hosts.all_servers():
        instance = next(i for i in real_vllm_hosts.hosts[host].plan.instances if i.unit == unit)
        assert server.planned == instance.plan.output.args  # the unit runs the plan's arguments, unchanged
        # what differs on this CPU-only machine (VLLM_CPU_CHANGES): the entry point, a Mamba hybrid's prefix
        # caching, one tensor-parallel rank, 0.32's KV cache size; fp8 KV is not planned
        python = real_engines.vllm_python(real_vllm_hosts.release)
        assert server.command[:5] == [str(python), "-m", "vllm.entrypoints.openai.api_server", "--model",
                                      server.planned[0]]
        expected = server.planned[1:]
        if real_engines.mamba_hybrid(real_vllm_hosts.hf_home, server.planned[0]):  # VLLM_CPU_CHANGES' last
            expected = [a for a in expected if a != "--enable-prefix-caching"] + ["--no-enable-prefix-caching"]
        if "--tensor-parallel-size" in expected:  # one rank here
            expected[expected.index("--tensor-parallel-size") + 1] = "1"
        if real_vllm_hosts.release != "0.17.1":
            expected += ["--kv-cache-memory-bytes", real_engines.CPU_KV_CACHE]
        assert server.command[5:] == expected
        status, _headers, raw = real_engines.http("GET", f"{server.url}/v1/models", key=server.key)
        card = json.loads(raw)["data"][0]
        assert status == 200 and card["id"] == instance.served_model_name, raw
        assert card["max_model_len"] == instance.plan.max_model_len and card["root"] == instance.plan.model_repo
        print(f"{host} {unit}: {' '.join(server.planned)} -> up in {server.started_s:.0f} s")


def test_the_reasoning_comes_apart_from_the_answer(real_vllm_hosts):
    r1 = _chat(real_vllm_hosts.server("dual-gpu"), "deepseek-r1-distill-qwen-7b")
    assert r1["reasoning"] == tiny_models.REASONING_TEXT
    assert r1["content"].strip() == tiny_models.ANSWER_TEXT and "</think>" not in r1["content"]
    fast = _chat(real_vllm_hosts.server("dual-gpu", "reasoning-vllm-fast"), "qwen3-8b")
    assert fast["reasoning"] == tiny_models.REASONING_TEXT  # Qwen3 thinks by default


def test_thinking_off_by_default_and_on_per_request(real_vllm_hosts):
    """``thinking_default: false`` reaches vLLM as --default-chat-template-kwargs; a request turns it back on."""
    server = real_vllm_hosts.server("one-gpu")
    assert json.loads(real_engines.flag(server.planned, "--default-chat-template-kwargs")) == {
        "enable_thinking": False}
    quick = _chat(server, "qwen3-8b")
    assert quick["reasoning"] is None and quick["content"] == tiny_models.ANSWER_TEXT
    thinking = _chat(server, "qwen3-8b", chat_template_kwargs={"enable_thinking": True})
    assert thinking["reasoning"] == tiny_models.REASONING_TEXT


def test_gemma_4_a_family_of_late_2026_serves_with_its_reasoning_apart(real_vllm_hosts):
    """Gemma 4 26B-A4B as the planner plans it for one RTX 5090, on a tiny Gemma 4 (sliding and full attention
    layers with their own head sizes, the last two reading the first two's KV as E2B/E4B's do: they ship no K or V
    projections and no K norm, which vLLM's loader would refuse as missing were they not shared) in the real vLLM
    0.32.0: its planned command line starts it (checked for every server above), the gemma4 parser takes
    ``<|channel>thought…<channel|>`` apart from the answer, thinking is on by default as planned and off per
    request, a JSON request (``json_object`` and ``json_schema``) gets the object with the reasoning apart, a
    thinking budget cuts the reasoning, and a request offering tools gets the model's own call parsed
    (``_gemma_4_calls_a_tool_by_itself``). vLLM 0.17.1
    does not serve the architecture: the planner refuses it there, naming the release to set."""
    if "gemma" not in real_vllm_hosts.hosts:
        _assert_refused_naming_the_release(real_vllm_hosts.release, "gemma", "0.19.0")
        return
    server = real_vllm_hosts.server("gemma")
    assert real_engines.flag(server.planned, "--reasoning-parser") == "gemma4"
    thinking = _chat(server, "gemma-4-26b-a4b")
    assert thinking["reasoning"] == tiny_models.REASONING_TEXT, thinking
    assert thinking["content"] == tiny_models.ANSWER_TEXT and "<channel|>" not in thinking["content"]
    off = _chat(server, "gemma-4-26b-a4b", chat_template_kwargs={"enable_thinking": False})
    assert not _reasoning(off) and off["content"] == tiny_models.ANSWER_TEXT, off
    _assert_json_with_the_reasoning_apart(partial(_chat, server, "gemma-4-26b-a4b"))
    _assert_a_budget_cuts_the_reasoning(server, "gemma-4-26b-a4b")
    _gemma_4_calls_a_tool_by_itself(server)


def test_glm_4_7_flash_serves_with_its_reasoning_and_its_tool_calls_apart(real_vllm_hosts):
    """GLM-4.7-Flash as the planner plans it for one RTX PRO 6000, on a tiny GLM-4.7-Flash (multi-head latent
    attention on vLLM's CPU MLA kernel, GLM's template opening ``<think>`` in the prompt, its tools block and its
    XML-like calls) in the real vLLM 0.32.0: the planned glm45 reasoning parser takes the reasoning apart, thinking
    on by default and off per request (the template then closes the block in the prompt); ``json_object`` and
    ``json_schema`` get the object with the reasoning apart; a thinking budget cuts the reasoning at the budget, the
    answer whole; offered tools, the model calls get_weather itself
    (``<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call>``) and the planned glm47
    tool parser hands back one call, its arguments JSON, whole and streamed, thinking on or off. vLLM 0.17.1
    predates the architecture: the planner refuses it there, naming the release to set."""
    if "glm" not in real_vllm_hosts.hosts:
        _assert_refused_naming_the_release(real_vllm_hosts.release, "glm", "0.24.0")
        return
    server, served = real_vllm_hosts.server("glm"), "glm-4.7-flash"
    assert real_engines.flag(server.planned, "--reasoning-parser") == "glm45"
    assert real_engines.flag(server.planned, "--tool-call-parser") == "glm47"
    _assert_a_thinking_family_serves_as_planned(server, served)


def test_nemotron_3_nano_serves_with_its_reasoning_and_its_tool_calls_apart(real_vllm_hosts):
    """Nemotron 3 Nano as the planner plans it for one RTX PRO 6000, on a tiny Nemotron-H (a Mamba-2 layer on
    vLLM's CPU Mamba kernel, an attention layer without positions, a squared-ReLU MLP; ChatML, the tools as XML in
    the system turn, ``<think>`` opened in the prompt) in the real vLLM 0.32.0: the planned nemotron_v3 parser
    takes the reasoning apart, thinking on by default and off per request; ``json_object`` and ``json_schema`` get
    the object with the reasoning apart; a thinking budget cuts the reasoning; offered tools, the model calls
    get_weather in Qwen3-Coder's XML and the planned qwen3_coder parser hands back one call, whole and streamed,
    thinking on or off. On 0.17.1 the planned line carries --trust-remote-code (its transformers has no nemotron_h);
    the CPU build is not run there (``CPU_BUILD_FROM``)."""
    server = _remote_code_family(real_vllm_hosts, "nemotron", "nemotron_v3", "qwen3_coder")
    if server:
        _assert_a_thinking_family_serves_as_planned(server, "nemotron-3-nano-30b-a3b")


def test_minimax_m2_5_thinks_always_and_keeps_its_reasoning_and_its_tool_calls_apart(real_vllm_hosts):
    """MiniMax-M2.5 (NVIDIA's NVFP4) as the planner plans it for one B200, on a tiny MiniMax-M2 (every MLP a
    mixture of gated experts on vLLM's CPU MoE, q and k normed over all heads at once, partial rotary embedding;
    MiniMax's ``]~b]`` turns, ``<think>`` opened in the prompt, its tools block and its
    ``<minimax:tool_call><invoke name=…>`` calls) in the real vLLM 0.32.0: the planned minimax_m2 parser takes the
    reasoning apart; a thinking-only family, it thinks whatever ``enable_thinking`` says (its template has no
    switch) and the reasoning still comes apart; the answer keeps the blank line the model writes after
    ``</think>`` (the parser hands the text after the marker on as written); ``json_object`` and ``json_schema`` get
    the object alone with the reasoning apart; a thinking budget cuts the reasoning; offered tools, the model calls
    get_weather in its XML and the planned minimax_m2 tool parser hands back one call, whole and streamed. On 0.17.1
    the planned line carries --trust-remote-code (its transformers has no minimax_m2; the repos ship their config
    class); the CPU build is not run there (``CPU_BUILD_FROM``)."""
    server = _remote_code_family(real_vllm_hosts, "minimax", "minimax_m2", "minimax_m2")
    if server:
        _assert_a_thinking_family_serves_as_planned(server, "minimax-m2.5", switch="none", lead="\n\n",
                                                    call_start="<minimax:tool_call>")


def test_kimi_k2_thinking_keeps_its_reasoning_and_its_tool_calls_apart_unless_told_it_does_not_think(
        real_vllm_hosts):
    """Kimi-K2-Thinking as the planner plans it for four B300s (tensor parallel 4, run as one rank here), on a tiny
    Kimi-K2 (DeepSeek-V3's layers: multi-head latent attention, a dense layer, then sigmoid-routed experts with
    their correction bias, on vLLM's CPU MLA and MoE; Kimi's ``<|im_…|>`` turns and tool_declare turn; the model
    opens ``<think>`` itself) in the real vLLM 0.32.0: the planned kimi_k2 parser takes the reasoning apart;
    ``json_object`` and ``json_schema`` get the object alone with the reasoning apart; a thinking budget cuts the
    reasoning; offered tools, the model calls get_weather in Kimi's tool-call section
    (``<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>…``) and
    the planned kimi_k2 tool parser hands back one call, whole and streamed.

    A hazard found here, and documented: Kimi-K2-Thinking has no switch (its template thinks always), but 0.32.0's
    kimi_k2 parser reads ``enable_thinking`` (or ``thinking``) false as "no reasoning to take apart", so a client
    that sends it gets the model's ``<think>…</think>`` inline in the content. The stack offers no "Thinking" menu
    for it (the table in docs/failure-modes.md). On 0.17.1 the planned line carries --trust-remote-code (its
    transformers has no kimi_k2); the CPU build is not run there (``CPU_BUILD_FROM``)."""
    server = _remote_code_family(real_vllm_hosts, "kimi", "kimi_k2", "kimi_k2")
    if server:
        assert real_engines.flag(server.planned, "--tensor-parallel-size") == "4"
        _assert_a_thinking_family_serves_as_planned(server, "kimi-k2-thinking", switch="parser only",
                                                    call_start="<|tool_calls_section_begin|>")


def _planned(release: str, host: str) -> tuple[StackSettings, HostPlan]:
    """A representative host (``host_data``) as the planner plans it for vLLM ``release``, started or not."""
    from reasoning_stack.gpus import gpus_from_profile
    from reasoning_stack.instances import plan_host
    from reasoning_stack.validation import validate_host_data

    profile, count, data = host_data()[host]
    settings = validate_host_data(host, for_release(data, release), environ={})
    return settings, plan_host(settings, gpus_from_profile(profile, count))


def _remote_code_family(real_vllm_hosts, host: str, reasoning: str, tools: str) -> real_engines.Server | None:
    """The real server of ``host``, whose model's repos ship their config class: its planned line carries the
    family's parsers and --trust-remote-code. On a release whose CPU build here cannot load the tiny model without
    that class (``CPU_BUILD_FROM``), None, once its plan is checked to fit with --trust-remote-code."""
    if host not in real_vllm_hosts.hosts:
        _settings, plan = _planned(real_vllm_hosts.release, host)
        assert plan.fits and "--trust-remote-code" in plan.instances[0].plan.command, plan.reason
        return None
    server = real_vllm_hosts.server(host)
    assert real_engines.flag(server.planned, "--reasoning-parser") == reasoning
    assert real_engines.flag(server.planned, "--tool-call-parser") == tools
    assert "--trust-remote-code" in server.planned
    return server


def _assert_refused_naming_the_release(release: str, host: str, first: str) -> None:
    """On a release older than the host's model's architecture, the planner refuses it, naming the release to set."""
    _settings, plan = _planned(release, host)
    assert not plan.fits and f"needs vLLM {first} or newer" in plan.reason, plan.reason
    assert "set vllm_version = '0.32.0'" in plan.reason, plan.reason


def _assert_a_thinking_family_serves_as_planned(server: real_engines.Server, served: str, switch: str = "template",
                                                lead: str = "", call_start: str = "<tool_call>") -> None:
    """What GLM-4.7-Flash, Nemotron 3, MiniMax-M2 and Kimi-K2 (each thinking by default, ``</think>`` their end of
    reasoning) are checked for on the real server. ``switch``, what ``enable_thinking`` false does: "template", the
    template turns thinking off; "none", the family thinks anyway and its reasoning still comes apart; "parser
    only", the family thinks anyway but the parser stops taking the reasoning apart, which then stays in the
    content. ``lead``: what the content starts with before the answer; ``call_start``: the start of its calls."""
    thinking = _chat(server, served)
    assert thinking["reasoning"] == tiny_models.REASONING_TEXT, thinking
    assert thinking["content"] == lead + tiny_models.ANSWER_TEXT, thinking
    off = {"chat_template_kwargs": {"enable_thinking": False}}
    quick = _chat(server, served, **off)
    inline = f"<think>{tiny_models.REASONING_TEXT}</think>" if switch == "parser only" else ""
    assert quick["content"] == inline + lead + tiny_models.ANSWER_TEXT, quick
    assert _reasoning(quick) == (tiny_models.REASONING_TEXT if switch == "none" else ""), quick
    _assert_json_with_the_reasoning_apart(partial(_chat, server, served))
    _assert_a_budget_cuts_the_reasoning(server, served)
    tools, markers = [tiny_models.TOOL], ("</think>", call_start)
    _assert_the_call_is_parsed(_chat(server, served, tools=tools), tiny_models.REASONING_TEXT, CHOSEN_CALL, *markers)
    _assert_the_call_is_parsed(_streamed(server, served, tools=tools), tiny_models.REASONING_TEXT, CHOSEN_CALL,
                               *markers)
    if switch == "template":
        _assert_the_call_is_parsed(_chat(server, served, tools=tools, **off), None, CHOSEN_CALL, *markers)


def _assert_a_budget_cuts_the_reasoning(server: real_engines.Server, served: str) -> None:
    """``thinking_token_budget`` on 0.32.0 with the family's own parser: the release forces the family's end of
    reasoning at the budget, the reasoning so far comes back in its field, the answer follows whole."""
    _assert_cut_at_the_budget(_chat(server, served, thinking_token_budget=THINKING_BUDGET))


def _assert_cut_at_the_budget(capped: dict) -> None:
    """A reply whose reasoning a budget cut: the reasoning so far (a blank line before it allowed) and the answer
    whole."""
    cut = _reasoning(capped)
    assert cut and tiny_models.REASONING_TEXT.startswith(cut.lstrip("\n")), capped
    assert len(cut) < len(tiny_models.REASONING_TEXT) and capped["content"].strip() == tiny_models.ANSWER_TEXT, capped


def _assert_json_with_the_reasoning_apart(ask: Callable[..., dict], field: str | None = "reasoning") -> None:
    """``json_object`` and ``json_schema`` through ``ask`` (a path's chat call, extra request fields as keywords):
    the content is the object alone, the reasoning in its own ``field`` (None: whichever field the path uses)."""
    for kind, response_format in RESPONSE_FORMATS.items():
        answer = ask(response_format=response_format)
        assert json.loads(answer["content"]) == {"answer": 391}, (kind, answer)
        reasoning = _reasoning(answer) if field is None else answer[field]
        assert reasoning == tiny_models.REASONING_TEXT, (kind, answer)


def _gemma_4_calls_a_tool_by_itself(server: real_engines.Server) -> None:
    """Gemma 4's tool cell: offered tools (which its template declares in the system turn, each in
    ``<|tool>…<tool|>``), the tiny Gemma 4 calls get_weather by itself in Gemma's own format
    (``<|tool_call>call:get_weather{city:<|"|>Paris<|"|>}<tool_call|>``) after its reasoning; the planned gemma4
    tool parser hands it back as one parsed call, its arguments JSON, the reasoning apart, whole and streamed,
    thinking on or off."""
    assert real_engines.flag(server.planned, "--tool-call-parser") == "gemma4", server.planned
    assert "--enable-auto-tool-choice" in server.planned
    tools = [tiny_models.TOOL]
    _assert_the_call_is_parsed(_chat(server, "gemma-4-26b-a4b", tools=tools), tiny_models.REASONING_TEXT,
                               CHOSEN_CALL, *GEMMA_MARKERS)
    _assert_the_call_is_parsed(_streamed(server, "gemma-4-26b-a4b", tools=tools, tool_choice="auto"),
                               tiny_models.REASONING_TEXT, CHOSEN_CALL, *GEMMA_MARKERS)
    off = {"chat_template_kwargs": {"enable_thinking": False}}
    _assert_the_call_is_parsed(_chat(server, "gemma-4-26b-a4b", tools=tools, **off), None, CHOSEN_CALL,
                               *GEMMA_MARKERS)


RESPONSE_FORMATS = {
    "json_object": {"type": "json_object"},
    "json_schema": {"type": "json_schema", "json_schema": {"name": "answer", "schema": tiny_models.JSON_SCHEMA}},
}
# (host, unit, served name, extra request fields, the reasoning expected): each reasoning family the suite serves
JSON_CASES = {
    "r1": ("dual-gpu", "reasoning-vllm", "deepseek-r1-distill-qwen-7b", {}, tiny_models.REASONING_TEXT),
    "qwen3-thinking": ("dual-gpu", "reasoning-vllm-fast", "qwen3-8b", {}, tiny_models.REASONING_TEXT),
    "qwen3-not-thinking": ("one-gpu", "reasoning-vllm", "qwen3-8b", {}, None),
}


@pytest.mark.parametrize("family", list(JSON_CASES))
@pytest.mark.parametrize("kind", list(RESPONSE_FORMATS))
def test_a_json_asking_client_gets_parseable_json_with_the_reasoning_apart(real_vllm_hosts, family, kind):
    """The recipe's first failure mode: reasoning leaking into structured output breaks the client's JSON parse.
    With the planned reasoning parser, the release holds the grammar back until the reasoning ends: the content
    is the object alone and the reasoning stays in its own field (thinking on), or there is none (thinking off)."""
    host, unit, served, extra, reasoning = JSON_CASES[family]
    message = _chat(real_vllm_hosts.server(host, unit), served, response_format=RESPONSE_FORMATS[kind], **extra)
    assert json.loads(message["content"]) == {"answer": 391}, message
    assert message["reasoning"] == reasoning and "</think>" not in message["content"]
    # the same request without a format gets the model's prose: the object above came from the grammar
    assert _chat(real_vllm_hosts.server(host, unit), served, **extra)["content"].strip() == tiny_models.ANSWER_TEXT


def test_a_model_without_a_tool_format_answers_tools_with_a_clear_error(real_vllm_hosts):
    """The R1 distill has no tool format, so no tool parser is planned: a request offering tools to be called at
    the model's choice gets vLLM's 400 naming what is missing, not a chat with a tool call written into it."""
    server = real_vllm_hosts.server("dual-gpu")
    assert "--tool-call-parser" not in server.planned
    body = {"model": "deepseek-r1-distill-qwen-7b", "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "tools": [tiny_models.TOOL], "tool_choice": "auto"}
    status, _headers, raw = real_engines.http("POST", f"{server.url}/v1/chat/completions", body, key=server.key)
    assert status == 400, raw
    assert "--enable-auto-tool-choice" in raw.decode(), raw


FORCED_TOOL = {"type": "function", "function": {"name": "submit_answer"}}
TOOL_CASES = ("qwen3-thinking", "qwen3-not-thinking")  # the families served here with a tool format (hermes)


CHOSEN_CALL = tiny_models.CHOSEN_CALL  # the call the tiny models make by themselves
GEMMA_MARKERS = ("<channel|>", "<|tool_call>")  # Gemma 4's end of thinking and start of a call


def _assert_the_call_is_parsed(message: dict, reasoning: str | None,
                               call: tuple[str, dict] = ("submit_answer", {"answer": 391}), end: str = "</think>",
                               start: str = "<tool_call>") -> None:
    """One parsed call (by default the forced submit_answer), its arguments the object alone, the reasoning in its
    own field (or none), no call or end of thinking left in the content."""
    contract.assert_the_call_is_parsed(message, reasoning, call, (end, start))


@pytest.mark.parametrize("family", TOOL_CASES)
def test_a_tool_call_with_thinking_comes_back_parsed_with_the_reasoning_apart(real_vllm_hosts, family):
    """The recipe's tool-call failure mode: tool-call JSON carrying reasoning. A client that makes the model call
    a tool (``tool_choice`` naming it) gets the call parsed into ``tool_calls`` by the planned tool parser, its
    arguments the object alone, the reasoning apart, whole or streamed. So does one that leaves the choice to the
    model (``auto``, or no ``tool_choice``): the tiny model, seeing get_weather offered in its prompt, calls it
    in its family's own format after its reasoning, as a real one decides to."""
    host, unit, served, extra, reasoning = JSON_CASES[family]
    server = real_vllm_hosts.server(host, unit)
    assert real_engines.flag(server.planned, "--tool-call-parser") == "hermes", server.planned
    tools = [tiny_models.SUBMIT_TOOL, tiny_models.TOOL]
    _assert_the_call_is_parsed(_chat(server, served, tools=tools, tool_choice=FORCED_TOOL, **extra), reasoning)
    _assert_the_call_is_parsed(_streamed(server, served, tools=tools, tool_choice=FORCED_TOOL, **extra), reasoning)
    _assert_the_call_is_parsed(_chat(server, served, tools=tools, tool_choice="auto", **extra), reasoning, CHOSEN_CALL)
    _assert_the_call_is_parsed(_streamed(server, served, tools=tools, **extra), reasoning, CHOSEN_CALL)
    # offered no tools, the same model answers in prose: the call above was its own choice, from the tools listed
    assert _chat(server, served, **extra)["content"].strip() == tiny_models.ANSWER_TEXT


def test_a_reply_cut_off_while_reasoning_says_so_and_is_counted_for_the_alert(real_vllm_hosts):
    """The recipe's "long reasoning exhausts the budget": a reply stopped by max_tokens inside its reasoning comes
    back with finish_reason "length", the reasoning so far in its own field and no answer passed off as one, and
    vLLM counts it under the label the ReasoningCutOff alert divides by."""
    server = real_vllm_hosts.server("dual-gpu")
    cut = 'vllm:request_success_total', {"finished_reason": "length"}
    before = server.metric(cut[0], **cut[1])
    body = {"model": "deepseek-r1-distill-qwen-7b", "max_tokens": 3,
            "messages": [{"role": "user", "content": "What is 17 * 23?"}]}
    status, _headers, raw = real_engines.http("POST", f"{server.url}/v1/chat/completions", body, key=server.key)
    assert status == 200, raw
    choice = json.loads(raw)["choices"][0]
    assert choice["finish_reason"] == "length", choice
    assert tiny_models.REASONING_TEXT.startswith(choice["message"]["reasoning"]), choice
    assert not choice["message"]["content"], choice  # the cut reasoning never shows as the answer
    assert server.metric(cut[0], **cut[1]) == before + 1
    from reasoning_stack.monitoring.alerts import ALERTS

    (alert,) = [a for a in ALERTS if a.name == "ReasoningCutOff"]
    assert 'vllm:request_success_total{finished_reason="length"}' in alert.expr


def test_the_sampling_overrides_reach_the_real_server(real_vllm_hosts):
    """vLLM logs the sampling defaults it applies: the model's generation_config.json with the plan's overrides."""
    server = real_vllm_hosts.server("dual-gpu")
    line = next(x for x in server.log_tail(10**6).splitlines() if "sampling parameters have been overridden" in x)
    applied = json.loads(next(x for x in line.split("`") if x.startswith("{")).replace("'", '"'))
    assert applied == {"temperature": 0.6, **SAMPLING}, line  # temperature from the model, the rest the plan's


def _standin_for(server: real_engines.Server, port: int, workdir: Path, **env: str) -> real_engines.Server:
    """The stand-in vLLM with the same planned arguments and env (on another port), answering in the layout of
    the real server's release."""
    args = list(server.planned)
    args[args.index("--port") + 1] = str(port)
    env = {"VLLM_API_KEY": server.key, "STANDIN_VLLM_RELEASE": server.release, **env}
    return real_engines.Server(f"standin-{server.name}-{port}", [sys.executable, str(STANDIN), *args], env, port,
                               workdir, server.key, planned=args)


@pytest.mark.parametrize("host,unit", [("dual-gpu", "reasoning-vllm"), ("dual-gpu", "reasoning-vllm-fast"),
                                       ("one-gpu", "reasoning-vllm")])
def test_the_standin_answers_in_the_real_servers_shape(real_vllm_hosts, host, unit):
    server = real_vllm_hosts.server(host, unit)
    served = real_engines.flag(server.planned, "--served-model-name")
    switch = "qwen3" in server.planned
    real = contract.observe(server.url, server.key, served, switch, METRICS)
    standin = _standin_for(server, free_port(), real_vllm_hosts.workdir).start(60)
    try:
        stood_in = contract.observe(standin.url, standin.key, served, switch, METRICS)
    finally:
        standin.stop()
    found = contract.compare(real, stood_in)
    assert found == [], "\n".join(found)
    assert real["metrics"][1] == sorted(METRICS)  # the series the stack and the tests read all exist
    assert real["models without the key"][0] == 401 and real["an unknown model"][0] == 404
    # the texts: the tiny model's, reasoning apart; with thinking off no reasoning delta at all
    thinking = real["texts"]["thinking=True" if switch else "stream"]
    assert thinking["reasoning"] == tiny_models.REASONING_TEXT
    assert thinking["content"].strip() == tiny_models.ANSWER_TEXT
    if switch:
        assert "reasoning" not in real["texts"]["thinking=False"]
        assert "reasoning" not in stood_in["texts"]["thinking=False"]


def test_the_contract_catches_a_drifting_standin(real_vllm_hosts):
    """A stand-in that streams ``reasoning_content`` (as older vLLM and cloud APIs do), or the answer before the
    reasoning, or answers in the other real release's layout, no longer matches the real server."""
    server = real_vllm_hosts.server("dual-gpu")
    served = "deepseek-r1-distill-qwen-7b"
    real = contract.observe(server.url, server.key, served, False)
    drifted = _standin_for(server, free_port(), real_vllm_hosts.workdir,
                           STANDIN_REASONING_FIELD="reasoning_content").start(60)
    try:
        renamed = contract.observe(drifted.url, drifted.key, served, False)
        raw = real_engines.http("POST", f"{drifted.url}/v1/chat/completions", contract.chat(served, True),
                                key=drifted.key)[2]
    finally:
        drifted.stop()
    other = next(r for r in real_engines.VLLM_RELEASES if r != real_vllm_hosts.release)
    other_layout = _standin_for(server, free_port(), real_vllm_hosts.workdir, STANDIN_VLLM_RELEASE=other).start(60)
    try:
        in_other_layout = contract.observe(other_layout.url, other_layout.key, served, False)
    finally:
        other_layout.stop()
    # the other real release's layout (0.32 added a fingerprint and reasoning_tokens, dropped empty tool_calls)
    assert any("system_fingerprint" in line for line in contract.compare(real, in_other_layout))
    found = contract.compare(real, renamed)
    assert any("reasoning_content" in line for line in found) and any("completion" in line for line in found)
    events = contract.sse_events(raw)
    chunks = [e for e in events if isinstance(e, dict) and e["choices"] and e["choices"][0]["delta"]]
    thinking = [c for c in chunks if "reasoning_content" in c["choices"][0]["delta"]]
    answer = [c for c in chunks if "content" in c["choices"][0]["delta"] and c not in (chunks[0], chunks[-1])]
    for chunk in thinking:
        delta = chunk["choices"][0]["delta"]
        delta["reasoning"] = delta.pop("reasoning_content")  # the right field, the wrong order:
    reordered = [chunks[0], *answer, *thinking, *[e for e in events if e not in chunks[:1] + answer + thinking]]
    assert contract.differences(real["stream"][2], contract.stream_layout(reordered))
    in_order = [chunks[0], *thinking, *answer, *[e for e in events if e not in chunks[:1] + answer + thinking]]
    assert contract.differences(real["stream"][2], contract.stream_layout(in_order)) == []


def _helper(tmp_path: Path, template: str, **context: object) -> Path:
    script = tmp_path / template.removesuffix(".py.j2")
    script.write_text(render(template, **context))
    return script


def test_the_deploys_readiness_wait_and_smoke_test_pass_against_the_real_vllm(real_vllm_hosts, tmp_path):
    """What the deploy runs after a unit starts (units.serving_checks): wait for /health, then /v1/models with
    the key from the env file, then the smoke test, its figures recorded for `status`."""
    host = real_vllm_hosts.hosts["dual-gpu"]
    wait, smoke = _helper(tmp_path, "wait-http.py.j2"), _helper(tmp_path, "smoke-test.py.j2")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text("#!/bin/sh\necho ActiveState=active\necho SubState=running\n"
                                       "echo NRestarts=0\necho active\n")
    (bin_dir / "systemctl").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    for instance in host.plan.instances:
        service = host.services[instance.unit]
        env_file = tmp_path / f"{instance.unit}.env"
        env_file.write_text(service.env_text)
        runs = [[wait, service.health_url, "60", service.unit],
                [wait, service.ready_url, "60", service.unit, "--expect", instance.served_model_name,
                 "--key-from", str(env_file)]]
        record = tmp_path / f"{instance.unit}-smoke-test.json"
        smoke_args = [smoke, service.base_url, instance.served_model_name, "--key-from", str(env_file),
                      "--expect-tps", f"{instance.plan.decode_tokens_per_s:.1f}", "--record", str(record)]
        kwarg = find_model(instance.plan.model).thinking_request_kwarg  # what the deploy passes (units.py)
        if kwarg:
            smoke_args += ["--thinking-kwarg", kwarg]
        for args in [*runs, smoke_args]:
            out = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=180,
                                 env=env)
            assert out.returncode == 0, (args, out.stdout, out.stderr)
            assert API_KEY not in out.stdout + out.stderr
        figures = json.loads(record.read_text())
        # vLLM may send two tokens in one delta: the smoke test counts deltas, at most one per token
        assert figures["reasoning_apart"] and 1 <= figures["reasoning_tokens"] <= len(tiny_models.REASONING)
        assert 1 <= figures["answer_tokens"] <= len(tiny_models.ANSWER) + 1
        assert figures["tokens_per_s"] > 0 and figures["ttft_s"] > 0
        print(f"{instance.unit}: {out.stdout.strip().splitlines()[-1]}")


def test_the_status_probe_proves_the_real_vllm_with_a_completion(real_vllm_hosts, tmp_path):
    host = real_vllm_hosts.hosts["one-gpu"]
    manifest = status_manifest(host.settings, host.plan, host.name, None)
    for unit in manifest["units"]:
        if unit["kind"] == "model-api":
            env_file = tmp_path / f"{unit['unit']}.env"
            env_file.write_text(host.services[unit["unit"]].env_text)
            unit["env_file"] = str(env_file)
            unit["smoke_record"] = str(tmp_path / "none.json")
    (tmp_path / "status.json").write_text(manifest_text(manifest))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text("#!/bin/sh\necho active\n")
    (bin_dir / "systemctl").chmod(0o755)
    probe = render("status-probe.py.j2", manifest_path=str(tmp_path / "status.json"),
                   nvidia_smi_query="nvidia-smi --query-gpu=name --format=csv", timeout=60)
    out = subprocess.run([sys.executable, "-"], input=probe, capture_output=True, text=True, timeout=180,
                         env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    model_api = next(u for u in report["units"] if u["kind"] == "model-api")
    assert model_api["health"] == 200 and model_api["models"] == 200, model_api
    assert model_api["completion"]["status"] == 200, model_api
    assert model_api["max_model_len"] == host.plan.instances[0].plan.max_model_len


def test_a_command_line_the_real_vllm_refuses_fails_at_start(real_vllm_hosts):
    """A wrong reasoning parser passes argparse and is refused by the server as it starts: the test that starts
    the planned command line is what catches it."""
    server = real_vllm_hosts.server("one-gpu")
    args = list(server.planned)
    args[args.index("--reasoning-parser") + 1] = "qwen-three"
    args[args.index("--port") + 1] = str(free_port())
    broken = real_engines.Server("refused", real_engines.vllm_cpu_command(args, real_vllm_hosts.release), server.env,
                                 int(args[args.index("--port") + 1]), real_vllm_hosts.workdir, server.key)
    with pytest.raises(RuntimeError, match="qwen-three"):
        broken.start()


@contextmanager
def _open_webui(real_vllm_hosts, name: str) -> Iterator[real_openwebui.OpenWebUI]:
    """The real Open WebUI 0.12.4 as the deploy renders it for host ``name``, its model entries and the stack's
    functions made by the deploy's own helper, in front of that host's real vLLM servers; stopped after."""
    real_openwebui.require()
    host = real_vllm_hosts.hosts[name]
    workdir = real_vllm_hosts.workdir / f"open-webui-{name}"
    webui = real_openwebui.OpenWebUI(host.openwebui_env(), workdir).start()
    try:
        made = real_openwebui.apply_model_entries(webui, host.plan, workdir, settings=host.settings)
        assert made.returncode == 0, made.stdout + made.stderr
        assert "Open WebUI function 'Reply cut off' on for every model" in made.stdout, made.stdout
        yield webui
    finally:
        webui.stop()


def _webui_chat(webui: real_openwebui.OpenWebUI, key: str, served: str, **extra: object) -> dict:
    """One question through Open WebUI's API with a person's ``key`` (not streamed): the answer's message."""
    body = {"model": served, "stream": False, "messages": [{"role": "user", "content": "What is 17 * 23?"}], **extra}
    status, answer = webui.call("POST", "/api/chat/completions", body, key)
    assert status == 200, answer
    return answer["choices"][0]["message"]


def _picked(served: str, menu: str, choice: str) -> dict:
    """A chat's choice in one of its model's menus, as Open WebUI's chat page sends it (``model_controls``)."""
    return {"params": {"model_controls": {served: {menu: choice}}}}


def _persons_key(webui: real_openwebui.OpenWebUI, host: RealHost) -> str:
    """ada's own API key: her account made by the admin through Open WebUI's API, then her key."""
    ada = webui.add_person(webui.signin(host.settings.openwebui_admin_email, ADMIN_PASSWORD), "ada", "Ada-pass-123!")
    status, key = webui.call("POST", "/api/v1/auths/api_key", token=ada)
    assert status == 200, key
    return key["api_key"]


# Each late-2026 family's host: (served name, what ``enable_thinking`` false does as in
# _assert_a_thinking_family_serves_as_planned, what the content starts with before the answer, its end of thinking,
# the start of its calls)
LATE_2026 = {
    "gemma": ("gemma-4-26b-a4b", "template", "", *GEMMA_MARKERS),
    "glm": ("glm-4.7-flash", "template", "", "</think>", "<tool_call>"),
    "nemotron": ("nemotron-3-nano-30b-a3b", "template", "", "</think>", "<tool_call>"),
    "minimax": ("minimax-m2.5", "none", "\n\n", "</think>", "<minimax:tool_call>"),
    "kimi": ("kimi-k2-thinking", "parser only", "", "</think>", "<|tool_calls_section_begin|>"),
}


@pytest.mark.parametrize("host", list(LATE_2026))
def test_a_persons_key_through_open_webui_gets_each_late_2026_familys_reasoning_json_and_tool_calls_apart(
        real_vllm_hosts, host):
    """Each family of late 2026 on the path a team's scripts and agents use: a person's own key, Open WebUI's API,
    the host's Open WebUI as the deploy renders it (its model entry, menus and functions) in front of the host's
    real vLLM 0.32.0. A plain question gets the reasoning apart; ``json_object`` and ``json_schema`` get the object
    alone with the reasoning apart; offered get_weather, the model's own call comes back parsed with the reasoning
    apart. Each chat's menus are the family's: "Thinking" only where a request switches it off (Gemma 4, GLM-4.7-
    Flash, Nemotron 3; its "Off" reaches vLLM and the answer comes alone), none for MiniMax-M2.5 and Kimi-K2-Thinking
    (they think always; Kimi's parser would leave the reasoning inline); "Thinking budget" with its smallest choice
    cutting the reasoning, the answer whole. On 0.17.1, which runs none of them here, what its chats would offer:
    the Thinking menu alike and no budget menu (the release would ignore one), or the planner's refusal."""
    from reasoning_stack.openwebui.entries import chat_menus

    served, switch, lead, end, call_start = LATE_2026[host]
    if host not in real_vllm_hosts.hosts:
        settings, plan = _planned(real_vllm_hosts.release, host)
        if not plan.fits:
            assert "needs vLLM" in plan.reason, plan.reason  # its family's own test reads the refusal
            return
        menus = chat_menus(settings, plan.instances[0])
        assert ("thinking" in menus) == (switch == "template") and "thinking_budget" not in menus, menus
        return
    with _open_webui(real_vllm_hosts, host) as webui:
        key = _persons_key(webui, real_vllm_hosts.hosts[host])
        ask = partial(_webui_chat, webui, key, served)
        status, models = webui.call("GET", "/api/models", token=key)
        assert status == 200, models
        (model,) = [m for m in models["data"] if m["id"] == served]
        menus = model["info"]["params"]["model_controls"]
        assert ("thinking" in menus) == (switch == "template"), menus
        assert list(menus["thinking_budget"]["options"]) == ["no_limit", f"tokens_{THINKING_BUDGET}",
                                                             "tokens_1024"], menus
        plain = ask()
        assert _reasoning(plain) == tiny_models.REASONING_TEXT and plain["content"] == lead + tiny_models.ANSWER_TEXT
        _assert_json_with_the_reasoning_apart(ask, field=None)
        _assert_the_call_is_parsed(ask(tools=[tiny_models.TOOL]), tiny_models.REASONING_TEXT, CHOSEN_CALL, end,
                                   call_start)
        _assert_cut_at_the_budget(ask(**_picked(served, "thinking_budget", f"tokens_{THINKING_BUDGET}")))
        if switch == "template":
            off = ask(**_picked(served, "thinking", "off"))
            assert not _reasoning(off) and off["content"] == lead + tiny_models.ANSWER_TEXT, off


@pytest.fixture(scope="module")
def real_webui(real_vllm_hosts):
    """The dual-GPU host's Open WebUI (a key per person on), in front of its real vLLM servers; one for the
    module's tests."""
    with _open_webui(real_vllm_hosts, "dual-gpu") as webui:
        yield webui


def test_a_person_sees_the_real_vllms_reasoning_collapsed_in_the_real_open_webui(real_vllm_hosts, real_webui):
    """The real Open WebUI 0.12.4 as the deploy renders it for the dual-GPU host, in a real browser, in front of
    the real vLLM: the answer shows with its reasoning collapsed, Open WebUI saves it apart, and the turn's
    background tasks (title, tags, follow-ups) go to Qwen3-8B, counted from vLLM's own /metrics."""
    import browser_chat

    host = real_vllm_hosts.hosts["dual-gpu"]
    reasoning, quick = host.servers["reasoning-vllm"], host.servers["reasoning-vllm-fast"]
    done = "vllm:request_success_total"
    email = host.settings.openwebui_admin_email
    webui = real_webui
    browser = None
    try:
        before = {"r1": reasoning.metric(done), "quick": quick.metric(done, model_name="qwen3-8b")}
        browser = browser_chat.open_browser()
        browser_chat.sign_in(browser, webui.url, email, ADMIN_PASSWORD)
        browser_chat.ask(browser, "What is 17 times 23?")
        browser_chat.see_reasoning_collapsed(browser, "The answer is", "340 + 51 = 391", "real-vllm-reasoning")
        content, thinking = browser_chat.saved_answer(webui, email, ADMIN_PASSWORD)
        assert content.strip() == tiny_models.ANSWER_TEXT
        assert thinking == [tiny_models.REASONING_TEXT]
        browser_chat.waiter(browser).until(lambda _b: quick.metric(done, model_name="qwen3-8b") - before["quick"] >= 3)
    finally:
        if browser is not None:
            browser.quit()
    to_reasoning, to_quick = reasoning.metric(done) - before["r1"], quick.metric(done) - before["quick"]
    print(f"one chat turn, from vLLM's metrics: {to_reasoning:g} request(s) to the reasoning model, "
          f"{to_quick:g} to qwen3-8b")
    assert to_reasoning == 1 and to_quick == 3


# The families behind the dual-GPU host's Open WebUI: (served name, extra request fields, the reasoning expected)
WEBUI_CASES = {
    "r1": ("deepseek-r1-distill-qwen-7b", {}, tiny_models.REASONING_TEXT),
    "qwen3-thinking": ("qwen3-8b", {}, tiny_models.REASONING_TEXT),
    "qwen3-thinking-off": ("qwen3-8b", {"chat_template_kwargs": {"enable_thinking": False}}, None),
}


@pytest.mark.parametrize("family", list(WEBUI_CASES))
@pytest.mark.parametrize("kind", list(RESPONSE_FORMATS))
def test_a_persons_key_through_open_webui_gets_parseable_json_with_the_reasoning_apart(real_webui, persons_key,
                                                                                        family, kind):
    """The same failure mode on the path a team's scripts use: a person's own key, Open WebUI's API
    (``/api/chat/completions``), the real vLLM behind it. Open WebUI passes ``response_format`` on (and
    ``chat_template_kwargs``, Qwen3 with thinking off for the request); the content parses and the reasoning stays
    apart, or there is none."""
    served, extra, reasoning = WEBUI_CASES[family]
    message = _webui_chat(real_webui, persons_key, served, response_format=RESPONSE_FORMATS[kind], **extra)
    assert json.loads(message["content"]) == {"answer": 391}, message
    assert (_reasoning(message) or None) == reasoning, message


@pytest.mark.parametrize("family", ["qwen3-thinking", "qwen3-thinking-off"])
def test_a_persons_key_through_open_webui_gets_a_tool_call_parsed_with_the_reasoning_apart(real_webui, persons_key,
                                                                                          family):
    """The same on the path a team's agents use: a person's key, Open WebUI's API passing ``tools`` and
    ``tool_choice`` on to the real vLLM; the call comes back parsed, the reasoning apart (or none, thinking off for
    the request), whether the client names the tool or leaves the choice to the model (no ``tool_choice``, as most
    agents send)."""
    served, extra, reasoning = WEBUI_CASES[family]
    tools = [tiny_models.SUBMIT_TOOL, tiny_models.TOOL]
    for choice, call in ((FORCED_TOOL, ("submit_answer", {"answer": 391})), (None, CHOSEN_CALL)):
        message = _webui_chat(real_webui, persons_key, served, tools=tools,
                              **({"tool_choice": choice} if choice else {}), **extra)
        _assert_the_call_is_parsed(message, reasoning, call)


def test_a_persons_key_through_open_webui_offering_tools_to_a_model_without_a_tool_format_gets_a_clear_error(
        real_webui, persons_key):
    """The R1 distill has no tool format: its Open WebUI entry attaches none of Open WebUI's built-in tools, and a
    script that offers it tools through Open WebUI's API gets vLLM's refusal naming what is missing, not a chat with
    a call written into its answer."""
    status, models = real_webui.call("GET", "/api/models", token=persons_key)
    assert status == 200, models
    (model,) = [m for m in models["data"] if m["id"] == "deepseek-r1-distill-qwen-7b"]
    assert model["info"]["meta"]["capabilities"]["builtin_tools"] is False, model["info"]["meta"]
    body = {"model": "deepseek-r1-distill-qwen-7b", "stream": False, "tools": [tiny_models.TOOL],
            "messages": [{"role": "user", "content": "Weather in Paris?"}]}
    status, answer = real_webui.call("POST", "/api/chat/completions", body, persons_key)
    assert status == 400, answer
    assert "--enable-auto-tool-choice" in json.dumps(answer), answer


@pytest.fixture(scope="module")
def persons_key(real_vllm_hosts, real_webui) -> str:
    """ada's own key on the dual-GPU host's Open WebUI, once a module."""
    return _persons_key(real_webui, real_vllm_hosts.hosts["dual-gpu"])


def test_a_persons_key_through_open_webui_switches_thinking_per_request(real_webui, persons_key):
    """Qwen3 thinks by default on the dual-GPU host; a client of Open WebUI's API turns it off for one request with
    ``chat_template_kwargs`` (Open WebUI passes it on), and gets the answer alone."""
    answers = {name: _webui_chat(real_webui, persons_key, "qwen3-8b", **extra)
               for name, extra in (("default", {}), ("off", {"chat_template_kwargs": {"enable_thinking": False}}))}
    thought = _reasoning(answers["default"])
    assert thought == tiny_models.REASONING_TEXT, answers
    assert not _reasoning(answers["off"]), answers
    assert answers["off"]["content"].strip() == tiny_models.ANSWER_TEXT, answers


def test_a_thinking_budget_caps_the_reasoning_where_the_release_honours_it(real_vllm_hosts):
    """A request's ``thinking_token_budget`` through the engine's API: on a release that honours it (0.32.0 here),
    the reasoning stops at the budget and the answer follows whole; 0.17.1 ignores the field without a word, which
    is why the stack offers no budget there and ``check`` refuses openwebui_thinking_budgets for it."""
    from reasoning_stack.engines.vllm.releases import RELEASES
    from reasoning_stack.validation import SettingsInvalid, validate_host_data

    release = RELEASES[real_vllm_hosts.release]
    for unit, served in (("reasoning-vllm", "deepseek-r1-distill-qwen-7b"), ("reasoning-vllm-fast", "qwen3-8b")):
        server = real_vllm_hosts.server("dual-gpu", unit)
        whole = _chat(server, served)
        capped = _chat(server, served, thinking_token_budget=THINKING_BUDGET)
        assert _reasoning(whole) == tiny_models.REASONING_TEXT, whole
        assert capped["content"].strip() == tiny_models.ANSWER_TEXT, capped  # the answer still comes, whole
        if release.thinking_token_budget:
            cut = _reasoning(capped)
            assert cut and tiny_models.REASONING_TEXT.startswith(cut) and len(cut) < len(_reasoning(whole)), capped
        else:
            assert _reasoning(capped) == tiny_models.REASONING_TEXT, capped  # ignored: the reason it is refused
    if not release.thinking_token_budget:
        with pytest.raises(SettingsInvalid, match="ignores a request's thinking_token_budget"):
            validate_host_data("h", {"model": "deepseek-r1-distill-qwen-7b", "vllm_version": release.version,
                                     "openwebui_thinking_budgets": [THINKING_BUDGET]}, environ={})


def test_a_thinking_budget_chosen_per_chat_in_open_webui_reaches_the_real_vllm(real_vllm_hosts, real_webui,
                                                                              persons_key):
    """The deploy's model entry gives each chat a "Thinking budget" menu where the release honours budgets: a
    person's choice (Open WebUI's ``model_controls``, as its chat page sends it) caps the reasoning; "No limit", the
    default, sends nothing. Where the release would ignore a budget the entry has no menu at all."""
    from reasoning_stack.engines.vllm.releases import RELEASES

    served = "deepseek-r1-distill-qwen-7b"
    status, models = real_webui.call("GET", "/api/models", token=persons_key)  # what the chat page shows her
    assert status == 200, models
    (model,) = [m for m in models["data"] if m["id"] == served]
    controls = ((model.get("info") or {}).get("params") or {}).get("model_controls") or {}
    answers = {choice: _webui_chat(real_webui, persons_key, served,
                                   **({} if choice == "default" else _picked(served, "thinking_budget", choice)))
               for choice in ("default", "no_limit", f"tokens_{THINKING_BUDGET}")}
    assert _reasoning(answers["default"]) == _reasoning(answers["no_limit"]) == tiny_models.REASONING_TEXT, answers
    if not RELEASES[real_vllm_hosts.release].thinking_token_budget:
        assert "thinking_budget" not in controls, controls
        return
    options = controls["thinking_budget"]["options"]
    assert controls["thinking_budget"]["default"] == "no_limit" and list(options) == [
        "no_limit", f"tokens_{THINKING_BUDGET}", "tokens_1024"], controls
    cut = _reasoning(answers[f"tokens_{THINKING_BUDGET}"])
    assert cut and tiny_models.REASONING_TEXT.startswith(cut) and cut != tiny_models.REASONING_TEXT, answers
    assert answers[f"tokens_{THINKING_BUDGET}"]["content"].strip() == tiny_models.ANSWER_TEXT, answers


def test_thinking_switched_per_chat_in_open_webui_reaches_the_real_vllm(real_webui, persons_key):
    """Qwen3 (thinking by default on the dual-GPU host) gets a "Thinking" menu in each chat: "On", the default,
    sends nothing and the model reasons; a person's "Off" (Open WebUI's ``model_controls``, as its chat page sends
    it) reaches vLLM as ``enable_thinking: false`` and the answer comes alone."""
    status, models = real_webui.call("GET", "/api/models", token=persons_key)
    assert status == 200, models
    (model,) = [m for m in models["data"] if m["id"] == "qwen3-8b"]
    menu = model["info"]["params"]["model_controls"]["thinking"]
    assert menu["default"] == "on" and list(menu["options"]) == ["on", "off"], menu
    answers = {choice: _webui_chat(real_webui, persons_key, "qwen3-8b",
                                   **({} if choice == "default" else _picked("qwen3-8b", "thinking", choice)))
               for choice in ("default", "on", "off")}
    assert _reasoning(answers["default"]) == _reasoning(answers["on"]) == tiny_models.REASONING_TEXT, answers
    assert not _reasoning(answers["off"]) and answers["off"]["content"].strip() == tiny_models.ANSWER_TEXT, answers


def test_a_person_picks_a_thinking_budget_in_the_chat_page_and_the_reasoning_stops_there(real_vllm_hosts,
                                                                                        real_webui):
    """The menu in a real browser: the admin opens the chat box's model controls, picks the smallest budget for
    the R1 distill and asks; the answer shows whole with its reasoning cut at the budget. On 0.17.1 the chat box
    shows no model controls at all (the release would ignore a budget)."""
    import browser_chat

    from reasoning_stack.engines.vllm.releases import RELEASES

    host = real_vllm_hosts.hosts["dual-gpu"]
    browser = browser_chat.open_browser()
    try:
        browser_chat.sign_in(browser, real_webui.url, host.settings.openwebui_admin_email, ADMIN_PASSWORD)
        if not RELEASES[real_vllm_hosts.release].thinking_token_budget:
            assert browser_chat.model_controls_button(browser) is None
            return
        browser_chat.choose(browser, "Thinking budget", f"{THINKING_BUDGET} tokens")
        browser_chat.ask(browser, "What is 17 times 23?")
        browser_chat.see_reasoning_collapsed(browser, "The answer is", "17 * 20 + 17 * 3", "real-vllm-budget")
        assert "checked: 391 / 23" not in browser_chat.body_text(browser)  # the reasoning stopped at the budget
    finally:
        browser.quit()


def test_a_reply_cut_off_while_reasoning_shows_as_cut_off_in_the_chat_page(real_vllm_hosts, real_webui):
    """A reply that reaches its token limit while the model still reasons: Open WebUI 0.12.4 alone shows the
    reasoning so far and an empty answer; with the stack's 'Reply cut off' filter (kept by the deploy's own helper
    in this module's Open WebUI) the person sees it said where the answer would be. The R1 entry's max_tokens is
    set to 3 for this test by the admin, as a person could for a chat, and put back after."""
    import browser_chat

    host = real_vllm_hosts.hosts["dual-gpu"]
    email = host.settings.openwebui_admin_email
    admin = real_webui.signin(email, ADMIN_PASSWORD)
    path = "/api/v1/models/model?id=deepseek-r1-distill-qwen-7b"
    status, entry = real_webui.call("GET", path, token=admin)
    assert status == 200, entry
    short = {**entry, "params": {**(entry.get("params") or {}), "max_tokens": 3}}
    assert real_webui.call("POST", "/api/v1/models/model/update", short, admin)[0] == 200
    browser = None
    try:
        browser = browser_chat.open_browser()
        browser_chat.sign_in(browser, real_webui.url, email, ADMIN_PASSWORD)
        browser_chat.ask(browser, "What is 17 times 23?")
        browser_chat.see_reasoning_collapsed(browser, "Cut off while reasoning", "340 + 51", "real-vllm-cut-off")
        content, thinking = browser_chat.saved_answer(real_webui, email, ADMIN_PASSWORD)
        assert content.startswith("**Cut off while reasoning:**"), content
        assert thinking == ["".join(tiny_models.REASONING[:3])]  # the reasoning so far, kept under "Thought for…"
    finally:
        if browser is not None:
            browser.quit()
        assert real_webui.call("POST", "/api/v1/models/model/update", entry, admin)[0] == 200


def test_a_person_switches_thinking_off_in_the_chat_page_and_gets_the_answer_alone(real_vllm_hosts, real_webui):
    """The "Thinking" menu in a real browser: the admin opens a chat with Qwen3-8B (which thinks by default on the
    dual-GPU host), picks Thinking > Off in the chat box's model controls and asks; the answer shows with no
    "Thought for…" above it, and Open WebUI saves no reasoning. Both releases: the switch is the chat template's."""
    import browser_chat
    from selenium.webdriver.common.by import By

    host = real_vllm_hosts.hosts["dual-gpu"]
    email = host.settings.openwebui_admin_email
    browser = browser_chat.open_browser()
    try:
        browser_chat.sign_in(browser, real_webui.url, email, ADMIN_PASSWORD)
        browser.get(f"{real_webui.url}/?model=qwen3-8b")  # a new chat with that model, as a link to it opens one
        browser_chat.waiter(browser, 180).until(lambda b: b.find_elements(By.ID, "chat-input"))
        browser_chat.choose(browser, "Thinking", "Off")
        browser_chat.ask(browser, "What is 17 times 23?")
        browser_chat.waiter(browser).until(lambda b: "The answer is" in browser_chat.body_text(b))
        browser_chat.ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(browser_chat.ARTIFACTS / "real-vllm-thinking-off.png"))
        assert browser_chat.thought_toggle(browser) is None, browser_chat.body_text(browser)
        content, thinking = browser_chat.saved_answer(real_webui, email, ADMIN_PASSWORD)
        assert content.strip() == tiny_models.ANSWER_TEXT and thinking == [], (content, thinking)
    finally:
        browser.quit()
