"""Test stand-in for SGLang's server (``python3 -m sglang.launch_server``), installed in the stand-in image as
the ``sglang.launch_server`` module.

It refuses what SGLang 0.5.23 refuses at start for the flags the stack uses: unknown or abbreviated flags,
reasoning parsers SGLang does not have (vLLM's ``deepseek_r1`` spelling among them), a ``--mem-fraction-static``
outside (0, 1), a layout needing more GPUs than the container sees. The API key comes only from the ``--config``
YAML file, as SGLang reads it (a ``VLLM_API_KEY`` in the environment is ignored, as SGLang ignores it). Then it
serves SGLang's endpoints through the vLLM stand-in: /health, /health_generate, /v1/models and chat completions
with the reasoning in ``reasoning_content``.
"""

import argparse
import json
import os
import sys

REASONING_PARSERS = ["deepseek-r1", "deepseek-v3", "qwen3", "qwen3-thinking", "kimi_k2", "gpt-oss"]
parser = argparse.ArgumentParser(prog="sglang serve", allow_abbrev=False)
parser.add_argument("--model-path", "--model", required=True)
parser.add_argument("--served-model-name")
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=30000)
parser.add_argument("--tp-size", "--tensor-parallel-size", type=int, default=1)
parser.add_argument("--dp-size", "--data-parallel-size", type=int, default=1)
parser.add_argument("--context-length", type=int)
parser.add_argument("--mem-fraction-static", type=float)
parser.add_argument("--reasoning-parser", choices=REASONING_PARSERS)
parser.add_argument("--kv-cache-dtype", choices=["auto", "fp8_e5m2", "fp8_e4m3", "bf16"])
parser.add_argument("--max-running-requests", type=int)
parser.add_argument("--default-chat-template-kwargs")
parser.add_argument("--config")
for flag in ("--enable-metrics", "--disable-cuda-graph", "--disable-radix-cache", "--trust-remote-code"):
    parser.add_argument(flag, action="store_true")
args = parser.parse_args()
if args.mem_fraction_static is not None and not 0 < args.mem_fraction_static < 1:
    parser.error("--mem-fraction-static must be between 0 and 1")
api_key = ""
if args.config:
    with open(args.config) as fh:  # the stack writes `api-key: "<json string>"`
        for line in fh:
            key, _, value = line.partition(":")
            if key.strip() in ("api-key", "api_key"):
                api_key = json.loads(value.strip())
env = {k: v for k, v in os.environ.items() if k != "VLLM_API_KEY"}
if api_key:
    env["VLLM_API_KEY"] = api_key
env.update(STANDIN_ENGINE="sglang", STANDIN_REASONING_FIELD="reasoning_content")
vllm_args = [args.model_path, "--host", args.host, "--port", str(args.port),
             "--tensor-parallel-size", str(args.tp_size), "--data-parallel-size", str(args.dp_size)]
if args.served_model_name:
    vllm_args += ["--served-model-name", args.served_model_name]
if args.context_length:
    vllm_args += ["--max-model-len", str(args.context_length)]
if args.max_running_requests is not None:
    vllm_args += ["--max-num-seqs", str(args.max_running_requests)]
print(f"stand-in SGLang: mem_fraction_static {args.mem_fraction_static}, reasoning parser {args.reasoning_parser}, "
      f"API key {'from --config' if api_key else 'none'}", flush=True)
vllm_standin = os.environ.get("STANDIN_VLLM", "/standin/vllm_standin.py")  # tests outside the image set it
os.execve(sys.executable, [sys.executable, "-u", vllm_standin, *vllm_args], env)
