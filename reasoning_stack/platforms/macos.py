"""Apple Silicon Macs as a platform: the Mac as the planner sees it, where the stack's files go, the launchd jobs it
renders, its status manifest and how ``status`` reads the Mac in the probe's report.

pyinfra has Homebrew operations and reads launchd's state, but writes no plists: the stack renders each job
(``templates/launchd.plist.j2``) into /Library/LaunchDaemons, so MLX-LM and Open WebUI start at boot without anyone
logged in, restart when they exit, and log to a file under ``data_dir``. Nothing here runs Docker: MLX-LM and Open
WebUI are pinned PyPI releases in virtual environments made from Homebrew's Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyinfra.api.exceptions import PyinfraError

from reasoning_stack import engines
from reasoning_stack.catalogue import GIB, MIB
from reasoning_stack.facts import MacHardware
from reasoning_stack.gpus import Gpu, gpus_from_profile
from reasoning_stack.host_files import helper_files, without_secrets
from reasoning_stack.manifest import MANIFEST, api_entry, manifest_text, openwebui_entry
from reasoning_stack.planning.types import HostPlan, Instance
from reasoning_stack.platforms.base import Platform
from reasoning_stack.prepared import prepared_fact
from reasoning_stack.render import render
from reasoning_stack.service_files import CONFIG_DIR, HELPER_DIR, SMOKE_TEST, WAIT_HTTP, ServiceFiles, local_url
from reasoning_stack.services import OPENWEBUI_MODELS, OPENWEBUI_MODELS_JSON, OPENWEBUI_SIGNUP, openwebui_service
from reasoning_stack.webui import model_entries_json

if TYPE_CHECKING:
    from pyinfra.api.host import Host

    from reasoning_stack.settings import StackSettings
    from reasoning_stack.topology import Cluster

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
# what the comments of Open WebUI's env file say on a Mac: its launchd job reads it, MLX-LM keeps the sampling
MAC_WEBUI_COMMENTS = {"read_by": "env-exec as its launchd job starts", "sampling_by": "MLX-LM"}


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


def weights_env_text(settings: StackSettings) -> str:
    """The Mac instance's env file: the Hugging Face token the weights download reads, and nothing else."""
    hf_token = settings.hf_token.get_secret_value() if settings.hf_token else ""
    return f"# Managed by reasoning-stack. Read by the weights download only.\nHF_TOKEN={hf_token}\n"


def helper_text(template: str) -> str:
    """A helper script for the Mac: run by the stack's own Python (macOS's /usr/bin/python3 may be a stub)."""
    text = render(template)
    first, _, rest = text.partition("\n")
    return f"#!{MLX_VENV}/bin/python\n{rest}" if first.startswith("#!") else text


class MacOS(Platform):
    """An Apple Silicon Mac: launchd jobs, virtual environments from Homebrew's Python, the Mac's unified memory."""

    name = "macos"
    title = "macOS (Apple Silicon, launchd)"
    deploy = "reasoning_stack.deploys.macos:mac_stack"
    remove = "reasoning_stack.deploys.remove_macos:remove_from_mac"
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
        units = [{**api_entry(settings, instance), "launchd": MLX_LABEL} for instance in plan.instances]
        if settings.openwebui_enabled:
            units.append(openwebui_entry(settings, f"open-webui=={OPENWEBUI_VERSION}", launchd=OPENWEBUI_LABEL))
        return {"host": host_name, "cluster": None, "role": None, "platform": self.name, "units": units}

    def files(self, settings: Any, plan: HostPlan, host_gpu_count: int, host_name: str, cluster: Cluster | None,
              ssh_user: str | None) -> dict[str, str]:
        settings = without_secrets(settings)
        user = settings.mac_user or ssh_user or "<mac_user>"
        instance = plan.instances[0]
        out = {f"{CONFIG_DIR}/{instance.unit}.env": weights_env_text(settings)}
        job = mlx_job(settings, instance, user, engines.get(instance.engine).version)
        out[job.plist_path] = job.plist_text
        helpers = [(WAIT_HTTP, "wait-http.py.j2"), (SMOKE_TEST, "smoke-test.py.j2"), (ENV_EXEC, "env-exec.py.j2"),
                   (OPENWEBUI_SIGNUP, "openwebui-signup.py.j2"), (OPENWEBUI_MODELS, "openwebui-models.py.j2")]
        if settings.openwebui_enabled:
            webui, env_path, env_text = openwebui_job(settings, openwebui_service(
                settings, plan, webui_data=f"{settings.data_dir}/open-webui", **MAC_WEBUI_COMMENTS), user)
            out[webui.plist_path] = webui.plist_text
            out[env_path] = env_text
            if settings.openwebui_admin_email is not None:
                out[OPENWEBUI_MODELS_JSON] = model_entries_json(settings, plan)
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
