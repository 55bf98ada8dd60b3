"""NIM LLM's model-free vLLM images as data: each release the stack plans, the vLLM release inside it, and which
tags need an NGC API key to pull. One entry per release; the planner and the checks read only this table.

Facts from NVIDIA's NIM LLM documentation (release notes, installation, configuration pages): the model-free image
``nvcr.io/nim/nvidia/vllm-model-free-nim`` serves any model vLLM serves from ``NIM_MODEL_PATH=hf://org/name``;
NIM LLM 2.1.6 runs vLLM 0.32.0 in it; its reasoning and tool-call parsers are off unless given; public-catalog NIMs
of NIM LLM 2.0.10 and later pull without a key, Production Branch tags (``-pbN``) and older releases need one
(``docker login nvcr.io -u '$oauthtoken'`` with the NGC API key); GPUs of compute capability 7.5 or higher.
"""

from __future__ import annotations

from dataclasses import dataclass

REPOSITORY = "nvcr.io/nim/nvidia/vllm-model-free-nim"
IMAGE_NAME = REPOSITORY.rsplit("/", 1)[1]  # what a mirror keeps of the path
KEYLESS_FROM = (2, 0, 10)  # public-catalog NIMs pull without a key from NIM LLM 2.0.10
MIN_COMPUTE_CAPABILITY = 7.5  # as nvidia-smi's compute_cap reads (one digit after the point)
DEFAULT_REGISTRY = "docker.io"  # where an image without a registry host in its name lives


@dataclass(frozen=True)
class NimRelease:
    """One NIM LLM release of the model-free vLLM image."""

    version: str  # NIM LLM's version, the image's tag
    vllm: str  # the vLLM release inside it: the release its memory, flags and parsers are planned as

    @property
    def image(self) -> str:
        return f"{REPOSITORY}:{self.version}"


RELEASES: dict[str, NimRelease] = {
    # The newest NIM LLM release (its release notes: the model-free vLLM NIM on vLLM 0.32.0).
    "2.1.6": NimRelease("2.1.6", vllm="0.32.0"),
}
DEFAULT_RELEASE = "2.1.6"


@dataclass(frozen=True)
class ImageTag:
    """What a NIM image's name says: its registry, whether it is the model-free vLLM image, its release and whether
    the tag is a Production Branch one."""

    registry: str
    model_free: bool
    version: str  # "" when the tag is a digest or names no X.Y.Z release
    production_branch: bool

    @property
    def release(self) -> NimRelease | None:
        return RELEASES.get(self.version)

    @property
    def needs_key(self) -> bool:
        """Whether pulling it needs an NGC API key: a Production Branch tag, or a release before 2.0.10."""
        if self.production_branch:
            return True
        parts = self.version.split(".")
        return len(parts) == 3 and all(p.isdigit() for p in parts) and tuple(map(int, parts)) < KEYLESS_FROM


def read_image(image: str) -> ImageTag:
    """What ``image``'s name says (``nvcr.io/nim/nvidia/vllm-model-free-nim:2.1.6``, a mirror of it, a PB tag)."""
    name, _, digest = image.partition("@")
    path, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    first = path.split("/", 1)[0]
    registry = first if "/" in path and ("." in first or ":" in first or first == "localhost") else DEFAULT_REGISTRY
    version, _, suffix = tag.partition("-")
    return ImageTag(registry=registry, model_free=path.rsplit("/", 1)[-1] == IMAGE_NAME,
                    version="" if digest else version, production_branch=suffix.startswith("pb"))

