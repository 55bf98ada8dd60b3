"""Debian 12's real Prometheus, promtool and node exporter, unpacked into the user cache by
``tests/tools/prometheus/setup.sh`` (scripts/test runs it and exports PROMETHEUS_TOOLS), and a Prometheus server
started on a rendered config for a test."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

from testhosts import free_port, unpacked_tool

TOOLS = Path(os.environ.get("PROMETHEUS_TOOLS")
             or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "reasoning-stack/prometheus-2.42.0")


def tool(name: str) -> Path:
    """The path of ``prometheus``, ``promtool`` or ``prometheus-node-exporter``; fails (under CI) or skips the test
    when they are not unpacked."""
    return unpacked_tool(TOOLS / "usr" / "bin" / name, "tests/tools/prometheus/setup.sh")


def query(base: str, expr: str) -> list[dict]:
    """An instant query's result vector (raises on an error answer)."""
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as response:
        answer = json.load(response)
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def alerts(base: str) -> list[dict]:
    with urllib.request.urlopen(f"{base}/api/v1/alerts", timeout=10) as response:
        return json.load(response)["data"]["alerts"]


def targets(base: str) -> list[tuple[str, str, str]]:
    """Every active target: (job, health, last scrape error)."""
    with urllib.request.urlopen(f"{base}/api/v1/targets", timeout=10) as response:
        active = json.load(response)["data"]["activeTargets"]
    return [(t["labels"]["job"], t["health"], t["lastError"]) for t in active]


def wait_for(condition, timeout: float, what: str, every: float = 1.0):
    """Poll ``condition`` until it returns something true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s")
        time.sleep(every)


class Prometheus:
    """The real Prometheus on ``config`` (its rule files beside it), its data in ``workdir``."""

    def __init__(self, config: Path, workdir: Path, port: int = 0) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "prometheus.log"
        self.process = subprocess.Popen(
            [str(tool("prometheus")), f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        wait_for(self._ready, 60, f"Prometheus ready (log: {self.log})")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"Prometheus exited: {self.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{self.base}/-/ready", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
