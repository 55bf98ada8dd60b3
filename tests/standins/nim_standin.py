"""Test stand-in for NVIDIA NIM's model-free vLLM image (``nvcr.io/nim/nvidia/vllm-model-free-nim``): reads what
NIM reads (``NIM_MODEL_PATH``, ``NIM_SERVED_MODEL_NAME``, ``NIM_SERVER_PORT``, ``NIM_CACHE_PATH``), refuses what
NIM would (no model path, a model given as an argument, a cache it cannot write), "downloads" the model into its
cache, then serves as the vLLM stand-in (NIM 2.1.6 wraps vLLM 0.32.0) with NIM's own health and metrics paths
(``/v1/health/ready``, ``/v1/health/live``, ``/v1/metrics``). The image is the only thing stood in for."""

import os
import runpy
import sys


def fail(message: str) -> None:
    print(f"stand-in NIM: {message}", flush=True)
    sys.exit(1)


path = os.environ.get("NIM_MODEL_PATH", "")
if not path.startswith(("hf://", "/")):
    fail(f"NIM_MODEL_PATH {path!r}: set it to hf://org/name or a local folder")
args = sys.argv[1:]
if args and not args[0].startswith("--"):
    fail(f"unexpected argument {args[0]!r}: the model-free NIM takes its model from NIM_MODEL_PATH")
cache = os.environ.get("NIM_CACHE_PATH", "/opt/nim/.cache")
repo = path.removeprefix("hf://")
marker = os.path.join(cache, "standin-downloads", repo.strip("/").replace("/", "--"))
try:
    os.makedirs(os.path.dirname(marker), exist_ok=True)
    with open(marker, "w") as done:
        done.write(path + "\n")
except OSError as exc:
    fail(f"cannot write its cache {cache}: {exc}")
print(f"stand-in NIM 2.1.6: {path} in {cache}; vLLM 0.32.0 with {' '.join(args)}", flush=True)
if "--served-model-name" not in args and os.environ.get("NIM_SERVED_MODEL_NAME"):
    args += ["--served-model-name", os.environ["NIM_SERVED_MODEL_NAME"]]
if "--port" not in args and os.environ.get("NIM_SERVER_PORT"):
    args += ["--port", os.environ["NIM_SERVER_PORT"]]
os.environ["STANDIN_NIM"] = "1"
sys.argv = [os.path.join(os.path.dirname(__file__), "vllm_standin.py"), repo, *args]
runpy.run_path(sys.argv[0], run_name="__main__")
