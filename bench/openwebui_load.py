"""How many people at once Open WebUI holds on each database: the real Open WebUI 0.12.4 with the environment the
deploy renders (SQLite, or the distribution's PostgreSQL and Redis with workers sized to this machine's cores), a
stand-in vLLM answering each request in about half a second, then N people signing in, asking in a new chat and
getting the answer streamed at the same moment. Prints one row per run: answers saved, seconds until saved
(p50, p95), errors by kind, Open WebUI's "database is locked" count.

    bench/openwebui_load.py                              # sqlite and postgresql, 50 100 200 people
    bench/openwebui_load.py --database sqlite --people 100

Needs the real Open WebUI (OPENWEBUI_VENV, built by scripts/test) and Debian's postgresql and redis-server.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "hosts"))
import real_database as db  # noqa: E402
from openwebui_team import run_team  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--people", type=int, action="append")
    options = parser.parse_args()
    print("| database | people at once | answers saved | p50 / p95 until saved | errors | \"database is locked\" |")
    print("|---|---|---|---|---|---|")
    for database in options.database or ["sqlite", "postgresql"]:
        for people in options.people or [50, 100, 200]:
            try:
                f = run_team(database, people, db.workdir(f"rs-bench-{database}-{people}-"))
            except Exception as error:  # noqa: BLE001 - a run that cannot finish is a row too
                print(f"| {database} | {people} | - | - | {type(error).__name__}: {str(error)[-200:]} | - |")
                continue
            where = f"{database} ({f['workers']} worker{'s' if f['workers'] > 1 else ''})"
            errors = ", ".join(f"{n} {kind}" for kind, n in f["errors"].items()) or "none"
            print(f"| {where} | {people} | {f['saved']}/{people} | {f['p50_s']} s / {f['p95_s']} s | {errors} | "
                  f"{f['database_is_locked']} |", flush=True)
            print(json.dumps(f), file=sys.stderr)


if __name__ == "__main__":
    main()
