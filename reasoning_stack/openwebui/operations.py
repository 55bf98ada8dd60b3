"""Open WebUI through its admin API: the sign-up policy, the model entries, the cloud connections' models."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import operation

from reasoning_stack.facts import WebuiDatabaseState
from reasoning_stack.operations.streamed import StreamedCommand


@operation(is_idempotent=False)
def openwebui_signup_policy(helper: str, url: str, policy: str, env_files: list[str]):
    """
    Make Open WebUI's sign-up policy hold after it created its first account (which switches sign-up off until
    a restart): the helper reads the policy Open WebUI applies and, when it differs, sets it as the admin.

    + helper: path of the openwebui-signup helper on the host
    + url: Open WebUI's base URL
    + policy: closed, pending or open
    + env_files: env files holding WEBUI_ADMIN_EMAIL and WEBUI_ADMIN_PASSWORD (read on the host)

    .. code:: python

        openwebui_signup_policy(helper=OPENWEBUI_SIGNUP, url="http://127.0.0.1:3000", policy="pending",
                                env_files=["/etc/reasoning-stack/reasoning-openwebui.env"])
    """
    args = [helper, url, policy] + [arg for path in env_files for arg in ("--env-file", path)]
    yield StreamedCommand(" ".join(shlex.quote(a) for a in args))


@operation(is_idempotent=False)
def openwebui_models(helper: str, url: str, models_file: str, env_files: list[str], functions_file: str = ""):
    """
    Create or update Open WebUI's model entries (names, prompting advice, read access for everyone) from
    ``models_file`` on the host, signed in as the admin whose credentials the env files hold; with
    ``functions_file``, keep the stack's Open WebUI functions (created, code updated, on for every model or off).

    + helper: path of the openwebui-models helper on the host
    + url: Open WebUI's base URL
    + models_file: JSON list of model entries (reasoning_stack.openwebui.entries.model_entries)
    + env_files: env files holding WEBUI_ADMIN_EMAIL and WEBUI_ADMIN_PASSWORD
    + functions_file: JSON list of functions (reasoning_stack.openwebui.functions.functions_json); "" = none

    .. code:: python

        openwebui_models(helper=OPENWEBUI_MODELS, url="http://127.0.0.1:3000",
                         models_file="/etc/reasoning-stack/openwebui-models.json",
                         env_files=["/etc/reasoning-stack/reasoning-openwebui.env"],
                         functions_file="/etc/reasoning-stack/openwebui-functions.json")
    """
    args = [helper, url, models_file] + [arg for path in env_files for arg in ("--env-file", path)]
    if functions_file:
        args += ["--functions", functions_file]
    yield StreamedCommand(" ".join(shlex.quote(a) for a in args))


@operation(is_idempotent=False)
def cloud_models_check(helper: str, env_file: str, connections: list[tuple[str, int, list[str]]]):
    """
    Check that each cloud connection offers the model ids the settings list, warning (never failing) when one
    is missing or the API cannot be reached from the host. The URLs and keys are read from ``env_file`` on the
    host, so no key is on a command line.

    + helper: path of the cloud-models helper on the host
    + env_file: Open WebUI's env file (OPENAI_API_BASE_URLS / OPENAI_API_KEYS)
    + connections: (name, index among the connections, model ids) per cloud connection

    .. code:: python

        cloud_models_check(helper=CLOUD_MODELS, env_file="/etc/reasoning-stack/reasoning-openwebui.env",
                           connections=[("deepseek", 1, ["deepseek-reasoner"])])
    """
    specs = [f"{name}={index}:{','.join(models)}" for name, index, models in connections]
    yield StreamedCommand(" ".join(shlex.quote(a) for a in [helper, env_file, *specs]))


@operation()
def openwebui_database_ready(helper: str, args: list[str]):
    """
    Open WebUI's PostgreSQL and Redis set up by the ``openwebui-db`` helper: the passwords generated once on the
    host, the role and database made, both servers on loopback with the planned ports; nothing when its check
    says it is ready.

    + helper: path of the openwebui-db helper on the host
    + args: the plan's ports and limits (``WebuiDatabase.helper_args()``)

    .. code:: python

        openwebui_database_ready(helper=DB_HELPER, args=database.helper_args())
    """
    state = host.get_fact(WebuiDatabaseState, helper=helper, args=args)
    if state == "ready":
        host.noop("Open WebUI's PostgreSQL and Redis are ready")
        return
    yield StreamedCommand(" ".join(shlex.quote(a) for a in (helper, "setup", *args)))


@operation(is_idempotent=False)
def openwebui_sqlite_moved(helper: str, unit: str, sqlite: str, backup: str):
    """
    Move Open WebUI's SQLite accounts, chats and model entries into PostgreSQL (Open WebUI ships no migration):
    its unit stopped, every row copied by the helper in one transaction, the SQLite file kept as ``backup``, the
    unit started again. Refused, changing nothing, when PostgreSQL already holds chats.

    + helper: path of the openwebui-db helper on the host
    + unit: Open WebUI's systemd unit
    + sqlite: the webui.db Open WebUI used until now
    + backup: where the SQLite file is kept afterwards (0600)

    .. code:: python

        openwebui_sqlite_moved(helper=DB_HELPER, unit="reasoning-openwebui",
                               sqlite="/var/lib/reasoning-stack/open-webui/webui.db",
                               backup="/var/lib/reasoning-stack/backups/webui-sqlite.db")
    """
    unit_file = shlex.quote(f"{unit}.service")
    yield StreamedCommand(f"systemctl stop {unit_file} && {shlex.quote(helper)} migrate --sqlite "
                          f"{shlex.quote(sqlite)} --backup {shlex.quote(backup)}; status=$?; "
                          f"systemctl start {unit_file}; exit $status")
