"""NVIDIA driver and Container Toolkit: from a fresh GPU box to "docker run --gpus all works".

- The GPUs come from nvidia-smi, or from lspci before any driver exists, or from the declared gpu_profile.
- A working driver that suits the GPUs is kept (unless nvidia_driver_branch asks for another branch);
  otherwise the driver is installed with the chosen method, kernel headers first, nouveau blacklisted,
  the packages held. Secure Boot with unsigned modules and conflicting apt sources stop the host with
  the way forward. A reboot happens only when needed and allowed; otherwise the host says it needs one.
- The Container Toolkit is installed pinned; Docker gets the nvidia runtime and the cgroupfs cgroup driver
  (containers keep their GPUs across `systemctl daemon-reload`), restarted only when that changed; then a
  container must see every GPU.
"""

from __future__ import annotations

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.api.exceptions import PyinfraError
from pyinfra.facts.files import File
from pyinfra.facts.server import Arch, KernelVersion
from pyinfra.operations import server, systemd
from pyinfra.operations.util import any_changed

from reasoning_stack.catalogue import GPUS
from reasoning_stack.context import host_plan, host_settings, nvidia_smi_failed, settings_from_arguments
from reasoning_stack.driver import (
    CDI_SPEC,
    NONFREE_LIST,
    NOUVEAU_BLACKLIST,
    TOOLKIT_KEYRING,
    TOOLKIT_LIST,
    branch_of,
    check_branch,
    driver_install,
    driver_needs,
    toolkit_packages,
)
from reasoning_stack.facts import (
    AptSources,
    NvidiaGpus,
    NvidiaPciGpus,
    NvidiaTopology,
    SecureBoot,
    conflicting_sources,
    debian_archive,
)
from reasoning_stack.operations import (
    apt_hold,
    apt_lists_updated,
    deb_from_url,
    docker_image,
    gpg_keyring_from_url,
    gpu_container_check,
    host_notice,
    json_file_merged,
    stack_file,
)
from reasoning_stack.pci import architecture_of_compute_cap, has_nvlink
from reasoning_stack.platforms.linux import check_os
from reasoning_stack.prepared import prepared_fact
from reasoning_stack.units import apt_source, packages_present, registry_logins

# With the systemd cgroup driver, `systemctl daemon-reload` can take GPU device access away from running
# containers ("Failed to initialize NVML: Unknown Error"); with cgroupfs systemd does not manage them.
DOCKER_GPU_OPTIONS = {
    "runtimes": {"nvidia": {"path": "nvidia-container-runtime", "args": []}},
    "exec-opts": ["native.cgroupdriver=cgroupfs"],
}


def fail(message: str) -> None:
    raise PyinfraError(f"host {host.name!r}: {message}")


@deploy("NVIDIA driver and Container Toolkit")
@settings_from_arguments(driver="nvidia_driver", driver_branch="nvidia_driver_branch", allow_reboot="allow_reboot")
def nvidia_gpus(driver: str | None = None, driver_branch: int | None = None, allow_reboot: bool | None = None) -> None:
    """NVIDIA driver and Container Toolkit: from a fresh GPU box to "docker run --gpus all works".

    + driver: where the driver comes from: preinstalled, cuda-repo, ubuntu or debian (default: ``nvidia_driver``)
    + driver_branch: the driver branch, e.g. 580 (default: ``nvidia_driver_branch``)
    + allow_reboot: reboot when a new driver needs it (default: ``allow_reboot``)

    .. code:: python

        nvidia_gpus(driver="preinstalled")   # a DGX OS or cloud image with its driver working
    """
    settings = host_settings()
    os_id, os_version = check_os(host)
    _plan, plan_gpus = host_plan()
    smi = prepared_fact(host, NvidiaGpus)
    pci = prepared_fact(host, NvidiaPciGpus)  # None: lspci missing; []: no NVIDIA GPU on the bus

    if smi and smi["error"]:
        raise nvidia_smi_failed(smi["error"])
    working = bool(smi and smi["gpus"])

    if pci:
        architectures = {g.architecture for g in pci}
    elif working:
        architectures = {architecture_of_compute_cap(g.compute_cap) for g in smi["gpus"]}
    elif settings.gpu_profile:
        architectures = {architecture_of_compute_cap(GPUS[settings.gpu_profile].compute_cap)}
    else:
        architectures = set()
    try:
        needs = driver_needs(architectures - {"unknown"})
    except ValueError as exc:
        fail(str(exc))

    current_branch = branch_of(smi["gpus"][0].driver_version) if working else None
    problems = check_branch(needs, current_branch) if current_branch else []
    wants_other_branch = bool(settings.nvidia_driver_branch and current_branch != settings.nvidia_driver_branch)
    gpus_known = bool(pci or working or settings.gpu_profile)
    keep_driver = working and not problems and not wants_other_branch
    if gpus_known and (not keep_driver or settings.nvidia_container_toolkit):
        packages_present("Tools for the NVIDIA repositories", ["curl", "gnupg", "ca-certificates", "pciutils"])

    driver = None
    if keep_driver:
        if len(smi["gpus"]) > 1:
            links = prepared_fact(host, NvidiaTopology) or {}
            kind = "NVLink" if has_nvlink(links) else "PCIe only"
            logger.info(f"[{host.name}] {len(smi['gpus'])} GPUs, driver {smi['gpus'][0].driver_version}, {kind}")
    elif not gpus_known:
        logger.warning(f"[{host.name}] no NVIDIA GPU found (nvidia-smi, lspci) and no gpu_profile: driver skipped")
    elif settings.nvidia_driver == "preinstalled":
        reason = "; ".join(problems) if problems else "no working NVIDIA driver"
        fail(f"{reason}, and nvidia_driver is 'preinstalled'; install a suitable driver or set nvidia_driver to "
             "'cuda-repo' (or 'ubuntu' / 'debian')")
    else:
        try:
            install = driver_install(os_id, os_version, settings.nvidia_driver, settings.nvidia_driver_branch,
                                     settings.nvidia_kernel_modules, needs)
        except ValueError as exc:
            fail(str(exc))
        if prepared_fact(host, SecureBoot):
            fail("Secure Boot is on, and the driver's DKMS-built kernel modules are unsigned, so the kernel would "
                 "refuse them. Either turn Secure Boot off in the firmware, or enroll the DKMS signing key "
                 "(`mokutil --import /var/lib/dkms/mok.pub`, confirm at the next boot) and deploy again.")
        sources = prepared_fact(host, AptSources) or []
        conflicts = conflicting_sources(sources)
        if conflicts:
            detail = "; ".join(f"{url} in {', '.join(paths)}" for url, paths in conflicts.items())
            fail(f"apt sources list the same repository with different Signed-By keyrings, so apt fails with "
                 f"\"Conflicting values set for option Signed-By\": {detail}. Remove the leftover file(s).")
        blacklist = stack_file(
            name="Blacklist nouveau",
            dest=NOUVEAU_BLACKLIST,
            content="# Managed by reasoning-stack: the NVIDIA driver needs nouveau out of the way.\n"
                    "blacklist nouveau\noptions nouveau modeset=0\n",
            mode="644",
        )
        server.shell(
            name="Rebuild the initramfs without nouveau",
            commands=["if command -v update-initramfs >/dev/null; then update-initramfs -u; "
                      "else echo 'no initramfs-tools here: the blacklist applies from the next boot'; fi"],
            _if=blacklist.did_change,
        )
        if install.method == "debian":
            # Debian's driver lives in contrib and non-free: add them beside the archive's main, same keyring.
            archive = debian_archive(sources, "bookworm")
            if archive is None:
                fail("nvidia_driver 'debian' needs Debian's bookworm archive in the apt sources (for its contrib and "
                     "non-free components); none was found")
            if not {"contrib", "non-free"} <= set(archive["components"]):
                signed = f"[signed-by={archive['signed_by']}] " if archive["signed_by"] else ""
                apt_source("Debian contrib and non-free components", NONFREE_LIST,
                           f"deb {signed}{archive['url']} bookworm contrib non-free non-free-firmware")
        if install.repo_distro:
            arch = "sbsa" if prepared_fact(host, Arch) in ("aarch64", "arm64") else "x86_64"
            repo = settings.nvidia_cuda_repo.format(distro=install.repo_distro, arch=arch)
            keyring = deb_from_url(name="NVIDIA CUDA repository keyring", package="cuda-keyring",
                                   url=f"{repo}/cuda-keyring_1.1-1_all.deb", lock_timeout=settings.apt_lock_timeout)
            apt_lists_updated(name="Update apt lists for the CUDA repository", lock_timeout=settings.apt_lock_timeout,
                              _if=keyring.did_change)
        kernel = prepared_fact(host, KernelVersion)
        packages_present(f"Kernel headers for {kernel}", [f"linux-headers-{kernel}"])
        if install.pin_first:
            packages_present(f"Pin driver branch {install.branch}", list(install.pin_first))
        driver = packages_present(f"NVIDIA driver {install.branch} ({install.modules} kernel modules)",
                                  list(install.packages))
        if install.hold:
            apt_hold(name="Hold the driver packages", packages=list(install.hold))
        if settings.allow_reboot:
            server.reboot(name="Reboot to load the new driver", delay=10, reboot_timeout=900, _if=driver.did_change)
            server.shell(name="Verify the driver after the reboot", commands=["nvidia-smi -L"], _if=driver.did_change)
        else:
            host_notice(
                name="Reboot needed",
                message=f"{host.name} needs a reboot to load NVIDIA driver {install.branch} "
                        "(or set allow_reboot = True and deploy again)",
                _if=driver.did_change,
            )

    if settings.nvidia_container_toolkit and gpus_known:
        key = gpg_keyring_from_url(name="NVIDIA Container Toolkit keyring", path=TOOLKIT_KEYRING,
                                   url=f"{settings.nvidia_toolkit_repo}/gpgkey")
        apt_source("NVIDIA Container Toolkit apt source", TOOLKIT_LIST,
                   f"deb [signed-by={TOOLKIT_KEYRING}] {settings.nvidia_toolkit_repo}/stable/deb/$(ARCH) /",
                   also_update_on=(key,))
        version = settings.nvidia_container_toolkit_version
        cdi_present = bool(prepared_fact(host, File, path=CDI_SPEC))
        toolkit = packages_present(f"NVIDIA Container Toolkit {version}", list(toolkit_packages(version)))
        apt_hold(name="Hold the Container Toolkit packages",
                 packages=[p.split("=")[0] for p in toolkit_packages(version)])
        daemon = json_file_merged(name="Docker: nvidia runtime, cgroupfs driver", path="/etc/docker/daemon.json",
                                  options=DOCKER_GPU_OPTIONS)
        systemd.service(name="Restart Docker for the NVIDIA runtime", service="docker.service", restarted=True,
                        _if=any_changed(toolkit, daemon), _retries=2, _retry_delay=5)
        if settings.nvidia_cdi:
            server.shell(
                name=f"CDI specification of the GPUs ({CDI_SPEC})",
                commands=[f"mkdir -p /etc/cdi && nvidia-ctk cdi generate --output={CDI_SPEC}"],
                _if=lambda: toolkit.did_change() or not cdi_present,
            )
        image = settings.serving_images()[0]  # the primary model's engine image: pulled for serving anyway
        registry_logins(settings)  # before its pull, where the image's registry needs a key
        docker_image(name=f"Serving image {image}", image=image, pull=settings.pull_images)
        changed = [toolkit, daemon] + ([driver] if driver is not None else [])
        gpu_container_check(name="A container sees every GPU", image=image, expected=len(plan_gpus),
                            _if=any_changed(*changed))
