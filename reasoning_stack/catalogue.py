"""The GPU catalogue: data, reviewed like code. Every figure carries its source.

The models the planner knows live in ``reasoning_stack.models`` (``known.py``: the catalogue's models and the presets;
``spec.py``: what is known of a model); their names are re-exported here, so ``reasoning_stack.catalogue`` stays the
one place to import the catalogue from.
"""

from __future__ import annotations

from dataclasses import dataclass

from reasoning_stack.models.known import MODELS, RESOLVED, find_model, preset_of_repo, register, served_name
from reasoning_stack.models.spec import (
    BYTES_PER_PARAM,
    GIB,
    LOADED_OVER_CHECKPOINT,
    MIB,
    LinearAttention,
    ModelSpec,
    weights_gib,
)

__all__ = ["BYTES_PER_PARAM", "GIB", "GPUS", "LOADED_OVER_CHECKPOINT", "MIB", "MODELS", "RESOLVED", "GpuSpec",
           "LinearAttention", "ModelSpec", "find_model", "gpu_bandwidth_gb_s", "gpu_nvlink", "match_gpu",
           "preset_of_repo", "register", "served_name", "weights_gib"]


@dataclass(frozen=True)
class GpuSpec:
    """One GPU model: its catalogue slug, the names nvidia-smi prints for it, its memory and bandwidth."""

    slug: str
    name: str
    memory_mib: int  # memory.total as nvidia-smi reports it
    compute_cap: str
    match: tuple[str, ...]  # substrings of nvidia-smi's name, lower case
    fp8: bool  # native FP8 tensor cores (Ada, Hopper, Blackwell)
    bandwidth_gb_s: float  # memory bandwidth, GB/s (NVIDIA's product specifications)
    nvlink: bool = False  # the SXM board: GPUs of one box talk over NVLink/NVSwitch, not PCIe
    pcie_bandwidth_gb_s: float | None = None  # the PCIe card of the same name ("PCIe" in nvidia-smi's name)
    unified: bool = False  # no memory of its own: shares the system's (nvidia-smi's memory.total is [N/A])
    apple: bool = False  # an Apple Silicon Mac (MLX), not an NVIDIA GPU


# memory.total figures are nvidia-smi's (MiB); where not recorded from a real card they are the
# marketing size in GiB less the ~0.5 GiB that nvidia-smi already hides on the same generation.
# Bandwidths are NVIDIA's published figures for each product (GeForce and RTX specification pages,
# A100/H100/H200/L40S datasheets). A class that covers several cards takes the slowest card's figure.
GPUS: dict[str, GpuSpec] = {
    g.slug: g
    for g in [
        GpuSpec("rtx-3090", "GeForce RTX 3090", 24576, "8.6", ("rtx 3090",), False, 936),
        GpuSpec("rtx-4090", "GeForce RTX 4090", 24564, "8.9", ("rtx 4090",), True, 1008),  # nvidia-smi, 550 driver
        GpuSpec("rtx-5090", "GeForce RTX 5090", 32607, "12.0", ("rtx 5090",), True, 1792),
        # RTX 5080: 16 GB GDDR7, 960 GB/s; memory.total estimated as the 5090's (its size less ~160 MiB)
        GpuSpec("rtx-5080", "GeForce RTX 5080", 16223, "12.0", ("rtx 5080",), True, 960),
        # RTX PRO 6000 Blackwell (Workstation, Max-Q and Server editions, 96 GB GDDR7): 97887 MiB in nvidia-smi
        # (vllm-project/vllm#27542); 1792 GB/s on the workstation cards, 1597 GB/s on the Server Edition: the slowest
        GpuSpec("rtx-pro-6000", "RTX PRO 6000 Blackwell 96 GB", 97887, "12.0", ("rtx pro 6000",), True, 1597),
        # RTX 4080 717 GB/s, RTX 4070 Ti Super 672 GB/s
        GpuSpec("rtx-4080", "GeForce RTX 4080 (16 GB class)", 16376, "8.9", ("rtx 4080", "rtx 4070 ti super"), True,
                672),
        # RTX 4060 272 GB/s; RTX 3070, 3060 Ti and 2080 448 GB/s
        GpuSpec("rtx-8gb", "8 GB class (RTX 4060 / 3070 / 2080)", 8188, "8.6",
                ("rtx 4060", "rtx 3070", "rtx 3060 ti", "rtx 2080"), False, 272),
        GpuSpec("a6000", "RTX A6000 48 GB", 49140, "8.6", ("rtx a6000",), False, 768),
        GpuSpec("l40s", "L40S 48 GB", 46068, "8.9", ("l40s",), True, 864),
        # L4 24 GB, 300 GB/s; 23034 MiB in nvidia-smi (modal-labs/modal-client#2797). "$": the name ends there (an
        # L40 or L40S is another card)
        GpuSpec("l4", "L4 24 GB", 23034, "8.9", ("nvidia l4$",), True, 300),
        GpuSpec("a100-40", "A100 40 GB", 40960, "8.0", ("a100-sxm4-40gb", "a100-pcie-40gb", "a100 40gb"), False,
                1555, nvlink=True, pcie_bandwidth_gb_s=1555),
        GpuSpec("a100-80", "A100 80 GB", 81920, "8.0", ("a100-sxm4-80gb", "a100 80gb", "a100-pcie-80gb"), False,
                2039, nvlink=True, pcie_bandwidth_gb_s=1935),
        # nvidia-smi: "NVIDIA H100 80GB HBM3" (SXM5, 3.35 TB/s); "NVIDIA H100 PCIe" (HBM2e, 2.0 TB/s)
        GpuSpec("h100", "H100 80 GB", 81559, "9.0", ("h100",), True, 3350, nvlink=True, pcie_bandwidth_gb_s=2000),
        GpuSpec("h200", "H200 141 GB", 143771, "9.0", ("h200",), True, 4800, nvlink=True, pcie_bandwidth_gb_s=4800),
        # H20 (HGX, 96 GB HBM3, 4.0 TB/s); after the H200, whose name holds "h20" too. memory.total: 96 GiB less ~0.5
        GpuSpec("h20", "H20 96 GB", 97792, "9.0", ("h20",), True, 4000, nvlink=True),
        # B200 (HGX/DGX B200, SXM): 183359 MiB in nvidia-smi (NVIDIA/TensorRT-LLM#10278), 8 TB/s published (the
        # driver reports a 7680-bit bus, 7.67 TB/s: pytorch/ao#4002); compute capability 10.0
        GpuSpec("b200", "B200 180 GB", 183359, "10.0", ("b200",), True, 8000, nvlink=True),
        # B300 (Blackwell Ultra, HGX/DGX B300): 288 GB HBM3e, 8 TB/s; compute capability 10.3. memory.total: 288 GB
        # (decimal) as MiB, the way the B200's 183359 MiB is its 192 GB
        GpuSpec("b300", "B300 288 GB", 274658, "10.3", ("b300",), True, 8000, nvlink=True),
        # DGX Spark: one GB10 (sm_121) on aarch64 sharing 128 GB LPDDR5X with the CPU. nvidia-smi's memory.total
        # is [N/A]; the memory is the system's MemTotal, 127600748 kB on a DGX Spark (nvitop PR #208) = 124610 MiB,
        # the 121.69 GiB CUDA reports there (unsloth PR #10283). 273 GB/s: NVIDIA's DGX Spark specification.
        GpuSpec("gb10", "GB10 (DGX Spark, unified memory)", 124610, "12.1", ("gb10",), True, 273, unified=True),
        # Apple Silicon Macs (engine mlx): the whole memory is the GPU's pool; nvidia-smi does not apply. Memory is
        # hw.memsize; bandwidth Apple's figure for the chip in that memory size (M3 Max 64/128 GB: the 40-core GPU,
        # 400 GB/s; M4 Max 64/128 GB: 546 GB/s; M3 Ultra: 819 GB/s).
        GpuSpec("m3-max-64", "M3 Max 64 GB", 65536, "", ("apple m3 max 64 gb",), False, 400, unified=True, apple=True),
        GpuSpec("m3-max-128", "M3 Max 128 GB", 131072, "", ("apple m3 max 128 gb",), False, 400, unified=True,
                apple=True),
        GpuSpec("m4-max-64", "M4 Max 64 GB", 65536, "", ("apple m4 max 64 gb",), False, 546, unified=True, apple=True),
        GpuSpec("m4-max-128", "M4 Max 128 GB", 131072, "", ("apple m4 max 128 gb",), False, 546, unified=True,
                apple=True),
        GpuSpec("m3-ultra-256", "M3 Ultra 256 GB", 262144, "", ("apple m3 ultra 256 gb",), False, 819, unified=True,
                apple=True),
    ]
}


def gpu_bandwidth_gb_s(nvidia_smi_name: str) -> float | None:
    """Memory bandwidth of a GPU by its nvidia-smi name (None for a GPU the catalogue lacks)."""
    spec = match_gpu(nvidia_smi_name)
    if spec is None:
        return None
    if spec.pcie_bandwidth_gb_s and "pcie" in nvidia_smi_name.lower():
        return spec.pcie_bandwidth_gb_s
    return spec.bandwidth_gb_s


def gpu_nvlink(nvidia_smi_name: str) -> bool:
    """Whether GPUs of this name in one box are linked by NVLink (SXM boards) rather than PCIe."""
    spec = match_gpu(nvidia_smi_name)
    return bool(spec and spec.nvlink and "pcie" not in nvidia_smi_name.lower())


def match_gpu(nvidia_smi_name: str) -> GpuSpec | None:
    """The catalogue GPU for a name printed by nvidia-smi, or None for a GPU the catalogue lacks."""
    lowered = nvidia_smi_name.lower().strip()

    def found(token: str) -> bool:  # a token ending in "$" must end the name
        return lowered.endswith(token[:-1]) if token.endswith("$") else token in lowered

    for gpu in GPUS.values():  # the name a profile's GPUs carry (gpus_from_profile) is the card's own
        if lowered in (gpu.name.lower(), f"nvidia {gpu.name.lower()}", f"apple {gpu.name.lower()}"):
            return gpu
    for gpu in GPUS.values():
        if any(found(token) for token in gpu.match):
            return gpu
    return None
