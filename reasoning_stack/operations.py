"""pyinfra operations of this stack that pyinfra does not ship. Each yields nothing when nothing is to do."""

from __future__ import annotations

import io
import json
import shlex

from pyinfra import host
from pyinfra.api import OperationError, operation
from pyinfra.facts.files import File, FileContents
from pyinfra.operations import files

from reasoning_stack.facts import DockerImageId


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
    yield f"docker pull {shlex.quote(image)}"


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
    yield " ".join(shlex.quote(a) for a in args)


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
