"""Open WebUI as a systemd unit: pinned image, data kept on the host, wired to this host's vLLM; its admin
account created on the first start and the sign-up policy made to hold after it.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.files import File, FindInFile
from pyinfra.operations import files, server

from reasoning_stack.context import host_cluster, host_plan, host_proxy, host_settings, host_webui_database
from reasoning_stack.facts import StackManifest
from reasoning_stack.operations import (
    cloud_models_check,
    docker_image,
    host_notice,
    openwebui_database_ready,
    openwebui_models,
    openwebui_signup_policy,
    openwebui_sqlite_moved,
    secret_env_file,
    sqlite_backup,
    stack_file,
    wait_http,
)
from reasoning_stack.prepared import prepared_fact
from reasoning_stack.render import render
from reasoning_stack.services import (
    CLOUD_MODELS,
    OPENWEBUI_ADMIN_ENV,
    OPENWEBUI_MODELS,
    OPENWEBUI_MODELS_JSON,
    OPENWEBUI_SECRET_ENV,
    OPENWEBUI_SIGNUP,
    OPENWEBUI_UNIT,
    UNIT_DIR,
    WAIT_HTTP,
    openwebui_service,
)
from reasoning_stack.settings import StackSettings
from reasoning_stack.units import (
    install_env_file,
    install_service,
    packages_present,
    retire_service,
    stack_directories,
)
from reasoning_stack.webui import USAGE_DIR, model_entries_json
from reasoning_stack.webui_database import (
    DB_HELPER,
    DB_MARKER,
    DB_MARKER_TEXT,
    DB_NAME,
    DB_PACKAGES,
    SQLITE_FILE,
    WebuiDatabase,
    helper_text,
)


@deploy("Open WebUI")
def open_webui() -> None:
    """Open WebUI wired to this host's models; its admin account and sign-up policy, its model entries."""
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
        files.directory(name="Open WebUI data", path=f"{settings.data_dir}/open-webui", mode="755")
        if settings.openwebui_api_keys != "off":  # its record of who used which model: root's alone
            files.directory(name="Open WebUI usage record (root only)", mode="700",
                            path=f"{settings.data_dir}/open-webui/{USAGE_DIR}")
        docker_image(name=f"Open WebUI image {service.image}", image=service.image, pull=settings.pull_images)
        stack_directories(config=False, helpers=True)
        for helper, template in ((OPENWEBUI_SIGNUP, "openwebui-signup.py.j2"), (CLOUD_MODELS, "cloud-models.py.j2"),
                                 (OPENWEBUI_MODELS, "openwebui-models.py.j2")):
            stack_file(name=f"{helper.rsplit('/', 1)[1]} helper", dest=helper, content=render(template), mode="755")
        marker = f"{settings.data_dir}/open-webui/{DB_MARKER}"
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
        if settings.openwebui_secret_key is None:
            generated.append(secret_env_file(
                name="Open WebUI secret key (generated once, kept)",
                path=OPENWEBUI_SECRET_ENV,
                variable="WEBUI_SECRET_KEY",
            ))
        admin_env_files = [service.env_path]
        if settings.openwebui_admin_email is not None and settings.openwebui_admin_password is None:
            admin_password = secret_env_file(
                name="Open WebUI admin password (generated once, kept)",
                path=OPENWEBUI_ADMIN_ENV,
                variable="WEBUI_ADMIN_PASSWORD",
                nbytes=18,
            )
            generated.append(admin_password)
            admin_env_files.append(OPENWEBUI_ADMIN_ENV)
            tell_where_the_admin_password_is(settings, admin_password)
        # A new image may migrate the database on its first start: keep a consistent copy of the old one first.
        previous = next((u.get("image") for u in manifest.get("units", []) if u.get("unit") == OPENWEBUI_UNIT), None)
        image_changed = bool(previous) and previous != service.image
        sqlite = f"{settings.data_dir}/open-webui/{SQLITE_FILE}"
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
        if settings.openwebui_admin_email is not None:
            openwebui_signup_policy(
                name=f"Open WebUI sign-up policy {settings.openwebui_signup!r} holds after its first account",
                helper=OPENWEBUI_SIGNUP,
                url=service.health_url.removesuffix("/health"),
                policy=settings.openwebui_signup,
                env_files=admin_env_files,
                _if=came_up,
            )
            entries = stack_file(name="Open WebUI model entries (names and advice)", dest=OPENWEBUI_MODELS_JSON,
                                 content=model_entries_json(settings, plan), mode="600")
            openwebui_models(
                name="Open WebUI shows each model by a name a person understands, with its prompting advice",
                helper=OPENWEBUI_MODELS,
                url=service.health_url.removesuffix("/health"),
                models_file=OPENWEBUI_MODELS_JSON,
                env_files=admin_env_files,
                _if=lambda: came_up() or entries.did_change(),
            )
        if settings.openwebui_cloud:
            local = len(plan.instances)
            cloud_models_check(
                name="Cloud connections offer their listed models (a warning, never a failure)",
                helper=CLOUD_MODELS,
                env_file=service.env_path,
                connections=[(c.name, local + i, list(c.models)) for i, c in enumerate(settings.openwebui_cloud)],
                _if=came_up,
            )
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


def tell_where_the_admin_password_is(settings: StackSettings, admin_password: OperationMeta) -> None:
    """Once the host generated Open WebUI's admin password (``admin_password``: that operation), print the login
    and where its password is, in the host's output (Linux and Mac alike)."""
    host_notice(name="Where the Open WebUI admin password is",
                message=f"Open WebUI admin: {settings.openwebui_admin_email}; its password: sudo cat "
                        f"{OPENWEBUI_ADMIN_ENV} (generated on this host, root only)",
                _if=admin_password.did_change)
