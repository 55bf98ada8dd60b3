"""What ``check`` refuses in ``vllm_extra_args``: flags the stack sets itself (naming the setting to use; a secret
never goes on a command line) and flags the pinned vLLM's ``vllm serve`` does not have."""

from __future__ import annotations

import difflib

from reasoning_stack.engines.vllm.flags import VLLM_SERVE_FLAGS, VLLM_VERSION
from reasoning_stack.flag_lists import no_shell_metacharacters

# vLLM flags the stack sets itself, and the setting to use instead (a secret never goes on a command line).
OWNED_FLAGS = {
    "--model": "model", "--served-model-name": "served_model_name", "--host": "api_listen", "--port": "api_port",
    "--api-key": "api_key (from the environment, kept in a 0600 env file)",
    "--hf-token": "hf_token (from the environment, kept in a 0600 env file)",
    "--max-model-len": "max_model_len", "--gpu-memory-utilization": "gpu_memory_utilization",
    "--tensor-parallel-size": "tensor_parallel_size", "--pipeline-parallel-size": "a cluster (cluster settings)",
    "--data-parallel-size": "data_parallel_size", "--kv-cache-dtype": "kv_cache_dtype",
    "--enforce-eager": "enforce_eager", "--quantization": "quantization", "--reasoning-parser": "model",
    "--distributed-executor-backend": "cluster_backend", "--nnodes": "a cluster (cluster settings)",
    "--node-rank": "a cluster (cluster settings)", "--master-addr": "cluster_interface",
    "--master-port": "cluster_port", "--headless": "cluster_role",
    "--override-generation-config": "sampling_overrides", "--default-chat-template-kwargs": "thinking_default",
}


def check_owned_flags(value: list[str]) -> list[str]:
    """``value`` (vllm_extra_args) when it holds only full flags the stack does not set and no shell syntax; a
    ValueError otherwise."""
    no_shell_metacharacters("vllm_extra_args", value)
    for arg in value:
        if arg.startswith("-") and not arg.startswith("--"):
            raise ValueError(f"{arg!r}: use the full --flag-name, short flags are not accepted")
        flag = arg.split("=", 1)[0].replace("_", "-")
        for owned, setting in OWNED_FLAGS.items():
            if flag in (owned, "--no-" + owned[2:]):
                raise ValueError(f"{arg.split('=', 1)[0]!r} is set by the stack: use {setting} instead")
    return value


def check_release(image: str) -> None:
    """An image of a vLLM release older than the pinned one: the planned arguments were checked against the pinned
    release's parser, and the presets' architectures need it."""
    tag = image.rsplit(":", 1)[-1] if "@" not in image else ""
    digits = tag.lstrip("v").split("-", 1)[0].split(".")
    if len(digits) < 2 or not all(d.isdigit() for d in digits):
        return  # a digest or a custom tag: not a release number to compare
    have = tuple(int(d) for d in digits)
    pinned = tuple(int(d) for d in VLLM_VERSION.split("."))
    if have < pinned:
        raise ValueError(f"vllm_image {image}: vLLM {'.'.join(digits)} is older than {VLLM_VERSION}, the release "
                         f"the planned arguments are checked against; use vllm/vllm-openai:v{VLLM_VERSION} or newer")


def check_pinned_flags(image: str, extra_args: list[str]) -> None:
    """Flags of vllm_extra_args the pinned vLLM's `vllm serve` does not have (a typo would stop vLLM at start,
    after the image pull). An image of another release may have other flags: only the pinned one is checked."""
    if not image.endswith(f":v{VLLM_VERSION}"):
        return
    for arg in extra_args:
        if not arg.startswith("--"):
            continue
        flag = arg.split("=", 1)[0].replace("_", "-")
        base = flag.split(".", 1)[0]  # --compilation-config.level: vLLM's dotted JSON keys
        if flag not in VLLM_SERVE_FLAGS and base not in VLLM_SERVE_FLAGS:
            close = difflib.get_close_matches(flag, sorted(VLLM_SERVE_FLAGS), n=1, cutoff=0.7)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(f"vllm_extra_args: {arg.split('=', 1)[0]!r} is not a flag of `vllm serve` in vLLM "
                             f"{VLLM_VERSION} (the pinned image); {hint}see `vllm serve --help`")
