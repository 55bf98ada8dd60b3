"""pyinfra facts this stack reads from hosts."""

from __future__ import annotations

import json
import re
import shlex

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


class DockerImageId(FactBase):
    """
    The local ID of a Docker image, or ``None`` when the image (or Docker) is not there.

    .. code:: python

        host.get_fact(DockerImageId, image="vllm/vllm-openai:v0.17.1")
    """

    def command(self, image: str) -> str:
        return f"docker image inspect --format '{{{{.Id}}}}' {image} 2>/dev/null || true"

    def process(self, output: list[str]) -> str | None:
        text = "\n".join(output).strip()
        return text or None


class HfWeights(FactBase):
    """
    What the host's Hugging Face cache holds of one model repo: the snapshot folders, and whether this
    stack finished downloading it (its marker file).

    .. code:: python

        host.get_fact(HfWeights, cache_dir="/var/lib/reasoning-stack/huggingface", repo="Qwen/QwQ-32B-AWQ")
    """

    def command(self, cache_dir: str, repo: str) -> str:
        snapshots = shlex.quote(f"{cache_dir}/hub/{hf_repo_folder(repo)}/snapshots")
        marker = shlex.quote(weights_marker(cache_dir, repo))
        return (f"ls -1 {snapshots} 2>/dev/null | sed 's/^/snapshot=/'; "
                f"if [ -f {marker} ]; then echo complete=yes; else echo complete=no; fi")

    def process(self, output: list[str]) -> dict[str, object]:
        snapshots = [line.split("=", 1)[1] for line in output if line.startswith("snapshot=")]
        return {"snapshots": snapshots, "complete": "complete=yes" in output}


class FreeDiskBytes(FactBase):
    """
    Bytes free on the filesystem that holds ``path`` (or its nearest existing parent).

    .. code:: python

        host.get_fact(FreeDiskBytes, path="/var/lib/reasoning-stack")
    """

    def command(self, path: str) -> str:
        return (f"p={shlex.quote(path)}; while [ ! -e \"$p\" ]; do p=$(dirname \"$p\"); done; "
                "df -P -B1 \"$p\" | awk 'NR==2 {print $4}'")

    def process(self, output: list[str]) -> int | None:
        text = "".join(output).strip()
        return int(text) if text.isdigit() else None


def hf_repo_folder(repo: str) -> str:
    """The folder huggingface_hub uses for a model repo in its cache (``models--org--name``)."""
    return "models--" + repo.replace("/", "--")


def weights_marker(cache_dir: str, repo: str) -> str:
    """The file this stack writes once a repo's download finished."""
    return f"{cache_dir}/reasoning-stack/{hf_repo_folder(repo)}.complete"


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


class AptSources(FactBase):
    """
    The apt sources of the host, one-line (``.list``) and deb822 (``.sources``) alike: a list of
    ``{"file", "url", "suites", "components", "signed_by"}`` (``signed_by`` is "" when none is set).

    .. code:: python

        host.get_fact(AptSources)
    """

    def command(self) -> str:
        one_line = (
            "$1==\"deb\" { o=\"\"; i=2; if ($2 ~ /^\\[/) { o=$2; i=3; while (o !~ /\\]$/ && i<=NF) "
            "{ o=o\" \"$i; i++ } } c=\"\"; for (j=i+2; j<=NF; j++) c=c (c?\",\":\"\") $j; "
            "print f \"|\" $i \"|\" $(i+1) \"|\" c \"|\" o }"
        )
        deb822 = (
            "function emit() { if (u) print f \"|\" u \"|\" s \"|\" c \"|signed-by=\" k; u=s=c=k=\"\" } "
            "/^URIs:/{u=$2} /^Suites:/{s=$2; for(j=3;j<=NF;j++) s=s \",\" $j} "
            "/^Components:/{c=$2; for(j=3;j<=NF;j++) c=c \",\" $j} /^Signed-By:/{k=$2} /^$/{emit()} END{emit()}"
        )
        return (
            f"for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do [ -f \"$f\" ] && "
            f"awk -v f=\"$f\" '{one_line}' \"$f\"; done; "
            f"for f in /etc/apt/sources.list.d/*.sources; do [ -f \"$f\" ] && "
            f"awk -v f=\"$f\" '{deb822}' \"$f\"; done; true"
        )

    def process(self, output: list[str]) -> list[dict[str, object]]:
        entries = []
        for line in output:
            parts = line.split("|")
            if len(parts) != 5:
                continue
            path, url, suites, components, options = parts
            match = re.search(r"signed-by=([^\s\]]*)", options)
            entries.append({
                "file": path,
                "url": url.rstrip("/"),
                "suites": [x for x in suites.split(",") if x],
                "components": [x for x in components.split(",") if x],
                "signed_by": match.group(1) if match else "",
            })
        return entries


def conflicting_sources(entries: list[dict[str, object]]) -> dict[str, list[str]]:
    """Repository URLs listed with different Signed-By keyrings (apt then fails with "Conflicting values
    set for option Signed-By"), and the files that list them."""
    keys: dict[str, list[tuple[str, str]]] = {}
    for entry in entries:
        keys.setdefault(str(entry["url"]), []).append((str(entry["file"]), str(entry["signed_by"])))
    return {url: sorted({f for f, _k in found}) for url, found in keys.items() if len({k for _f, k in found}) > 1}


def debian_archive(entries: list[dict[str, object]], codename: str) -> dict[str, object] | None:
    """The entry of Debian's main archive for ``codename`` (``bookworm``), if the sources have one."""
    for entry in entries:
        if codename in entry["suites"] and "main" in entry["components"]:
            return entry
    return None


class HeldPackages(FactBase):
    """
    Packages on hold (``apt-mark showhold``).

    .. code:: python

        host.get_fact(HeldPackages)  # ["nvidia-open-580", ...]
    """

    def command(self) -> str:
        return "apt-mark showhold"

    def process(self, output: list[str]) -> list[str]:
        return [line.strip() for line in output if line.strip()]


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


class InterfaceAddress(FactBase):
    """
    The IPv4 address of one network interface (``ip -4 -o addr show dev IFACE``), or ``None`` when the
    interface is missing or has no IPv4 address. A cluster node's address on its cluster network.

    .. code:: python

        host.get_fact(InterfaceAddress, interface="enp65s0")  # "10.0.0.11"
    """

    def command(self, interface: str) -> str:
        return f"ip -4 -o addr show dev {shlex.quote(interface)} 2>/dev/null || true"

    def process(self, output: list[str]) -> str | None:
        for line in output:
            match = re.search(r"\binet (\d+\.\d+\.\d+\.\d+)/", line)
            if match:
                return match.group(1)
        return None


class RayClusterNodes(FactBase):
    """
    The nodes a running Ray head reports alive (address -> GPUs), asked through Ray's own state API in the
    head's container; ``None`` when no Ray head container runs there.

    .. code:: python

        host.get_fact(RayClusterNodes, container="ray")  # {"10.0.0.11": 8.0, "10.0.0.12": 8.0}
    """

    def command(self, container: str) -> str:
        script = ("import json, ray; ray.init(address='auto', logging_level='ERROR', log_to_driver=False); "
                  "print(json.dumps({n['NodeManagerAddress']: n['Resources'].get('GPU', 0) "
                  "for n in ray.nodes() if n['Alive']}))")
        return (f"if docker inspect --format '{{{{.State.Running}}}}' {shlex.quote(container)} 2>/dev/null "
                f"| grep -qx true; then docker exec {shlex.quote(container)} python3 -c {shlex.quote(script)} "
                "2>/dev/null | tail -n 1 || echo '{}'; fi")

    def process(self, output: list[str]) -> dict[str, float] | None:
        import json

        if not output:
            return None
        try:
            return {str(k): float(v) for k, v in json.loads(output[-1]).items()}
        except ValueError:
            return {}


class ImageRayVersion(FactBase):
    """
    The Ray version an image carries (``import ray`` in a throw-away container): ``""`` when it has none,
    ``None`` when the image is not on the host yet.

    .. code:: python

        host.get_fact(ImageRayVersion, image="vllm/vllm-openai:v0.17.1")  # "2.54.0"
    """

    def command(self, image: str) -> str:
        quoted = shlex.quote(image)
        return (f"if docker image inspect {quoted} >/dev/null 2>&1; then docker run --rm --entrypoint python3 "
                f"{quoted} -c 'import ray; print(ray.__version__)' 2>/dev/null | tail -n 1 || true; "
                "echo checked; fi")

    def process(self, output: list[str]) -> str | None:
        if not output or output[-1] != "checked":
            return None
        return output[-2].strip() if len(output) > 1 else ""


class StackManifest(FactBase):
    """
    The status manifest the last deploy left (what runs there), or ``None`` when there is none.

    .. code:: python

        host.get_fact(StackManifest)  # {"units": [{"unit": "reasoning-vllm", "image": ...}, ...], ...}
    """

    def command(self) -> str:
        return "cat /etc/reasoning-stack/status.json 2>/dev/null || true"

    def process(self, output: list[str]) -> dict[str, object] | None:
        try:
            return json.loads("\n".join(output)) if output else None
        except ValueError:
            return None


class DpkgInterrupted(FactBase):
    """
    The journal files a cut-off dpkg run (SSH dropped, host rebooted) left behind; empty on a healthy host.
    While there are any, apt refuses every install until ``dpkg --configure -a`` finishes the job.

    .. code:: python

        host.get_fact(DpkgInterrupted)  # [] on a healthy host
    """

    def command(self) -> str:
        return "find /var/lib/dpkg/updates -maxdepth 1 -type f 2>/dev/null | head -n 5"

    def process(self, output: list[str]) -> list[str]:
        return [line.strip() for line in output if line.strip()]


class MacHardware(FactBase):
    """
    An Apple Silicon Mac as the planner needs it: memory (``hw.memsize``), chip (``machdep.cpu.brand_string``),
    a raised GPU wired limit (``iogpu.wired_limit_mb``, 0 when left to macOS), the macOS version and whether
    Homebrew and its Python are there. ``None`` on anything but macOS.

    .. code:: python

        host.get_fact(MacHardware)  # {"memsize": 137438953472, "brand": "Apple M4 Max", ...}
    """

    requires_command = "sw_vers"

    def command(self) -> str:
        return ("echo memsize=$(sysctl -n hw.memsize); echo brand=$(sysctl -n machdep.cpu.brand_string); "
                "echo wired=$(sysctl -n iogpu.wired_limit_mb 2>/dev/null || echo 0); "
                "echo macos=$(sw_vers -productVersion); echo arch=$(uname -m); "
                "echo brew=$(test -x /opt/homebrew/bin/brew && echo yes || echo no); "
                "echo python=$(test -x /opt/homebrew/bin/python3.12 && echo yes || echo no)")

    def process(self, output: list[str]) -> dict[str, object] | None:
        values = dict(line.split("=", 1) for line in output if "=" in line)
        if not values.get("memsize", "").isdigit():
            return None
        return {
            "memsize": int(values["memsize"]),
            "brand": values.get("brand", "").strip(),
            "wired_limit_mib": int(values["wired"]) if values.get("wired", "").isdigit() else 0,
            "macos": values.get("macos", ""),
            "arch": values.get("arch", ""),
            "brew": values.get("brew") == "yes",
            "python": values.get("python") == "yes",
        }
