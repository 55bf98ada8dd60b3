"""Models on the host: Hugging Face weights downloaded before a start, a model pulled through its running server."""

from __future__ import annotations

import posixpath
import shlex

from pyinfra import host
from pyinfra.api import OperationError, operation
from pyinfra.facts.files import File

from reasoning_stack.facts import (
    FreeDiskBytes,
    HfWeights,
    weights_marker,
)
from reasoning_stack.operations.streamed import StreamedCommand
from reasoning_stack.preflight import weights_space_problem


@operation()
def model_weights(repo: str, cache_dir: str, image: str, env_file: str, size_gib: float, offline: bool = False,
                  hf: str = "", user: str = "", revision: str = ""):
    """
    Download a model's weights into the host's Hugging Face cache before the service starts, with the
    ``hf`` tool of the vLLM image (resumable; skipped once complete). Free disk is checked first.

    + repo: Hugging Face model repo
    + cache_dir: the host folder mounted as the container's Hugging Face cache
    + image: the vLLM image (it carries huggingface_hub's ``hf`` command)
    + env_file: env file with HF_TOKEN for gated models
    + size_gib: expected size of the weights
    + offline: weights are pre-staged; never download, fail if they are missing
    + hf: an ``hf`` command on the host to use instead of the image's (a Mac: the MLX-LM environment's)
    + user: with ``hf``, the account that owns the cache (the download runs as it, with HF_TOKEN from env_file)
    + revision: the commit to download (a pinned model_revision); the repo's main branch otherwise

    .. code:: python

        model_weights(repo="Qwen/QwQ-32B-AWQ", cache_dir="/var/lib/reasoning-stack/huggingface",
                      image="vllm/vllm-openai:v0.17.1", env_file="/etc/reasoning-stack/reasoning-vllm.env",
                      size_gib=18.0)
    """
    have = host.get_fact(HfWeights, cache_dir=cache_dir, repo=repo)
    if have["complete"]:
        host.noop(f"weights of {repo} are complete")
        return
    if offline:
        if have["snapshots"]:
            host.noop(f"weights of {repo} are pre-staged (offline)")
            return
        raise OperationError(f"offline is true but {cache_dir} has no snapshot of {repo}; pre-stage it with "
                             f"`hf download {repo} --cache-dir {cache_dir}/hub` or set offline = False")
    problem = weights_space_problem(repo, cache_dir, size_gib, host.get_fact(FreeDiskBytes, path=cache_dir), have)
    if problem:
        raise OperationError(problem)
    marker = weights_marker(cache_dir, repo)
    at = f" --revision {shlex.quote(revision)}" if revision else ""
    pull = (
        f"docker run --rm --network host --env-file {shlex.quote(env_file)} "
        f"--volume {shlex.quote(cache_dir)}:/root/.cache/huggingface --entrypoint hf {shlex.quote(image)} "
        f"download {shlex.quote(repo)}{at}"
    )
    if hf:  # the token is read from the root-only env file, then the download runs as the cache's owner
        token = f"$(sed -n 's/^HF_TOKEN=//p' {shlex.quote(env_file)} 2>/dev/null)"
        pull = (f"sudo -u {shlex.quote(user)} env HF_HOME={shlex.quote(cache_dir)} HF_TOKEN=\"{token}\" "
                f"{shlex.quote(hf)} download {shlex.quote(repo)}{at}")
    hint = (f"downloading {repo} failed; if the model is gated, accept its licence on Hugging Face and set HF_TOKEN; "
            "a re-run resumes the download")
    yield StreamedCommand(f"{pull} || {{ echo {shlex.quote(hint)} >&2; exit 1; }}; "
                          f"mkdir -p {shlex.quote(posixpath.dirname(marker))} && touch {shlex.quote(marker)}")


@operation()
def ollama_model(helper: str, base_url: str, tag: str, unit: str, manifest: str, offline: bool = False):
    """
    Pull an Ollama library tag through the running server, with its progress, unless its manifest is already
    on the host (then nothing changes).

    + helper: path of the ollama-pull helper installed on the host
    + base_url: the Ollama server, e.g. http://127.0.0.1:11434
    + tag: library tag, e.g. ``deepseek-r1:7b``
    + unit: the server's systemd unit (its journal is shown when the pull fails)
    + manifest: the tag's manifest file under the server's models folder
    + offline: models are pre-staged; never pull, fail when the tag is missing

    .. code:: python

        ollama_model(helper=OLLAMA_PULL, base_url="http://127.0.0.1:11434", tag="deepseek-r1:7b",
                     unit="reasoning-ollama", manifest="/var/lib/reasoning-stack/ollama/models/manifests/"
                     "registry.ollama.ai/library/deepseek-r1/7b")
    """
    if host.get_fact(File, path=manifest):
        host.noop(f"Ollama has {tag}")
        return
    if offline:
        raise OperationError(f"offline is true but Ollama has no {tag} under {posixpath.dirname(manifest)}; "
                             f"pre-stage it (`ollama pull {tag}` on a connected machine, then copy the models "
                             "folder) or set offline = False")
    yield StreamedCommand(" ".join(shlex.quote(a) for a in [helper, base_url, tag, unit]))


@operation()
def model_folder(path: str):
    """
    Check that a folder model is on the host where the plan said (its ``config.json`` beside the weights): the
    service mounts it read-only, nothing is downloaded and nothing in it is changed.

    + path: the folder, the same path as on the machine that planned it

    .. code:: python

        model_folder(path="/srv/models/my-finetune")
    """
    if host.get_fact(File, path=posixpath.join(path, "config.json")):
        host.noop(f"model folder {path} is on the host")
        return
    raise OperationError(f"model folder {path}: no config.json there on this host; copy the model to the same path "
                         "on the host (the service mounts it read-only) or serve a Hugging Face repo id instead")
    yield  # an operation is a generator; nothing runs when the folder is there
