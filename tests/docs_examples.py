"""The command examples in docs/*.md: a fenced block whose first line is ``$ reasoning-stack ...`` holds, below it,
exactly what that command prints (stdout) from the repository root; docs/planner.md's table of what fits where is
what ``preset_table`` computes. ``test_docs_examples.py`` compares each with the real output; ``python
tests/docs_examples.py`` rewrites them from it after a meant change."""

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


PRESET_COLUMNS = (("1x 4090", "rtx-4090", 1), ("2x 4090", "rtx-4090", 2), ("1x 5090", "rtx-5090", 1),
                  ("H100", "h100", 1), ("8x H100", "h100", 8), ("DGX Spark", "gb10", 1))
PRESET_TABLE = re.compile(r"(\| preset \(`model`\) \|[^\n]*\n)(?:\|[^\n]*\n)+")


def preset_table() -> str:
    """docs/planner.md's table of what fits where: each preset's weights per format and, per GPU setup, the
    format and longest context the planner picks at vLLM's defaults for the default release."""
    sys.path.insert(0, str(REPO))
    from reasoning_stack import engines
    from reasoning_stack.catalogue import weights_gib
    from reasoning_stack.gpus import gpus_from_profile
    from reasoning_stack.models.presets import preset_specs
    from reasoning_stack.planner import plan_what_if
    from reasoning_stack.planning.types import PlanRequest

    rows = ["| preset (`model`) | weights GiB | " + " | ".join(c[0] for c in PRESET_COLUMNS) + " |",
            "| --- " * (len(PRESET_COLUMNS) + 2) + "|"]
    for spec in preset_specs():
        cells = []
        for _label, profile, count in PRESET_COLUMNS:
            gpus = tuple(gpus_from_profile(profile, count))
            plan = plan_what_if(PlanRequest(gpus=gpus, model=spec.slug, engine=engines.default_for(list(gpus))))
            cells.append(f"{plan.quantization} {plan.max_model_len // 1024}k" if plan.fits else "-")
        weights = ", ".join(f"{fmt} {weights_gib(spec, fmt):.0f}" for fmt in spec.repos)
        rows.append(f"| `{spec.slug}` | {weights} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def rewrite(path: Path) -> bool:
    """Replace each example's output in ``path`` with the real one; whether anything changed."""
    text = path.read_text()
    new = BLOCK.sub(lambda m: f"```\n$ {m[1]}\n{output(m[1])}```", text)
    if PRESET_TABLE.search(new):
        new = PRESET_TABLE.sub(lambda _m: preset_table(), new)
    if new != text:
        path.write_text(new)
    return new != text


if __name__ == "__main__":
    for doc in documents():
        if rewrite(doc):
            print(f"rewrote the examples of {doc.relative_to(REPO)}")
