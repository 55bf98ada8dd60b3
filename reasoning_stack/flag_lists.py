"""Flag lists: regenerating a generated flag-list module (``engines/vllm/flags.py``, ``engines/sglang/flags.py``)
from a parser's ``--list-flags``, and what every engine's extra arguments must not hold (shell syntax)."""

from __future__ import annotations

import sys
from pathlib import Path


def module_text(path: str, start: str, flags: list[str], source: str | None = None) -> str:
    """The source of the module at ``path`` (or ``source``) with ``flags`` (one per line, sorted) after the ``start``
    line."""
    source = Path(path).read_text(encoding="utf-8") if source is None else source
    begin = source.index(start) + len(start)
    end = source.index("))\n", begin)
    return source[:begin] + "".join(f'    "{flag}",\n' for flag in sorted(set(flags))) + source[end:]


def regenerate_changes(path: str, base: frozenset[str], added_start: str, removed_start: str) -> None:
    """Print the module at ``path`` with the flags a later release added to and removed from ``base``, from its
    parser's flags read from standard input (lines starting with ``--``)."""
    flags = {line.strip() for line in sys.stdin if line.strip().startswith("--")}
    text = module_text(path, added_start, sorted(flags - base))
    sys.stdout.write(module_text(path, removed_start, sorted(base - flags), source=text))


def regenerate(path: str, start: str) -> None:
    """Print the module at ``path`` with the flags read from standard input (lines starting with ``--``)."""
    sys.stdout.write(module_text(path, start, [line.strip() for line in sys.stdin if line.strip().startswith("--")]))


SHELL_METACHARACTERS = set(";|&$`<>\\\n\r")


def no_shell_metacharacters(setting: str, args: list[str]) -> list[str]:
    """``args`` when no argument holds a shell metacharacter: each argument reaches the engine as one word, so
    ``;``, ``|``, ``&``, ``$``, a backquote, a redirection or a line break is a mistake (or an injection)."""
    for arg in args:
        found = sorted(set(arg) & SHELL_METACHARACTERS)
        if found:
            shown = ", ".join(repr(c) for c in found)
            raise ValueError(f"{setting}: argument {arg.split('=', 1)[0]!r} holds the shell character(s) {shown}; "
                             "each list item is passed as one word, never through a shell: split it into "
                             "separate items and drop the shell syntax")
    return args
