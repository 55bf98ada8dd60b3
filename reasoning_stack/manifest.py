"""The status manifest every host keeps (:data:`MANIFEST`: units, ports, models; no secret), which
``reasoning-stack status`` reads: the parts every platform's manifest shares. Each platform lists its own units
(``reasoning_stack.platforms``)."""

from __future__ import annotations

import json
from typing import Any

from reasoning_stack import engines
from reasoning_stack.openwebui.database import WebuiDatabase
from reasoning_stack.openwebui.entries import USAGE_LOG
from reasoning_stack.openwebui.paths import OPENWEBUI_UNIT, data_dir
from reasoning_stack.planning.types import Instance
from reasoning_stack.service_files import CONFIG_DIR, local_url

MANIFEST = f"{CONFIG_DIR}/status.json"
# The kind of a unit whose engine answers an API status proves with a one-token completion; manifests written
# before every engine had its package call it "vllm-api", which status still reads.
API_KINDS = ("model-api", "vllm-api")


def smoke_record(settings: Any, unit: str) -> str:
    """Where the smoke test of ``unit`` leaves its last figures."""
    return f"{settings.data_dir}/status/{unit}-smoke-test.json"


def bench_record(settings: Any, unit: str) -> str:
    """Where ``reasoning-stack bench`` leaves the last figures measured for ``unit``."""
    return f"{settings.data_dir}/status/{unit}-bench.json"


def api_entry(settings: Any, instance: Instance) -> dict[str, Any]:
    """An instance that answers its engine's API: where, what it serves, how ``status`` proves it is healthy."""
    engine = engines.get(instance.engine)
    return {
        "unit": instance.unit, "kind": API_KINDS[0], "url": local_url(settings.api_listen, instance.port),
        "served_model_name": instance.served_model_name, "model": instance.plan.model,
        "repo": instance.plan.model_repo, "max_model_len": instance.plan.max_model_len,
        "engine": instance.engine,
        "release": instance.plan.output.release_text(),  # the engine release it was planned for ('' for none)
        "health_path": engine.health_path,
        "image": engine.status_image(settings),
        "env_file": f"{CONFIG_DIR}/{instance.unit}.env",
        "smoke_record": smoke_record(settings, instance.unit),
        "estimate_tokens_per_s": instance.plan.decode_tokens_per_s,
        "estimate_trace_s": instance.plan.trace_seconds,
        "bench_record": bench_record(settings, instance.unit),
    }


def openwebui_entry(settings: Any, image: str, **where: str) -> dict[str, Any]:
    """Open WebUI's unit in the manifest (``where``: a Mac's launchd label); with per-person keys, where its record
    of model calls is (``reasoning-stack usage`` reads it)."""
    entry = {"unit": OPENWEBUI_UNIT, "kind": "openwebui", **where, "image": image,
             "url": local_url(settings.openwebui_listen, settings.openwebui_port)}
    if settings.openwebui_api_keys != "off":
        entry["usage_log"] = f"{data_dir(settings)}/{USAGE_LOG}"
    return entry


def database_entries(database: WebuiDatabase) -> list[dict[str, Any]]:
    """Open WebUI's PostgreSQL and Redis in the manifest (none on SQLite): status checks each answers on its port."""
    if not database.postgresql:
        return []
    return [{"unit": "postgresql", "kind": "database", "title": "PostgreSQL", "port": database.postgres_port},
            {"unit": "redis-server", "kind": "database", "title": "Redis", "port": database.redis_port}]


def manifest_text(manifest: dict[str, Any]) -> str:
    """The manifest file's text (stable, so an unchanged deploy rewrites nothing)."""
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"
