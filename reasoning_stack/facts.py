"""pyinfra facts this stack reads from hosts."""

from __future__ import annotations

from pyinfra.api import FactBase

from reasoning_stack.gpus import NVIDIA_SMI_QUERY, Gpu, GpuQueryError, parse_nvidia_smi_csv


class NvidiaGpus(FactBase):
    """
    The host's NVIDIA GPUs from ``nvidia-smi --query-gpu`` (index, name, memory, uuid, driver, compute
    capability, PCI bus id). ``None`` when nvidia-smi is missing; nvidia-smi prints its errors (such as
    "Driver/library version mismatch") on stdout, so the exit code decides and the error is kept.

    .. code:: python

        gpus = host.get_fact(NvidiaGpus)  # {"gpus": [Gpu, ...], "error": None}
    """

    def command(self) -> str:
        return f"if command -v nvidia-smi >/dev/null 2>&1; then {NVIDIA_SMI_QUERY} 2>&1; echo \"rc=$?\"; fi"

    def process(self, output: list[str]) -> dict[str, object] | None:
        if not output:
            return None
        rc_line = output[-1]
        body = "\n".join(output[:-1])
        if rc_line != "rc=0":
            return {"gpus": [], "error": body.strip() or rc_line}
        try:
            gpus: list[Gpu] = parse_nvidia_smi_csv(body)
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
