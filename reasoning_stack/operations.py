"""pyinfra operations of this stack that pyinfra does not ship. Each yields nothing when nothing is to do."""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import shlex

from pyinfra import host
from pyinfra.api import FileUploadCommand, FunctionCommand, OperationError, StringCommand, operation
from pyinfra.facts.files import File, FileContents, Sha1File
from pyinfra.operations import files

from reasoning_stack.catalogue import GIB
from reasoning_stack.facts import DockerImageId, FreeDiskBytes, HfWeights, weights_marker


def run_streamed(command: str) -> None:
    """Marker name for :class:`StreamedCommand` in operation listings; the command runs on the host."""


class StreamedCommand(FunctionCommand):
    """A shell command whose output is shown live, line by line with the host's name, at any verbosity:
    long waits (image pulls, weight downloads, model loading) never block silently."""

    def __init__(self, command: str):
        super().__init__(run_streamed, (command,), {})

    def execute(self, state, host, connector_arguments) -> bool:  # type: ignore[override]
        status, _output = host.run_shell_command(StringCommand(self.args[0]), print_output=True,
                                                 **connector_arguments)
        return bool(status)


@operation()
def docker_image(image: str, pull: bool = True):
    """
    Make sure a Docker image is on the host; pull it (with Docker's progress) only when it is missing.

    + image: image reference, pinned by tag or digest
    + pull: pull a missing image; when False a missing image is an error (air-gapped hosts)

    .. code:: python

        docker_image(name="vLLM image", image="vllm/vllm-openai:v0.17.1")
    """
    if host.get_fact(DockerImageId, image=image):
        host.noop(f"image {image} is present")
        return
    if not pull:
        raise OperationError(f"image {image} is not on the host and pull_images is False: load it with "
                             f"`docker load` first, or set pull_images = True")
    yield StreamedCommand(f"docker pull {shlex.quote(image)}")


@operation()
def secret_env_file(path: str, variable: str, nbytes: int = 32):
    """
    Create an env file holding one random secret, once; an existing file is kept as it is.

    + path: file to create (mode 0600, owner root)
    + variable: the variable name, e.g. ``WEBUI_SECRET_KEY``
    + nbytes: random bytes in the secret

    .. code:: python

        secret_env_file(path="/etc/reasoning-stack/openwebui-secret.env", variable="WEBUI_SECRET_KEY")
    """
    if host.get_fact(File, path=path):
        host.noop(f"{path} exists")
        return
    script = f"import secrets; print('{variable}=' + secrets.token_urlsafe({int(nbytes)}))"
    target = shlex.quote(path)
    yield f"umask 077 && python3 -c {shlex.quote(script)} > {target}.tmp && mv {target}.tmp {target}"


@operation(is_idempotent=False)
def wait_http(helper: str, url: str, timeout: int, unit: str, expect: str = "", key_from: str = ""):
    """
    Wait until ``url`` answers 200 (printing progress); on timeout print the unit's journal and fail.

    + helper: path of the wait-http helper installed on the host
    + url: URL to poll
    + timeout: seconds to wait
    + unit: systemd unit whose journal tail is shown on failure
    + expect: text the body must contain
    + key_from: env file whose VLLM_API_KEY is sent as a bearer token

    .. code:: python

        wait_http(helper=WAIT_HTTP, url="http://127.0.0.1:8000/health", timeout=1800, unit="reasoning-vllm")
    """
    args = [helper, url, str(int(timeout)), unit]
    args += ["--expect", expect] if expect else []
    args += ["--key-from", key_from] if key_from else []
    yield StreamedCommand(" ".join(shlex.quote(a) for a in args))


@operation()
def json_file_merged(path: str, options: dict[str, object], mode: str = "644"):
    """
    Merge keys into a JSON object file, keeping every key the file already has that is not given here.

    + path: the JSON file (created when missing)
    + options: keys to set
    + mode: file mode

    .. code:: python

        json_file_merged(path="/etc/docker/daemon.json", options={"storage-driver": "vfs"})
    """
    lines = host.get_fact(FileContents, path=path)
    current: dict[str, object] = {}
    if lines:
        try:
            current = json.loads("\n".join(lines))
        except json.JSONDecodeError as exc:
            raise OperationError(f"{path} is not valid JSON ({exc}); fix or remove it, then deploy again") from None
    merged = {**current, **options}
    if lines is not None and merged == current:
        host.noop(f"{path} already has {', '.join(options) or 'nothing to add'}")
        return
    text = json.dumps(merged, indent=2, sort_keys=True) + "\n"
    yield from files.put._inner(src=io.StringIO(text), dest=path, mode=mode, user="root", group="root")


@operation()
def model_weights(repo: str, cache_dir: str, image: str, env_file: str, size_gib: float, offline: bool = False):
    """
    Download a model's weights into the host's Hugging Face cache before the service starts, with the
    ``hf`` tool of the vLLM image (resumable; skipped once complete). Free disk is checked first.

    + repo: Hugging Face model repo
    + cache_dir: the host folder mounted as the container's Hugging Face cache
    + image: the vLLM image (it carries huggingface_hub's ``hf`` command)
    + env_file: env file with HF_TOKEN for gated models
    + size_gib: expected size of the weights
    + offline: weights are pre-staged; never download, fail if they are missing

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
    free = host.get_fact(FreeDiskBytes, path=cache_dir)
    needed = size_gib * 1.05 * GIB  # safetensors plus tokenizer and config files
    if free is not None and free < needed and not have["snapshots"]:
        raise OperationError(f"{repo} needs about {needed / GIB:.1f} GiB but {cache_dir} has {free / GIB:.1f} GiB "
                             f"free: free some space, move data_dir to a larger disk, or pick a smaller model")
    marker = weights_marker(cache_dir, repo)
    pull = (
        f"docker run --rm --network host --env-file {shlex.quote(env_file)} "
        f"--volume {shlex.quote(cache_dir)}:/root/.cache/huggingface --entrypoint hf {shlex.quote(image)} "
        f"download {shlex.quote(repo)}"
    )
    hint = (f"downloading {repo} failed; if the model is gated, accept its licence on Hugging Face and set HF_TOKEN; "
            "a re-run resumes the download")
    yield StreamedCommand(f"{pull} || {{ echo {shlex.quote(hint)} >&2; exit 1; }}; "
                          f"mkdir -p {shlex.quote(posixpath.dirname(marker))} && touch {shlex.quote(marker)}")


@operation(is_idempotent=False)
def smoke_test(helper: str, base_url: str, model: str, key_from: str = "", thinking_kwargs: bool = False):
    """
    Ask one reasoning question through the OpenAI API and check the reasoning arrives apart from the
    answer; prints time to first token, tokens per second and reasoning/answer token counts.

    + helper: path of the smoke-test helper installed on the host
    + base_url: the vLLM server, e.g. ``http://127.0.0.1:8000``
    + model: served model name
    + key_from: env file whose VLLM_API_KEY is sent as a bearer token
    + thinking_kwargs: ask a Qwen3 model to think for this request

    .. code:: python

        smoke_test(helper=SMOKE_TEST, base_url="http://127.0.0.1:8000", model="qwq-32b")
    """
    args = [helper, base_url, model]
    args += ["--key-from", key_from] if key_from else []
    args += ["--thinking-kwargs"] if thinking_kwargs else []
    yield StreamedCommand(" ".join(shlex.quote(a) for a in args))


@operation()
def secret_file(dest: str, content: str, user: str = "root", group: str = "root"):
    """
    Write a file that holds secrets: mode 0600 from its first byte (also the upload's temporary copy when
    going through sudo), compared by checksum, and never shown in ``--diff`` output.

    + dest: file path; its directory should be private (0700)
    + content: the text to write
    + user: owner
    + group: group

    .. code:: python

        secret_file(dest="/etc/reasoning-stack/reasoning-vllm.env", content="VLLM_API_KEY=...\\n")
    """
    data = content.encode()
    if host.get_fact(Sha1File, path=dest) == hashlib.sha1(data).hexdigest():
        stat = host.get_fact(File, path=dest) or {}
        if stat.get("mode") == 600 and stat.get("user") == user and stat.get("group") == group:
            host.noop(f"{dest} is up to date")
            return
    else:
        temp = f"/tmp/reasoning-stack-{hashlib.sha1(dest.encode()).hexdigest()[:16]}"
        # Created 0600 by the SSH user before the upload writes into it (SFTP keeps an existing file's mode).
        yield StringCommand(f"umask 077 && rm -f {temp} && : > {temp}", _sudo=False)
        yield f"umask 077 && touch {shlex.quote(dest)} && chmod 600 {shlex.quote(dest)}"
        yield FileUploadCommand(io.BytesIO(data), dest, remote_temp_filename=temp)
        yield StringCommand(f"rm -f {temp}", _sudo=False)
    yield f"chown {user}:{group} {shlex.quote(dest)} && chmod 600 {shlex.quote(dest)}"
