"""SGLang's own settings: its pinned image and the extra flags of ``sglang.launch_server``."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from reasoning_stack.engines.sglang.flags import SGLANG_VERSION
from reasoning_stack.flag_lists import no_shell_metacharacters

DEFAULT_IMAGE = f"lmsysorg/sglang:v{SGLANG_VERSION}-cu130"  # CUDA 13 images need driver branch 580 or newer


class SglangSettings(BaseModel):
    """SGLang"""

    sglang_image: str = Field(DEFAULT_IMAGE, description="SGLang image, pinned by tag (its CUDA 13 build "
                              "needs driver branch 580 or newer).")

    sglang_extra_args: list[str] = Field(
        [], description="Extra `sglang.launch_server` arguments for SGLang instances, full flag names only (checked "
        "against the pinned SGLang's flags before deploy)."
    )

    @field_validator("sglang_extra_args")
    @classmethod
    def _one_word_each(cls, value: list[str]) -> list[str]:
        return no_shell_metacharacters("sglang_extra_args", value)
