"""Open WebUI's database as planned for a host: SQLite (one file, one process) or the distribution's PostgreSQL
with Redis for its websocket manager and several workers; the files and settings each needs.

The passwords are generated on the host by the ``openwebui-db`` helper into :data:`DB_ENV` (0600) and never leave
it: Open WebUI reads ``DATABASE_URL`` and ``REDIS_URL`` from that file, PostgreSQL keeps the role's password hash,
Redis reads its password from :data:`REDIS_CONF` (0640, its group only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from reasoning_stack.render import render
from reasoning_stack.service_files import CONFIG_DIR, HELPER_DIR

DB_ENV = f"{CONFIG_DIR}/openwebui-db.env"  # DATABASE_URL and REDIS_URL with the generated passwords (0600)
DB_HELPER = f"{HELPER_DIR}/openwebui-db"
DB_PACKAGES = ("postgresql", "redis-server", "python3-psycopg2")  # psycopg2: the helper's own PostgreSQL client
REDIS_CONF = "/etc/redis/reasoning-stack.conf"  # included last by Debian's redis.conf, so its lines win
POSTGRES_CONF = "reasoning-stack.conf"  # in /etc/postgresql/<version>/main/conf.d/, found on the host
DB_NAME = "openwebui"  # the database, and the role that owns it
SQLITE_FILE = "webui.db"  # Open WebUI's SQLite database in its data directory
DB_MARKER = "DATABASE"  # in Open WebUI's data directory: its accounts and chats are in the host's PostgreSQL
DB_MARKER_TEXT = "Open WebUI keeps its accounts and chats in PostgreSQL"  # no quote: a grep pattern too
# Connections each worker keeps per engine (Open WebUI has a sync and an async one), and may open beyond them under
# load: with 10 + 10, 200 people at once on two workers waited past the pool's timeout ("QueuePool limit reached").
POOL_SIZE = 15
POOL_OVERFLOW = 25
POOL_TIMEOUT_S = 60  # how long a request waits for a free connection before it fails
MIN_WORKERS, MAX_WORKERS = 2, 8


@dataclass(frozen=True)
class WebuiDatabase:
    """Open WebUI's database on one host."""

    kind: Literal["sqlite", "postgresql"]
    workers: int
    postgres_port: int = 5432
    redis_port: int = 6379

    @property
    def postgresql(self) -> bool:
        return self.kind == "postgresql"

    @property
    def max_connections(self) -> int:
        """PostgreSQL's ``max_connections``: every worker's two pools full, and room for the helper and psql."""
        return self.workers * 2 * (POOL_SIZE + POOL_OVERFLOW) + 20

    def env(self) -> dict[str, str]:
        """Open WebUI's variables beyond the secret URLs (those are in :data:`DB_ENV`); none on SQLite."""
        if not self.postgresql:
            return {}
        return {"UVICORN_WORKERS": str(self.workers), "ENABLE_WEBSOCKET_SUPPORT": "True",
                "WEBSOCKET_MANAGER": "redis", "DATABASE_POOL_SIZE": str(POOL_SIZE),
                "DATABASE_POOL_MAX_OVERFLOW": str(POOL_OVERFLOW), "DATABASE_POOL_TIMEOUT": str(POOL_TIMEOUT_S)}

    def helper_args(self) -> list[str]:
        """The ``openwebui-db`` helper's arguments for this plan (ports and limits, no secret)."""
        return ["--env-file", DB_ENV, "--postgres-port", str(self.postgres_port), "--redis-port",
                str(self.redis_port), "--max-connections", str(self.max_connections)]

    def describe(self) -> str:
        """One line for the plan."""
        if not self.postgresql:
            return "SQLite (one file, one process)"
        return (f"PostgreSQL on 127.0.0.1:{self.postgres_port} and Redis on 127.0.0.1:{self.redis_port}, "
                f"{self.workers} Open WebUI workers")


def helper_text(unit: str) -> str:
    """The ``openwebui-db`` helper (setup, check, SQLite migration, backup and restore on the host); ``unit``:
    Open WebUI's systemd unit, which a restore stops and starts."""
    return render("openwebui-db.py.j2", env_file=DB_ENV, unit=unit, db_name=DB_NAME, redis_conf=REDIS_CONF,
                  postgres_conf=POSTGRES_CONF)


def workers_for(cores: int | None) -> int:
    """Open WebUI workers for a host with ``cores`` CPU cores (unknown: the fewest): half of them, 2 to 8."""
    return max(MIN_WORKERS, min(MAX_WORKERS, (cores or 0) // 2))


def database_for(settings: Any, cores: int | None = None) -> WebuiDatabase:
    """Open WebUI's database for a host's settings; ``cores``: the host's CPU count, when known."""
    kind = settings.webui_database()
    workers = 1 if kind == "sqlite" else settings.openwebui_workers or workers_for(cores)
    return WebuiDatabase(kind, workers, settings.openwebui_postgres_port, settings.openwebui_redis_port)
