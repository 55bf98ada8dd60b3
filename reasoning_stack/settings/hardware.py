"""Hardware: the GPUs to plan with before the host is contacted, and which of a host's GPUs the stack may use."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator

from reasoning_stack.catalogue import GPUS
from reasoning_stack.gpus import Gpu, closest_gpu, gpus_from_profile


class HardwareSettings(BaseModel):
    """Hardware"""

    gpu_profile: str | None = Field(
        None,
        description="GPU slug (rtx-4090, h100, ...) to plan with before nvidia-smi works; "
        "None = read the GPUs from the host.",
    )

    gpu_count: int | None = Field(
        None, ge=1, le=16, description="GPUs per host for gpu_profile (or gpu_memory_gib); None = every GPU the host "
        "reports."
    )

    gpu_memory_gib: float | None = Field(
        None, gt=0, le=2048,
        description="For a card the catalogue lacks (leave gpu_profile unset): each GPU's memory in GiB, as "
        "nvidia-smi's memory.total shows it, so check, plan and render plan before any host is contacted (with "
        "gpu_count); the deploy plans from what nvidia-smi reports.",
    )

    gpu_compute_capability: str | None = Field(
        None,
        description="With gpu_memory_gib: the card's CUDA compute capability (nvidia-smi's compute_cap, e.g. '12.0' "
        "for a Blackwell RTX card), so the plan uses the kernels it has (FP8, NVFP4); None = none assumed.",
    )

    gpu_memory_bandwidth_gb_s: float | None = Field(
        None, gt=0, le=100000,
        description="With gpu_memory_gib: the card's memory bandwidth in GB/s, from its data sheet (an RTX A5000: "
        "768), for the speed estimate; None = no estimate for a card the catalogue lacks.",
    )

    def declared_gpus(self) -> list[Gpu] | None:
        """The GPUs the settings describe (gpu_profile, or gpu_memory_gib for a card the catalogue lacks), before
        gpu_indices; None when only the host's nvidia-smi will tell."""
        if self.gpu_profile is not None:
            return gpus_from_profile(self.gpu_profile, self.gpu_count or 1)
        if self.gpu_memory_gib is not None:
            return [Gpu(i, f"GPU with {self.gpu_memory_gib:g} GiB", int(self.gpu_memory_gib * 1024),
                        compute_cap=self.gpu_compute_capability or "",
                        bandwidth_gb_s=self.gpu_memory_bandwidth_gb_s) for i in range(self.gpu_count or 1)]
        return None

    gpu_indices: list[int] | None = Field(
        None,
        description="GPU indices (as nvidia-smi numbers them) the stack may use, e.g. [0, 1]; None = every GPU. "
        "GPUs left out stay free for other work.",
    )

    @field_validator("gpu_compute_capability")
    @classmethod
    def _compute_capability(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d{1,2}\.\d", value):
            raise ValueError("must be a compute capability as nvidia-smi prints it (--query-gpu=compute_cap), like "
                             "'8.9' or '12.0'")
        return value

    @field_validator("gpu_profile")
    @classmethod
    def _known_gpu(cls, value: str | None) -> str | None:
        if value is not None and value not in GPUS:
            close = closest_gpu(value)
            hint = f"did you mean {close!r}? " if close else ""
            raise ValueError(f"unknown GPU; {hint}valid: {', '.join(repr(g) for g in GPUS)}; for a card the "
                             "catalogue lacks, leave gpu_profile unset and give its memory: gpu_memory_gib = N "
                             "(and gpu_compute_capability)")
        return value
