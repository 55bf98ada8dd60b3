"""Docker images on the host, a registry login, and a container that must see every GPU."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import OperationError, operation

from reasoning_stack.facts import (
    DockerImageId,
    DockerRegistryLogins,
)
from reasoning_stack.operations.streamed import StreamedCommand


@operation()
def docker_image(image: str, pull: bool = True, present: bool = True):
    """
    Make sure a Docker image is on the host, pulling it (with Docker's progress) only when it is missing; or, with
    ``present=False``, removed from the host when it is there.

    + image: image reference, pinned by tag or digest
    + pull: pull a missing image; when False a missing image is an error (air-gapped hosts)
    + present: whether the image should be on the host

    .. code:: python

        docker_image(name="vLLM image", image="vllm/vllm-openai:v0.17.1")
        docker_image(name="Remove the old vLLM image", image="vllm/vllm-openai:v0.16.0", present=False)
    """
    here = bool(host.get_fact(DockerImageId, image=image))
    if not present:
        if not here:
            host.noop(f"image {image} is not on the host")
            return
        yield f"docker image rm {shlex.quote(image)}"
        return
    if here:
        host.noop(f"image {image} is present")
        return
    if not pull:
        raise OperationError(f"image {image} is not on the host and pull_images is False: load it with "
                             f"`docker load` first, or set pull_images = True")
    yield StreamedCommand(f"docker pull {shlex.quote(image)}")


@operation()
def docker_login(registry: str, command: str, renew: bool = False):
    """
    Log the host's Docker in to a registry with ``command``, which reads the password from a 0600 file through
    stdin (never a command line, so never in ``ps`` or a log); skipped while Docker is logged in there, unless
    ``renew``.

    + registry: the registry's host (and port): ``nvcr.io``
    + command: the ``docker login ... --password-stdin < FILE`` line (``RegistryLogin.command()``)
    + renew: log in again (the password changed)

    .. code:: python

        docker_login(name="Docker login to nvcr.io", registry="nvcr.io", command=login.command())
    """
    if registry in host.get_fact(DockerRegistryLogins) and not renew:
        host.noop(f"Docker is logged in to {registry}")
        return
    yield command


@operation()
def docker_logout(registry: str):
    """
    Remove the host's Docker login to a registry (its stored credentials), when there is one.

    + registry: the registry's host (and port)

    .. code:: python

        docker_logout(name="Docker logout from nvcr.io", registry="nvcr.io")
    """
    if registry not in host.get_fact(DockerRegistryLogins):
        host.noop(f"Docker is not logged in to {registry}")
        return
    yield f"docker logout {shlex.quote(registry)}"


@operation(is_idempotent=False)
def gpu_container_check(image: str, expected: int):
    """
    Run ``nvidia-smi -L`` in a container with ``--gpus all`` and check it sees ``expected`` GPUs; where no
    driver works yet (a reboot is pending), say so instead of passing silently.

    + image: an image with CUDA user space (the vLLM image)
    + expected: number of GPUs the host has

    .. code:: python

        gpu_container_check(image="vllm/vllm-openai:v0.17.1", expected=2)
    """
    script = (
        "if ! nvidia-smi -L >/dev/null 2>&1; then echo 'container GPU check skipped: no working driver yet "
        "(reboot pending?)'; exit 0; fi; "
        f"n=$(docker run --rm --gpus all --entrypoint nvidia-smi {shlex.quote(image)} -L | grep -c '^GPU '); "
        f"if [ \"$n\" != {int(expected)} ]; then echo \"containers see $n GPU(s), expected {int(expected)}: check the "
        "NVIDIA Container Toolkit and /etc/docker/daemon.json\" >&2; exit 1; fi; "
        "echo \"containers see $n GPU(s)\""
    )
    yield StreamedCommand(script)
