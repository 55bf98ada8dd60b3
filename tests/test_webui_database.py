"""Open WebUI's database as planned and rendered: SQLite by default, PostgreSQL and Redis for a team (the
settings, the unit and env file, the firewall, the manifest and status, the helper). The real PostgreSQL runs in
tests/test_openwebui_database.py and tests/test_openwebui_load.py, the deploy on a test host in tests/e2e."""

from __future__ import annotations

import py_compile
from pathlib import Path

import pytest

from reasoning_stack.firewall import firewall_rules
from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.openwebui.database import DB_ENV, database_for, helper_text, workers_for
from reasoning_stack.openwebui.paths import OPENWEBUI_UNIT
from reasoning_stack.openwebui.service import openwebui_service
from reasoning_stack.status import HostStatus, format_report, status_manifest
from reasoning_stack.validation import SettingsInvalid, validate_host_data

SECRET = "s3cret-admin-password-value"


def _settings(**data):
    return validate_host_data("box", {"model": "qwen3-8b", **data},
                              environ={"REASONING_STACK_OPENWEBUI_ADMIN_PASSWORD": SECRET})


def _service(cores: int | None = 8, **data):
    settings = _settings(**data)
    plan = plan_host(settings, gpus_from_profile("rtx-4090", 1))
    return openwebui_service(settings, plan, database=database_for(settings, cores))


def test_sqlite_by_default_and_for_a_few_people():
    for data in ({}, {"openwebui_users": 25}, {"openwebui_users": 200, "openwebui_database": "sqlite"}):
        database = database_for(_settings(**data), 16)
        assert database.kind == "sqlite" and database.workers == 1
        service = _service(**data)
        assert DB_ENV not in service.unit_text and "postgresql.service" not in service.unit_text
        assert "UVICORN_WORKERS" not in service.env_text and "DATABASE_URL" not in service.env_text


def test_a_team_gets_postgresql_redis_and_workers_sized_to_the_cores():
    database = database_for(_settings(openwebui_users=26), 16)
    assert database.kind == "postgresql" and database.workers == 8
    service = _service(cores=4, openwebui_users=200)
    env = dict(line.split("=", 1) for line in service.env_text.splitlines() if "=" in line and line[0] != "#")
    assert env["UVICORN_WORKERS"] == "2" and env["WEBSOCKET_MANAGER"] == "redis"
    assert env["ENABLE_WEBSOCKET_SUPPORT"] == "True" and env["DATABASE_POOL_SIZE"] == "15"
    assert "DATABASE_URL" not in env and "REDIS_URL" not in env  # the passwords stay on the host, in DB_ENV
    assert f"--env-file {DB_ENV}" in service.unit_text
    assert "After=" in service.unit_text and "postgresql.service redis-server.service" in service.unit_text
    assert [workers_for(c) for c in (None, 1, 2, 4, 6, 16, 64)] == [2, 2, 2, 2, 3, 8, 8]
    assert database_for(_settings(openwebui_database="postgresql", openwebui_workers=5), 2).workers == 5


def test_max_connections_covers_every_workers_pools():
    database = database_for(_settings(openwebui_database="postgresql", openwebui_workers=4))
    assert database.max_connections == 4 * 2 * (15 + 25) + 20
    args = database.helper_args()
    assert args[args.index("--max-connections") + 1] == "340" and SECRET not in " ".join(args)


@pytest.mark.parametrize("data, message", [
    ({"openwebui_workers": 4}, "openwebui_workers 4 needs openwebui_database 'postgresql'"),
    ({"openwebui_database": "postgresql", "openwebui_postgres_port": 8000},
     "openwebui_postgres_port 8000 is already api_port's port; Open WebUI's database needs a port of its own "
     "(default 5432)"),
    ({"openwebui_database": "postgresql", "openwebui_redis_port": 3000},
     "openwebui_redis_port 3000 is already openwebui_port's port"),
    ({"openwebui_database": "mysql"}, "openwebui_database"),
])
def test_bad_database_settings_are_refused_naming_the_key(data, message):
    with pytest.raises(SettingsInvalid) as caught:
        _settings(**data)
    assert message in str(caught.value)


def test_sqlite_ports_are_not_claimed():
    assert _settings(openwebui_postgres_port=8000).webui_database() == "sqlite"  # unused, so no clash


def test_the_firewall_keeps_postgresql_and_redis_to_loopback():
    settings = _settings(openwebui_database="postgresql", firewall_allow=["192.168.1.0/24"])
    rules = firewall_rules(settings, plan_host(settings, gpus_from_profile("rtx-4090", 1)), "box", None)
    assert rules is not None and rules.loopback_ports == (5432, 6379)
    text = rules.text()
    assert 'iif "lo" accept' in text.split("tcp dport { 5432, 6379 } drop")[0]  # loopback accepted before the drop
    plain = _settings(firewall_allow=["192.168.1.0/24"])
    assert firewall_rules(plain, plan_host(plain, gpus_from_profile("rtx-4090", 1)), "box", None).loopback_ports == ()


def test_status_reports_the_database_and_redis():
    settings = _settings(openwebui_database="postgresql", monitoring_enabled=False)
    manifest = status_manifest(settings, plan_host(settings, gpus_from_profile("rtx-4090", 1)), "box", None)
    database = [u for u in manifest["units"] if u["kind"] == "database"]
    assert database == [{"unit": "postgresql", "kind": "database", "title": "PostgreSQL", "port": 5432},
                        {"unit": "redis-server", "kind": "database", "title": "Redis", "port": 6379}]
    units = [{"unit": u["unit"], "kind": u["kind"], "state": "active"} for u in manifest["units"]]
    for unit in units:
        if unit["kind"] == "model-api":
            unit |= {"health": 200, "models": 200, "max_model_len": 4096, "smoke_test": None,
                     "completion": {"status": 200, "seconds": 0.04, "error": ""}}
        if unit["kind"] == "openwebui":
            unit["health"] = 200
        if unit["kind"] == "database":
            unit |= {"accepting": unit["unit"] == "postgresql", "port": 5432 if unit["unit"] == "postgresql" else 6379}
    status = HostStatus("box", True, {"manifest": manifest, "units": units, "nvidia_smi": {
        "rc": 0, "output": "0, NVIDIA GeForce RTX 4090, 24564, GPU-1, 550.127.05, 8.9, 00000000:01:00.0"}})
    assert status.problems == ["redis-server: nothing accepts connections on 127.0.0.1:6379"]
    text = format_report([status], {})
    assert "postgresql: active, Open WebUI's PostgreSQL on 127.0.0.1:5432 accepting connections" in text
    assert "redis-server: active, Open WebUI's Redis on 127.0.0.1:6379 NOT accepting connections" in text


def test_the_helper_is_valid_python_and_holds_no_secret(tmp_path: Path):
    text = helper_text(OPENWEBUI_UNIT)
    (tmp_path / "openwebui-db.py").write_text(text)
    py_compile.compile(str(tmp_path / "openwebui-db.py"), doraise=True)
    assert DB_ENV in text and f'UNIT = "{OPENWEBUI_UNIT}"' in text and SECRET not in text


def test_render_shows_the_helper_only_on_postgresql():
    from reasoning_stack import platforms
    from reasoning_stack.openwebui.database import DB_HELPER

    for data, expected in (({}, False), ({"openwebui_users": 100}, True)):
        settings = _settings(**data)
        plan = plan_host(settings, gpus_from_profile("rtx-4090", 1))
        files = platforms.get("linux").files(settings, plan, 1, "box", None, "root")
        assert (DB_HELPER in files) is expected
        assert all(SECRET not in text for text in files.values())
