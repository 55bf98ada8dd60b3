"""Open WebUI 0.12.4 (the real one, from PyPI) moved from SQLite to the distribution's real PostgreSQL by the
deploy's own ``openwebui-db`` helper: every account (its password too), chat and model entry is there afterwards,
the SQLite file is kept as the backup, and a pg_dump backup restores what it held.

Slow: Open WebUI starts four times (15-60 s each on two cores).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import real_database as db
import real_openwebui as real
from testhosts import free_port

from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.openwebui.database import database_for, helper_text
from reasoning_stack.openwebui.entries import model_entries
from reasoning_stack.openwebui.paths import OPENWEBUI_UNIT
from reasoning_stack.openwebui.service import openwebui_service
from reasoning_stack.settings import SECRET_ENV_VARS
from reasoning_stack.validation import validate_host_data

pytestmark = pytest.mark.slow

API_KEY = "sk-owui-db-test-0123456789"
MODEL = "qwen3-8b"
PEOPLE = ("ada", "grace", "linus")
ADMIN_PASSWORD = "Admin-pass-123!"
SCHEMA = Path(__file__).parent / "standins" / "openwebui-postgresql.sql"
HOST_PYTHON = "/usr/bin/python3"  # the helper runs on the host's own Python with Debian's python3-psycopg2


def _env(ports: dict[str, int], database: str) -> tuple[str, object]:
    data = {"model": MODEL, "api_port": ports["vllm"], "openwebui_port": ports["webui"],
            "openwebui_database": database}
    environ = {SECRET_ENV_VARS["api_key"]: API_KEY, SECRET_ENV_VARS["openwebui_admin_password"]: ADMIN_PASSWORD}
    settings = validate_host_data("rtx-4090", data, environ=environ)
    host_plan = plan_host(settings, gpus_from_profile("rtx-4090", 1))
    assert host_plan.fits, host_plan.reason
    return openwebui_service(settings, host_plan, database=database_for(settings, cores=4)).env_text, host_plan


def _signin(webui: real.OpenWebUI, person: str) -> str:
    if person == "admin":
        return webui.signin("admin@localhost", ADMIN_PASSWORD)
    return webui.signin(f"{person}@example.com", real.PERSON_PASSWORD)


def _helper(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    helper = workdir / "openwebui-db"
    helper.write_text(helper_text(OPENWEBUI_UNIT))
    return subprocess.run([HOST_PYTHON, str(helper), *args, "--env-file", str(workdir / "openwebui-db.env")],
                          capture_output=True, text=True, timeout=300)


def _standin_schema_is_the_real_ones(postgres: db.Postgres) -> None:
    """The tables the stand-in Open WebUI makes on a test host (tests/standins/openwebui-postgresql.sql) are the
    ones the real Open WebUI just made; ``RS_RECORD_FIXTURES=1`` records them again."""
    if os.environ.get("RS_RECORD_FIXTURES"):
        SCHEMA.write_text(postgres.schema("openwebui"))
    postgres.psql("CREATE DATABASE standin;")
    postgres.psql(SCHEMA.read_text(), "standin")
    assert postgres.columns("standin") == postgres.columns("openwebui")


def test_sqlite_host_moves_to_postgresql_keeping_accounts_chats_and_model_entries():
    real.require()
    db.require()
    if subprocess.run([HOST_PYTHON, "-c", "import psycopg2"], capture_output=True).returncode:
        pytest.fail("python3-psycopg2 is not installed; scripts/setup installs it")
    workdir = db.workdir("rs-owui-pg-")
    ports = {"vllm": free_port(), "webui": free_port()}
    vllm = real.StandinVllm(MODEL, ports["vllm"], API_KEY, workdir).start()
    postgres, redis = db.Postgres(workdir), db.Redis(workdir)
    webui = None
    try:
        sqlite_env, host_plan = _env(ports, "sqlite")
        assert "DATABASE_URL" not in sqlite_env and "UVICORN_WORKERS" not in sqlite_env
        webui = real.OpenWebUI(sqlite_env, workdir / "data").start(timeout=300)
        chats: dict[str, list[str]] = {}
        for person in PEOPLE:
            token = webui.add_person(_signin(webui, "admin"), person)
            chats[person] = sorted(f"{person}'s question {n}" for n in range(2))
            for title in chats[person]:
                webui.new_chat(token, title, MODEL)
        entries = real.apply_model_entries(webui, host_plan, workdir)
        assert entries.returncode == 0, entries.stderr
        webui.stop()
        sqlite_file = workdir / "data" / "webui.db"
        assert sqlite_file.exists()

        # The same host switched to PostgreSQL: Open WebUI creates its tables there on its first start ...
        postgres.start()
        redis.start()
        (workdir / "openwebui-db.env").write_text(f"DATABASE_URL={postgres.url}\nREDIS_URL={redis.url}\n")
        pg_env, _ = _env(ports, "postgresql")
        assert "UVICORN_WORKERS=2" in pg_env and "WEBSOCKET_MANAGER=redis" in pg_env
        pg_env += f"DATABASE_URL={postgres.url}\nREDIS_URL={redis.url}\n"  # docker's second --env-file
        webui = real.OpenWebUI(pg_env, workdir / "data").start(timeout=300)
        assert postgres.psql('SELECT count(*) FROM "chat"', "openwebui") == "0"
        webui.stop()
        _standin_schema_is_the_real_ones(postgres)
        # ... then the deploy stops it and copies every row across.
        backup = workdir / "backups" / "webui-sqlite.db"
        moved = _helper(workdir, "migrate", "--sqlite", str(sqlite_file), "--backup", str(backup))
        assert moved.returncode == 0, moved.stderr
        print(moved.stdout)
        assert "6 chat" in moved.stdout and not sqlite_file.exists() and backup.exists()
        assert oct(backup.stat().st_mode & 0o777) == "0o600"
        again = _helper(workdir, "migrate", "--sqlite", str(backup), "--backup", str(workdir / "twice.db"))
        assert again.returncode == 1 and "already holds 6 chats" in again.stderr  # never overwrites

        webui = real.OpenWebUI(pg_env, workdir / "data").start(timeout=300)
        for person in PEOPLE:
            assert webui.chat_titles(_signin(webui, person)) == chats[person]
        status, models = webui.call("GET", "/api/models", token=_signin(webui, "ada"))
        assert status == 200, models
        names = {m["id"]: m["name"] for m in models["data"]}
        assert names.get(MODEL) == model_entries(host_plan)[0]["name"] != MODEL, names
        # A new account on PostgreSQL, after the copy: the sequences and constraints take new rows.
        token = webui.add_person(_signin(webui, "admin"), "newcomer")
        webui.new_chat(token, "after the move", MODEL)

        # pg_dump before an image change; a rollback restores it (the chat made since is gone, the rest kept).
        dump = workdir / "backups" / "webui-v0.12.4.pgdump"
        saved = _helper(workdir, "backup", "--out", str(dump))  # consistent while Open WebUI runs (MVCC)
        assert saved.returncode == 0, saved.stderr
        assert oct(dump.stat().st_mode & 0o777) == "0o600"
        webui.new_chat(token, "lost by the rollback", MODEL)
        webui.stop()
        restored = _helper(workdir, "restore", str(dump), "--no-start")
        assert restored.returncode == 0, restored.stderr
        webui.start(timeout=300)
        assert webui.chat_titles(_signin(webui, "newcomer")) == ["after the move"]
        assert webui.chat_titles(_signin(webui, "ada")) == chats["ada"]
    finally:
        if webui:
            webui.stop()
        vllm.stop()
        redis.stop()
        postgres.stop()
