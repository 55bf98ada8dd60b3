"""Open WebUI as a systemd unit: pinned image, data kept on the host, wired to this host's models; its admin
account created on the first start and the sign-up policy made to hold after it (``after_start``).

    from reasoning_stack.deploys import open_webui

    open_webui()             # as the host's settings say
    open_webui(port=3001)    # a setting of its own given here wins over the host's data
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.files import File, FindInFile
from pyinfra.operations import files, server

from reasoning_stack.context import (
    host_cluster,
    host_plan,
    host_proxy,
    host_settings,
    host_webui_database,
    settings_from_arguments,
)
from reasoning_stack.facts import StackManifest
from reasoning_stack.openwebui.after_start import after_start, generated_secrets
from reasoning_stack.openwebui.database import (
    DB_HELPER,
    DB_MARKER,
    DB_MARKER_TEXT,
    DB_NAME,
    DB_PACKAGES,
    SQLITE_FILE,
    WebuiDatabase,
    helper_text,
)
from reasoning_stack.openwebui.entries import USAGE_DIR
from reasoning_stack.openwebui.operations import openwebui_database_ready, openwebui_sqlite_moved
from reasoning_stack.openwebui.paths import ADMIN_HELPERS, OPENWEBUI_UNIT, data_dir
from reasoning_stack.openwebui.service import openwebui_service
from reasoning_stack.operations import docker_image, sqlite_backup, stack_file, wait_http
from reasoning_stack.prepared import prepared_fact
from reasoning_stack.render import render
from reasoning_stack.services import UNIT_DIR, WAIT_HTTP
from reasoning_stack.units import (
    install_env_file,
    install_service,
    packages_present,
    retire_service,
    stack_directories,
)


@deploy("Open WebUI")
@settings_from_arguments(port="openwebui_port", listen="openwebui_listen", image="openwebui_image",
                         enabled="openwebui_enabled")
def open_webui(port: int | None = None, listen: str | None = None, image: str | None = None,
               enabled: bool | None = None) -> None:
    """Open WebUI wired to this host's models; its admin account and sign-up policy, its model entries.

    + port: where it listens (default: the host's ``openwebui_port``, 3000)
    + listen: the address it listens on (default: the host's ``openwebui_listen``, 127.0.0.1)
    + image: its image, pinned by tag or digest (default: the host's ``openwebui_image``)
    + enabled: whether the host runs it (default: the host's ``openwebui_enabled``); False retires a deployed one

    A value given here is checked as the same setting in group_data would be.

    .. code:: python

        open_webui(port=3001, listen="0.0.0.0")   # said aloud: the deploy reports a door open to the network
    """
    settings = host_settings()
    plan, _gpus = host_plan()
    cluster = host_cluster()
    # A cluster's Open WebUI runs on its head, in front of the one API the cluster serves.
    wanted = settings.openwebui_enabled and (cluster is None or cluster.head == host.name)

    if wanted:
        proxy = host_proxy()
        database = host_webui_database()
        service = openwebui_service(settings, plan, proxy.url_for("Open WebUI") if proxy else None, database)
        stack_directories()
        files.directory(name="Open WebUI data", path=data_dir(settings), mode="755")
        if settings.openwebui_api_keys != "off":  # its record of who used which model: root's alone
            files.directory(name="Open WebUI usage record (root only)", mode="700",
                            path=f"{data_dir(settings)}/{USAGE_DIR}")
        docker_image(name=f"Open WebUI image {service.image}", image=service.image, pull=settings.pull_images)
        stack_directories(config=False, helpers=True)
        for helper, template in ADMIN_HELPERS:
            stack_file(name=f"{helper.rsplit('/', 1)[1]} helper", dest=helper, content=render(template), mode="755")
        marker = f"{data_dir(settings)}/{DB_MARKER}"
        manifest = prepared_fact(host, StackManifest) or {}
        # Its data can be in PostgreSQL only when the last deploy ran it there, or when the stack was removed since
        # (the manifest went, the database stayed): only then is the marker read, not on every SQLite re-run.
        maybe_postgresql = not manifest or any(u.get("kind") == "database" for u in manifest.get("units", []))
        generated = []
        if database.postgresql:
            # its setup may write new URLs (ports) to the env file Open WebUI reads: then Open WebUI restarts
            generated.append(_postgresql_and_redis(database))
            stack_file(name="Open WebUI's data: where it is", dest=marker, mode="644",
                       content=f"{DB_MARKER_TEXT} (database {DB_NAME}), not here.\n")
        elif maybe_postgresql and prepared_fact(host, FindInFile, path=marker, pattern=DB_MARKER_TEXT):
            raise PyinfraError(
                f"host {host.name!r}: Open WebUI's accounts and chats are in PostgreSQL, and openwebui_database "
                f"now plans SQLite ({settings.openwebui_database!r}, openwebui_users {settings.openwebui_users}): "
                "Open WebUI would start empty. Keep openwebui_database = 'postgresql' for this host; nothing was "
                "changed")
        generated += generated_secrets(settings)
        # A new image may migrate the database on its first start: keep a consistent copy of the old one first.
        previous = next((u.get("image") for u in manifest.get("units", []) if u.get("unit") == OPENWEBUI_UNIT), None)
        image_changed = bool(previous) and previous != service.image
        sqlite = f"{data_dir(settings)}/{SQLITE_FILE}"
        # read only when a backup or a move needs it: a no-op re-run on SQLite asks the host nothing more
        has_sqlite = (image_changed or database.postgresql) and bool(prepared_fact(host, File, path=sqlite))
        if image_changed:
            tag = previous.rsplit("@", 1)[-1].rsplit(":", 1)[-1].replace("/", "_")
            what = f"Back up Open WebUI's database before {previous} -> {service.image}"
            if has_sqlite:
                sqlite_backup(name=what, database=sqlite, backup=f"{settings.data_dir}/backups/webui-{tag}.db")
            elif database.postgresql:
                server.shell(name=f"{what} (pg_dump)",
                             commands=[f"{DB_HELPER} backup --out {settings.data_dir}/backups/webui-{tag}.pgdump"])
        env = install_env_file(service)
        came_up = install_service(service, env, also_restart_on=tuple(generated))
        wait_http(
            name="Wait for Open WebUI /health",
            helper=WAIT_HTTP,
            url=service.health_url,
            timeout=600,
            unit=service.unit,
            _if=came_up,
        )
        if database.postgresql and has_sqlite:
            # Open WebUI has made its tables in PostgreSQL on its first start there: copy the SQLite rows in.
            moved = openwebui_sqlite_moved(
                name="Move Open WebUI's accounts, chats and model entries from SQLite into PostgreSQL",
                helper=DB_HELPER, unit=service.unit, sqlite=sqlite,
                backup=f"{settings.data_dir}/backups/webui-sqlite-before-postgresql.db",
            )
            wait_http(name="Wait for Open WebUI /health on PostgreSQL", helper=WAIT_HTTP, url=service.health_url,
                      timeout=600, unit=service.unit, _if=moved.did_change)
        after_start(settings, plan, service.health_url.removesuffix("/health"), came_up,
                    lambda name, dest, content: stack_file(name=name, dest=dest, content=content, mode="600"))
    elif prepared_fact(host, File, path=f"{UNIT_DIR}/{OPENWEBUI_UNIT}.service"):
        # Switched off after it was deployed: stop it and remove its unit; its data stays on the host.
        retire_service(f"{UNIT_DIR}/{OPENWEBUI_UNIT}.service")


def _postgresql_and_redis(database: WebuiDatabase) -> OperationMeta:
    """The distribution's PostgreSQL and Redis for Open WebUI, set up by the openwebui-db helper (passwords made
    on the host, loopback only, restarted only when their settings change)."""
    packages_present("PostgreSQL and Redis (Open WebUI's database)", list(DB_PACKAGES))
    stack_file(name="openwebui-db helper", dest=DB_HELPER, content=helper_text(OPENWEBUI_UNIT), mode="700")
    return openwebui_database_ready(name=f"Open WebUI's database: {database.describe()}", helper=DB_HELPER,
                                    args=database.helper_args())
