"""A team on the real Open WebUI 0.12.4: started with the environment the deploy renders for a host (SQLite, or
the distribution's real PostgreSQL and Redis with workers sized to this machine's cores), the deploy's own
model-entry helper applied, a stand-in vLLM answering each request in about half a second, then ``people``
chatting at once (``openwebui_load.py``, run with Open WebUI's own Python). Used by tests/test_openwebui_load.py
and bench/openwebui_load.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import real_database as db
import real_openwebui as real
from testhosts import free_port

from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.openwebui.database import database_for
from reasoning_stack.openwebui.service import openwebui_service
from reasoning_stack.settings import SECRET_ENV_VARS
from reasoning_stack.validation import validate_host_data

API_KEY = "sk-owui-load-0123456789"
ADMIN_PASSWORD = "Admin-pass-123!"
MODEL = "deepseek-r1-distill-qwen-7b"  # a reasoning model; its entry attaches no tools
LOAD = Path(__file__).parent / "openwebui_load.py"


def run_team(database_setting: str, people: int, workdir: Path, drop: int = 0) -> dict:
    """Start everything in ``workdir``, have ``people`` chat at once (``drop`` of them with their socket closed by
    Open WebUI as they ask), stop; the figures, with Open WebUI's "database is locked" count, its workers and the
    chats saved in its database."""
    ports = {"vllm": free_port(), "webui": free_port()}
    settings = validate_host_data("box", {"model": MODEL, "api_port": ports["vllm"], "openwebui_port": ports["webui"],
                                          "openwebui_users": people, "openwebui_database": database_setting},
                                  environ={SECRET_ENV_VARS["api_key"]: API_KEY,
                                           SECRET_ENV_VARS["openwebui_admin_password"]: ADMIN_PASSWORD})
    database = database_for(settings, os.cpu_count())
    host_plan = plan_host(settings, gpus_from_profile("rtx-4090", 1))
    postgres = db.Postgres(workdir, max_connections=database.max_connections)
    redis = db.Redis(workdir)
    vllm = real.StandinVllm(MODEL, ports["vllm"], API_KEY, workdir)
    webui = None
    try:
        vllm.start()
        env = openwebui_service(settings, host_plan, database=database).env_text
        if database.postgresql:
            postgres.start()
            redis.start()
            env += f"DATABASE_URL={postgres.url}\nREDIS_URL={redis.url}\n"  # the host's generated openwebui-db.env
        webui = real.OpenWebUI(env, workdir / "data").start(timeout=600)
        entries = real.apply_model_entries(webui, host_plan, workdir)  # as the deploy does: everyone may read it
        if entries.returncode:
            raise RuntimeError(entries.stderr)
        run = subprocess.run([str(real.VENV / "bin" / "python"), str(LOAD), webui.url, MODEL, "--people",
                              str(people), "--drop", str(drop)], capture_output=True, text=True, timeout=1500,
                             env={**os.environ, "LOAD_ADMIN_PASSWORD": ADMIN_PASSWORD})
        if run.returncode:
            raise RuntimeError(run.stderr[-3000:])
        figures = json.loads(run.stdout.strip().splitlines()[-1])
        webui.stop()
        log = (workdir / "data" / "open-webui.log").read_text(errors="replace")
        figures.update(database=database.kind, workers=database.workers,
                       database_is_locked=log.count("database is locked"),
                       # a model list that failed (Open WebUI logs it and lists no model of that connection)
                       model_list_failures=log.count("Connection error"))
        if database.postgresql:
            figures["chats_in_database"] = int(postgres.psql('SELECT count(*) FROM "chat"', "openwebui"))
        return figures
    finally:
        if webui:
            webui.stop()
        vllm.stop()
        redis.stop()
        postgres.stop()
