"""Test stand-in for the vLLM OpenAI server image (entrypoint `vllm serve`): same endpoints, canned answers.

Answers /health, /v1/models and /v1/chat/completions (with the reasoning apart from the answer, as vLLM
does with a reasoning parser). `vllm serve`'s own argument parser is not here: the project checks every
argument list with vLLM's real parser elsewhere. A file `standin-hang` in the Hugging Face cache makes
completions hang while /health stays 200, as a hung engine does. A model name containing "fail-to-start" exits at once,
and so does `--max-num-seqs 0` (as the real server refuses it), so tests can watch a failing instance
being reported. Like vLLM, it refuses to start when its layout (tensor x data parallel) needs more GPUs than
the container sees (`nvidia-smi -L`, which the stand-in GPU hook provides), and it logs the layout.

Across nodes it behaves like vLLM's two multi-node modes:
- `--nnodes N --node-rank R --master-addr A --master-port P`: rank 0 must not be `--headless` and `A` must be
  its own VLLM_HOST_IP; it listens on P and serves only once every other rank has connected. Ranks 1.. must
  be `--headless`; they connect to A:P (retrying, as torch.distributed does), report their rank and stay.
  A rank that drops makes the others exit, as an NCCL failure does.
- `--distributed-executor-backend ray`: connects to the Ray cluster (RAY_ADDRESS) with the real Ray and serves
  only once Ray reports enough nodes and GPUs for tensor x pipeline parallel (vLLM waits for its placement
  group the same way).
Both refuse to start without VLLM_HOST_IP and GLOO_SOCKET_IFNAME (Gloo falls back to 127.0.0.1 without them).
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser(allow_abbrev=False)
parser.add_argument("model")
parser.add_argument("--host", default="0.0.0.0")
parser.add_argument("--port", type=int, default=8000)
parser.add_argument("--served-model-name", default=None)
parser.add_argument("--reasoning-parser", default=None)
parser.add_argument("--max-num-seqs", type=int, default=256)
parser.add_argument("--tensor-parallel-size", type=int, default=1)
parser.add_argument("--data-parallel-size", type=int, default=1)
parser.add_argument("--pipeline-parallel-size", type=int, default=1)
parser.add_argument("--distributed-executor-backend", default=None)
parser.add_argument("--nnodes", type=int, default=1)
parser.add_argument("--node-rank", type=int, default=0)
parser.add_argument("--master-addr", default="127.0.0.1")
parser.add_argument("--master-port", type=int, default=29501)
parser.add_argument("--headless", action="store_true")
parser.add_argument("--max-model-len", type=int, default=None)
parser.add_argument("--default-chat-template-kwargs", type=json.loads, default=None)
parser.add_argument("--enable-auto-tool-choice", action="store_true")
parser.add_argument("--tool-call-parser", default=None)
args, _rest = parser.parse_known_args()
served = args.served_model_name or args.model
# Tests make the engine hang by creating this file in the host's Hugging Face cache (mounted here).
HANG = "/root/.cache/huggingface/standin-hang"
api_key = os.environ.get("VLLM_API_KEY")
REQUEST_LOG = os.environ.get("STANDIN_REQUEST_LOG")  # tests only: a JSON line per completion request
# The field reasoning arrives in: vLLM 0.17.1's "reasoning"; cloud APIs such as DeepSeek's send "reasoning_content".
REASONING_FIELD = os.environ.get("STANDIN_REASONING_FIELD", "reasoning")
NIM = os.environ.get("STANDIN_NIM") == "1"  # started by nim_standin.py: the vLLM inside NVIDIA NIM
ENGINE = os.environ.get("STANDIN_ENGINE", "vllm")  # sglang: started by sglang_standin.py; mlx: for mlx_lm.server
# Whose answers' layout: the current line's (the real 0.32.0 server's, the nearest real one to the default 0.34.0),
# or "0.17.1", the seed's. tests/test_real_vllm.py holds each against its real server.
SHAPE = os.environ.get("STANDIN_VLLM_RELEASE", "0.32.0")
CURRENT = SHAPE != "0.17.1"
FINGERPRINT = f"vllm-{SHAPE}-standin"  # the real one is vllm-<release>-<build hash>
if "fail-to-start" in args.model or args.max_num_seqs < 1:
    print(f"stand-in vLLM: cannot load {args.model}: CUDA out of memory (stand-in failure)", flush=True)
    sys.exit(1)
multi_node = args.nnodes > 1 or args.distributed_executor_backend == "ray"
# GPUs this node must have: with several nodes each holds tensor_parallel_size of them (one pipeline stage).
needed = args.tensor_parallel_size * args.data_parallel_size * (1 if multi_node else args.pipeline_parallel_size)
if shutil.which("nvidia-smi") and args.distributed_executor_backend != "ray":
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout.splitlines()
    visible = len([line for line in listed if line.startswith("GPU ")])
    if needed > visible:
        print(f"stand-in vLLM: world size {needed} (tensor parallel {args.tensor_parallel_size} x data parallel "
              f"{args.data_parallel_size}) is greater than the {visible} GPU(s) this container sees", flush=True)
        sys.exit(1)
    print(f"stand-in vLLM: tensor parallel {args.tensor_parallel_size} x data parallel {args.data_parallel_size} "
          f"on {visible} visible GPU(s)", flush=True)


def fail(message: str) -> None:
    print(f"stand-in vLLM: {message}", flush=True)
    sys.exit(1)


def node_env() -> str:
    address = os.environ.get("VLLM_HOST_IP", "")
    if not address or not os.environ.get("GLOO_SOCKET_IFNAME") or not os.environ.get("NCCL_SOCKET_IFNAME"):
        fail("VLLM_HOST_IP, NCCL_SOCKET_IFNAME and GLOO_SOCKET_IFNAME must be set on every node of a cluster")
    return address


def headless_worker() -> None:
    """A rank > 0 of vLLM's own multi-node mode: join the head's process group, then hold the connection."""
    node_env()
    if not args.headless:
        fail(f"node rank {args.node_rank} must run --headless (only rank 0 serves the API)")
    while True:
        try:
            conn = socket.create_connection((args.master_addr, args.master_port), timeout=5)
            break
        except OSError:
            print(f"stand-in vLLM: rank {args.node_rank} waiting for the head at {args.master_addr}:"
                  f"{args.master_port}", flush=True)
            time.sleep(2)
    conn.sendall(f"rank {args.node_rank} of {args.nnodes}\n".encode())
    conn.settimeout(None)
    print(f"stand-in vLLM: rank {args.node_rank} joined the head at {args.master_addr}:{args.master_port}",
          flush=True)
    while conn.recv(1):  # the head never sends; an empty read is the head gone
        pass
    fail(f"rank {args.node_rank}: lost the head at {args.master_addr}:{args.master_port}")


def head_of_nodes() -> None:
    """Rank 0 of vLLM's own multi-node mode: wait until every other rank has joined."""
    address = node_env()
    if args.headless:
        fail("node rank 0 serves the API and must not be --headless")
    if args.master_addr != address:
        fail(f"--master-addr {args.master_addr} is not this head's address {address} (VLLM_HOST_IP)")
    server = socket.create_server(("0.0.0.0", args.master_port))
    joined: dict[int, socket.socket] = {}
    while len(joined) < args.nnodes - 1:
        print(f"stand-in vLLM: head waiting for ranks: {len(joined) + 1}/{args.nnodes} joined", flush=True)
        conn, peer = server.accept()
        words = conn.makefile().readline().split()
        if len(words) == 4 and words[0] == "rank" and words[1].isdigit() and words[3] == str(args.nnodes):
            joined[int(words[1])] = conn
            print(f"stand-in vLLM: rank {words[1]} joined from {peer[0]}", flush=True)
    if sorted(joined) != list(range(1, args.nnodes)):
        fail(f"ranks joined: {sorted(joined)}, expected 1..{args.nnodes - 1}")

    def watch(rank: int, conn: socket.socket) -> None:
        while conn.recv(1):
            pass
        print(f"stand-in vLLM: rank {rank} left the process group (an NCCL failure in vLLM)", flush=True)
        os._exit(1)

    for rank, conn in joined.items():
        threading.Thread(target=watch, args=(rank, conn), daemon=True).start()


def ray_placement() -> None:
    """With the Ray executor: wait until Ray shows every node and GPU the layout needs."""
    node_env()
    import ray

    ray.init(address=os.environ.get("RAY_ADDRESS", "auto"), logging_level="ERROR", log_to_driver=False)
    gpus_needed = args.tensor_parallel_size * args.pipeline_parallel_size
    while True:
        nodes = [n for n in ray.nodes() if n["Alive"]]
        gpus = sum(n["Resources"].get("GPU", 0) for n in nodes)
        if len(nodes) >= args.pipeline_parallel_size and gpus >= gpus_needed:
            break
        print(f"stand-in vLLM: waiting for the placement group: {len(nodes)} node(s), {gpus:g}/{gpus_needed} GPUs "
              "in the Ray cluster", flush=True)
        time.sleep(3)
    print(f"stand-in vLLM: Ray cluster has {len(nodes)} nodes and {gpus:g} GPUs; placing tensor parallel "
          f"{args.tensor_parallel_size} x pipeline parallel {args.pipeline_parallel_size}", flush=True)


if args.nnodes > 1 and args.node_rank > 0:
    headless_worker()
    sys.exit(0)
if args.nnodes > 1:
    head_of_nodes()
elif args.distributed_executor_backend == "ray":
    ray_placement()
print(f"stand-in vLLM serving {args.model} as {served} on {args.host}:{args.port}", flush=True)


REASONING_TEXT, ANSWER_TEXT = "17 * 23 = 17 * 20 + 17 * 3 = 340 + 51 = 391.", "The answer is \\boxed{391}."
# The Prometheus series the tests read from vLLM's /metrics (counted here per served model, as vLLM does).
COUNTERS = ("vllm:request_success_total", "vllm:prompt_tokens_total", "vllm:generation_tokens_total")
GAUGES = ("vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc")
HISTOGRAMS = ("vllm:time_to_first_token_seconds", "vllm:e2e_request_latency_seconds",
              "vllm:inter_token_latency_seconds")
counts = {name: 0.0 for name in COUNTERS}
counts_lock = threading.Lock()


def count(prompt_tokens: int, generated: int) -> None:
    with counts_lock:
        counts["vllm:request_success_total"] += 1
        counts["vllm:prompt_tokens_total"] += prompt_tokens
        counts["vllm:generation_tokens_total"] += generated


def metrics_text() -> str:
    """vLLM's /metrics as Prometheus text: the series the stack and the tests read, labelled by model_name."""
    label = f'{{engine="0",model_name="{served}"}}'
    lines = []
    for name in COUNTERS:
        lines += [f"# TYPE {name} counter", f"{name}{label} {counts[name]}"]
    for name in GAUGES:
        lines += [f"# TYPE {name} gauge", f"{name}{label} 0.0"]
    for name in HISTOGRAMS:
        n = counts["vllm:request_success_total"]
        lines += [f"# TYPE {name} histogram", f'{name}_bucket{{engine="0",le="+Inf",model_name="{served}"}} {n}',
                  f"{name}_count{label} {n}", f"{name}_sum{label} {0.05 * n}"]
    return "\n".join(lines) + "\n"


def model_card() -> dict:
    """One entry of /v1/models, with the fields each engine's own server sends."""
    created = int(time.time())
    if ENGINE == "mlx":
        return {"id": served, "object": "model", "created": created}
    return {"id": served, "object": "model", "created": created, "owned_by": ENGINE, "root": args.model,
            "parent": None, "max_model_len": args.max_model_len,
            "permission": [{"id": "modelperm-standin", "object": "model_permission", "created": created,
                            "allow_create_engine": False, "allow_sampling": True, "allow_logprobs": True,
                            "allow_search_indices": False, "allow_view": True, "allow_fine_tuning": False,
                            "organization": "*", "group": None, "is_blocking": False}]}


def tool_call(request: dict) -> dict | None:
    """The call the tiny models make by themselves when a request offers their tool, get_weather, and the server
    parses calls (vLLM with a tool parser and auto tool choice; MLX-LM, which picks its parser from the model's
    template). Other tools (Open WebUI's built-in ones), a named ``tool_choice`` and streamed requests get the
    prose."""
    names = [(tool.get("function") or {}).get("name") for tool in request.get("tools") or []]
    if "get_weather" not in names or request.get("tool_choice") not in (None, "auto") or request.get("stream"):
        return None
    if ENGINE == "vllm" and not (args.enable_auto_tool_choice and args.tool_call_parser) or ENGINE == "sglang":
        return None
    return {"id": "chatcmpl-tool-standin", "type": "function",
            "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}}


def completion(reasoning: str, answer: str, usage: dict, call: dict | None = None) -> dict:
    """A whole chat completion, field for field as vLLM (SHAPE's release) or MLX-LM 0.32.2 sends one; with
    ``call``, that tool call in place of the answer."""
    reasoning_value = reasoning or None
    finish = "tool_calls" if call else "stop"
    if ENGINE == "mlx":
        message = {"role": "assistant", "content": "" if call else answer,
                   **({REASONING_FIELD: reasoning} if reasoning else {}), **({"tool_calls": [call]} if call else {})}
        return {"id": "chatcmpl-standin", "system_fingerprint": "standin", "object": "chat.completion",
                "model": served, "created": int(time.time()),
                "choices": [{"index": 0, "finish_reason": finish, "message": message}],
                "usage": {**usage, "prompt_tokens_details": {"cached_tokens": 0}}}
    message = {"role": "assistant", "content": None if call else answer, "refusal": None, "annotations": None,
               "audio": None, "function_call": None, "tool_calls": [call] if call else [],
               REASONING_FIELD: reasoning_value}
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish, "stop_reason": None,
              "token_ids": None}
    whole = {"id": "chatcmpl-standin", "object": "chat.completion", "created": int(time.time()), "model": served,
             "choices": [choice], "service_tier": None, "system_fingerprint": None,
             "usage": {**usage, "prompt_tokens_details": None},
             "prompt_logprobs": None, "prompt_token_ids": None, "kv_transfer_params": None}
    if CURRENT:  # 0.32: no empty tool_calls, a fingerprint, reasoning tokens counted, four more null fields
        if not call:
            del message["tool_calls"]
        choice["routed_experts"] = None
        whole.update(system_fingerprint=FINGERPRINT, prompt_text=None, ec_transfer_params=None, metrics=None)
        whole["usage"]["completion_tokens_details"] = {"reasoning_tokens": len(reasoning.split())}
    return whole


def stream_chunks(reasoning: str, answer: str, usage: dict | None) -> list[dict]:
    """The chunks of a streamed completion in vLLM's order and layout (SHAPE's release): the role first (with an empty
    content), reasoning deltas, content deltas (no chunk for the end-of-thinking marker), a last delta with the
    finish reason, then, when asked for, the usage with no choices. MLX-LM 0.32.2: the role in every delta, the
    finish with the role alone, the usage chunk's object "chat.completion"."""
    base = {"id": "chatcmpl-standin", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": served}
    words = [(REASONING_FIELD, w + " ") for w in reasoning.split()] + [("content", w + " ") for w in answer.split()]
    if ENGINE == "mlx":
        base = {"id": "chatcmpl-standin", "system_fingerprint": "standin", **base}
        chunks = [{**base, "choices": [{"index": 0, "finish_reason": None,
                                        "delta": {"role": "assistant", name: text}}]} for name, text in words]
        chunks.append({**base, "choices": [{"index": 0, "finish_reason": "stop", "delta": {"role": "assistant"}}]})
        if usage is not None:
            chunks.append({**base, "object": "chat.completion", "choices": [],
                           "usage": {**usage, "prompt_tokens_details": {"cached_tokens": 0}}})
        return chunks
    first = {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None,
                                  "finish_reason": None}], "prompt_token_ids": None}
    chunks = [{**first, "prompt_text": None} if CURRENT else first]
    chunks += [{**base, "choices": [{"index": 0, "delta": {name: text}, "logprobs": None, "finish_reason": None,
                                     "token_ids": None}]} for name, text in words]
    chunks.append({**base, "choices": [{"index": 0, "delta": {"content": ""}, "logprobs": None,
                                        "finish_reason": "stop", "stop_reason": None, "token_ids": None}]})
    if usage is not None:
        details = {"completion_tokens_details": {"reasoning_tokens": len(reasoning.split())}} if CURRENT else {}
        chunks.append({**base, "choices": [], "usage": {**usage, **details}})
    if CURRENT:  # 0.32: the fingerprint on the last chunk (the usage when asked for, else the finish)
        chunks[-1]["system_fingerprint"] = FINGERPRINT
    return chunks


class Handler(BaseHTTPRequestHandler):
    def _send(self, code, payload):
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _text(self, code, text, content_type="text/plain; version=0.0.4; charset=utf-8"):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self):
        if api_key and self.headers.get("Authorization") != f"Bearer {api_key}":
            self._send(401, {"error": "Unauthorized"})
            return False
        return True

    def do_GET(self):
        if self.path == "/health" or self.path == "/health_generate" and ENGINE == "sglang":
            if ENGINE == "mlx":
                self._send(200, {"status": "ok"})
                return
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif NIM and self.path in ("/v1/health/ready", "/v1/health/live"):  # NIM's own, once the engine answers
            self._send(200, {"object": "health.response", "message": "Service is ready."})
        elif (self.path == "/v1/metrics" if NIM else self.path == "/metrics" and ENGINE != "mlx"):  # no API key
            self._text(200, metrics_text())
        elif self.path == "/v1/models":
            if self._authorised():
                self._send(200, {"object": "list", "data": [model_card()]})
        else:
            self._send(404, {"detail": "Not Found"})

    def do_POST(self):
        if self.path != "/v1/chat/completions":
            self._send(404, {"detail": "Not Found"})
            return
        if not self._authorised():
            return
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        if REQUEST_LOG:  # what each request asked for, for tests that count requests per model
            asked = {k: request.get(k) for k in ("model", "max_tokens", "stream", "stream_options",
                                                  "chat_template_kwargs", "temperature", "top_p")}
            asked["prompt"] = str((request.get("messages") or [{}])[-1].get("content", ""))[:80]
            with open(REQUEST_LOG, "a") as log:
                log.write(json.dumps(asked) + "\n")
        if ENGINE == "vllm" and request.get("model") not in (served, None):
            self._send(404, {"error": {"message": f"The model `{request.get('model')}` does not exist.",
                                       "type": "NotFoundError", "param": "model", "code": 404}})
            return
        if ENGINE == "vllm" and request.get("tools") and request.get("tool_choice") in (None, "auto") and not (
                args.enable_auto_tool_choice and args.tool_call_parser):
            self._send(400, {"error": {"message": '"auto" tool choice requires --enable-auto-tool-choice and '
                                                  "--tool-call-parser to be set", "type": "BadRequestError",
                                       "param": None, "code": 400}})
            return
        # A hung engine (vllm-project/vllm#39863): /health stays 200, completions never come.
        deadline = time.monotonic() + 300
        while os.path.exists(HANG) and time.monotonic() < deadline:
            time.sleep(0.5)
        reasoning, answer = REASONING_TEXT, ANSWER_TEXT
        template_kwargs = {**(args.default_chat_template_kwargs or {}), **(request.get("chat_template_kwargs") or {})}
        if template_kwargs.get("enable_thinking") is False:
            reasoning = ""  # Qwen3 with thinking off answers at once
        generated = len(reasoning.split()) + len(answer.split())
        usage = {"prompt_tokens": 20, "total_tokens": 20 + generated, "completion_tokens": generated}
        count(20, generated)
        if request.get("stream"):
            wants_usage = (request.get("stream_options") or {}).get("include_usage")
            self._stream(stream_chunks(reasoning, answer, usage if wants_usage else None))
            return
        self._send(200, completion(reasoning, answer, usage, tool_call(request)))

    def _stream(self, chunks):
        """Server-sent events, one chunk each (MLX-LM first sends a keep-alive comment while it reads the
        prompt), then [DONE]."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        if ENGINE == "mlx":
            self.wfile.write(b": keepalive 1/1\n\n")
        for chunk in chunks:
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            time.sleep(0.01)
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, fmt, *fmt_args):
        print(f"stand-in {ENGINE_NAMES.get(ENGINE, 'vLLM')}: " + fmt % fmt_args, flush=True)


ENGINE_NAMES = {"vllm": "vLLM", "sglang": "SGLang", "mlx": "MLX-LM"}
# PID 1 in a container ignores SIGTERM unless it handles it: stop like the real servers do.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


class Server(ThreadingHTTPServer):
    """Accepts as the real servers' uvicorn does: a listen backlog of 2048 (``--backlog``'s default). The standard
    library's 5 made a burst of connections wait for SYN retries (1, 3, 7 s...): 200 people listing models at once
    then saw Open WebUI's 10 s model-list timeout, which no real engine would cause."""

    request_queue_size = 2048


Server((args.host, args.port), Handler).serve_forever()
