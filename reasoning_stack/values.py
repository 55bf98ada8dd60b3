"""Checks of one setting's value that the stack's settings and the engines' own settings share: an image pinned by
tag or digest, a secret an env file can hold, and the name of the environment variable holding it. Below every
layer, so an engine's settings module may use them."""

from __future__ import annotations

import re

from pydantic import SecretStr

IMAGE_RE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*$")


def image_reference(value: str) -> str:
    """``value`` when it is an image reference pinned by tag or digest; a ValueError naming the fix otherwise."""
    if not IMAGE_RE.match(value) or ":" not in value.rsplit("/", 1)[-1] and "@" not in value:
        raise ValueError("must be an image reference pinned by tag or digest, like 'vllm/vllm-openai:v0.17.1'")
    if "@" not in value and value.rsplit(":", 1)[1] in ("latest", "main", "nightly"):
        raise ValueError(f"{value.rsplit(':', 1)[1]!r} moves with every upstream release: pin a version tag "
                         "(like 'vllm/vllm-openai:v0.17.1') or a digest")
    return value


def one_line_secret(value: SecretStr | None) -> SecretStr | None:
    """A secret an env file can hold (one line; the value is never shown)."""
    if value is not None and any(c in value.get_secret_value() for c in "\r\n\0"):
        raise ValueError("contains a line break: an env file holds one line per value; check how the "
                         "environment variable was set (value not shown)")
    return value


def env_var_name(value: str) -> str:
    """``value`` when it can name an environment variable; a ValueError saying what would work otherwise."""
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
        raise ValueError("must be an environment variable name (letters, digits and '_'), like "
                         "'REASONING_STACK_VLLM_API_KEY' (the value is not shown: if it was the secret itself, put "
                         "the secret in that variable of the environment you deploy from)")
    return value
