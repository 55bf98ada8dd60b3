"""Where Open WebUI's pieces live on a host: its unit, the env files the deploy generates once and keeps, the helpers
that talk to its admin API, and its data folder in the container. Every other module names them from here."""

from __future__ import annotations

from typing import Any

from reasoning_stack.service_files import CONFIG_DIR, HELPER_DIR

OPENWEBUI_UNIT = "reasoning-openwebui"  # its systemd unit (a Mac's launchd job takes its env file's name from it)
OPENWEBUI_ENV = f"{CONFIG_DIR}/{OPENWEBUI_UNIT}.env"  # its settings and the engines' key (0600)
OPENWEBUI_SECRET_ENV = f"{CONFIG_DIR}/openwebui-secret.env"  # WEBUI_SECRET_KEY, when the host generates it
OPENWEBUI_ADMIN_ENV = f"{CONFIG_DIR}/openwebui-admin.env"  # the admin password, when the host generates it
OPENWEBUI_SIGNUP = f"{HELPER_DIR}/openwebui-signup"
CLOUD_MODELS = f"{HELPER_DIR}/cloud-models"
OPENWEBUI_MODELS = f"{HELPER_DIR}/openwebui-models"
OPENWEBUI_MODELS_JSON = f"{CONFIG_DIR}/openwebui-models.json"  # the model entries the deploy keeps in Open WebUI
OPENWEBUI_FUNCTIONS_JSON = f"{CONFIG_DIR}/openwebui-functions.json"  # the filters it keeps there (functions.py)
WEBUI_DATA = "/app/backend/data"  # its data folder in its container (<data_dir>/open-webui on the host)
# The helpers that talk to its admin API after it started: (path on the host, template), on every platform.
ADMIN_HELPERS = ((OPENWEBUI_SIGNUP, "openwebui-signup.py.j2"), (OPENWEBUI_MODELS, "openwebui-models.py.j2"),
                 (CLOUD_MODELS, "cloud-models.py.j2"))


def data_dir(settings: Any) -> str:
    """Open WebUI's data folder on the host (``<data_dir>/open-webui``)."""
    return f"{settings.data_dir}/open-webui"
