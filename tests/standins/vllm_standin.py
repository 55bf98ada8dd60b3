"""Test stand-in for the vLLM OpenAI server image (entrypoint `vllm serve`): same endpoints, canned answers.

Answers /health, /v1/models and /v1/chat/completions (with the reasoning apart from the answer, as vLLM
does with a reasoning parser). `vllm serve`'s own argument parser is not here: the project checks every
argument list with vLLM's real parser elsewhere. A model name containing "fail-to-start" exits at once,
and so does `--max-num-seqs 0` (as the real server refuses it), so tests can watch a failing instance
being reported. Like vLLM, it refuses to start when its layout (tensor x data parallel) needs more GPUs than
the container sees (`nvidia-smi -L`, which the stand-in GPU hook provides), and it logs the layout.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
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
args, _rest = parser.parse_known_args()
served = args.served_model_name or args.model
api_key = os.environ.get("VLLM_API_KEY")
if "fail-to-start" in args.model or args.max_num_seqs < 1:
    print(f"stand-in vLLM: cannot load {args.model}: CUDA out of memory (stand-in failure)", flush=True)
    sys.exit(1)
needed = args.tensor_parallel_size * args.data_parallel_size * args.pipeline_parallel_size
if shutil.which("nvidia-smi"):
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout.splitlines()
    visible = len([line for line in listed if line.startswith("GPU ")])
    if needed > visible:
        print(f"stand-in vLLM: world size {needed} (tensor parallel {args.tensor_parallel_size} x data parallel "
              f"{args.data_parallel_size}) is greater than the {visible} GPU(s) this container sees", flush=True)
        sys.exit(1)
    print(f"stand-in vLLM: tensor parallel {args.tensor_parallel_size} x data parallel {args.data_parallel_size} "
          f"on {visible} visible GPU(s)", flush=True)
print(f"stand-in vLLM serving {args.model} as {served} on {args.host}:{args.port}", flush=True)


class Handler(BaseHTTPRequestHandler):
    def _send(self, code, payload):
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self):
        if api_key and self.headers.get("Authorization") != f"Bearer {api_key}":
            self._send(401, {"error": "Unauthorized"})
            return False
        return True

    def do_GET(self):
        if self.path == "/health":
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/v1/models":
            if self._authorised():
                self._send(200, {"object": "list", "data": [{"id": served, "object": "model", "root": args.model}]})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/v1/chat/completions":
            self._send(404, {"error": "not found"})
            return
        if not self._authorised():
            return
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        reasoning, answer = "17 * 23 = 17 * 20 + 17 * 3 = 340 + 51 = 391.", "The answer is \\boxed{391}."
        if request.get("stream"):
            self._stream(reasoning, answer)
            return
        message = {"role": "assistant", "content": answer, "reasoning": reasoning}
        self._send(200, {"id": "chatcmpl-standin", "object": "chat.completion", "created": int(time.time()),
                         "model": served, "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 12, "completion_tokens": 20, "total_tokens": 32}})

    def _stream(self, reasoning, answer):
        """Server-sent events like vLLM's with a reasoning parser: reasoning deltas, then content deltas."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        words = [("reasoning", w + " ") for w in reasoning.split()] + [("content", w + " ") for w in answer.split()]
        for field, text in words:
            chunk = {"object": "chat.completion.chunk", "model": served,
                     "choices": [{"index": 0, "delta": {field: text}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            time.sleep(0.01)
        done = {"object": "chat.completion.chunk", "model": served,
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        usage = {"object": "chat.completion.chunk", "model": served, "choices": [],
                 "usage": {"prompt_tokens": 20, "completion_tokens": len(words), "total_tokens": 20 + len(words)}}
        for chunk in (done, usage):
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, fmt, *fmt_args):
        print("stand-in vLLM: " + fmt % fmt_args, flush=True)


# PID 1 in a container ignores SIGTERM unless it handles it: stop like the real servers do.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()
