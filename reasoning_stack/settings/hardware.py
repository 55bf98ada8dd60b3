"""Hardware: the GPUs to plan with before the host is contacted, and which of a host's GPUs the stack may use."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from reasoning_stack.catalogue import GPUS
from reasoning_stack.gpus import closest_gpu


class HardwareSettings(BaseModel):
    """Hardware"""

    gpu_profile: str | None = Field(
        None,
        description="GPU slug (rtx-4090, h100, ...) to plan with before nvidia-smi works; "
        "None = read the GPUs from the host.",
    )

    gpu_count: int | None = Field(
        None, ge=1, le=16, description="GPUs per host for gpu_profile; None = every GPU the host reports."
    )

    gpu_indices: list[int] | None = Field(
        None,
        description="GPU indices (as nvidia-smi numbers them) the stack may use, e.g. [0, 1]; None = every GPU. "
        "GPUs left out stay free for other work.",
    )

    @field_validator("gpu_profile")
    @classmethod
    def _known_gpu(cls, value: str | None) -> str | None:
        if value is not None and value not in GPUS:
            close = closest_gpu(value)
            hint = f"did you mean {close!r}? " if close else ""
            raise ValueError(f"unknown GPU; {hint}valid: {', '.join(repr(g) for g in GPUS)}; for a card the "
                             "catalogue lacks, leave gpu_profile unset (the deploy reads the GPUs from nvidia-smi) "
                             "and plan it with `reasoning-stack plan --vram-gib N`")
        return value
