"""Render the Jinja2 templates under ``templates/`` into the text of files written on hosts."""

from __future__ import annotations

import json
import re
import shlex
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

_SYSTEMD_SAFE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")


def templates_dir() -> Path:
    """The templates folder: top-level ``templates/`` in a checkout, ``reasoning_stack/templates`` in a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "templates", here / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("reasoning-stack templates folder not found")


def systemd_quote(arg: object) -> str:
    """Quote one argument for a systemd ``Exec*=`` line (specifiers and variables escaped)."""
    text = str(arg).replace("%", "%%").replace("$", "$$")
    if _SYSTEMD_SAFE.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def env_quote(value: object) -> str:
    """A value for a Docker ``--env-file`` line: taken literally up to the end of the line."""
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ValueError("environment values cannot span lines")
    return text


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment: strict about undefined names, no autoescape (these are not HTML)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["systemd_quote"] = systemd_quote
    env.filters["systemd_args"] = lambda args: " ".join(systemd_quote(a) for a in args)
    env.filters["env_value"] = env_quote
    env.filters["tojson_sorted"] = lambda v: json.dumps(v, indent=2, sort_keys=True)
    env.filters["shell_quote"] = shlex.quote
    return env


def render(template: str, **context: Any) -> str:
    """Render ``templates/<template>`` with ``context``."""
    return environment().get_template(template).render(**context)


def text_table(rows: list[list[str]], right_from: int | None = None) -> list[str]:
    """Rows as lines of aligned columns, two spaces apart; columns from ``right_from`` on (figures) right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.rjust(w) if right_from is not None and i >= right_from else c.ljust(w)
                      for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip() for row in rows]
