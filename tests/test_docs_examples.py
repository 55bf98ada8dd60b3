"""Every `$ reasoning-stack ...` example in docs/*.md is what the command prints today (tests/docs_examples.py
rewrites them after a meant change)."""

from __future__ import annotations

import docs_examples
import pytest

CASES = [(doc.name, command, shown) for doc in docs_examples.documents()
         for command, shown in docs_examples.examples(doc.read_text())]


def test_the_docs_hold_examples_to_check():
    assert {name for name, _, _ in CASES} >= {"planner.md", "engines.md", "clusters.md"}


@pytest.mark.parametrize("doc, command, shown", CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_a_documented_example_is_what_the_command_prints(doc: str, command: str, shown: str):
    assert docs_examples.output(command) == shown, (
        f"{doc}: the example of `{command}` differs from its output; run python tests/docs_examples.py")
