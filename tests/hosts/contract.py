"""The contract between an engine's real server and its stand-in: the same requests to both give responses of
the same shape. A shape keeps every field name and the type of every value (the values of ``object``,
``finish_reason``, ``role`` and ``type`` themselves), drops the texts and numbers, and for a stream lists its
chunks' shapes in order with runs of one shape folded into one (so "reasoning deltas, then content deltas"
is the shape whatever the number of tokens; see ``_normalised``). SSE comments (MLX-LM's keep-alives) are not
part of it.
"""

from __future__ import annotations

import json
from typing import Any

from real_engines import http

LITERAL = ("object", "finish_reason", "role", "type")
TOOL = {"type": "function", "function": {"name": "get_current_timestamp", "description": "The time now.",
                                         "parameters": {"type": "object", "properties": {}}}}


def layout(value: Any, key: str = "") -> Any:
    """The shape of a JSON value: field names kept, values by type, a list by its first item."""
    if isinstance(value, dict):
        return {k: layout(v, k) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [layout(value[0])] if value else []
    if key in LITERAL and isinstance(value, str):
        return value
    return "null" if value is None else type(value).__name__


def sse_events(raw: bytes) -> list[Any]:
    """A server-sent-events body as its data items (decoded JSON, or the literal "[DONE]")."""
    events = []
    for line in raw.decode().splitlines():
        if line.startswith("data: "):
            data = line.removeprefix("data: ")
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def _normalised(event: Any) -> list[Any]:
    """A chunk as clients read it: a delta's null or empty fields are absent (vLLM ends a stream with
    ``{"content": ""}`` or ``{}`` depending on the reasoning parser); tokens sent together when the server falls
    behind count as the chunks they would have been: a delta with both reasoning and answer text as a reasoning
    chunk then an answer chunk, a last token that came with the finish reason as its own chunk before the finish."""
    if not isinstance(event, dict) or not event.get("choices"):
        return [event]
    out = []
    for choice in event["choices"]:
        delta = {k: v for k, v in (choice.get("delta") or {}).items() if v not in (None, "")}
        thought = [k for k in delta if k.startswith("reasoning")]
        parts = [delta]
        if thought and "content" in delta:
            parts = [{k: v for k, v in delta.items() if k != "content"},
                     {k: v for k, v in delta.items() if k not in thought}]
        finish = choice.get("finish_reason")
        if finish is not None and any(k != "role" for k in delta):
            middle = {k: v for k, v in choice.items() if k != "stop_reason"} | {"finish_reason": None}
            out += [{**event, "choices": [{**middle, "delta": part}]} for part in parts]
            parts = [{k: v for k, v in delta.items() if k == "role"}]
        out += [{**event, "choices": [{**choice, "delta": part}]} for part in parts]
    return out


def stream_layout(events: list[Any]) -> list[Any]:
    """The shapes of a stream's chunks in order (as ``_normalised``), each run of one shape folded into one."""
    shapes: list[Any] = []
    for event in (part for e in events for part in _normalised(e)):
        shape = layout(event)
        if not shapes or shapes[-1] != shape:
            shapes.append(shape)
    return shapes


def delta_texts(events: list[Any]) -> dict[str, str]:
    """Each delta field's text joined over a stream (``{"reasoning": ..., "content": ...}``)."""
    texts: dict[str, str] = {}
    for event in events:
        for choice in event.get("choices", []) if isinstance(event, dict) else []:
            for name, text in (choice.get("delta") or {}).items():
                if isinstance(text, str) and name != "role":
                    texts[name] = texts.get(name, "") + text
    return texts


def differences(real: Any, standin: Any, where: str = "") -> list[str]:
    """Where two shapes differ, one line each (empty when they agree)."""
    if isinstance(real, dict) and isinstance(standin, dict):
        found = [f"{where}.{k}: only in the real server ({real[k]!r})" for k in real if k not in standin]
        found += [f"{where}.{k}: only in the stand-in ({standin[k]!r})" for k in standin if k not in real]
        for k in real:
            if k in standin:
                found += differences(real[k], standin[k], f"{where}.{k}")
        return found
    if isinstance(real, (list, tuple)) and isinstance(standin, (list, tuple)):
        found = [f"{where}[{i}]: {a!r} != {b!r}" for i, (a, b) in enumerate(zip(real, standin, strict=False))
                 if not isinstance(a, (dict, list, tuple)) and a != b]
        for i, (a, b) in enumerate(zip(real, standin, strict=False)):
            if isinstance(a, (dict, list, tuple)):
                found += differences(a, b, f"{where}[{i}]")
        if len(real) != len(standin):
            found.append(f"{where}: {len(real)} items from the real server, {len(standin)} from the stand-in")
        return found
    return [] if real == standin else [f"{where}: real {real!r}, stand-in {standin!r}"]


def chat(model: str, stream: bool, thinking: bool | None = None, usage: bool = True) -> dict[str, Any]:
    """A chat request as Open WebUI and the stack's own scripts send them."""
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "What is 17 * 23?"}],
                            "stream": stream}
    if stream and usage:
        body["stream_options"] = {"include_usage": True}
    if thinking is not None:
        body["chat_template_kwargs"] = {"enable_thinking": thinking}
    return body


def observe(url: str, key: str, served: str, thinking_switch: bool, metrics: tuple[str, ...] = (),
            auth: bool = True) -> dict[str, Any]:
    """What one server answers to the contract's requests, as shapes (and, under ``texts``, the streamed
    texts, which differ between a model and a stand-in and are checked apart)."""
    seen: dict[str, Any] = {}
    status, _headers, body = http("GET", f"{url}/health")
    seen["health"] = (status, layout(json.loads(body)) if body.strip() else "")
    status, _headers, body = http("GET", f"{url}/v1/models", key=key)
    seen["models"] = (status, layout(json.loads(body)))
    status, _headers, body = http("POST", f"{url}/v1/chat/completions", chat(served, False), key=key)
    seen["completion"] = (status, layout(json.loads(body)))
    status, headers, body = http("POST", f"{url}/v1/chat/completions", chat(served, True), key=key)
    events = sse_events(body)
    seen["stream"] = (status, headers.get("Content-Type", "").split(";")[0], stream_layout(events))
    seen["texts"] = {"stream": delta_texts(events)}
    status, _headers, body = http("POST", f"{url}/v1/chat/completions", chat(served, True, usage=False), key=key)
    seen["stream without usage"] = (status, stream_layout(sse_events(body)))
    # what Open WebUI's native function calling sends: refused by a server without a tool-call parser
    status, _headers, body = http("POST", f"{url}/v1/chat/completions", {**chat(served, False), "tools": [TOOL]},
                                  key=key)
    seen["a request with tools"] = (status, layout(json.loads(body)))
    if thinking_switch:
        for thinking in (False, True):
            status, _headers, body = http("POST", f"{url}/v1/chat/completions", chat(served, True, thinking),
                                          key=key)
            events = sse_events(body)
            seen[f"stream thinking={thinking}"] = (status, stream_layout(events))
            seen["texts"][f"thinking={thinking}"] = delta_texts(events)
    if auth:
        for name, (method, path, body_) in {"models": ("GET", "/v1/models", None),
                                            "completion": ("POST", "/v1/chat/completions", chat(served, False))
                                            }.items():
            status, _headers, body = http(method, f"{url}{path}", body_)  # no key
            seen[f"{name} without the key"] = (status, layout(json.loads(body)))
            status, _headers, body = http(method, f"{url}{path}", body_, key="not-the-key")
            seen[f"{name} with a wrong key"] = (status, layout(json.loads(body)))
        status, _headers, body = http("POST", f"{url}/v1/chat/completions", chat("not-served", False), key=key)
        seen["an unknown model"] = (status, layout(json.loads(body)))
    if metrics:
        status, _headers, body = http("GET", f"{url}/metrics")
        names = {line.split("{")[0].split(" ")[0] for line in body.decode().splitlines()
                 if line and not line.startswith("#")}
        seen["metrics"] = (status, sorted(m for m in metrics if m in names or f"{m}_count" in names))
    return seen


def compare(real: dict[str, Any], standin: dict[str, Any]) -> list[str]:
    """Every difference between the real server's and the stand-in's observations, texts aside."""
    found = []
    for name in real:
        if name == "texts":
            continue
        if name not in standin:
            found.append(f"{name}: not observed on the stand-in")
            continue
        found += [f"{name}: {line}" for line in differences(real[name], standin[name])]
    return found


def reasoning_of(message: dict[str, Any]) -> str:
    """A message's reasoning, in whichever field the engine, its release or Open WebUI put it ("" when none)."""
    return message.get("reasoning_content") or message.get("reasoning") or ""


def assert_the_call_is_parsed(message: dict[str, Any], reasoning: str | None, call: tuple[str, dict],
                              markers: tuple[str, ...], trimmed: bool = False) -> None:
    """One parsed tool call, ``call``'s name with its arguments exactly, the reasoning in its own field (or none),
    none of ``markers`` (the family's end of thinking and start of a call) left in the content. ``trimmed``: the
    reasoning is compared without the whitespace at its ends (MLX-LM keeps the newline after a thought label)."""
    calls = message.get("tool_calls") or []
    assert [each["function"]["name"] for each in calls] == [call[0]], message
    assert json.loads(calls[0]["function"]["arguments"]) == call[1], message
    said = reasoning_of(message)
    assert (said.strip() if trimmed else said) == (reasoning or ""), message
    content = message.get("content") or ""
    assert not any(marker in content for marker in markers), message
