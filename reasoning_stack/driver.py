"""What NVIDIA driver a set of GPUs can run: branch bounds and kernel-module flavour, from the architecture.

NVIDIA's rules (driver README and release notes): the open kernel modules need Turing or newer and are the
default from branch 560; Blackwell (RTX 50-series, B100/B200) works only with the open modules and a 570+
branch; 580 is the last branch for Maxwell, Pascal and Volta, which need the proprietary modules.
"""

from __future__ import annotations

from dataclasses import dataclass

from reasoning_stack.pci import PciGpu

OPEN_CAPABLE = {"turing", "ampere", "ada", "hopper", "blackwell"}
LEGACY = {"maxwell", "pascal", "volta"}
OPEN_DEFAULT_FROM = 560


@dataclass(frozen=True)
class DriverNeeds:
    """Branch bounds and module flavour that every GPU of a host can live with."""

    min_branch: int
    max_branch: int | None
    modules: str  # open | proprietary | either
    why: tuple[str, ...]


def driver_needs(architectures: set[str]) -> DriverNeeds:
    """The driver the given GPU architectures need together (raises ValueError when no driver fits all)."""
    min_branch, max_branch, modules, why = 0, None, "either", []
    if "blackwell" in architectures:
        min_branch, modules = 570, "open"
        why.append("Blackwell GPUs need the open kernel modules and branch 570 or newer")
    if architectures & LEGACY:
        names = ", ".join(sorted(architectures & LEGACY))
        max_branch = 580
        why.append(f"{names} GPUs need the proprietary kernel modules and branch 580 or older")
        if modules == "open":
            raise ValueError("Blackwell and pre-Turing GPUs cannot share one driver: " + "; ".join(why))
        modules = "proprietary"
    return DriverNeeds(min_branch, max_branch, modules, tuple(why))


def kernel_modules(needs: DriverNeeds, branch: int, wanted: str = "auto") -> str:
    """``open`` or ``proprietary`` for ``branch``; ``wanted`` is the user's choice (auto, open, proprietary)."""
    if wanted != "auto":
        if needs.modules not in ("either", wanted):
            raise ValueError(f"{wanted} kernel modules cannot drive these GPUs: " + "; ".join(needs.why))
        return wanted
    if needs.modules != "either":
        return needs.modules
    return "open" if branch >= OPEN_DEFAULT_FROM else "proprietary"


def check_branch(needs: DriverNeeds, branch: int) -> list[str]:
    """Problems with running ``branch`` on these GPUs (empty when it is fine)."""
    problems = []
    if branch < needs.min_branch:
        problems.append(f"driver branch {branch} is too old: " + "; ".join(needs.why))
    if needs.max_branch is not None and branch > needs.max_branch:
        problems.append(f"driver branch {branch} is too new: " + "; ".join(needs.why))
    return problems


def architectures(gpus: list[PciGpu]) -> set[str]:
    """The set of architectures of these GPUs."""
    return {g.architecture for g in gpus}


def branch_of(driver_version: str) -> int | None:
    """The branch of a driver version string: 550.127.05 -> 550."""
    head = driver_version.split(".", 1)[0]
    return int(head) if head.isdigit() else None


def explain_nvidia_smi_error(error: str) -> str:
    """A plain explanation, with the way out, of the nvidia-smi failures users hit most."""
    if "Driver/library version mismatch" in error:
        return ("the loaded NVIDIA kernel module and the user-space libraries differ (usually an unattended "
                "upgrade replaced the libraries): reboot the host to load the matching module, and hold the "
                "driver packages so it does not happen again")
    if "couldn't communicate with the NVIDIA driver" in error or "NVIDIA-SMI has failed" in error:
        return ("no NVIDIA kernel module is loaded: after a kernel upgrade DKMS may not have built it "
                "(check `dkms status` and the headers for `uname -r`), or Secure Boot refused an unsigned module "
                "(check `mokutil --sb-state`)")
    if "No devices were found" in error:
        return "the driver is loaded but sees no GPU: check that /dev/nvidia* device nodes exist and the card is seated"
    return "nvidia-smi failed; its own words are above"
