"""What a host's NVIDIA GPUs are: nvidia-smi's report, the PCI bus before a driver exists, the links between GPUs,
the kernel module's state and Secure Boot."""

from __future__ import annotations

from pyinfra.api import FactBase

from reasoning_stack.gpus import NVIDIA_SMI_QUERY, Gpu, GpuQueryError, parse_meminfo_total_mib, parse_nvidia_smi_csv
from reasoning_stack.pci import PciGpu, parse_lspci, parse_topology


class NvidiaGpus(FactBase):
    """
    The host's NVIDIA GPUs from ``nvidia-smi --query-gpu`` (index, name, memory, uuid, driver, compute
    capability, PCI bus id). ``None`` when nvidia-smi is missing; nvidia-smi prints its errors (such as
    "Driver/library version mismatch") on stdout, so the exit code decides and the error is kept. A GPU
    without memory of its own (``[N/A]``: DGX Spark's unified memory) gets the system's ``MemTotal``.

    .. code:: python

        gpus = host.get_fact(NvidiaGpus)  # {"gpus": [Gpu, ...], "error": None}
    """

    def command(self) -> str:
        return (f"if command -v nvidia-smi >/dev/null 2>&1; then {NVIDIA_SMI_QUERY} 2>&1; echo \"rc=$?\"; "
                "grep -m1 '^MemTotal:' /proc/meminfo; fi")

    def process(self, output: list[str]) -> dict[str, object] | None:
        if not output:
            return None
        system_mib = next((m for m in map(parse_meminfo_total_mib, output) if m), None)
        output = [line for line in output if not line.startswith("MemTotal:")]
        if not output:
            return None
        rc_line = output[-1]
        body = "\n".join(output[:-1])
        if rc_line != "rc=0":
            return {"gpus": [], "error": body.strip() or rc_line}
        try:
            gpus: list[Gpu] = parse_nvidia_smi_csv(body, system_mib)
        except GpuQueryError as exc:
            return {"gpus": [], "error": str(exc)}
        return {"gpus": gpus, "error": None}


class NvidiaPciGpus(FactBase):
    """
    NVIDIA GPUs on the PCI bus from ``lspci -nn -D`` (vendor 10de), with their architecture; works before
    any driver is installed. ``None`` when lspci is missing.

    .. code:: python

        host.get_fact(NvidiaPciGpus)  # [PciGpu(bus_id="0000:01:00.0", architecture="ada", ...)]
    """

    requires_command = "lspci"

    def command(self) -> str:
        return "lspci -nn -D"

    def process(self, output: list[str]) -> list[PciGpu]:
        return parse_lspci(output)


class NvidiaTopology(FactBase):
    """
    NVLink or PCIe between each GPU pair, from ``nvidia-smi topo -m``: ``{"0-1": "NV4", ...}``.

    .. code:: python

        host.get_fact(NvidiaTopology)
    """

    requires_command = "nvidia-smi"

    def command(self) -> str:
        return "nvidia-smi topo -m 2>/dev/null || true"

    def process(self, output: list[str]) -> dict[str, str]:
        return parse_topology(output)


class SecureBoot(FactBase):
    """
    Whether UEFI Secure Boot is on (``mokutil --sb-state``); ``None`` when mokutil is missing or says nothing.

    .. code:: python

        host.get_fact(SecureBoot)  # True / False / None
    """

    def command(self) -> str:
        return "mokutil --sb-state 2>/dev/null || true"

    def process(self, output: list[str]) -> bool | None:
        text = " ".join(output).lower()
        if "secureboot enabled" in text:
            return True
        if "secureboot disabled" in text or "not supported" in text:
            return False
        return None


class NvidiaKernelState(FactBase):
    """
    The NVIDIA kernel module for the running kernel and the device nodes: whether a module is installed for
    ``uname -r``, whether it is loaded, and whether ``/dev/nvidia0`` exists.

    .. code:: python

        host.get_fact(NvidiaKernelState)  # {"kernel": "6.8.0-45-generic", "installed": True, ...}
    """

    def command(self) -> str:
        return (
            "echo kernel=$(uname -r); "
            "if modinfo -F version nvidia >/dev/null 2>&1; then echo installed=yes; else echo installed=no; fi; "
            "if [ -d /sys/module/nvidia ]; then echo loaded=yes; else echo loaded=no; fi; "
            "if [ -e /dev/nvidia0 ]; then echo device=yes; else echo device=no; fi"
        )

    def process(self, output: list[str]) -> dict[str, object]:
        values = dict(line.split("=", 1) for line in output if "=" in line)
        return {
            "kernel": values.get("kernel", ""),
            "installed": values.get("installed") == "yes",
            "loaded": values.get("loaded") == "yes",
            "device": values.get("device") == "yes",
        }
