"""End to end: a Debian 12 test host first deployed with Open WebUI on SQLite switches to PostgreSQL and Redis
(Debian's own packages from its mirror) through the real pyinfra CLI, keeping every account and chat of a real
Open WebUI 0.12.4 SQLite database; a re-run changes nothing, `status` reports both servers, and `remove` takes
them off. Open WebUI itself is the stand-in image, which makes the real release's tables in PostgreSQL as the
real one does on its first start (tests/test_openwebui_database.py runs the real one on the real PostgreSQL).

The tests in this module run in order and share the host.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from pathlib import Path

import pytest
import real_openwebui as real
import standin_repo
import testhosts

from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.openwebui.service import openwebui_service
from reasoning_stack.settings import DEFAULT_OPENWEBUI_IMAGE, DEFAULT_VLLM_IMAGE, SECRET_ENV_VARS
from reasoning_stack.validation import validate_host_data

pytestmark = pytest.mark.slow

MODEL = "deepseek-r1-distill-qwen-7b"
SETTINGS: dict[str, object] = {**testhosts.standin_settings(standin_repo.MOUNT), "model": MODEL,
                               "api_key": "sk-pg-SECRET-0123456789", "health_timeout": 60}
PEOPLE = ("ada", "grace", "linus")
DATA = "/var/lib/reasoning-stack"
ADMIN_PASSWORD = "Admin-pass-123!"


class Box(testhosts.Box):
    def psql(self, sql: str) -> str:
        return self.host.sh(f"runuser -u postgres -- psql -d openwebui -tAc '{sql}'").strip()


@pytest.fixture(scope="module")
def box():
    testhosts.require_docker()
    image, key = testhosts.image_and_key()
    repos = standin_repo.build(Path(tempfile.mkdtemp(prefix="rs-repos-")), os.uname().release)
    hosts: list[testhosts.TestHost] = []
    try:
        hosts.append(testhosts.start_host(image, "pg-box", key, user="root", repos=repos))
        yield Box(hosts[0], testhosts.standin_rootfs(image), SETTINGS)
    finally:
        testhosts.remove_hosts(hosts)


@pytest.fixture(scope="module")
def sqlite_data() -> tuple[Path, dict[str, list[str]]]:
    """A real Open WebUI 0.12.4 SQLite database with three people and two chats each, made by the real Open
    WebUI (its admin adds the accounts, each person saves chats)."""
    real.require()
    workdir = Path(tempfile.mkdtemp(prefix="rs-owui-sqlite-"))
    ports = {"vllm": testhosts.free_port(), "webui": testhosts.free_port()}
    settings = validate_host_data("box", {"model": MODEL, "api_port": ports["vllm"], "openwebui_port": ports["webui"]},
                                  environ={SECRET_ENV_VARS["api_key"]: "sk-x",
                                           SECRET_ENV_VARS["openwebui_admin_password"]: ADMIN_PASSWORD})
    env = openwebui_service(settings, plan_host(settings, gpus_from_profile("rtx-4090", 1))).env_text
    webui = real.OpenWebUI(env, workdir / "data").start(timeout=300)
    chats = {}
    try:
        admin = webui.signin("admin@localhost", ADMIN_PASSWORD)
        for person in PEOPLE:
            token = webui.add_person(admin, person)
            chats[person] = [f"{person}'s question {n}" for n in range(2)]
            for title in chats[person]:
                webui.new_chat(token, title, MODEL)
    finally:
        webui.stop()
    # one file, as a host's disk holds it after Open WebUI stopped (its write-ahead log folded in)
    whole = workdir / "webui.db"
    with sqlite3.connect(workdir / "data" / "webui.db") as source, sqlite3.connect(whole) as target:
        source.backup(target)
    return whole, chats


def _log(text: str) -> str:
    return text.split('{"plan"', 1)[0][-6000:]


def _changed(data: dict) -> list[str]:
    return [op["name"].split(" | ")[-1] for op in data["results"]["operations"] if op["success"]]


def test_a_sqlite_host_moves_to_postgresql_keeping_every_account_and_chat(box: Box, sqlite_data):
    sqlite, chats = sqlite_data
    rc, data, text = box.deploy("docker.py")
    assert rc == 0, _log(text)
    testhosts.load_standin_images(box.host, box.rootfs, [DEFAULT_VLLM_IMAGE, DEFAULT_OPENWEBUI_IMAGE])
    rc, data, text = box.deploy()  # a few people: SQLite, as every host deployed before had it
    assert rc == 0, _log(text)
    assert box.host.exec("dpkg", "-s", "postgresql", check=False).returncode != 0
    # Open WebUI's data of those days: the real release's SQLite file with its people and chats
    box.host.exec("sh", "-c", f"cat > {DATA}/open-webui/webui.db", input=sqlite.read_bytes())

    rc, data, text = box.deploy(openwebui_users=200)  # a class: 'auto' chooses PostgreSQL
    assert rc == 0, _log(text)
    assert "copied" in text and "(4 user, 6 chat" in text, _log(text)
    emails = box.psql('SELECT email FROM "user" ORDER BY email').split()
    assert emails == ["ada@example.com", "admin@localhost", "grace@example.com", "linus@example.com"]
    for person, titles in chats.items():
        kept = box.psql(f'SELECT c.title FROM chat c JOIN "user" u ON u.id = c.user_id '
                        f"WHERE u.email = '\"'\"'{person}@example.com'\"'\"' ORDER BY c.title").splitlines()
        assert kept == sorted(titles), person
    assert box.psql("SELECT count(*) FROM auth") == "4"  # the passwords' hashes came along
    # the SQLite file is the backup now, out of Open WebUI's data directory
    assert box.host.exec("test", "-e", f"{DATA}/open-webui/webui.db", check=False).returncode != 0
    backup = f"{DATA}/backups/webui-sqlite-before-postgresql.db"
    assert box.host.sh(f"stat -c '%a %U' {backup}").strip() == "600 root"


def test_passwords_stay_on_the_host_and_both_servers_on_loopback(box: Box):
    env = box.host.sh("cat /etc/reasoning-stack/openwebui-db.env")
    assert box.host.sh("stat -c '%a %U' /etc/reasoning-stack/openwebui-db.env").strip() == "600 root"
    secrets = [line.split(":")[2].split("@")[0] for line in env.splitlines() if line.startswith(("DATABASE_URL",))]
    secrets.append(env.split("REDIS_URL=redis://:", 1)[1].split("@")[0])
    assert all(len(s) >= 32 for s in secrets)
    rc, data, text = box.deploy()
    for where in ("/etc/systemd/system/reasoning-openwebui.service", "/etc/reasoning-stack/reasoning-openwebui.env",
                  "/etc/reasoning-stack/status.json"):
        content = box.host.sh(f"cat {where}")
        assert not any(s in content for s in secrets), where
    assert not any(s in text for s in secrets)
    assert "--env-file /etc/reasoning-stack/openwebui-db.env" in box.host.sh(
        "cat /etc/systemd/system/reasoning-openwebui.service")
    seen = json.loads(box.host.sh(f"cat {DATA}/open-webui/standin-env.json"))
    assert seen["DATABASE_URL"].startswith("sha256:") and seen["WEBSOCKET_MANAGER"] == "redis"
    assert int(seen["UVICORN_WORKERS"]) >= 2
    listening = box.host.sh("ss -ltnH | awk '{print $4}'").split()
    for port in (5432, 6379):
        found = [a for a in listening if a.endswith(f":{port}")]
        assert found and all(a.startswith(("127.0.0.1:", "[::1]:")) for a in found), (port, listening)
    assert box.host.sh("redis-cli ping").strip().startswith("NOAUTH")  # a password even on loopback


def test_a_rerun_changes_nothing_and_status_reports_both(box: Box):
    rc, data, text = box.deploy()
    assert rc == 0, _log(text)
    assert data["results"]["totals"]["success"] == 0, _changed(data)
    rc, report, text = box.project.status()
    assert rc == 0, text
    units = {u["unit"]: u for u in report["hosts"][0]["report"]["units"]}
    assert units["postgresql"]["accepting"] and units["redis-server"]["accepting"], units
    box.host.sh("systemctl stop redis-server")
    rc, report, text = box.project.status()
    assert rc == 1 and "redis-server" in " ".join(report["hosts"][0]["problems"]), report["hosts"][0]["problems"]
    rc, data, text = box.deploy()  # the deploy starts it again
    assert rc == 0 and box.host.sh("systemctl is-active redis-server").strip() == "active", _log(text)


def test_switching_back_to_sqlite_is_refused_before_anything_changes(box: Box):
    rc, data, text = box.deploy(openwebui_users=10)  # would start Open WebUI on an empty SQLite file
    assert rc != 0 and "Open WebUI's accounts and chats are in PostgreSQL" in text, _log(text)
    assert "Keep openwebui_database = 'postgresql' for this host" in text
    box.settings["openwebui_users"] = 200
    assert box.host.sh("systemctl is-active reasoning-openwebui").strip() == "active"


def test_remove_stops_them_and_drops_the_data_only_when_asked(box: Box):
    rc, data, text = box.deploy("remove.py")
    assert rc == 0, _log(text)
    for unit in ("postgresql", "redis-server"):
        assert box.host.sh(f"systemctl is-active {unit} || true").strip() != "active", unit
        assert box.host.sh(f"systemctl is-enabled {unit} || true").strip() != "enabled", unit
    assert box.host.exec("test", "-e", "/etc/redis/reasoning-stack.conf", check=False).returncode != 0
    assert "include /etc/redis/reasoning-stack.conf" not in box.host.sh("cat /etc/redis/redis.conf")
    # kept unless asked for: the database with its accounts and chats (removal is not a way to lose them)
    box.host.sh("systemctl start postgresql && for i in $(seq 60); do pg_isready -q && break; sleep 1; done")
    assert box.psql("SELECT count(*) FROM chat") == "6"
    box.host.sh("systemctl stop postgresql")
    rc, data, text = box.deploy("remove.py", "--data", "remove_openwebui_data=true")
    assert rc == 0, _log(text)
    for package in ("postgresql", "redis-server"):
        assert box.host.exec("dpkg", "-s", package, check=False).returncode != 0, package
    assert box.host.exec("test", "-e", f"{DATA}/open-webui", check=False).returncode != 0
