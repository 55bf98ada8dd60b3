#!/usr/bin/env python3
"""Test stand-in for Ollama's server (``ollama serve`` in the ollama/ollama image), installed as
/usr/bin/ollama in the stand-in image.

It reads the environment ``ollama serve`` reads (OLLAMA_HOST, OLLAMA_MODELS, OLLAMA_CONTEXT_LENGTH,
OLLAMA_NUM_PARALLEL, OLLAMA_KV_CACHE_TYPE, OLLAMA_FLASH_ATTENTION) and refuses values the real one cannot use:
a number that is not one, an unknown KV cache type, a quantized KV cache without flash attention (the real one
then falls back to f16 with a warning: the stand-in is stricter so a test sees it). It answers Ollama's
endpoints: /api/version, /api/tags (the models pulled into OLLAMA_MODELS), /api/pull (streamed progress; a tag
the library lacks gets its error), /api/chat (``message.thinking`` when asked to think),
/v1/chat/completions (``reasoning`` in the deltas) and /v1/models.
"""

import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "0.32.6"
LIBRARY = {"deepseek-r1:1.5b": 1_100_000_000, "deepseek-r1:7b": 4_700_000_000, "deepseek-r1:14b": 9_000_000_000,
           "deepseek-r1:32b": 20_000_000_000, "qwq:32b": 20_000_000_000, "qwen3:8b": 5_200_000_000,
           "qwen3:14b": 9_300_000_000, "qwen3:32b": 20_000_000_000,
           "deepseek-r1:8b-llama-distill-q4_K_M": 4_900_000_000}


def fail(message: str) -> None:
    print(f"stand-in Ollama: Error: {message}", flush=True)
    sys.exit(1)


if sys.argv[1:] != ["serve"]:
    fail(f"unknown command {' '.join(sys.argv[1:])!r} (the server runs as `ollama serve`)")
env = os.environ
for number in ("OLLAMA_CONTEXT_LENGTH", "OLLAMA_NUM_PARALLEL", "OLLAMA_MAX_LOADED_MODELS"):
    if number in env and not env[number].isdigit():
        fail(f"{number}={env[number]!r} is not a whole number")
kv_type = env.get("OLLAMA_KV_CACHE_TYPE", "f16")
if kv_type not in ("f16", "q8_0", "q4_0"):
    fail(f"OLLAMA_KV_CACHE_TYPE={kv_type!r}: use f16, q8_0 or q4_0")
if kv_type != "f16" and env.get("OLLAMA_FLASH_ATTENTION") not in ("1", "true"):
    fail(f"OLLAMA_KV_CACHE_TYPE={kv_type} needs OLLAMA_FLASH_ATTENTION=1")
host, _, port = env.get("OLLAMA_HOST", "127.0.0.1:11434").rpartition(":")
MODELS = env.get("OLLAMA_MODELS", "/root/.ollama/models")
MANIFESTS = os.path.join(MODELS, "manifests", "registry.ollama.ai", "library")
print(f"stand-in Ollama {VERSION} on {host}:{port}: context {env.get('OLLAMA_CONTEXT_LENGTH', '4096')}, "
      f"parallel {env.get('OLLAMA_NUM_PARALLEL', '1')}, KV cache {kv_type}", flush=True)


def pulled() -> list[str]:
    tags = []
    for name in sorted(os.listdir(MANIFESTS)) if os.path.isdir(MANIFESTS) else []:
        tags += [f"{name}:{version}" for version in sorted(os.listdir(os.path.join(MANIFESTS, name)))]
    return tags


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, code: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, content_type: str, lines: list[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for line in lines:
            self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
            self.wfile.flush()
            time.sleep(0.01)
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self):
        if self.path == "/":
            body = b"Ollama is running"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/api/version":
            self._send(200, {"version": VERSION})
        elif self.path == "/api/tags":
            self._send(200, {"models": [{"name": t, "model": t, "size": LIBRARY.get(t, 0)} for t in pulled()]})
        elif self.path == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": t, "object": "model"} for t in pulled()]})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        model = request.get("model") or request.get("name") or ""
        if self.path == "/api/pull":
            self._pull(model)
        elif self.path == "/api/chat":
            if model not in pulled():
                self._send(404, {"error": f"model '{model}' not found"})
                return
            num_ctx = (request.get("options") or {}).get("num_ctx")
            print(f"stand-in Ollama: chat with {model}, num_ctx {num_ctx or 'unset'}, think {request.get('think')}",
                  flush=True)
            answer, thinking = "The answer is \\boxed{391}.", "17 * 23 = 391."
            message = {"role": "assistant", "content": answer}
            if request.get("think"):
                message["thinking"] = thinking
            elif request.get("think") is None:  # a thinking model asked nothing: its reasoning in <think> tags
                message["content"] = f"<think>{thinking}</think>{answer}"
            if request.get("stream", True):
                lines = [{"model": model, "done": False, "message": {**message, "content": word + " "}}
                         for word in message["content"].split()]
                lines[0]["message"]["thinking"] = message.get("thinking", "")
                lines.append({"model": model, "done": True, "done_reason": "stop",
                              "message": {"role": "assistant", "content": ""}, "eval_count": len(lines)})
                self._stream("application/x-ndjson", [json.dumps(line).encode() + b"\n" for line in lines])
            else:
                self._send(200, {"model": model, "done": True, "done_reason": "stop", "message": message})
        elif self.path == "/v1/chat/completions":
            self._openai_chat(model, request)
        else:
            self._send(404, {"error": "not found"})

    def _pull(self, model: str) -> None:
        if model not in LIBRARY:
            self._stream("application/x-ndjson", [b'{"status":"pulling manifest"}\n',
                                                  b'{"error":"pull model manifest: file does not exist"}\n'])
            return
        total = LIBRARY[model]
        events = [{"status": "pulling manifest"}]
        events += [{"status": "pulling sha256:5e8f", "digest": "sha256:5e8f", "total": total,
                    "completed": total * step // 20} for step in range(21)]
        events += [{"status": "verifying sha256 digest"}, {"status": "writing manifest"}, {"status": "success"}]
        name, _, version = model.partition(":")
        os.makedirs(os.path.join(MANIFESTS, name), exist_ok=True)
        with open(os.path.join(MANIFESTS, name, version or "latest"), "w") as manifest:
            json.dump({"schemaVersion": 2, "layers": [{"digest": "sha256:5e8f", "size": total}]}, manifest)
        self._stream("application/x-ndjson", [json.dumps(e).encode() + b"\n" for e in events])

    def _openai_chat(self, model: str, request: dict) -> None:
        if model not in pulled():
            self._send(404, {"error": {"message": f"model '{model}' not found", "type": "api_error"}})
            return
        reasoning, answer = "17 * 23 = 17 * 20 + 17 * 3 = 391.", "The answer is \\boxed{391}."
        if not request.get("stream"):
            message = {"role": "assistant", "content": answer, "reasoning": reasoning}
            self._send(200, {"object": "chat.completion", "model": model, "choices": [
                {"index": 0, "message": message, "finish_reason": "stop"}]})
            return
        words = [("reasoning", w + " ") for w in reasoning.split()] + [("content", w + " ") for w in answer.split()]
        chunks = [{"object": "chat.completion.chunk", "model": model,
                   "choices": [{"index": 0, "delta": {field: text}, "finish_reason": None}]} for field, text in words]
        chunks.append({"object": "chat.completion.chunk", "model": model,
                       "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 20, "completion_tokens": len(words)}})
        self._stream("text/event-stream", [f"data: {json.dumps(c)}\n\n".encode() for c in chunks]
                     + [b"data: [DONE]\n\n"])

    def log_message(self, fmt, *fmt_args):
        print("stand-in Ollama: " + fmt % fmt_args, flush=True)


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


class Server(ThreadingHTTPServer):
    """Accepts a burst as Ollama's own server does (the kernel's backlog, not the standard library's 5)."""

    request_queue_size = 4096


Server((host.strip("[]"), int(port)), Handler).serve_forever()
