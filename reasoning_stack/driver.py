"""What NVIDIA driver a set of GPUs can run: branch bounds and kernel-module flavour, from the architecture.

NVIDIA's rules (driver README and release notes): the open kernel modules need Turing or newer and are the
default from branch 560; Blackwell (RTX 50-series, B100/B200) works only with the open modules and a 570+
branch; 580 is the last branch for Maxwell, Pascal and Volta, which need the proprietary modules.
"""

from __future__ import annotations

from dataclasses import dataclass

from reasoning_stack.pci import PciGpu

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


def explain_nvidia_smi_error(error: str, kernel_state: dict[str, object] | None = None) -> str:
    """A plain explanation, with the way out, of the nvidia-smi failures users hit most; ``kernel_state``
    (the NvidiaKernelState fact) makes it precise."""
    if "Driver/library version mismatch" in error:
        return ("the loaded NVIDIA kernel module and the user-space libraries differ (usually an unattended "
                "upgrade replaced the libraries): reboot the host to load the matching module, and hold the "
                "driver packages so it does not happen again")
    state = kernel_state or {}
    if state and not state.get("installed"):
        return (f"the running kernel {state.get('kernel')} has no NVIDIA module (a kernel upgrade without a DKMS "
                f"build): install linux-headers-{state.get('kernel')} and run `dkms autoinstall`, or boot the "
                "previous kernel")
    if state.get("loaded") and not state.get("device"):
        return ("the module is loaded but /dev/nvidia0 is missing: run `nvidia-modprobe -u -c=0` (or reboot) so "
                "the device nodes are created")
    if "couldn't communicate with the NVIDIA driver" in error or "NVIDIA-SMI has failed" in error:
        return ("no NVIDIA kernel module is loaded: after a kernel upgrade DKMS may not have built it "
                "(check `dkms status` and the headers for `uname -r`), or Secure Boot refused an unsigned module "
                "(check `mokutil --sb-state`)")
    if "No devices were found" in error:
        return "the driver is loaded but sees no GPU: check that /dev/nvidia* device nodes exist and the card is seated"
    return "nvidia-smi failed; its own words are above"


# Files the NVIDIA layer (deploys/nvidia.py) writes; deploys/remove.py takes them away with the driver.
TOOLKIT_KEYRING = "/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg"
TOOLKIT_LIST = "/etc/apt/sources.list.d/nvidia-container-toolkit.list"
NOUVEAU_BLACKLIST = "/etc/modprobe.d/blacklist-nouveau.conf"
NONFREE_LIST = "/etc/apt/sources.list.d/reasoning-stack-debian-non-free.list"
CDI_SPEC = "/etc/cdi/nvidia.yaml"
NVIDIA_FILES = (TOOLKIT_LIST, NONFREE_LIST, TOOLKIT_KEYRING, NOUVEAU_BLACKLIST, CDI_SPEC)

DEFAULT_BRANCH = 580
CUDA_REPO_DISTRO = {("debian", "12"): "debian12", ("ubuntu", "22.04"): "ubuntu2204", ("ubuntu", "24.04"): "ubuntu2404"}
DEBIAN_BRANCH = 535  # Debian 12's non-free nvidia-driver


def planned_branch(pinned: int | None, method: str) -> int | None:
    """The driver branch a host will have, as its settings say: the pinned ``nvidia_driver_branch``, or Debian 12's
    own with ``nvidia_driver: debian`` (None: decided at deploy). Which images' CUDA it runs is checked against it."""
    return pinned or (DEBIAN_BRANCH if method == "debian" else None)
PINNING_FROM = 590  # from 590, NVIDIA locks the branch with nvidia-driver-pinning-<branch>; names lose the suffix


@dataclass(frozen=True)
class DriverInstall:
    """The packages that put a driver branch on a host, in order, and what to hold against upgrades."""

    method: str
    branch: int
    modules: str
    repo_distro: str | None  # CUDA repository folder (cuda-repo only)
    pin_first: tuple[str, ...]  # installed before the driver (branch pinning)
    packages: tuple[str, ...]
    hold: tuple[str, ...]


def driver_install(os_id: str, os_version: str, method: str, branch: int | None, wanted_modules: str,
                   needs: DriverNeeds) -> DriverInstall:
    """The install plan of ``method`` on this OS for GPUs with ``needs``; ValueError says why it cannot work."""
    if method == "debian":
        if (os_id, os_version) != ("debian", "12"):
            raise ValueError(f"nvidia_driver 'debian' is for Debian 12, not {os_id} {os_version}; use 'cuda-repo'")
        if branch not in (None, DEBIAN_BRANCH):
            raise ValueError(f"Debian 12's non-free driver is branch {DEBIAN_BRANCH}, not {branch}; use 'cuda-repo'")
        problems = check_branch(needs, DEBIAN_BRANCH)
        if problems:
            raise ValueError(f"Debian 12's non-free driver ({DEBIAN_BRANCH}) cannot drive these GPUs: "
                             f"{'; '.join(problems)}; use nvidia_driver = 'cuda-repo'")
        modules = kernel_modules(needs, DEBIAN_BRANCH, wanted_modules)
        if modules == "open":
            if wanted_modules == "open":
                raise ValueError("Debian 12's packages build the proprietary module; use 'cuda-repo' for open modules")
            modules = "proprietary"
        # nvidia-smi is only a Recommends of nvidia-driver: name it, the deploy verifies with it.
        packages = ("nvidia-driver", "firmware-misc-nonfree", "nvidia-smi")
        return DriverInstall(method, DEBIAN_BRANCH, modules, None, (), packages, packages)
    chosen = branch or DEFAULT_BRANCH
    if needs.max_branch is not None and branch is None:
        chosen = min(chosen, needs.max_branch)
    if needs.min_branch and branch is None:
        chosen = max(chosen, needs.min_branch)
    problems = check_branch(needs, chosen)
    if problems:
        raise ValueError("; ".join(problems))
    modules = kernel_modules(needs, chosen, wanted_modules)
    if method == "ubuntu":
        if os_id != "ubuntu":
            raise ValueError(f"nvidia_driver 'ubuntu' needs Ubuntu, not {os_id} {os_version}; use 'cuda-repo'")
        package = f"nvidia-driver-{chosen}-open" if modules == "open" else f"nvidia-driver-{chosen}"
        return DriverInstall(method, chosen, modules, None, (), (package,), (package,))
    if method != "cuda-repo":
        raise ValueError(f"unknown nvidia_driver method {method!r}")
    distro = CUDA_REPO_DISTRO.get((os_id, os_version))
    if distro is None:
        raise ValueError(f"NVIDIA's CUDA repository has no packages for {os_id} {os_version}")
    if chosen >= PINNING_FROM:
        package = "nvidia-open" if modules == "open" else "cuda-drivers"
        return DriverInstall(method, chosen, modules, distro, (f"nvidia-driver-pinning-{chosen}",), (package,), ())
    package = f"nvidia-open-{chosen}" if modules == "open" else f"cuda-drivers-{chosen}"
    return DriverInstall(method, chosen, modules, distro, (), (package,), (package,))


def toolkit_packages(version: str) -> tuple[str, ...]:
    """The four Container Toolkit packages, pinned to one version (NVIDIA's install guide pins all four)."""
    names = ("nvidia-container-toolkit", "nvidia-container-toolkit-base", "libnvidia-container-tools",
             "libnvidia-container1")
    return tuple(f"{name}={version}" for name in names)
