"""NVIDIA GPUs seen on the PCI bus (before any driver exists) and the interconnect between GPUs.

``lspci -nn`` lines carry the chip code name (AD102, GB202, ...), from which the architecture follows;
the architecture decides which driver branch and kernel-module flavour can work.
``nvidia-smi topo -m`` tells, per GPU pair, NVLink (``NV#``) or a PCIe path (PIX, PXB, PHB, NODE, SYS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NVIDIA_VENDOR = "10de"
# PCI class codes of GPUs: 0300 VGA compatible controller, 0302 3D controller (data-centre cards).
GPU_CLASSES = ("0300", "0302")

# Chip code-name prefix -> architecture, newest first (GB202 is Blackwell, GH100 Hopper, AD102 Ada, ...).
ARCHITECTURES = (
    ("GB", "blackwell"),
    ("GH", "hopper"),
    ("AD", "ada"),
    ("GA", "ampere"),
    ("TU", "turing"),
    ("GV", "volta"),
    ("GP", "pascal"),
    ("GM", "maxwell"),
)

_LSPCI = re.compile(
    r"^(?P<bus>\S+)\s+(?P<cls_name>[^\[]+)\[(?P<cls>[0-9a-f]{4})\]:\s+(?P<desc>.*?)\s+"
    r"\[(?P<vendor>[0-9a-f]{4}):(?P<device>[0-9a-f]{4})\](?:\s+\(rev [0-9a-f]+\))?$",
    re.IGNORECASE,
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class PciGpu:
    """One NVIDIA GPU on the PCI bus."""

    bus_id: str
    device_id: str
    description: str
    architecture: str  # blackwell | hopper | ada | ampere | turing | volta | pascal | maxwell | unknown


def architecture_of(description: str) -> str:
    """The architecture named by the chip code name in an lspci description."""
    match = re.search(r"\b(G[A-Z])\d{2,3}[A-Z]{0,2}\b|\b(AD|TU)\d{3}[A-Z]{0,2}\b", description)
    if not match:
        return "unknown"
    prefix = match.group(1) or match.group(2)
    return dict(ARCHITECTURES).get(prefix, "unknown")


def architecture_of_compute_cap(compute_cap: str) -> str:
    """The architecture of a CUDA compute capability as nvidia-smi prints it (8.9 -> ada)."""
    table = {"12": "blackwell", "10": "blackwell", "9": "hopper", "7": "volta", "6": "pascal", "5": "maxwell"}
    major, _, minor = compute_cap.partition(".")
    if major == "8":
        return "ada" if minor == "9" else "ampere"
    if major == "7" and minor == "5":
        return "turing"
    return table.get(major, "unknown")


def parse_lspci(lines: list[str]) -> list[PciGpu]:
    """NVIDIA GPUs in ``lspci -nn -D`` output (audio and USB functions of the same card are skipped)."""
    gpus = []
    for line in lines:
        match = _LSPCI.match(line.strip())
        if not match or match["vendor"].lower() != NVIDIA_VENDOR or match["cls"] not in GPU_CLASSES:
            continue
        desc = match["desc"].removeprefix("NVIDIA Corporation ").strip()
        gpus.append(PciGpu(match["bus"], match["device"].lower(), desc, architecture_of(desc)))
    return gpus


def parse_topology(lines: list[str]) -> dict[str, str]:
    """GPU-pair links from ``nvidia-smi topo -m``: {"0-1": "NV4", "0-2": "SYS", ...} (each pair once)."""
    rows = [_ANSI.sub("", line).split() for line in lines]
    header = next((r for r in rows if len(r) > 1 and r[0] == "GPU0" and r[1] != "X"), None)
    if header is None:
        return {}
    gpu_columns = [int(c[3:]) for c in header if re.fullmatch(r"GPU\d+", c)]
    links: dict[str, str] = {}
    for row in rows:
        if row is header or len(row) <= len(gpu_columns) or not re.fullmatch(r"GPU\d+", row[0]):
            continue
        a = int(row[0][3:])
        for b, cell in zip(gpu_columns, row[1:1 + len(gpu_columns)], strict=True):
            if a < b:
                links[f"{a}-{b}"] = cell
    return links


def has_nvlink(links: dict[str, str]) -> bool:
    """True when any GPU pair is joined by NVLink."""
    return any(value.startswith("NV") for value in links.values())
