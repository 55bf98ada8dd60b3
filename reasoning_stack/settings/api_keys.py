"""A key per person for the API: Open WebUI's own API keys, its model access by group, and its usage record."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator

# Open WebUI's group names are free text; the stack's are kept to what reads well on a command line and in a log.
_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")


class ApiKeySettings(BaseModel):
    """A key per person for the API"""

    openwebui_api_keys: Literal["off", "admins", "everyone"] = Field(
        "off",
        description="Each person's own OpenAI API key, made in Open WebUI (Settings > Account > API keys) and "
        "used with base URL <Open WebUI's URL>/api. Open WebUI checks the key, the person's access to the model "
        "and passes the request on with the engine's key, which never leaves the host. everyone: every account "
        "may make one; admins: only admins (and groups an admin allows in Open WebUI); off (the default): no API "
        "key works. With keys on, a key reaches only the model list and chat completions, and Open WebUI records "
        "each model call (person, model, tokens; never the text) for `reasoning-stack usage`.",
    )

    openwebui_model_groups: dict[str, list[str]] = Field(
        {},
        description="Models only some people may use, from the web page or with their key: served model name -> "
        "Open WebUI groups (e.g. {'qwen3-32b': ['research']}). The deploy makes missing groups; an admin puts "
        "people in them in Open WebUI (Admin Panel > Users > Groups). A model not listed is open to everyone.",
    )

    @field_validator("openwebui_model_groups")
    @classmethod
    def _group_names(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for model, groups in value.items():
            if not groups:
                raise ValueError(f"{model!r} lists no group: name the groups that may use it, or leave it out "
                                 "for everyone")
            for group in groups:
                if not _GROUP.match(group):
                    raise ValueError(f"group {group!r} of {model!r}: use letters, digits, spaces, '.', '_' or '-' "
                                     "(at most 64, starting with a letter or digit)")
        return value

    def _check_api_keys(self) -> None:
        if not getattr(self, "openwebui_enabled", True):
            for key in ("openwebui_api_keys", "openwebui_model_groups"):
                if getattr(self, key) not in ("off", {}):
                    raise ValueError(f"{key} is set but openwebui_enabled is False: the keys and the groups are "
                                     "Open WebUI's; turn it on, or leave them unset")
        names = self.served_model_names()  # type: ignore[attr-defined]  # ServingSettings, in StackSettings
        unknown = sorted(set(self.openwebui_model_groups) - set(names))
        # model = "auto" is chosen per host when planning: its served name is not known before
        if unknown and getattr(self, "model", None) != "auto":
            raise ValueError(f"openwebui_model_groups names {unknown[0]!r}, which is not served on this host; use "
                             f"one of: {', '.join(names)}")
        if self.openwebui_model_groups and getattr(self, "openwebui_admin_email", None) is None:
            raise ValueError("openwebui_model_groups needs the deploy's admin account (openwebui_admin_email): the "
                             "groups and the models' access are set through it")
