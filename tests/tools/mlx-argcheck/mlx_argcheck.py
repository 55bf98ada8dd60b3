#!/usr/bin/env python3
"""Check `mlx_lm.server` argument lists with MLX-LM's own parser, on Linux (MLX's CPU build; no Mac needed).

Usage:
  mlx_argcheck.py -- ARG ARG ...     # the arguments after `mlx_lm.server`
  mlx_argcheck.py --batch FILE       # FILE: a JSON list of such argument lists
  mlx_argcheck.py --list-flags       # every option string of the server

Exit status 0: every list accepted ("ok"); 1: one was rejected (the error is printed); 2: usage.

MLX-LM 0.32.2 builds its parser inside ``mlx_lm.server.main()`` and starts the server right after parsing, so
this runs ``main()`` with ``ArgumentParser.parse_args`` wrapped: the real parser parses the list, then the wrap
stops ``main()`` before it loads a model. Unknown flags, bad types (``--temp x``, ``--chat-template-args`` that
is not JSON) and bad sizes (``--prompt-cache-bytes``) fail as they would at server start. Flags must be spelled
out in full: argparse would accept a unique abbreviation, which hides typos.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path
from unittest import mock

import mlx_lm.server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from argcheck_cli import run  # noqa: E402  (tests/tools, beside this checker's folder)


class _Parsed(Exception):
    """Raised by the wrapped parse_args once the real one has accepted the list."""

    def __init__(self, parser: argparse.ArgumentParser):
        self.parser = parser


def _run(args: list[str]) -> tuple[argparse.ArgumentParser | None, str | None]:
    """(MLX-LM's parser, None) when it accepts ``args``, else (None, the error)."""
    original = argparse.ArgumentParser.parse_args

    def parse_then_stop(parser: argparse.ArgumentParser, *a: object, **kw: object) -> argparse.Namespace:
        original(parser, args)
        raise _Parsed(parser)

    err = io.StringIO()
    try:
        with mock.patch.object(argparse.ArgumentParser, "parse_args", parse_then_stop), \
                contextlib.redirect_stderr(err):
            mlx_lm.server.main()
    except _Parsed as parsed:
        known = {s for a in parsed.parser._actions for s in a.option_strings if s.startswith("--")}
        for arg in args:
            if arg.startswith("--") and arg.split("=", 1)[0] not in known:
                return None, f"unrecognized or abbreviated flag: {arg.split('=', 1)[0]}"
        return parsed.parser, None
    except SystemExit:
        return None, (err.getvalue().strip().splitlines() or ["rejected"])[-1]
    return None, "mlx_lm.server.main() returned without parsing"


def _flags() -> list[str]:
    parser, problem = _run([])
    assert parser is not None, problem
    return sorted({s for a in parser._actions for s in a.option_strings if s.startswith("--")})


def main() -> int:
    return run(lambda args: _run(args)[1], _flags, __doc__ or "")


if __name__ == "__main__":
    sys.exit(main())
