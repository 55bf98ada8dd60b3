"""What Docker holds on a host: an image's ID, the Ray release an image carries, and the registries it is logged in
to."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase


class DockerImageId(FactBase):
    """
    The local ID of a Docker image, or ``None`` when the image (or Docker) is not there.

    .. code:: python

        host.get_fact(DockerImageId, image="vllm/vllm-openai:v0.17.1")
    """

    def command(self, image: str) -> str:
        return f"docker image inspect --format '{{{{.Id}}}}' {shlex.quote(image)} 2>/dev/null || true"

    def process(self, output: list[str]) -> str | None:
        text = "\n".join(output).strip()
        return text or None


class ImageRayVersion(FactBase):
    """
    The Ray version an image carries (``import ray`` in a throw-away container): ``""`` when it has none,
    ``None`` when the image is not on the host yet.

    .. code:: python

        host.get_fact(ImageRayVersion, image="vllm/vllm-openai:v0.17.1")  # "2.54.0"
    """

    def command(self, image: str) -> str:
        quoted = shlex.quote(image)
        return (f"if docker image inspect {quoted} >/dev/null 2>&1; then docker run --rm --entrypoint python3 "
                f"{quoted} -c 'import ray; print(ray.__version__)' 2>/dev/null | tail -n 1 || true; "
                "echo checked; fi")

    def process(self, output: list[str]) -> str | None:
        if not output or output[-1] != "checked":
            return None
        return output[-2].strip() if len(output) > 1 else ""


DOCKER_CONFIG = '"${DOCKER_CONFIG:-$HOME/.docker}/config.json"'  # where `docker login` keeps its logins


class DockerRegistryLogins(FactBase):
    """
    The registries the host's Docker client is logged in to (the keys of ``auths`` in its config.json; none when
    it has no config).

    .. code:: python

        host.get_fact(DockerRegistryLogins)  # ["nvcr.io"]
    """

    def command(self) -> str:
        script = 'import json, sys; print(chr(10).join(json.load(open(sys.argv[1])).get("auths", {})))'
        return f"python3 -c '{script}' {DOCKER_CONFIG} 2>/dev/null || true"

    @staticmethod
    def default() -> list[str]:
        return []

    def process(self, output: list[str]) -> list[str]:
        return [line.strip() for line in output if line.strip()]
