"""The command examples in docs/*.md: a fenced block whose first line is ``$ reasoning-stack ...`` holds, below it,
exactly what that command prints (stdout) from the repository root. ``test_docs_examples.py`` compares each with the
real output; ``python tests/docs_examples.py`` rewrites them from it after a meant change."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```\n\$ (reasoning-stack [^\n]*)\n(.*?)```", re.S)


def documents() -> list[Path]:
    return sorted((REPO / "docs").glob("*.md"))


def examples(text: str) -> list[tuple[str, str]]:
    """(command, documented output) of every example block in ``text``."""
    return [(match[1], match[2]) for match in BLOCK.finditer(text)]


def output(command: str) -> str:
    """What ``command`` (``reasoning-stack ...``) prints, run from the repository root, lines stripped at the end."""
    args = shlex.split(command)[1:]
    out = subprocess.run([sys.executable, "-m", "reasoning_stack.cli", *args], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    return "".join(line.rstrip() + "\n" for line in out.stdout.splitlines())


def rewrite(path: Path) -> bool:
    """Replace each example's output in ``path`` with the real one; whether anything changed."""
    text = path.read_text()
    new = BLOCK.sub(lambda m: f"```\n$ {m[1]}\n{output(m[1])}```", text)
    if new != text:
        path.write_text(new)
    return new != text


if __name__ == "__main__":
    for doc in documents():
        if rewrite(doc):
            print(f"rewrote the examples of {doc.relative_to(REPO)}")
