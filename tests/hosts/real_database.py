"""The distribution's real PostgreSQL and Redis, started on loopback in a directory of their own, for tests that run
the real Open WebUI on them (``scripts/setup`` installs Debian's ``postgresql`` and ``redis-server``).

PostgreSQL refuses to run as root: under root its cluster belongs to the ``postgres`` account the package created.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from testhosts import free_port


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return Path(found[-1]).parent if found else None


def available() -> bool:
    """True when the distribution's PostgreSQL and Redis are installed."""
    return _pg_bin() is not None and shutil.which("redis-server") is not None


def require() -> None:
    """Fail (under CI) or skip a test that needs PostgreSQL and Redis when they are not installed."""
    import pytest

    if not available():
        message = "PostgreSQL and Redis are not installed; scripts/setup installs them"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _wait(check, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise TimeoutError(f"{what} did not start in {timeout} s")


@dataclass
class Postgres:
    """A PostgreSQL cluster of its own on 127.0.0.1, with one database and its owner (password auth over TCP)."""

    workdir: Path
    database: str = "openwebui"
    user: str = "openwebui"
    password: str = "test-db-password-0123"
    port: int = 0
    max_connections: int = 100  # the deploy sets its plan's (WebuiDatabase.max_connections)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The URL Open WebUI is given (psycopg 3, which its image and its wheel both carry)."""
        return f"postgresql+psycopg://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the cluster's superuser; the rows as psql prints them unaligned."""
        done = subprocess.run(_as_owner([str(_pg_bin() / "psql"), "-h", str(self.workdir / "sock"), "-p",
                                         str(self.port), "-d", database, "-v", "ON_ERROR_STOP=1", "-tAq"]),
                              input=sql, capture_output=True, text=True, timeout=60)
        if done.returncode:
            raise RuntimeError(done.stderr)
        return done.stdout.strip()

    def schema(self, database: str) -> str:
        """The database's tables as ``pg_dump --schema-only`` writes them (no owner, no grants), as plain SQL: without
        the ``\\restrict`` lines, which only psql reads."""
        done = subprocess.run(_as_owner([str(_pg_bin() / "pg_dump"), "-h", str(self.workdir / "sock"), "-p",
                                         str(self.port), "--schema-only", "--no-owner", "--no-privileges", database]),
                              capture_output=True, text=True, timeout=60, check=True)
        return "".join(line for line in done.stdout.splitlines(keepends=True) if not line.startswith("\\"))

    def columns(self, database: str) -> set[tuple[str, ...]]:
        """Every (table, column, type, nullable) of the database's public schema."""
        rows = self.psql("SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
                         "WHERE table_schema = 'public'", database)
        return {tuple(line.split("|")) for line in rows.splitlines()}

    def start(self) -> Postgres:
        self.port = self.port or free_port()
        data, sock = self.workdir / "pgdata", self.workdir / "sock"
        sock.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (self.workdir, sock):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        subprocess.run(_as_owner([str(_pg_bin() / "initdb"), "-D", str(data), "-U", "postgres",
                                  "--auth-host=scram-sha-256", "--auth-local=trust"]),
                       check=True, capture_output=True, timeout=120)
        log = (self.workdir / "postgres.log").open("w")
        self.process = subprocess.Popen(
            _as_owner([str(_pg_bin() / "postgres"), "-D", str(data), "-p", str(self.port), "-k", str(sock),
                       "-c", "listen_addresses=127.0.0.1", "-c", f"max_connections={self.max_connections}"]),
            stdout=log, stderr=subprocess.STDOUT)
        _wait(lambda: subprocess.run(_as_owner([str(_pg_bin() / "pg_isready"), "-h", str(sock), "-p",
                                                str(self.port)]), capture_output=True).returncode == 0, "PostgreSQL")
        self.psql(f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}'; "
                  f"CREATE DATABASE {self.database} OWNER {self.user};")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


@dataclass
class Redis:
    """A Redis server of its own on 127.0.0.1 with a password, nothing saved to disk."""

    workdir: Path
    password: str = "test-redis-password-0123"
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self) -> Redis:
        self.port = self.port or free_port()
        conf = self.workdir / "redis.conf"
        conf.write_text(f"port {self.port}\nbind 127.0.0.1\nrequirepass {self.password}\nsave \"\"\n"
                        f"appendonly no\ndir {self.workdir}\n")
        conf.chmod(0o600)
        log = (self.workdir / "redis.log").open("w")
        self.process = subprocess.Popen(["redis-server", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        _wait(lambda: subprocess.run(["redis-cli", "-p", str(self.port), "--no-auth-warning", "-a", self.password,
                                      "ping"], capture_output=True, text=True).stdout.strip() == "PONG", "Redis")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


def workdir(prefix: str) -> Path:
    """A scratch directory both root and the ``postgres`` account can use."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path
