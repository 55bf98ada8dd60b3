"""What every platform's rendered files share (``reasoning-stack render``): each secret replaced by a placeholder
that names its environment variable before anything is rendered, placeholders for what only a host can tell (a
cluster node's address), the helper scripts, and each instance's service files from its engine. The files of a
whole host are its platform's (``Platform.files``)."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from reasoning_stack import engines
from reasoning_stack.planning.types import HostPlan
from reasoning_stack.render import render
from reasoning_stack.services import engine_service
from reasoning_stack.settings import SECRET_SETTINGS, StackSettings
from reasoning_stack.topology import ClusterNode


def placeholder(variable: str) -> str:
    """What stands for a secret in rendered files: the variable it is read from."""
    return f"<secret from ${variable}>"


def without_secrets(settings: StackSettings) -> StackSettings:
    """``settings`` with every secret that is set replaced by its placeholder (cloud API keys included)."""
    update: dict[str, object] = {}
    for secret, env_setting in SECRET_SETTINGS.items():
        if getattr(settings, secret) is not None:
            update[secret] = SecretStr(placeholder(getattr(settings, env_setting)))
    if settings.openwebui_cloud:
        update["openwebui_cloud"] = [c.model_copy(update={"api_key": SecretStr(placeholder(c.key_variable))})
                                     for c in settings.openwebui_cloud]
    return settings.model_copy(update=update)


def address_placeholder(node: str, interface: str) -> str:
    """A cluster node's address, which only the node's facts tell."""
    return f"<address-of-{node}-on-{interface}>"


def helper_files(paths_templates: list[tuple[str, str]], first_line: str = "") -> dict[str, str]:
    """The helper scripts at their paths (``first_line``: another interpreter line for the platform's Python)."""
    out = {}
    for path, template in paths_templates:
        text = render(template)
        if first_line and text.startswith("#!"):
            text = first_line + "\n" + text.partition("\n")[2]
        out[path] = text
    return out


def model_server_files(settings: Any, plan: HostPlan, host_gpu_count: int, node: ClusterNode | None,
                       out: dict[str, str]) -> list[tuple[str, str]]:
    """Every instance's service files from its engine, into ``out``; returns the helpers their engines need."""
    helpers: list[tuple[str, str]] = []
    for engine in dict.fromkeys(engines.get(i.engine) for i in plan.instances):
        helpers += [h for h in engine.helpers() if h not in helpers]
    for instance in plan.instances:
        service = engine_service(settings, instance, host_gpu_count, node)
        out[service.unit_path] = service.unit_text
        out[service.env_path] = service.env_text
        if service.secret_path:
            out[service.secret_path] = service.secret_text
    for login in engines.registry_logins(settings):  # a registry password, as the deploy writes it before its login
        out[login.password_file] = getattr(settings, login.secret_setting).get_secret_value()
    return helpers
