#!/usr/bin/env python3
"""Check `python3 -m sglang.launch_server` argument lists with SGLang's own parser, on a CPU-only machine.

Usage:
  sglang_argcheck.py -- ARG ARG ...     # the arguments after `-m sglang.launch_server`
  sglang_argcheck.py --batch FILE       # FILE: a JSON list of such argument lists
  sglang_argcheck.py --list-flags       # every option string of the server

Exit status 0: every list accepted ("ok"); 1: one was rejected (the error is printed); 2: usage.

The parser is built the way `sglang.srt.server_args.prepare_server_args` builds it (argparse with
`ServerArgs.add_cli_args`), so unknown flags, bad choices (``--reasoning-parser``, ``--kv-cache-dtype``) and bad
types fail as they would at server start. Flags must be spelled out in full: argparse would accept a unique
abbreviation, which hides typos. ``--config FILE`` is accepted without reading FILE (it holds the API key on a
host, never here).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

from sglang.srt.server_args import ServerArgs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from argcheck_cli import run  # noqa: E402  (tests/tools, beside this checker's folder)


def build_parser() -> argparse.ArgumentParser:
    """SGLang's server parser, as prepare_server_args builds it."""
    parser = argparse.ArgumentParser(prog="sglang serve", exit_on_error=False)
    ServerArgs.add_cli_args(parser)
    return parser


def flags(parser: argparse.ArgumentParser) -> list[str]:
    return sorted({s for a in parser._actions for s in a.option_strings if s.startswith("--")})


def check(parser: argparse.ArgumentParser, args: list[str]) -> str | None:
    """None when SGLang accepts ``args``, else the error."""
    known = set(flags(parser))
    for arg in args:
        if arg.startswith("--") and arg.split("=", 1)[0] not in known:
            return f"unrecognized or abbreviated flag: {arg.split('=', 1)[0]}"
    if "--config" in args:
        i = args.index("--config")
        args = args[:i] + args[i + 2:]
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            parser.parse_args(args)
    except (argparse.ArgumentError, SystemExit) as exc:
        return (err.getvalue().strip().splitlines() or [str(exc)])[-1]
    return None


def main() -> int:
    parser = build_parser()
    return run(lambda args: check(parser, args), lambda: flags(parser), __doc__ or "")


if __name__ == "__main__":
    sys.exit(main())
