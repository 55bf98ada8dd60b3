"""Regenerating a generated flag-list module (``engines/vllm/flags.py``, ``engines/sglang/flags.py``) from a
parser's ``--list-flags``."""

from __future__ import annotations

import sys
from pathlib import Path


def module_text(path: str, start: str, flags: list[str]) -> str:
    """The source of the module at ``path`` with ``flags`` (one per line, sorted) after the ``start`` line."""
    source = Path(path).read_text(encoding="utf-8")
    begin = source.index(start) + len(start)
    end = source.index("))\n", begin)
    return source[:begin] + "".join(f'    "{flag}",\n' for flag in sorted(set(flags))) + source[end:]


def regenerate(path: str, start: str) -> None:
    """Print the module at ``path`` with the flags read from standard input (lines starting with ``--``)."""
    sys.stdout.write(module_text(path, start, [line.strip() for line in sys.stdin if line.strip().startswith("--")]))
