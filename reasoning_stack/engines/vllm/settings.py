"""vLLM's own settings: its pinned images and the extra flags of ``vllm serve``."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from reasoning_stack.engines.vllm.checks import check_owned_flags
from reasoning_stack.engines.vllm.flags import VLLM_VERSION
from reasoning_stack.engines.vllm.releases import RELEASES

DEFAULT_IMAGE = RELEASES[VLLM_VERSION].image  # vllm/vllm-openai:v0.17.1
# vLLM 0.17.1 built on CUDA 13.0, the CUDA of DGX OS 7 (driver 580): the release publishes the cu130 aarch64 wheel
# that DGX Spark builds install (vllm-0.17.1+cu130-...-manylinux_2_35_aarch64.whl), and CUDA 13 builds carry the
# Blackwell family kernels a GB10 (sm_121) runs. The plain tag is the CUDA 12.9 build until vLLM 0.20 made
# CUDA 13 the default (vllm PR #39878).
DEFAULT_IMAGE_ARM64 = RELEASES[VLLM_VERSION].image_arm64  # vllm/vllm-openai:v0.17.1-cu130


class VllmSettings(BaseModel):
    """vLLM"""

    vllm_image: str = Field(DEFAULT_IMAGE, description="vLLM OpenAI-server image, pinned by tag.")

    vllm_image_arm64: str = Field(DEFAULT_IMAGE_ARM64, description="vLLM image on aarch64 hosts (DGX Spark): the "
                                  "same release built on CUDA 13, with kernels for the GB10.")

    vllm_extra_args: list[str] = Field(
        [], description="Extra `vllm serve` arguments, full flag names only (checked before deploy)."
    )

    @field_validator("vllm_extra_args")
    @classmethod
    def _full_flags(cls, value: list[str]) -> list[str]:
        return check_owned_flags(value)
