"""The GPUs of a host: parsed from nvidia-smi's CSV, or built from a declared profile.

On unified-memory machines (DGX Spark's GB10) nvidia-smi reports ``memory.total`` as ``[N/A]``: the GPU
shares the system's memory, so its size is the system's (``MemTotal`` of ``/proc/meminfo``, the figure
CUDA reports there too) and the GPU is marked ``unified``.
"""

from __future__ import annotations

from dataclasses import dataclass

from reasoning_stack.catalogue import GPUS, match_gpu

NVIDIA_SMI_QUERY = (
    "nvidia-smi --query-gpu=index,name,memory.total,uuid,driver_version,compute_cap,pci.bus_id "
    "--format=csv,noheader,nounits"
)


@dataclass(frozen=True)
class Gpu:
    """One GPU as nvidia-smi reports it (or as a declared profile describes it)."""

    index: int
    name: str
    memory_mib: int
    uuid: str = ""
    driver_version: str = ""
    compute_cap: str = ""
    pci_bus_id: str = ""
    unified: bool = False  # shares the system's memory (GB10): memory_mib is the system's MemTotal
    bandwidth_gb_s: float | None = None  # declared for a card the catalogue lacks (its data sheet's GB/s)

    @property
    def apple(self) -> bool:
        """An Apple Silicon Mac's GPU (served by MLX-LM), not an NVIDIA one."""
        return self.name.startswith("Apple ")

    @property
    def slug(self) -> str | None:
        """Catalogue slug, or None for a GPU the catalogue does not know."""
        spec = match_gpu(self.name)
        return spec.slug if spec else None


class GpuQueryError(ValueError):
    """nvidia-smi printed something that is not its GPU CSV (for example an NVML error)."""


NOT_AVAILABLE = ("[N/A]", "N/A", "[Not Supported]")


def parse_nvidia_smi_csv(text: str, system_memory_mib: int | None = None) -> list[Gpu]:
    """Parse ``nvidia-smi --query-gpu=... --format=csv,noheader,nounits`` output; a GPU whose memory.total
    is ``[N/A]`` (unified memory) gets ``system_memory_mib``.

    >>> line = "0, NVIDIA GeForce RTX 4090, 24564, GPU-1, 550.127.05, 8.9, 00000000:01:00.0"
    >>> parse_nvidia_smi_csv(line)[0].memory_mib
    24564
    >>> parse_nvidia_smi_csv("0, NVIDIA GB10, [N/A], GPU-2, 580.95.05, 12.1, 0000000F:01:00.0", 124610)[0].unified
    True
    """
    gpus: list[Gpu] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        unified = len(fields) >= 3 and fields[2] in NOT_AVAILABLE
        if len(fields) < 3 or not fields[0].isdigit() or not (fields[2].isdigit() or unified):
            raise GpuQueryError(f"unexpected nvidia-smi output: {line.strip()!r}")
        if unified and not system_memory_mib:
            raise GpuQueryError(f"nvidia-smi reports no memory for GPU {fields[0]} ({fields[1]}: unified memory) "
                                "and the system's MemTotal is unknown")
        fields += [""] * (7 - len(fields))
        compute_cap = "" if fields[5] in NOT_AVAILABLE else fields[5]
        memory = system_memory_mib if unified and system_memory_mib else int(fields[2])
        gpus.append(Gpu(int(fields[0]), fields[1], memory, fields[3], fields[4], compute_cap, fields[6], unified))
    return gpus


def parse_meminfo_total_mib(line: str) -> int | None:
    """MiB of a ``/proc/meminfo`` ``MemTotal:`` line (``MemTotal: 127600748 kB`` -> 124610)."""
    parts = line.split()
    if len(parts) >= 2 and parts[0] == "MemTotal:" and parts[1].isdigit():
        return int(parts[1]) // 1024
    return None


def gpus_from_profile(profile: str, count: int = 1) -> list[Gpu]:
    """GPUs described by a catalogue slug (``rtx-4090``) and a count."""
    spec = GPUS[profile]
    name = f"Apple {spec.name}" if spec.apple else f"NVIDIA {spec.name}"
    return [Gpu(i, name, spec.memory_mib, compute_cap=spec.compute_cap, unified=spec.unified) for i in range(count)]


def select_gpus(gpus: list[Gpu], indices: list[int] | None) -> list[Gpu]:
    """The GPUs the stack may use (``gpu_indices``; None = all); a ValueError names indices the host lacks."""
    if indices is None:
        return list(gpus)
    present = {g.index for g in gpus}
    missing = [i for i in indices if i not in present]
    if missing:
        seen = ", ".join(str(g.index) for g in gpus) or "none"
        raise ValueError(f"gpu_indices {missing} name GPUs the host lacks (its GPUs: {seen})")
    return [g for g in gpus if g.index in indices]


def closest_gpu(name: str) -> str | None:
    """The catalogue's GPU ``name`` most likely means ('RTX 4090', 'rtx4090', 'h-100'), or None: only a GPU with
    the same model number is offered, since a near name (rtx-5080, rtx-5090) is another card with other memory."""
    import difflib
    import re

    def key(text: str) -> str:
        return re.sub(r"[^a-z0-9]", "", text.lower().replace("nvidia", "").replace("geforce", ""))

    def digits(text: str) -> str:
        return re.sub(r"\D", "", text)

    wanted = key(name)
    same_number = [slug for slug in GPUS if digits(slug) == digits(wanted)]
    exact = [slug for slug in same_number if key(slug) == wanted]
    if exact:
        return exact[0]
    close = difflib.get_close_matches(wanted, {key(s): s for s in same_number}, n=1, cutoff=0.6)
    return {key(s): s for s in same_number}[close[0]] if close else None
