"""Open WebUI's service files: the systemd unit and env file on Linux (the pinned image), the same env file read by
its launchd job on a Mac, and the files its helpers read after it started (``host_files``).

Pure functions of (settings, plan): the deploys write these with pyinfra, ``render`` prints them, the tests read them.
"""

from __future__ import annotations

from reasoning_stack import engines
from reasoning_stack.openwebui.database import DB_ENV, DB_HELPER, WebuiDatabase, database_for, helper_text
from reasoning_stack.openwebui.entries import (
    api_keys_env,
    connection_configs,
    model_defaults_env,
    model_entries_json,
    task_config,
)
from reasoning_stack.openwebui.functions import functions_json
from reasoning_stack.openwebui.paths import (
    ADMIN_HELPERS,
    OPENWEBUI_ADMIN_ENV,
    OPENWEBUI_ENV,
    OPENWEBUI_FUNCTIONS_JSON,
    OPENWEBUI_MODELS_JSON,
    OPENWEBUI_SECRET_ENV,
    OPENWEBUI_UNIT,
    WEBUI_DATA,
    data_dir,
)
from reasoning_stack.planning.types import HostPlan
from reasoning_stack.render import render
from reasoning_stack.service_files import ServiceFiles, local_url
from reasoning_stack.settings import StackSettings


def generated_env_files(settings: StackSettings) -> list[str]:
    """The env files the host generates once and keeps for Open WebUI: its secret key and its admin password, where
    the settings give none."""
    out = []
    if settings.openwebui_secret_key is None:
        out.append(OPENWEBUI_SECRET_ENV)
    if settings.openwebui_admin_email is not None and settings.openwebui_admin_password is None:
        out.append(OPENWEBUI_ADMIN_ENV)
    return out


def openwebui_service(settings: StackSettings, host_plan: HostPlan, public_url: str | None = None,
                      database: WebuiDatabase | None = None, webui_data: str = WEBUI_DATA,
                      read_by: str = "docker --env-file", sampling_by: str = "vLLM") -> ServiceFiles:
    """The Open WebUI unit and env file, wired to every vLLM instance of the host. ``public_url``: the HTTPS
    proxy's address of it (then it listens on loopback behind the proxy, and its cookies are HTTPS-only).
    ``database``: where it keeps its data (None: as the settings plan it, on a host of unknown size).
    ``webui_data``: its data folder as Open WebUI sees it (the container's; a Mac's own path). ``read_by`` and
    ``sampling_by``: what reads the env file and which engine keeps the sampling, for its comments (a Mac's own)."""
    database = database or database_for(settings)
    listen = "127.0.0.1" if public_url else settings.openwebui_listen
    env_path = OPENWEBUI_ENV
    docker_args = ["--network", "host", "--env-file", env_path]
    for generated in generated_env_files(settings):
        docker_args += ["--env-file", generated]
    if database.postgresql:  # DATABASE_URL and REDIS_URL, with the passwords generated on the host
        docker_args += ["--env-file", DB_ENV]
    docker_args += [
        "--volume", f"{data_dir(settings)}:{WEBUI_DATA}",
        "--label", "managed-by=reasoning-stack",
    ]
    unit_text = render(
        "container.service.j2",
        description="Open WebUI for the reasoning stack",
        container="open-webui",
        image=settings.openwebui_image,
        docker_args=docker_args,
        unit_name=OPENWEBUI_UNIT,
        after_units=[f"{i.unit}.service" for i in host_plan.instances]
        + (["postgresql.service", "redis-server.service"] if database.postgresql else []),
    )
    api_key = settings.api_key.get_secret_value() if settings.api_key else "none"
    openai = [i for i in host_plan.instances if engines.get(i.engine).openai_api]
    env_text = render(
        "openwebui.env.j2",
        unit_name=OPENWEBUI_UNIT,
        read_by=read_by,
        sampling_by=sampling_by,
        listen=listen,
        port=settings.openwebui_port,
        public_url=public_url,
        base_urls=[local_url(settings.api_listen, i.port) + "/v1" for i in openai]
        + [c.base_url for c in settings.openwebui_cloud],
        api_keys=[api_key for _ in openai]
        + [c.api_key.get_secret_value() for c in settings.openwebui_cloud if c.api_key is not None],
        ollama_urls=[local_url(settings.api_listen, i.port) for i in host_plan.instances
                     if not engines.get(i.engine).openai_api],
        api_configs=connection_configs(settings, len(openai)),
        signup=settings.openwebui_signup,
        default_models=[host_plan.instances[0].served_model_name],
        secret_key=settings.openwebui_secret_key.get_secret_value() if settings.openwebui_secret_key else "",
        admin_email=settings.openwebui_admin_email,
        admin_password=(settings.openwebui_admin_password.get_secret_value()
                        if settings.openwebui_admin_password else ""),
        tasks=task_config(settings, host_plan),
        model_defaults=model_defaults_env(),
        person_keys=api_keys_env(settings, webui_data),
        database=database,
        db_env=DB_ENV,
    )
    base = local_url(listen, settings.openwebui_port)
    return ServiceFiles(OPENWEBUI_UNIT, unit_text, env_path, env_text, "open-webui", settings.openwebui_image,
                        f"{base}/health", f"{base}/health")


def host_files(settings: StackSettings, plan: HostPlan, database: WebuiDatabase | None = None) -> dict[str, str]:
    """The files Open WebUI's steps after its start read on the host, by path: the database helper (PostgreSQL),
    the model entries and the stack's functions (with an admin account). Its admin helpers are in
    ``ADMIN_HELPERS`` (path, template)."""
    database = database or database_for(settings)
    out = {}
    if database.postgresql:
        out[DB_HELPER] = helper_text(OPENWEBUI_UNIT)
    if settings.openwebui_admin_email is not None:
        out[OPENWEBUI_MODELS_JSON] = model_entries_json(settings, plan)
        out[OPENWEBUI_FUNCTIONS_JSON] = functions_json(settings)
    return out


__all__ = ["ADMIN_HELPERS", "OPENWEBUI_ENV", "OPENWEBUI_UNIT", "generated_env_files", "host_files",
           "openwebui_service"]
