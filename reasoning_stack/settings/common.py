"""What several groups of settings check alike: names, image references, addresses, secrets, models, engines."""

from __future__ import annotations

import difflib
import ipaddress
import re

from reasoning_stack import engines
from reasoning_stack.catalogue import MODELS
from reasoning_stack.values import IMAGE_RE, env_var_name, image_reference, one_line_secret

__all__ = ["IMAGE_RE", "NAME_RE", "check_engine", "check_model", "env_var_name", "image_reference", "ip_address",
           "is_ip_address", "one_line_secret"]

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


def is_ip_address(value: str) -> bool:
    """Whether ``value`` is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def ip_address(value: str) -> str:
    """``value`` when it is an IP address to bind to."""
    if not is_ip_address(value):
        raise ValueError("must be an IP address such as 127.0.0.1 or 0.0.0.0")
    return value


def check_engine(value: str) -> str:
    """``value`` when it names an engine (or auto); a ValueError listing them otherwise."""
    valid = engines.setting_values()
    if value not in valid:
        close = difflib.get_close_matches(value, valid, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"unknown engine; {hint}valid: {', '.join(repr(v) for v in valid)}")
    return value


def check_model(value: str, allow_auto: bool = True) -> str:
    """A catalogue slug (or auto), a Hugging Face repo id (org/name) or a folder: what ``model`` takes. Repos and
    folders are read later, in the settings' model check (``reasoning_stack.models.resolve``)."""
    from reasoning_stack.models import needs_reading

    if value == "auto" and allow_auto:
        return value
    if not needs_reading(value) and value != "auto":
        return value
    if "/" in value or value.startswith(("~", ".")):  # a repo id (org/name) or a folder: read later
        return value
    from reasoning_stack.models import closest_slug

    close = closest_slug(value)
    hint = f"did you mean {close!r}? " if close else ""
    valid = (["'auto'"] if allow_auto else []) + [repr(m) for m in MODELS]
    raise ValueError(f"unknown model; {hint}valid: {', '.join(valid)}, a Hugging Face repo id (org/name) or a "
                     "folder holding config.json")


