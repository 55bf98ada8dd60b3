"""launchd jobs on an Apple Silicon Mac, as the stack renders them: where their plists and the stack's own files go,
and one job's plist (``templates/launchd.plist.j2``). The jobs themselves are built beside what they run: MLX-LM's in
``engines/mlx/service.py``, Open WebUI's in ``openwebui/mac.py``.

pyinfra has Homebrew operations and reads launchd's state, but writes no plists: each job is a LaunchDaemon in
/Library/LaunchDaemons, so it starts at boot without anyone logged in, restarts when it exits and logs to a file
under ``data_dir``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reasoning_stack.render import render
from reasoning_stack.service_files import HELPER_DIR

ROOT = "/opt/reasoning-stack"  # the virtual environments
MLX_VENV = f"{ROOT}/mlx"  # MLX-LM's environment, whose Python also runs the stack's helpers on the Mac
LAUNCHD_DIR = "/Library/LaunchDaemons"
LABEL_PREFIX = "com.reasoning-stack."
ENV_EXEC = f"{HELPER_DIR}/env-exec"  # reads root-only env files, then starts a job's program as its user
PATH = "/usr/bin:/bin:/usr/sbin:/sbin"  # a job's PATH: macOS's own tools only


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


def launchd_job(name: str, description: str, arguments: list[str], user: str | None, settings: Any,
                environment: dict[str, str], health_url: str, ready_url: str = "") -> LaunchdJob:
    """The job ``com.reasoning-stack.<name>``, run as ``user`` (None: root), logging to
    ``<data_dir>/logs/<name>.log``."""
    label = LABEL_PREFIX + name
    log = f"{settings.data_dir}/logs/{name}.log"
    plist = render("launchd.plist.j2", label=label, description=description, arguments=arguments, user=user,
                   working_directory=settings.data_dir, environment=environment, log=log)
    return LaunchdJob(label, plist, log, health_url, ready_url)
