"""The planner's and the renderer's output, pinned: ``reasoning-stack plan --json`` (and its text) for every catalogue
model on every GPU profile and engine, and every file ``reasoning-stack render`` writes for the example inventories
and ``tests/golden/render_cases.py``. A change here is either a bug or meant; when meant, rewrite the golden files
with ``.venv/bin/python tests/golden/make_golden.py`` and say why in the commit."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "golden"))
import make_golden  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _first_differences(live: dict, golden: dict, limit: int = 5) -> list[str]:
    out = [f"missing now: {k}" for k in golden if k not in live][:limit]
    out += [f"new: {k}" for k in live if k not in golden][:limit]
    out += [f"changed: {k}" for k in golden if k in live and live[k] != golden[k]][:limit]
    return out


def test_every_what_if_plan_is_unchanged() -> None:
    golden = make_golden.read("plans.json.gz")
    live = make_golden.plan_outputs(make_golden.plan_cases())
    assert len(live) > 1000
    assert live == golden, "plans differ from tests/golden/plans.json.gz:\n" + "\n".join(
        _first_differences(live, golden))


@pytest.fixture(scope="module")
def rendered() -> dict:
    """Every file render writes for the golden inventories, rendered once for the tests below."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        return make_golden.render_outputs()


def test_every_rendered_file_is_unchanged(rendered: dict) -> None:
    golden = make_golden.read("renders.json.gz")
    live = rendered
    for inventory, files in golden.items():
        assert inventory in live, inventory
        assert live[inventory] == files, f"{inventory}: " + "\n".join(_first_differences(live[inventory], files))
    assert set(live) == set(golden)


def test_rendered_units_have_one_directive_per_line(rendered: dict) -> None:
    """A Jinja block at a line's end once ate the newline: 'After=... network-online.targetWants=...'."""
    units = {f"{inv}/{path}": text for inv, files in rendered.items() for path, text in files.items()
             if path.endswith(".service")}
    assert len(units) > 20
    for name, text in units.items():
        for line in text.splitlines():
            assert not re.search(r"\.(service|target)[A-Z][A-Za-z]+=", line), f"{name}: {line}"
        assert re.search(r"^Requires=docker\.service", text, re.M) or "firewall" in name, name


def test_render_writes_no_secret(rendered: dict) -> None:
    texts = "\n".join(t for files in rendered.values() for t in files.values())
    assert "<secret from $REASONING_STACK_VLLM_API_KEY>" in texts
    for value in make_golden.RENDER_SECRETS.values():
        assert value not in texts
