"""Apple Silicon Macs: the Mac as the planner sees it, where the stack's files go, and the launchd jobs it renders.

pyinfra has Homebrew operations and reads launchd's state, but writes no plists: the stack renders each job
(``templates/launchd.plist.j2``) into /Library/LaunchDaemons, so MLX-LM and Open WebUI start at boot without anyone
logged in, restart when they exit, and log to a file under ``data_dir``. Nothing here runs Docker: MLX-LM and Open
WebUI are pinned PyPI releases in virtual environments made from Homebrew's Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from reasoning_stack.catalogue import GIB, MIB
from reasoning_stack.gpus import Gpu
from reasoning_stack.planning.types import Instance
from reasoning_stack.render import render
from reasoning_stack.service_files import CONFIG_DIR, HELPER_DIR, ServiceFiles, local_url

if TYPE_CHECKING:
    from reasoning_stack.settings import StackSettings

BREW = "/opt/homebrew/bin/brew"  # Homebrew's prefix on Apple Silicon
PYTHON_FORMULA = "python@3.12"  # Homebrew's Python the virtual environments are made from
PYTHON = f"/opt/homebrew/bin/{PYTHON_FORMULA.replace('@', '')}"  # python3.12
ROOT = "/opt/reasoning-stack"
MLX_VENV = f"{ROOT}/mlx"
OPENWEBUI_VENV = f"{ROOT}/open-webui"
OPENWEBUI_VERSION = "0.12.4"  # the release the Linux hosts run as an image, from PyPI here
LAUNCHD_DIR = "/Library/LaunchDaemons"
LABEL_PREFIX = "com.reasoning-stack."
MLX_LABEL = LABEL_PREFIX + "mlx"  # the launchd jobs the deploy loads and `status` reads
OPENWEBUI_LABEL = LABEL_PREFIX + "openwebui"
ENV_EXEC = f"{HELPER_DIR}/env-exec"


def mac_gpu(hardware: dict[str, object]) -> Gpu:
    """The Mac's GPU as the planner sees it: the chip by name and memory, all of hw.memsize, unified."""
    memsize = int(hardware["memsize"])  # type: ignore[call-overload]
    gib = round(memsize / GIB)
    return Gpu(0, f"{hardware['brand']} {gib} GB", memsize // MIB, unified=True)


@dataclass(frozen=True)
class LaunchdJob:
    """One launchd job: its label, plist, log file and where it answers."""

    label: str
    plist_text: str
    log_path: str
    health_url: str
    ready_url: str = ""

    @property
    def plist_path(self) -> str:
        return f"{LAUNCHD_DIR}/{self.label}.plist"

    @property
    def base_url(self) -> str:
        return self.health_url.removesuffix("/health")


def _job(label: str, description: str, arguments: list[str], user: str | None, settings: StackSettings,
         environment: dict[str, str], health_url: str, ready_url: str = "") -> LaunchdJob:
    log = f"{settings.data_dir}/logs/{label.removeprefix(LABEL_PREFIX)}.log"
    plist = render("launchd.plist.j2", label=label, description=description, arguments=arguments, user=user,
                   working_directory=settings.data_dir, environment=environment, log=log)
    return LaunchdJob(label, plist, log, health_url, ready_url)


def mlx_job(settings: StackSettings, instance: Instance, user: str, version: str) -> LaunchdJob:
    """MLX-LM's server for the planned instance, as ``user``, offline (the deploy downloads the weights first)."""
    plan = instance.plan
    args = [f"{MLX_VENV}/bin/mlx_lm.server", *plan.command[1:]]
    base = local_url(settings.api_listen, instance.port)
    environment = {"HF_HOME": f"{settings.data_dir}/huggingface", "HF_HUB_OFFLINE": "1", "HOME": settings.data_dir,
                   "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}
    return _job(MLX_LABEL, f"MLX-LM {version} serving {plan.model_repo}", args, user, settings,
                environment, f"{base}/health", f"{base}/v1/models")


def openwebui_job(settings: StackSettings, service: ServiceFiles, user: str) -> tuple[LaunchdJob, str, str]:
    """Open WebUI from PyPI in front of the Mac's MLX-LM: (job, env-file path, env-file text); ``service``: Open
    WebUI's service files as on Linux (the same settings and secrets, in the same files). The job starts env-exec as
    root, which reads the root-only env files and drops to ``user`` before Open WebUI starts."""
    files = [service.env_path]
    if settings.openwebui_secret_key is None:
        files.append(f"{CONFIG_DIR}/openwebui-secret.env")
    if settings.openwebui_admin_email is not None and settings.openwebui_admin_password is None:
        files.append(f"{CONFIG_DIR}/openwebui-admin.env")
    args = [f"{MLX_VENV}/bin/python", ENV_EXEC, "--user", user, *files, "--", f"{OPENWEBUI_VENV}/bin/open-webui",
            "serve", "--host", settings.openwebui_listen, "--port", str(settings.openwebui_port)]
    environment = {"DATA_DIR": f"{settings.data_dir}/open-webui", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}
    health = local_url(settings.openwebui_listen, settings.openwebui_port) + "/health"
    job = _job(OPENWEBUI_LABEL, f"Open WebUI {OPENWEBUI_VERSION} in front of MLX-LM", args, None,
               settings, environment, health)
    return job, service.env_path, service.env_text


def helper_text(template: str) -> str:
    """A helper script for the Mac: run by the stack's own Python (macOS's /usr/bin/python3 may be a stub)."""
    text = render(template)
    first, _, rest = text.partition("\n")
    return f"#!{MLX_VENV}/bin/python\n{rest}" if first.startswith("#!") else text
