"""Apple Silicon Macs as a platform: the Mac as the planner sees it, the files a Mac gets (each instance's launchd
job from its engine, Open WebUI's from its room, the helpers), its status manifest and how ``status`` reads the Mac in
the probe's report. launchd jobs are rendered by ``reasoning_stack.launchd``. Nothing here runs Docker: MLX-LM and
Open WebUI are pinned PyPI releases in virtual environments made from Homebrew's Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyinfra.api.exceptions import PyinfraError

from reasoning_stack import engines
from reasoning_stack.catalogue import GIB, MIB
from reasoning_stack.facts import MacHardware
from reasoning_stack.gpus import Gpu, gpus_from_profile
from reasoning_stack.host_files import helper_files, without_secrets
from reasoning_stack.launchd import ENV_EXEC, MLX_VENV
from reasoning_stack.manifest import MANIFEST, api_entry, manifest_text, openwebui_entry
from reasoning_stack.openwebui.database import database_for
from reasoning_stack.openwebui.mac import OPENWEBUI_LABEL, openwebui_job
from reasoning_stack.openwebui.paths import ADMIN_HELPERS
from reasoning_stack.openwebui.service import host_files as webui_host_files
from reasoning_stack.planning.types import HostPlan
from reasoning_stack.platforms.base import Platform
from reasoning_stack.prepared import prepared_fact
from reasoning_stack.render import render
from reasoning_stack.service_files import CONFIG_DIR, SMOKE_TEST, WAIT_HTTP
from reasoning_stack.settings import OPENWEBUI_VERSION

if TYPE_CHECKING:
    from pyinfra.api.host import Host

    from reasoning_stack.settings import StackSettings
    from reasoning_stack.topology import Cluster

BREW = "/opt/homebrew/bin/brew"  # Homebrew's prefix on Apple Silicon
PYTHON_FORMULA = "python@3.12"  # Homebrew's Python the virtual environments are made from
PYTHON = f"/opt/homebrew/bin/{PYTHON_FORMULA.replace('@', '')}"  # python3.12


def mac_gpu(hardware: dict[str, object]) -> Gpu:
    """The Mac's GPU as the planner sees it: the chip by name and memory, all of hw.memsize, unified."""
    memsize = int(hardware["memsize"])  # type: ignore[call-overload]
    gib = round(memsize / GIB)
    return Gpu(0, f"{hardware['brand']} {gib} GB", memsize // MIB, unified=True)


def weights_env_text(settings: StackSettings) -> str:
    """The Mac instance's env file: the Hugging Face token the weights download reads, and nothing else."""
    hf_token = settings.hf_token.get_secret_value() if settings.hf_token else ""
    return f"# Managed by reasoning-stack. Read by the weights download only.\nHF_TOKEN={hf_token}\n"


def helper_text(template: str) -> str:
    """A helper script for the Mac: run by the stack's own Python (macOS's /usr/bin/python3 may be a stub)."""
    text = render(template)
    first, _, rest = text.partition("\n")
    return f"#!{MLX_VENV}/bin/python\n{rest}" if first.startswith("#!") else text


# The helpers every Mac carries: the health wait, the smoke test and env-exec (Open WebUI's are in its room).
MAC_HELPERS = ((WAIT_HTTP, "wait-http.py.j2"), (SMOKE_TEST, "smoke-test.py.j2"), (ENV_EXEC, "env-exec.py.j2"))


class MacOS(Platform):
    """An Apple Silicon Mac: launchd jobs, virtual environments from Homebrew's Python, the Mac's unified memory."""

    name = "macos"
    title = "macOS (Apple Silicon, launchd)"
    needs = "runs on Apple Silicon Macs"
    is_ = "is a Mac (macOS)"
    probe_path = f"{MLX_VENV}/bin"  # the stack's own python3 first (macOS's /usr/bin/python3 may be a stub)

    def detect(self, target: Host) -> bool:
        return prepared_fact(target, MacHardware) is not None

    def gpus(self, settings: Any, target: Host) -> list[Gpu]:
        """The Mac's chip and memory from its facts; a declared gpu_profile must match them."""
        hardware = prepared_fact(target, MacHardware)
        if hardware is None:
            raise PyinfraError(f"host {target.name!r}: engine {settings.engine!r} runs on Apple Silicon Macs, and "
                               "this host is not macOS")
        gpu = mac_gpu(hardware)
        if settings.gpu_profile is not None:
            declared = gpus_from_profile(settings.gpu_profile)[0]
            if declared.name != gpu.name:
                raise PyinfraError(f"host {target.name!r}: gpu_profile {settings.gpu_profile!r} ({declared.name}) "
                                   f"disagrees with the Mac, an {gpu.name}; fix or remove gpu_profile")
        return [gpu]

    def wired_limit_mib(self, target: Host) -> int:
        hardware = prepared_fact(target, MacHardware)
        return int(hardware["wired_limit_mib"]) if hardware else 0

    def manifest(self, settings: Any, plan: HostPlan, host_name: str, cluster: Cluster | None) -> dict[str, Any]:
        """MLX-LM and Open WebUI as the launchd jobs the Mac's deploy loads."""
        units = [{**api_entry(settings, instance), "launchd": engines.get(instance.engine).launchd_job(
            settings, instance, "").label} for instance in plan.instances]
        if settings.openwebui_enabled:
            units.append(openwebui_entry(settings, f"open-webui=={OPENWEBUI_VERSION}", launchd=OPENWEBUI_LABEL))
        return {"host": host_name, "cluster": None, "role": None, "platform": self.name, "units": units}

    def files(self, settings: Any, plan: HostPlan, host_gpu_count: int, host_name: str, cluster: Cluster | None,
              ssh_user: str | None) -> dict[str, str]:
        settings = without_secrets(settings)
        user = settings.mac_user or ssh_user or "<mac_user>"
        instance = plan.instances[0]
        out = {f"{CONFIG_DIR}/{instance.unit}.env": weights_env_text(settings)}
        job = engines.get(instance.engine).launchd_job(settings, instance, user)
        out[job.plist_path] = job.plist_text
        helpers = list(MAC_HELPERS)
        if settings.openwebui_enabled:
            helpers += ADMIN_HELPERS
            webui, env_path, env_text = openwebui_job(settings, plan, user, database_for(settings))
            out[webui.plist_path] = webui.plist_text
            out[env_path] = env_text
            out.update(webui_host_files(settings, plan))
        out[MANIFEST] = manifest_text(self.manifest(settings, plan, host_name, None))
        out.update(helper_files(helpers, first_line=f"#!{MLX_VENV}/bin/python"))
        return dict(sorted(out.items()))

    def report_gpus(self, report: dict[str, Any]) -> list[Gpu]:
        hardware = report.get("mac") or {}
        return [mac_gpu(hardware)] if str(hardware.get("memsize", "")).isdigit() else []

    def report_gpu_problem(self, report: dict[str, Any]) -> str:
        return "" if self.report_gpus(report) else "sysctl reported no memory size"

    def hardware_line(self, report: dict[str, Any], gpus: list[Gpu]) -> str:
        return (f"Mac: {gpus[0].name} of unified memory ({gpus[0].memory_mib} MiB), macOS "
                f"{(report.get('mac') or {}).get('macos') or '?'}")


MACOS = MacOS()
