"""The stack's helpers against a running service: a health wait and the smoke test."""

from __future__ import annotations

import shlex

from pyinfra.api import operation

from reasoning_stack.operations.streamed import StreamedCommand


@operation(is_idempotent=False)
def wait_http(helper: str, url: str, timeout: int, unit: str, expect: str = "", key_from: str = "", log: str = ""):
    """
    Wait until ``url`` answers 200 (printing progress); on timeout print the unit's journal and fail.

    + helper: path of the wait-http helper installed on the host
    + url: URL to poll
    + timeout: seconds to wait
    + unit: systemd unit whose journal tail is shown on failure
    + expect: text the body must contain
    + key_from: env file whose VLLM_API_KEY is sent as a bearer token
    + log: the service's log file, shown on failure instead of its journal (launchd services on macOS)

    .. code:: python

        wait_http(helper=WAIT_HTTP, url="http://127.0.0.1:8000/health", timeout=1800, unit="reasoning-vllm")
    """
    args = [helper, url, str(int(timeout)), unit]
    args += ["--expect", expect] if expect else []
    args += ["--key-from", key_from] if key_from else []
    args += ["--log", log] if log else []
    yield StreamedCommand(" ".join(shlex.quote(a) for a in args))


@operation(is_idempotent=False)
def smoke_test(helper: str, base_url: str, model: str, key_from: str = "", thinking_kwarg: str = "",
               expect_tps: float | None = None, record: str = ""):
    """
    Ask one reasoning question through the OpenAI API and check the reasoning arrives apart from the
    answer; prints time to first token, tokens per second (beside the plan's estimate) and
    reasoning/answer token counts.

    + helper: path of the smoke-test helper installed on the host
    + base_url: the vLLM server, e.g. ``http://127.0.0.1:8000``
    + model: served model name
    + key_from: env file whose VLLM_API_KEY is sent as a bearer token
    + thinking_kwarg: the chat-template kwarg that asks this model to think for the request (Qwen3's
      ``enable_thinking``, DeepSeek V4's ``thinking``); empty for a model without a thinking switch
    + expect_tps: the plan's single-request decode estimate, printed beside the measured figure
    + record: file that keeps the figures for ``reasoning-stack status``

    .. code:: python

        smoke_test(helper=SMOKE_TEST, base_url="http://127.0.0.1:8000", model="qwq-32b")
    """
    args = [helper, base_url, model]
    args += ["--key-from", key_from] if key_from else []
    args += ["--thinking-kwarg", thinking_kwarg] if thinking_kwarg else []
    args += ["--expect-tps", f"{expect_tps:.1f}"] if expect_tps else []
    args += ["--record", record] if record else []
    yield StreamedCommand(" ".join(shlex.quote(a) for a in args))
