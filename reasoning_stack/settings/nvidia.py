"""The NVIDIA driver and Container Toolkit: how a missing driver is installed, which branch, the toolkit's pin."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from reasoning_stack.catalogue import GPUS


class NvidiaSettings(BaseModel):
    """NVIDIA driver and Container Toolkit"""

    nvidia_driver: Literal["preinstalled", "cuda-repo", "ubuntu", "debian"] = Field(
        "cuda-repo",
        description="How a missing or unsuitable driver is installed: cuda-repo (NVIDIA's CUDA repository), ubuntu "
        "(Ubuntu's packages), debian (Debian 12 non-free, branch 535), preinstalled (verify only).",
    )

    nvidia_driver_branch: int | None = Field(
        None, ge=470, le=999,
        description="Driver branch to pin; None keeps a working driver that suits the GPUs and installs 580 "
        "where there is none.",
    )

    nvidia_kernel_modules: Literal["auto", "open", "proprietary"] = Field(
        "auto", description="Kernel-module flavour; auto = what the GPUs need (open from branch 560 on Turing+)."
    )

    nvidia_cuda_repo: str = Field(
        "https://developer.download.nvidia.com/compute/cuda/repos/{distro}/{arch}",
        description="NVIDIA's CUDA network repository ({distro}: debian12, ubuntu2204, ubuntu2404; {arch}: x86_64 "
        "or sbsa); its cuda-keyring package sets up apt.",
    )

    nvidia_container_toolkit: bool = Field(True, description="Install the NVIDIA Container Toolkit for Docker.")

    nvidia_container_toolkit_version: str = Field(
        "1.18.0-1", description="Pinned NVIDIA Container Toolkit package version (all four of its packages)."
    )

    nvidia_toolkit_repo: str = Field(
        "https://nvidia.github.io/libnvidia-container",
        description="NVIDIA's Container Toolkit repository (its /gpgkey and /stable/deb/$(ARCH) are used).",
    )

    nvidia_cdi: bool = Field(
        False, description="Also write a CDI specification of the GPUs (/etc/cdi/nvidia.yaml) for CDI-aware tools."
    )

    allow_reboot: bool = Field(
        False, description="Reboot a host whose new driver needs it, then verify; False = say which hosts need one."
    )

    @field_validator("nvidia_cuda_repo", "nvidia_toolkit_repo")
    @classmethod
    def _repo_url(cls, value: str) -> str:
        if not re.match(r"^(https?|file):/{1,3}[^\s'\"]+$", value):
            raise ValueError("must be an http(s):// or file:// URL without spaces or quotes")
        return value.rstrip("/")

    def _check_driver(self) -> None:
        """Driver settings that cannot drive the declared GPU, by the rules the NVIDIA layer installs with."""
        from reasoning_stack.driver import DEFAULT_BRANCH, check_branch, driver_install, driver_needs, kernel_modules
        from reasoning_stack.pci import architecture_of_compute_cap

        if self.gpu_profile is None:
            return
        gpu = GPUS[self.gpu_profile]
        needs = driver_needs({architecture_of_compute_cap(gpu.compute_cap)} - {"unknown"})
        branch = self.nvidia_driver_branch
        for problem in check_branch(needs, branch) if branch else []:
            raise ValueError(f"nvidia_driver_branch: {problem} (gpu_profile {self.gpu_profile!r}); unset it to let "
                             "the deploy choose")
        if self.nvidia_driver == "preinstalled":
            return
        try:
            kernel_modules(needs, branch or DEFAULT_BRANCH, self.nvidia_kernel_modules)
        except ValueError as exc:
            raise ValueError(f"nvidia_kernel_modules: {exc} (gpu_profile {self.gpu_profile!r}); use 'auto'") from None
        # the OS is not known before connecting: check the method on one it supports
        os_id, version = ("debian", "12") if self.nvidia_driver == "debian" else ("ubuntu", "24.04")
        try:
            driver_install(os_id, version, self.nvidia_driver, branch, self.nvidia_kernel_modules, needs)
        except ValueError as exc:
            raise ValueError(f"nvidia_driver: {exc} (gpu_profile {self.gpu_profile!r})") from None
