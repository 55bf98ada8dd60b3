"""Open WebUI in front of the models: image, address, sign-up policy, admin, cloud connections, background tasks."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from reasoning_stack.arch import AARCH64, X86_64
from reasoning_stack.settings.common import NAME_RE, env_var_name

# The Open WebUI release the stack pins: its image on Linux, the same release from PyPI on a Mac.
OPENWEBUI_VERSION = "0.12.4"
DEFAULT_OPENWEBUI_IMAGE = f"ghcr.io/open-webui/open-webui:v{OPENWEBUI_VERSION}"
OPENWEBUI_ARCHES = {DEFAULT_OPENWEBUI_IMAGE: (X86_64, AARCH64)}  # a multi-architecture image
# The thinking budgets (tokens) each chat's menu offers beside "No limit" where the engine honours them.
DEFAULT_THINKING_BUDGETS = (1024, 4096, 16384)
MAX_THINKING_BUDGETS = 6


class CloudConnection(BaseModel):
    """An OpenAI-compatible API beside the local models in Open WebUI (a cloud provider such as DeepSeek's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Short name, e.g. 'deepseek': the default prefix of its models in Open WebUI.")
    base_url: str = Field(description="The API's base URL, e.g. 'https://api.deepseek.com/v1'.")
    models: list[str] = Field(min_length=1, description="Model ids to show, e.g. ['deepseek-reasoner'].")
    prefix: str | None = Field(None, description="Prefix of its model ids in Open WebUI; None = name.")
    api_key_env: str | None = Field(
        None, description="Environment variable that holds its API key; None = REASONING_STACK_<NAME>_API_KEY.")
    api_key: SecretStr | None = Field(None, description="Read from the environment only, never from host data.")

    @field_validator("name", "prefix")
    @classmethod
    def _short_name(cls, value: str | None) -> str | None:
        if value is not None and not NAME_RE.match(value):
            raise ValueError("must be lower-case letters, digits and '-', e.g. 'deepseek'")
        return value

    @field_validator("base_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/;]+(/[^\s;]*)?", value):
            raise ValueError("must be an http(s) URL like 'https://api.deepseek.com/v1'")
        if value.rstrip("/").endswith(("/chat/completions", "/models")):
            raise ValueError("must be the API's base URL (ending before /chat/completions), like "
                             "'https://api.deepseek.com/v1'")
        return value.rstrip("/")

    @field_validator("models")
    @classmethod
    def _model_ids(cls, value: list[str]) -> list[str]:
        for model in value:
            if not model or any(c in model for c in ";,\n "):
                raise ValueError(f"{model!r} is not a model id (no spaces, ';' or ',')")
        return value

    @field_validator("api_key_env")
    @classmethod
    def _key_variable(cls, value: str | None) -> str | None:
        return value if value is None else env_var_name(value)

    @property
    def key_variable(self) -> str:
        """The environment variable its API key is read from."""
        return self.api_key_env or f"REASONING_STACK_{self.name.upper().replace('-', '_')}_API_KEY"

    @property
    def model_prefix(self) -> str:
        return self.prefix or self.name



class OpenWebUISettings(BaseModel):
    """Open WebUI"""

    openwebui_enabled: bool = Field(True, description="Deploy Open WebUI in front of vLLM.")

    openwebui_image: str = Field(DEFAULT_OPENWEBUI_IMAGE, description="Open WebUI image, pinned by tag.")

    openwebui_port: int = Field(3000, ge=1, le=65535, description="Port of the Open WebUI web interface.")

    openwebui_listen: str = Field("0.0.0.0", description="Address Open WebUI binds to.")

    openwebui_signup: Literal["closed", "pending", "open"] = Field(
        "pending",
        description="Sign-up policy for everyone after the admin: closed, pending (the admin approves) or open. "
        "Holds from the first minute (the deploy sets it again after Open WebUI creates its admin account).",
    )

    openwebui_admin_email: str | None = Field(
        "admin@localhost",
        description="Login of the admin account the deploy has Open WebUI create on its first start (before "
        "anyone can sign up), so the sign-up policy holds from the first minute. None = the first person to sign "
        "up becomes admin; Open WebUI 0.12.4 then switches sign-up off until it restarts, so only 'closed' works.",
    )

    openwebui_admin_password: SecretStr | None = Field(
        None, description="Password of that admin account; None = generated once on the host into "
        "/etc/reasoning-stack/openwebui-admin.env (root only). A secret: read from the environment variable "
        "openwebui_admin_password_env names.",
    )

    openwebui_admin_password_env: str = Field(
        "REASONING_STACK_OPENWEBUI_ADMIN_PASSWORD",
        description="Environment variable that holds openwebui_admin_password.",
    )

    openwebui_cloud: list[CloudConnection] = Field(
        [],
        description="OpenAI-compatible APIs shown in Open WebUI beside the local models (keys: name, base_url, "
        "models, prefix, api_key_env); each key is read from the environment (REASONING_STACK_<NAME>_API_KEY) "
        "and kept only in Open WebUI's 0600 env file. The deploy checks the model ids when the host reaches "
        "the API and warns when it cannot.",
    )

    openwebui_task_model: str | None = Field(
        None,
        description="Model (served name) for Open WebUI's background tasks: chat titles, tags, follow-up "
        "suggestions. None = a Qwen3 model of this host with thinking off for these requests, else the smallest "
        "model of this host.",
    )

    openwebui_tasks: list[Literal["title", "tags", "follow_up"]] | None = Field(
        None,
        description="Background tasks Open WebUI runs after each answer. None = all three when the task model "
        "answers without thinking, only the title when it always reasons first.",
    )

    openwebui_thinking_budgets: list[int] | None = Field(
        None,
        description="Thinking budgets Open WebUI offers in each chat's menu beside 'No limit' (its default): the "
        "most tokens a model reasons before it must answer (vLLM's thinking_token_budget, sent with the chat). "
        f"None = {', '.join(f'{b:,}' for b in DEFAULT_THINKING_BUDGETS)} where the engine's release honours a "
        "budget (vLLM 0.32.0 and later) and none elsewhere; [] = no menu. Budgets not below a model's "
        "max_model_len are left out (they could never bind).",
    )

    openwebui_cut_off_notice: bool = Field(
        True,
        description="Open WebUI says so when a reply stopped at its token limit: one cut off while the model was "
        "still reasoning shows a note where its answer would be (not an empty answer), one cut off in its answer a "
        "line above it. The stack keeps it as an Open WebUI filter function, 'Reply cut off' (Admin Panel > "
        "Functions), on for every model; False switches it off.",
    )

    openwebui_secret_key: SecretStr | None = Field(
        None, description="Session signing key; None = generated once on the host and kept. A secret: read from "
        "the environment variable openwebui_secret_key_env names."
    )

    openwebui_secret_key_env: str = Field(
        "REASONING_STACK_OPENWEBUI_SECRET_KEY", description="Environment variable that holds openwebui_secret_key."
    )

    @field_validator("openwebui_thinking_budgets")
    @classmethod
    def _budget_ladder(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            return value
        if len(value) > MAX_THINKING_BUDGETS:
            raise ValueError(f"offers {len(value)} budgets; a menu of at most {MAX_THINKING_BUDGETS} stays readable, "
                             f"like {DEFAULT_THINKING_BUDGETS}")
        for budget in value:
            if not 1 <= budget <= 1_048_576:
                raise ValueError(f"{budget} is not a budget: give tokens of reasoning from 1 to 1,048,576, like "
                                 f"{DEFAULT_THINKING_BUDGETS}")
        if len(set(value)) != len(value):
            raise ValueError(f"lists a budget twice: {value}")
        return sorted(value)

    @field_validator("openwebui_admin_email")
    @classmethod
    def _admin_login(cls, value: str | None) -> str | None:
        # Open WebUI 0.12.4 takes name@localhost or name@domain.tld (utils/misc.py validate_email_format)
        if value is not None and not re.fullmatch(r"[^@\s]+@(localhost|[^@\s]+\.[^@\s]+)", value):
            raise ValueError("must be an email address Open WebUI accepts, like 'admin@localhost' or "
                             "'you@example.com'")
        return value

    def _signup_policy_can_hold(self) -> None:
        if self.openwebui_enabled and self.openwebui_admin_email is None and self.openwebui_signup != "closed":
            raise ValueError(
                f"openwebui_signup: {self.openwebui_signup!r} needs the deploy's admin account "
                "(openwebui_admin_email): without it the first person to sign up becomes admin and Open WebUI "
                "0.12.4 then switches sign-up off until it restarts; set openwebui_admin_email or "
                "openwebui_signup = 'closed'")

    def _cloud_connections_apart(self) -> None:
        prefixes = [c.model_prefix for c in self.openwebui_cloud]
        twice = sorted({p for p in prefixes if prefixes.count(p) > 1})
        if twice:
            raise ValueError(f"openwebui_cloud: the prefix {twice[0]!r} is used by two connections; give each "
                             "its own name or prefix")
        for connection in self.openwebui_cloud:
            if connection.api_key is None:
                raise ValueError(f"openwebui_cloud: connection {connection.name!r} has no API key: export "
                                 f"{connection.key_variable} in the environment you deploy from (api_key_env "
                                 "names another variable)")
            if any(c in connection.api_key.get_secret_value() for c in "\r\n\0;"):
                raise ValueError(f"openwebui_cloud: the API key of {connection.name!r} contains a line break or "
                                 "';' (value not shown); check how the environment variable was set")

    def _task_model_served_here(self) -> None:
        names = self.served_model_names()
        if self.openwebui_task_model is not None and self.openwebui_task_model not in names:
            raise ValueError(f"openwebui_task_model {self.openwebui_task_model!r} is not served on this host; "
                             f"use one of: {', '.join(names)}")
