"""Where Open WebUI keeps its accounts and chats: SQLite for a few people, PostgreSQL and Redis for a team."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# Measured with the real Open WebUI 0.12.4 and a stand-in vLLM answering in about half a second
# (docs/openwebui-database.md, bench/openwebui_load.py): on SQLite 25 people at once all got their answers saved;
# at 50, 8 did not ("database is locked"); on PostgreSQL and Redis all 200 did.
SQLITE_MOST_USERS = 25  # openwebui_database = "auto" keeps SQLite up to this many people at once


class WebuiDatabaseSettings(BaseModel):
    """Open WebUI's database"""

    openwebui_users: int = Field(
        10, ge=1, le=10000,
        description=f"How many people use Open WebUI at the same minute (a class, a workshop, a lab group). With "
        f"openwebui_database 'auto', more than {SQLITE_MOST_USERS} moves it to PostgreSQL and Redis.",
    )

    openwebui_database: Literal["auto", "sqlite", "postgresql"] = Field(
        "auto",
        description="Open WebUI's database. sqlite: one file in its data directory, one process; measured to hold "
        "25 people asking at once, while at 50 it lost 8 chats and at 100 a quarter ('database is locked'). "
        "postgresql: the distribution's PostgreSQL and Redis on this host (loopback only, passwords generated "
        "once on the host), several Open WebUI workers; measured to hold 200 people at once with every answer "
        f"saved. auto (the default): sqlite up to {SQLITE_MOST_USERS} openwebui_users, postgresql above. Switching "
        "a host from sqlite copies every account, chat and model entry across; the SQLite file is kept in "
        "<data_dir>/backups. Switching back is refused (Open WebUI would start empty).",
    )

    openwebui_workers: int | None = Field(
        None, ge=1, le=32,
        description="Open WebUI worker processes (UVICORN_WORKERS) on PostgreSQL; None = half the host's CPU cores, "
        "at least 2 and at most 8 (each takes about 0.5 GiB). SQLite runs one.",
    )

    openwebui_postgres_port: int = Field(
        5432, ge=1, le=65535, description="Port of PostgreSQL (on 127.0.0.1 only) when Open WebUI uses it.")

    openwebui_redis_port: int = Field(
        6379, ge=1, le=65535, description="Port of Redis (on 127.0.0.1 only) when Open WebUI uses PostgreSQL.")

    def webui_database(self) -> Literal["sqlite", "postgresql"]:
        """The database Open WebUI runs on with these settings ('auto' decided by openwebui_users)."""
        if self.openwebui_database != "auto":
            return self.openwebui_database
        return "postgresql" if self.openwebui_users > SQLITE_MOST_USERS else "sqlite"

    def webui_database_ports(self) -> list[str]:
        """The port settings of Open WebUI's database services (none on SQLite)."""
        if not getattr(self, "openwebui_enabled", True) or self.webui_database() == "sqlite":
            return []
        return ["openwebui_postgres_port", "openwebui_redis_port"]

    def _check_webui_workers(self) -> None:
        if self.openwebui_workers not in (None, 1) and self.webui_database() == "sqlite":
            raise ValueError(f"openwebui_workers {self.openwebui_workers} needs openwebui_database 'postgresql': "
                             "on SQLite several workers lock each other out of the one file")
