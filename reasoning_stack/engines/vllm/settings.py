"""vLLM's own settings: the release a host runs, its images and the extra flags of ``vllm serve``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from reasoning_stack.engines.vllm.checks import check_owned_flags
from reasoning_stack.engines.vllm.releases import DEFAULT_RELEASE, RELEASES, release_of_image, tagged_release

VllmVersion = Literal["0.17.1", "0.32.0", "0.34.0"]  # the keys of releases.RELEASES (a test keeps them equal)

DEFAULT_IMAGE = RELEASES[DEFAULT_RELEASE].image  # vllm/vllm-openai:v0.34.0
# On aarch64 (DGX Spark, a GB10: sm_121) the image must be built on CUDA 13.0, the CUDA of DGX OS 7 (driver 580),
# with the Blackwell family kernels. From vLLM 0.20 the plain tag is that build and multi-arch (vllm PR #39878);
# 0.17.1's plain tag was CUDA 12.9, so its arm64 image is the -cu130 tag.
DEFAULT_IMAGE_ARM64 = RELEASES[DEFAULT_RELEASE].image_arm64  # the same multi-arch tag


class VllmSettings(BaseModel):
    """vLLM"""

    vllm_version: VllmVersion = Field(
        DEFAULT_RELEASE, description="The vLLM release the host runs: its memory accounting, flags and defaults are "
        "planned for it and its image pulled (0.17.1, 0.32.0 or 0.34.0). Changing it is a day-2 move: the new image is "
        "pulled before the old unit stops.")

    vllm_image: str = Field(DEFAULT_IMAGE, description="vLLM OpenAI-server image, pinned by tag; follows "
                            "vllm_version when not set (set it for a mirror or a digest: a release tag must then "
                            "name vllm_version's release).")

    vllm_image_arm64: str = Field(DEFAULT_IMAGE_ARM64, description="vLLM image on aarch64 hosts (DGX Spark): the "
                                  "same release built on CUDA 13, with kernels for the GB10; follows vllm_version "
                                  "when not set.")

    vllm_extra_args: list[str] = Field(
        [], description="Extra `vllm serve` arguments, full flag names only (checked before deploy)."
    )

    @model_validator(mode="before")
    @classmethod
    def _images_follow_the_release(cls, data: Any) -> Any:
        """The images of ``vllm_version`` where none is set; with no vllm_version, the release vllm_image's tag
        names (an operator who pinned a release's image before vllm_version existed keeps it)."""
        if not isinstance(data, dict):
            return data
        image = data.get("vllm_image")
        if "vllm_version" not in data and isinstance(image, str):
            found = release_of_image(image)
            if found is not None:
                data = {**data, "vllm_version": found[0].version}
        release = RELEASES.get(data.get("vllm_version", DEFAULT_RELEASE))
        if release is None:
            return data  # the Literal's own error names the supported releases
        return {"vllm_image": release.image, "vllm_image_arm64": release.image_arm64, **data}

    @model_validator(mode="after")
    def _images_name_the_release(self) -> VllmSettings:
        for key in ("vllm_image", "vllm_image_arm64"):
            image = getattr(self, key)
            tagged = tagged_release(image)
            if tagged and release_of_image(image) is None:
                raise ValueError(f"{key}: {image} is vLLM {tagged}, a release the stack does not plan for: its memory "
                                 f"accounting and flags are known for {', '.join(RELEASES)}; set vllm_version to "
                                 "one of them and remove the image (or use a digest of a supported release)")
            found = release_of_image(image)
            if found is None:  # a digest or a custom build: vllm_version says what it runs
                continue
            release, _suffix = found
            if release.version != self.vllm_version:
                raise ValueError(f"{key}: {getattr(self, key)} is vLLM {release.version} but vllm_version is "
                                 f"{self.vllm_version}: set vllm_version = {release.version!r}, or remove {key} "
                                 "(it follows vllm_version)")
        return self

    @field_validator("vllm_extra_args")
    @classmethod
    def _full_flags(cls, value: list[str]) -> list[str]:
        return check_owned_flags(value)
