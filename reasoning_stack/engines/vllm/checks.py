"""What ``check`` refuses in ``vllm_extra_args``: flags the stack sets itself (naming the setting to use; a secret
never goes on a command line) and flags the chosen release's ``vllm serve`` does not have."""

from __future__ import annotations

import difflib

from reasoning_stack.engines.vllm import flags, flags_0_32_0, flags_0_34_0
from reasoning_stack.flag_lists import no_shell_metacharacters

# Each supported release's `vllm serve` flags, generated from its own parser (scripts/vllm-flags VERSION).
FLAGS_BY_RELEASE = {module.VLLM_VERSION: module.VLLM_SERVE_FLAGS for module in (flags, flags_0_32_0, flags_0_34_0)}

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


def check_release_flags(version: str, extra_args: list[str]) -> None:
    """Flags of vllm_extra_args that release ``version``'s `vllm serve` does not have (a typo, or a flag a later
    release removed, would stop vLLM at start, after the image pull)."""
    known = FLAGS_BY_RELEASE[version]
    for arg in extra_args:
        if not arg.startswith("--"):
            continue
        flag = arg.split("=", 1)[0].replace("_", "-")
        base = flag.split(".", 1)[0]  # --compilation-config.level: vLLM's dotted JSON keys
        if flag not in known and base not in known:
            close = difflib.get_close_matches(flag, sorted(known), n=1, cutoff=0.7)
            hint = f"did you mean {close[0]!r}? " if close else ""
            elsewhere = [v for v, theirs in FLAGS_BY_RELEASE.items() if v != version and flag in theirs]
            also = f"vLLM {', '.join(elsewhere)} has it; " if elsewhere else ""
            raise ValueError(f"vllm_extra_args: {arg.split('=', 1)[0]!r} is not a flag of `vllm serve` in vLLM "
                             f"{version} (vllm_version); {hint}{also}see `vllm serve --help`")
