"""The command line the engines' argument checkers share (tests/tools/*-argcheck): one list after ``--``, a JSON
batch of lists, or the server's flags. Each checker brings its engine's own parser."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable


def run(check: Callable[[list[str]], str | None], flags: Callable[[], list[str]], usage: str) -> int:
    """Exit status 0: every list accepted ("ok"); 1: one was rejected (the error is printed); 2: usage."""
    argv = sys.argv[1:]
    if argv[:1] == ["--list-flags"]:
        print("\n".join(flags()))
        return 0
    if argv[:1] == ["--batch"] and len(argv) == 2:
        with open(argv[1]) as fh:
            batches = json.load(fh)
    elif argv[:1] == ["--"]:
        batches = [argv[1:]]
    else:
        print(usage, file=sys.stderr)
        return 2
    for args in batches:
        problem = check(args)
        if problem:
            print(f"rejected: {' '.join(args)}\n  {problem}")
            return 1
    print("ok")
    return 0
