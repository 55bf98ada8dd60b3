"""Open WebUI on a Mac: the pinned release from PyPI in its own virtual environment, as a launchd job in front of
MLX-LM, reading the same env files as on Linux."""

from __future__ import annotations

from reasoning_stack.launchd import ENV_EXEC, LABEL_PREFIX, MLX_VENV, PATH, ROOT, LaunchdJob, launchd_job
from reasoning_stack.openwebui.database import WebuiDatabase
from reasoning_stack.openwebui.paths import data_dir
from reasoning_stack.openwebui.service import generated_env_files, openwebui_service
from reasoning_stack.planning.types import HostPlan
from reasoning_stack.service_files import local_url
from reasoning_stack.settings import OPENWEBUI_VERSION, StackSettings

OPENWEBUI_VENV = f"{ROOT}/open-webui"
OPENWEBUI_LABEL = LABEL_PREFIX + "openwebui"
# what the comments of Open WebUI's env file say on a Mac: its launchd job reads it, MLX-LM keeps the sampling
MAC_WEBUI_COMMENTS = {"read_by": "env-exec as its launchd job starts", "sampling_by": "MLX-LM"}


def openwebui_job(settings: StackSettings, plan: HostPlan, user: str,
                  database: WebuiDatabase | None = None) -> tuple[LaunchdJob, str, str]:
    """Open WebUI from PyPI in front of the Mac's MLX-LM: (job, env-file path, env-file text), the env file as on
    Linux (the same settings and secrets, in the same files). The job starts env-exec as root, which reads the
    root-only env files and drops to ``user`` before Open WebUI starts. ``database``: as the deploy found it
    (None: as the settings plan it)."""
    service = openwebui_service(settings, plan, database=database, webui_data=data_dir(settings), **MAC_WEBUI_COMMENTS)
    files = [service.env_path, *generated_env_files(settings)]
    args = [f"{MLX_VENV}/bin/python", ENV_EXEC, "--user", user, *files, "--", f"{OPENWEBUI_VENV}/bin/open-webui",
            "serve", "--host", settings.openwebui_listen, "--port", str(settings.openwebui_port)]
    environment = {"DATA_DIR": data_dir(settings), "PATH": PATH}
    health = local_url(settings.openwebui_listen, settings.openwebui_port) + "/health"
    job = launchd_job(OPENWEBUI_LABEL.removeprefix(LABEL_PREFIX), f"Open WebUI {OPENWEBUI_VERSION} in front of MLX-LM",
                      args, None, settings, environment, health)
    return job, service.env_path, service.env_text
