"""Open WebUI's own steps around its start, the same on every platform: the secrets the host generates for it
before it starts, and once it answers, its sign-up policy, its model entries and the cloud connections' check.

Both platforms' deploys call these two (``reasoning_stack/openwebui/deploy.py`` on Linux,
``reasoning_stack/deploys/macos.py`` on a Mac); only how a file is written and how a helper's Python is found
differ, and the deploy passes those in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyinfra.api.operation import OperationMeta

from reasoning_stack.openwebui.entries import model_entries_json
from reasoning_stack.openwebui.functions import functions_json
from reasoning_stack.openwebui.operations import cloud_models_check, openwebui_models, openwebui_signup_policy
from reasoning_stack.openwebui.paths import (
    CLOUD_MODELS,
    OPENWEBUI_ADMIN_ENV,
    OPENWEBUI_ENV,
    OPENWEBUI_FUNCTIONS_JSON,
    OPENWEBUI_MODELS,
    OPENWEBUI_MODELS_JSON,
    OPENWEBUI_SECRET_ENV,
    OPENWEBUI_SIGNUP,
)
from reasoning_stack.operations import host_notice, secret_env_file
from reasoning_stack.planning.types import HostPlan
from reasoning_stack.settings import StackSettings

# How a deploy writes a root-only (0600) file: (operation name, path, content) -> the operation.
PrivateFile = Callable[[str, str, str], OperationMeta]


def generated_secrets(settings: StackSettings, **run_with: Any) -> list[OperationMeta]:
    """Before Open WebUI starts: its secret key and its admin password, generated on the host once and kept (where
    the settings give none), and the operator told where the password is. Returns the operations, so that Open
    WebUI restarts when one of them wrote a file. ``run_with``: pyinfra arguments for the operations (a Mac's PATH
    to the stack's Python)."""
    generated = []
    if settings.openwebui_secret_key is None:
        generated.append(secret_env_file(name="Open WebUI secret key (generated once, kept)",
                                         path=OPENWEBUI_SECRET_ENV, variable="WEBUI_SECRET_KEY", **run_with))
    if settings.openwebui_admin_email is not None and settings.openwebui_admin_password is None:
        admin_password = secret_env_file(name="Open WebUI admin password (generated once, kept)",
                                         path=OPENWEBUI_ADMIN_ENV, variable="WEBUI_ADMIN_PASSWORD", nbytes=18,
                                         **run_with)
        generated.append(admin_password)
        host_notice(name="Where the Open WebUI admin password is",
                    message=f"Open WebUI admin: {settings.openwebui_admin_email}; its password: sudo cat "
                            f"{OPENWEBUI_ADMIN_ENV} (generated on this host, root only)",
                    _if=admin_password.did_change)
    return generated


def after_start(settings: StackSettings, plan: HostPlan, base_url: str, came_up: Callable[[], bool],
                private_file: PrivateFile) -> None:
    """Once Open WebUI answers at ``base_url``: its sign-up policy holds after its first account, each model has
    its entry (a name a person understands, its prompting advice) and the cloud connections offer their models.
    ``came_up``: whether Open WebUI (re)started in this run (the policy and the check run only then)."""
    if settings.openwebui_admin_email is not None:
        admin_env_files = [OPENWEBUI_ENV]
        if settings.openwebui_admin_password is None:
            admin_env_files.append(OPENWEBUI_ADMIN_ENV)
        openwebui_signup_policy(
            name=f"Open WebUI sign-up policy {settings.openwebui_signup!r} holds after its first account",
            helper=OPENWEBUI_SIGNUP, url=base_url, policy=settings.openwebui_signup, env_files=admin_env_files,
            _if=came_up,
        )
        entries = private_file("Open WebUI model entries (names and advice)", OPENWEBUI_MODELS_JSON,
                               model_entries_json(settings, plan))
        functions = private_file("Open WebUI functions (the 'Reply cut off' filter)", OPENWEBUI_FUNCTIONS_JSON,
                                 functions_json(settings))
        openwebui_models(
            name="Open WebUI shows each model by a name a person understands, with its prompting advice, and says "
                 "when a reply was cut off",
            helper=OPENWEBUI_MODELS, url=base_url, models_file=OPENWEBUI_MODELS_JSON, env_files=admin_env_files,
            functions_file=OPENWEBUI_FUNCTIONS_JSON,
            _if=lambda: came_up() or entries.did_change() or functions.did_change(),
        )
    if settings.openwebui_cloud:
        local = len(plan.instances)
        cloud_models_check(
            name="Cloud connections offer their listed models (a warning, never a failure)",
            helper=CLOUD_MODELS, env_file=OPENWEBUI_ENV,
            connections=[(c.name, local + i, list(c.models)) for i, c in enumerate(settings.openwebui_cloud)],
            _if=came_up,
        )
