"""NVIDIA layer: the GPUs before and after the driver, and whether the driver suits them.

Checks (installation of the driver and the Container Toolkit is the next step of this layer):
- nvidia-smi failing is explained (driver/library mismatch, no module loaded, ...) and stops that host;
- the running driver branch must suit every GPU (Blackwell needs 570+ with open modules, Maxwell/Pascal/Volta
  580 or older);
- with no driver yet, the GPUs on the PCI bus (lspci) say which driver they need.
"""

from pyinfra import host, logger
from pyinfra.api.exceptions import PyinfraError

from reasoning_stack.context import host_plan, host_settings
from reasoning_stack.driver import branch_of, check_branch, driver_needs, explain_nvidia_smi_error
from reasoning_stack.facts import NvidiaGpus, NvidiaPciGpus, NvidiaTopology
from reasoning_stack.pci import architecture_of_compute_cap, has_nvlink

settings = host_settings()
host_plan()
smi = host.get_fact(NvidiaGpus)
pci = host.get_fact(NvidiaPciGpus) or []

if smi and smi["error"]:
    explanation = explain_nvidia_smi_error(smi["error"])
    raise PyinfraError(f"host {host.name!r}: nvidia-smi failed: {smi['error']}\n  {explanation}")

if smi and smi["gpus"]:
    archs = {g.architecture for g in pci} or {architecture_of_compute_cap(g.compute_cap) for g in smi["gpus"]}
    needs = driver_needs(archs - {"unknown"})
    branch = branch_of(smi["gpus"][0].driver_version)
    problems = check_branch(needs, branch) if branch else []
    if problems:
        raise PyinfraError(f"host {host.name!r}: " + "; ".join(problems))
    links = host.get_fact(NvidiaTopology) or {}
    if len(smi["gpus"]) > 1:
        kind = "NVLink" if has_nvlink(links) else "PCIe only"
        logger.info(f"[{host.name}] {len(smi['gpus'])} GPUs, driver {smi['gpus'][0].driver_version}, {kind}")
elif pci:
    needs = driver_needs({g.architecture for g in pci} - {"unknown"})
    wanted = f"branch {needs.min_branch}+" if needs.min_branch else "any current branch"
    if needs.max_branch:
        wanted += f", at most {needs.max_branch}"
    logger.warning(
        f"[{host.name}] {len(pci)} NVIDIA GPU(s) on the PCI bus ({', '.join(g.description for g in pci)}) but no "
        f"driver: install one ({wanted}, {needs.modules} kernel modules) and the NVIDIA Container Toolkit"
    )
else:
    logger.warning(
        f"[{host.name}] nvidia-smi reports no GPU yet; planned from gpu_profile {settings.gpu_profile!r}. "
        "Install the NVIDIA driver and Container Toolkit before vLLM can start."
    )
