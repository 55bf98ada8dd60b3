"""``reasoning-stack status``: what each host runs and whether it answers, from the manifest the deploy leaves.

The deploy writes :data:`MANIFEST` on every host (units, ports, models; no secret). ``status`` connects over SSH
with pyinfra's own connectors, sends the probe (``templates/status-probe.py.j2``) to the host's python3 and
judges the report: every unit active, every API answering a one-token completion, Open WebUI's /health 200.
On a Mac the units are launchd jobs (``launchd``: the job's label) and the GPU is the Mac's chip and memory.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reasoning_stack import engines
from reasoning_stack.gpus import NVIDIA_SMI_QUERY, Gpu, GpuQueryError, parse_nvidia_smi_csv
from reasoning_stack.macos import MLX_LABEL, MLX_VENV, OPENWEBUI_LABEL, OPENWEBUI_VERSION, mac_gpu
from reasoning_stack.planning.types import HostPlan, Instance
from reasoning_stack.render import render
from reasoning_stack.services import CONFIG_DIR, OPENWEBUI_UNIT, RAY_UNIT, local_url
from reasoning_stack.settings import StackSettings
from reasoning_stack.topology import Cluster

MANIFEST = f"{CONFIG_DIR}/status.json"


def smoke_record(settings: StackSettings, unit: str) -> str:
    """Where the smoke test of ``unit`` leaves its last figures."""
    return f"{settings.data_dir}/status/{unit}-smoke-test.json"


def _api_entry(settings: StackSettings, instance: Instance) -> dict[str, Any]:
    """An instance that answers the OpenAI API: where, what it serves, how ``status`` proves it is healthy."""
    engine = engines.get(instance.engine)
    return {
        "unit": instance.unit, "kind": "vllm-api", "url": local_url(settings.api_listen, instance.port),
        "served_model_name": instance.served_model_name, "model": instance.plan.model,
        "repo": instance.plan.model_repo, "max_model_len": instance.plan.max_model_len,
        "engine": instance.engine,
        "health_path": engine.health_path,
        "image": engine.status_image(settings),
        "env_file": f"{CONFIG_DIR}/{instance.unit}.env",
        "smoke_record": smoke_record(settings, instance.unit),
        "estimate_tokens_per_s": instance.plan.decode_tokens_per_s,
    }


def status_manifest(settings: StackSettings, plan: HostPlan, host_name: str, cluster: Cluster | None,
                    mac: bool = False) -> dict[str, Any]:
    """What the deploy put on this host, for ``status``: every unit, what it serves and where (no secret).
    ``mac``: the host is an Apple Silicon Mac, whose services are launchd jobs."""
    if mac:
        return _mac_manifest(settings, plan, host_name)
    units: list[dict[str, Any]] = [{"unit": "docker", "kind": "system"}]
    if settings.firewall_allow is not None:
        units.append({"unit": "reasoning-firewall", "kind": "firewall"})
    head = cluster is None or cluster.head == host_name
    if cluster is not None and cluster.backend == "ray":
        units.append({"unit": RAY_UNIT, "kind": "ray-node"})
    for instance in plan.instances:
        if not head:
            if cluster is not None and cluster.backend == "mp":
                units.append({"unit": instance.unit, "kind": "vllm-node"})
            continue
        units.append(_api_entry(settings, instance))
    if settings.openwebui_enabled and head:
        units.append({"unit": OPENWEBUI_UNIT, "kind": "openwebui", "image": settings.openwebui_image,
                      "url": local_url(settings.openwebui_listen, settings.openwebui_port)})
    return {"host": host_name, "cluster": cluster.name if cluster else None,
            "role": None if cluster is None else ("head" if head else "worker"), "units": units}


def _mac_manifest(settings: StackSettings, plan: HostPlan, host_name: str) -> dict[str, Any]:
    """A Mac's manifest: MLX-LM and Open WebUI as the launchd jobs ``deploys/macos.py`` loads."""
    units = [{**_api_entry(settings, instance), "launchd": MLX_LABEL}
             for instance in plan.instances]
    if settings.openwebui_enabled:
        units.append({"unit": OPENWEBUI_UNIT, "kind": "openwebui", "launchd": OPENWEBUI_LABEL,
                      "image": f"open-webui=={OPENWEBUI_VERSION}",
                      "url": local_url(settings.openwebui_listen, settings.openwebui_port)})
    return {"host": host_name, "cluster": None, "role": None, "platform": "macos", "units": units}


def manifest_text(manifest: dict[str, Any]) -> str:
    """The manifest file's text (stable, so an unchanged deploy rewrites nothing)."""
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


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
    def mac(self) -> bool:
        """Whether the host is an Apple Silicon Mac (its manifest says so)."""
        return (self.report.get("manifest") or {}).get("platform") == "macos"

    @property
    def gpus(self) -> list[Gpu]:
        """The GPUs nvidia-smi reported on the host, or a Mac's chip and memory (empty when neither came)."""
        if self.mac:
            hardware = self.report.get("mac") or {}
            return [mac_gpu(hardware)] if str(hardware.get("memsize", "")).isdigit() else []
        smi = self.report.get("nvidia_smi") or {}
        if smi.get("rc") != 0:
            return []
        try:
            return parse_nvidia_smi_csv(smi["output"])
        except GpuQueryError:
            return []

    @property
    def gpu_error(self) -> str:
        """nvidia-smi's own words when it failed on the host (on a Mac: sysctl's, when it gave no memory size)."""
        if self.mac:
            return "" if self.gpus else "sysctl reported no memory size"
        smi = self.report.get("nvidia_smi") or {}
        if smi.get("rc") == 0:
            return "" if self.gpus else "nvidia-smi reported no GPU"
        lines = str(smi.get("output", "")).strip().splitlines()
        return lines[-1] if lines else "nvidia-smi failed"

    @property
    def problems(self) -> list[str]:
        """Everything that is down, in words; empty when the host is healthy."""
        if not self.reachable:
            return [f"unreachable: {self.error}"]
        if not self.report.get("manifest"):
            return ["not deployed (no status manifest): run the deploy"]
        found = []
        if self.gpu_error:
            found.append(self.gpu_error if self.mac else f"nvidia-smi: {self.gpu_error}")
        for unit in self.report.get("units", []):
            if unit["state"] != "active":
                found.append(f"{unit['unit']} is {unit['state']}")
                continue
            if unit["kind"] == "vllm-api":
                done = unit["completion"]
                if done["status"] != 200:
                    why = done.get("error") or f"HTTP {done['status']}"
                    found.append(f"{unit['unit']}: a one-token completion failed ({why}; /health {unit['health']})")
            elif unit["kind"] == "openwebui" and unit["health"] != 200:
                found.append(f"{unit['unit']}: /health answered {unit['health'] or 'nothing'}")
        return found

    @property
    def healthy(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        gpus = [{"index": g.index, "name": g.name, "memory_mib": g.memory_mib, "driver": g.driver_version}
                for g in self.gpus]
        return {"host": self.host, "healthy": self.healthy, "problems": self.problems, "reachable": self.reachable,
                "gpus": gpus, **({"report": self.report} if self.reachable else {})}


def probe_hosts(inventory: Any, timeout: int = 30) -> list[HostStatus]:
    """Connect to every host of a pyinfra inventory (in parallel, pyinfra's connectors and SSH settings) and
    run the probe there; a host that cannot be reached is reported, not raised."""
    from pyinfra.api import Config, State
    from pyinfra.api.command import StringCommand
    from pyinfra.api.connect import connect_all
    from pyinfra.api.exceptions import PyinfraError

    state = State(inventory, Config(FAIL_PERCENT=100, CONNECT_TIMEOUT=timeout))
    with contextlib.suppress(PyinfraError):  # every host failed: each is reported below
        connect_all(state)
    script = probe_script(timeout)
    results = []
    for host in inventory:
        if host not in state.activated_hosts or host in state.failed_hosts:
            results.append(HostStatus(host.name, False, error="SSH connection failed"))
            continue
        sudo = {key: host.data.get(key) for key in ("_sudo", "_sudo_user", "_sudo_password") if host.data.get(key)}
        # python3 of the system; on a Mac the stack's own comes first (macOS's /usr/bin/python3 may be a stub)
        probe = StringCommand(f"PATH={MLX_VENV}/bin:$PATH", "python3", "-")
        ok, output = host.run_shell_command(probe, _stdin=script, _timeout=timeout * 8, **sudo)
        text = "\n".join(output.stdout_lines)
        try:
            results.append(HostStatus(host.name, True, json.loads(text.strip().splitlines()[-1])))
        except (ValueError, IndexError):
            error = "\n".join(output.stderr_lines)[-300:] or "no report"
            results.append(HostStatus(host.name, False, error=f"the probe failed: {error}"))
        host.disconnect()
    return results


def format_report(statuses: Iterable[HostStatus], clusters: dict[str, Cluster]) -> str:
    """The human report: per host its GPUs and driver, each unit, what it serves, the last smoke test."""
    statuses = list(statuses)
    lines = []
    for status in statuses:
        lines.append(f"{status.host}: {'OK' if status.healthy else 'DOWN'}")
        report = status.report
        if status.reachable and report.get("manifest"):
            gpus = status.gpus
            if gpus and status.mac:
                lines.append(f"  Mac: {gpus[0].name} of unified memory ({gpus[0].memory_mib} MiB), macOS "
                             f"{report['mac'].get('macos') or '?'}")
            elif gpus:
                lines.append(f"  GPUs: {len(gpus)}x {gpus[0].name} ({gpus[0].memory_mib} MiB), driver "
                             f"{gpus[0].driver_version}")
            for unit in report["units"]:
                lines.append(f"  {unit['unit']}: {unit['state']}" + _unit_detail(unit, report["manifest"]))
        for problem in status.problems:
            lines.append(f"  problem: {problem}")
    by_name = {s.host: s for s in statuses}
    for name, cluster in clusters.items():
        down = [n for n in cluster.nodes if n in by_name and not by_name[n].healthy]
        lines.append(f"cluster {name} ({len(cluster.nodes)} nodes, {cluster.backend}): "
                     + ("OK" if not down else f"DOWN ({', '.join(down)})"))
    return "\n".join(lines)


def _unit_detail(unit: dict[str, Any], manifest: dict[str, Any]) -> str:
    if unit["kind"] == "openwebui":
        return f", /health {unit['health'] or 'no answer'}"
    if unit["kind"] != "vllm-api":
        return ""
    spec = next(u for u in manifest["units"] if u["unit"] == unit["unit"])
    done = unit["completion"]
    context = unit.get("max_model_len") or f"{spec['max_model_len']} (planned)"  # MLX-LM and Ollama do not say
    text = (f", serves {spec['served_model_name']} ({spec['repo']}), context {context}"
            f", /health {unit['health'] or 'no answer'}, one-token completion "
            + (f"{done['seconds']:.2f}s" if done["status"] == 200 else "FAILED"))
    smoke = unit.get("smoke_test")
    if smoke:
        text += (f"; last smoke test {smoke.get('finished', '?')}: {smoke.get('tokens_per_s', 0):.1f} tokens/s "
                 f"(plan {spec.get('estimate_tokens_per_s') or 0:.1f}), first token {smoke.get('ttft_s', 0):.2f}s")
    return text
