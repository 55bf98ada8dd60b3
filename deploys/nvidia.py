"""NVIDIA layer: for now, checks that the GPUs the plan uses are visible (driver installation comes later)."""

from pyinfra import host, logger

from reasoning_stack.context import host_plan, host_settings
from reasoning_stack.facts import NvidiaGpus

settings = host_settings()
host_plan()
fact = host.get_fact(NvidiaGpus)
if not fact or not fact["gpus"]:
    logger.warning(
        f"{host.name}: nvidia-smi reports no GPU yet; planned from gpu_profile {settings.gpu_profile!r}. "
        "Install the NVIDIA driver and Container Toolkit before vLLM can start."
    )
