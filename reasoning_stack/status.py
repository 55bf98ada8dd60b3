"""``reasoning-stack status``: what each host runs and whether it answers, from the manifest the deploy leaves.

The deploy writes :data:`MANIFEST` on every host (units, ports, models; no secret). ``status`` connects over SSH
with pyinfra's own connectors, sends the probe (``templates/status-probe.py.j2``) to the host's python3 and
judges the report: every unit active, every API answering a one-token completion, Open WebUI's /health 200.
Each platform lists its units and reads its GPUs in the report (``reasoning_stack.platforms``): on a Mac the units
are launchd jobs (``launchd``: the job's label) and the GPU is the Mac's chip and memory.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reasoning_stack import platforms
from reasoning_stack.gpus import NVIDIA_SMI_QUERY, Gpu
from reasoning_stack.manifest import API_KINDS, MANIFEST, manifest_text, smoke_record
from reasoning_stack.planning.types import HostPlan
from reasoning_stack.render import render
from reasoning_stack.settings import StackSettings
from reasoning_stack.ssh_notes import connection_notes
from reasoning_stack.topology import Cluster

__all__ = ["MANIFEST", "HostStatus", "format_report", "manifest_text", "probe_hosts", "probe_script", "smoke_record",
           "status_manifest"]


def status_manifest(settings: StackSettings, plan: HostPlan, host_name: str, cluster: Cluster | None,
                    platform: str = "linux") -> dict[str, Any]:
    """What the deploy put on this host, for ``status``: every unit, what it serves and where (no secret), as the
    host's platform lists them (a Mac's services are launchd jobs)."""
    return platforms.get(platform).manifest(settings, plan, host_name, cluster)


def probe_script(timeout: int = 30) -> str:
    """The probe a host runs with ``python3 -``; ``timeout`` bounds each request and command."""
    return render("status-probe.py.j2", manifest_path=MANIFEST, nvidia_smi_query=NVIDIA_SMI_QUERY, timeout=timeout)


@dataclass
class HostStatus:
    """One host's report and the verdict on it."""

    host: str
    reachable: bool
    report: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def platform(self) -> platforms.Platform:
        """The host's platform, as its manifest names it (Linux when it names none)."""
        return platforms.get((self.report.get("manifest") or {}).get("platform") or "linux")

    @property
    def gpus(self) -> list[Gpu]:
        """The GPUs the report names (nvidia-smi's, or a Mac's chip and memory; empty when none came)."""
        return self.platform.report_gpus(self.report)

    @property
    def gpu_error(self) -> str:
        """What went wrong reading the GPUs, in the tool's own words ('' when nothing did)."""
        return self.platform.report_gpu_problem(self.report)

    @property
    def problems(self) -> list[str]:
        """Everything that is down, in words; empty when the host is healthy."""
        if not self.reachable:
            return [f"unreachable: {self.error}"]
        if not self.report.get("manifest"):
            return ["not deployed (no status manifest): run the deploy"]
        found = []
        if self.gpu_error:
            found.append(self.gpu_error)
        for unit in self.report.get("units", []):
            if unit["state"] != "active":
                found.append(f"{unit['unit']} is {unit['state']}")
                continue
            if unit["kind"] in API_KINDS:
                done = unit["completion"]
                if done["status"] != 200:
                    why = done.get("error") or f"HTTP {done['status']}"
                    spec = next((u for u in self.report["manifest"].get("units", []) if u.get("unit") == unit["unit"]),
                                {})
                    found.append(f"{unit['unit']}: a one-token completion failed ({why}; "
                                 f"{spec.get('health_path') or '/health'} {unit['health']})")
            elif unit["kind"] == "openwebui" and unit["health"] != 200:
                found.append(f"{unit['unit']}: /health answered {unit['health'] or 'nothing'}")
            elif unit["kind"] == "database" and not unit.get("accepting"):
                found.append(f"{unit['unit']}: nothing accepts connections on 127.0.0.1:{unit.get('port')}")
            elif unit["kind"] == "grafana" and unit["health"] != 200:
                found.append(f"{unit['unit']}: /api/health answered {unit['health'] or 'nothing'}")
            elif unit["kind"] == "prometheus" and unit["health"] != 200:
                found.append(f"{unit['unit']}: /-/ready answered {unit['health'] or 'nothing'}")
        return found

    @property
    def healthy(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        gpus = [{"index": g.index, "name": g.name, "memory_mib": g.memory_mib, "driver": g.driver_version}
                for g in self.gpus]
        return {"host": self.host, "healthy": self.healthy, "problems": self.problems, "reachable": self.reachable,
                "gpus": gpus, **({"report": self.report} if self.reachable else {})}


def connect_hosts(inventory: Any, timeout: int = 30) -> Any:
    """Connect to every host of a pyinfra inventory in parallel, with pyinfra's connectors and SSH settings; a
    host that cannot be reached is left out of the state's activated hosts, not raised. What the connector logs is
    said once, in the CLI's words (:mod:`reasoning_stack.ssh_notes`)."""
    from pyinfra.api import Config, State
    from pyinfra.api.connect import connect_all
    from pyinfra.api.exceptions import PyinfraError

    state = State(inventory, Config(FAIL_PERCENT=100, CONNECT_TIMEOUT=timeout))
    with connection_notes(), contextlib.suppress(PyinfraError):  # every host failed: the callers name each
        connect_all(state)
    return state


def sudo_arguments(host: Any) -> dict[str, Any]:
    """The sudo arguments a command run on ``host`` outside a deploy needs, from its inventory data."""
    return {key: host.data.get(key) for key in ("_sudo", "_sudo_user", "_sudo_password") if host.data.get(key)}


def probe_hosts(inventory: Any, timeout: int = 30) -> list[HostStatus]:
    """Connect to every host of a pyinfra inventory (in parallel, pyinfra's connectors and SSH settings) and
    run the probe there; a host that cannot be reached is reported, not raised."""

    state = connect_hosts(inventory, timeout)
    script = probe_script(timeout)
    results = []
    for host in inventory:
        if host not in state.activated_hosts or host in state.failed_hosts:
            results.append(HostStatus(host.name, False, error="SSH connection failed"))
            continue
        report, error = run_probe(host, script, timeout * 8)
        results.append(HostStatus(host.name, True, report) if report is not None
                       else HostStatus(host.name, False, error=f"the probe failed: {error}"))
        host.disconnect()
    return results


def run_probe(host: Any, script: str, timeout: int) -> tuple[dict[str, Any] | None, str]:
    """Send ``script`` to the host's python3 on stdin (with the host's sudo arguments; a Mac's folders first, for
    the stack's own python3) and read the JSON object it prints last: (that object, '') or (None, what failed)."""
    from pyinfra.api.command import StringCommand

    first = ":".join(p.probe_path for p in platforms.PLATFORMS if p.probe_path)
    probe = StringCommand(f"PATH={first}:$PATH" if first else "", "python3", "-")
    _ok, output = host.run_shell_command(probe, _stdin=script, _timeout=timeout, **sudo_arguments(host))
    try:
        return json.loads("\n".join(output.stdout_lines).strip().splitlines()[-1]), ""
    except (ValueError, IndexError):
        return None, "\n".join(output.stderr_lines)[-300:] or "no report"


def format_report(statuses: Iterable[HostStatus], clusters: dict[str, Cluster]) -> str:
    """The human report: per host its GPUs and driver, each unit, what it serves, the last smoke test."""
    statuses = list(statuses)
    lines = []
    for status in statuses:
        lines.append(f"{status.host}: {'OK' if status.healthy else 'DOWN'}")
        report = status.report
        if status.reachable and report.get("manifest"):
            gpus = status.gpus
            if gpus:
                lines.append(f"  {status.platform.hardware_line(report, gpus)}")
            live = next((u.get("live") or {} for u in report["units"] if u["kind"] == "prometheus"), {})
            for unit in report["units"]:
                lines.append(f"  {unit['unit']}: {unit['state']}" + _unit_detail(unit, report["manifest"])
                             + _live_detail(live.get(unit["unit"])))
        for problem in status.problems:
            lines.append(f"  problem: {problem}")
    by_name = {s.host: s for s in statuses}
    for name, cluster in clusters.items():
        down = [n for n in cluster.nodes if n in by_name and not by_name[n].healthy]
        lines.append(f"cluster {name} ({len(cluster.nodes)} nodes, {cluster.backend}): "
                     + ("OK" if not down else f"DOWN ({', '.join(down)})"))
    return "\n".join(lines)


def _live_detail(figures: dict[str, float] | None) -> str:
    """An instance's live figures from the host's Prometheus: KV cache use, requests, decode speed."""
    if not figures:
        return ""
    parts = []
    if "kv_cache" in figures:
        parts.append(f"KV cache {figures['kv_cache']:.0%}")
    if "running" in figures or "waiting" in figures:
        parts.append(f"{figures.get('running', 0):.0f} running, {figures.get('waiting', 0):.0f} waiting")
    if "tokens_per_s" in figures:
        parts.append(f"{figures['tokens_per_s']:.1f} tokens/s over 5 min")
    return "; now: " + ", ".join(parts)


def _unit_detail(unit: dict[str, Any], manifest: dict[str, Any]) -> str:
    if unit["kind"] == "database":
        spec = next(u for u in manifest["units"] if u["unit"] == unit["unit"])
        return (f", Open WebUI's {spec.get('title', unit['unit'])} on 127.0.0.1:{spec.get('port')} "
                + ("accepting connections" if unit.get("accepting") else "NOT accepting connections"))
    if unit["kind"] == "proxy":
        spec = next(u for u in manifest["units"] if u["unit"] == unit["unit"])
        return ", HTTPS for " + ", ".join(f"{title} on :{port}" for title, port in spec.get("sites", {}).items())
    if unit["kind"] in ("openwebui", "grafana", "prometheus"):
        path = {"openwebui": "/health", "grafana": "/api/health", "prometheus": "/-/ready"}[unit["kind"]]
        spec = next((u for u in manifest["units"] if u["unit"] == unit["unit"]), {})
        keys = "; per-person API keys, usage in `reasoning-stack usage`" if spec.get("usage_log") else ""
        return f", {path} {unit['health'] or 'no answer'}{keys}"
    if unit["kind"] not in API_KINDS:
        return ""
    spec = next(u for u in manifest["units"] if u["unit"] == unit["unit"])
    done = unit["completion"]
    context = unit.get("max_model_len") or f"{spec['max_model_len']} (planned)"  # MLX-LM and Ollama do not say
    release = f" on {spec['release']}" if spec.get("release") else ""  # manifests of older deploys name none
    text = (f", serves {spec['served_model_name']} ({spec['repo']}){release}, context {context}"
            f", {spec.get('health_path') or '/health'} {unit['health'] or 'no answer'}, one-token completion "
            + (f"{done['seconds']:.2f}s" if done["status"] == 200 else "FAILED"))
    smoke = unit.get("smoke_test")
    if smoke:
        text += (f"; last smoke test {smoke.get('finished', '?')}: {smoke.get('tokens_per_s', 0):.1f} tokens/s "
                 f"(plan {spec.get('estimate_tokens_per_s') or 0:.1f}), first token {smoke.get('ttft_s', 0):.2f}s")
    bench = unit.get("bench")
    if bench and bench.get("points"):
        first = bench["points"][0]
        ratio = f", {bench['ratio']:.2f}x the plan" if bench.get("ratio") else ""
        text += (f"; last bench {bench.get('finished', '?')}: {first['tokens_per_s_per_request']:.1f} tokens/s per "
                 f"request at concurrency {first['concurrency']}{ratio}")
    return text
