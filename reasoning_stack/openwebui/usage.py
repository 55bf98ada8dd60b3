"""``reasoning-stack usage``: who used which model, from Open WebUI's own record of model calls on each host.

With per-person API keys on (``openwebui_api_keys``), Open WebUI writes one line per model call to its audit log:
the person (from their key or their web session), the model and the tokens, never the text. ``usage`` connects like
``status``, sends the probe (``templates/openwebui-usage.py.j2``) to the host's python3, and prints the sums per
person and model. vLLM 0.17.1's chat completions report no separate reasoning count (only its Responses API does):
the reasoning is inside the output tokens.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from reasoning_stack.manifest import MANIFEST
from reasoning_stack.render import render, text_table
from reasoning_stack.status import connect_hosts, run_probe


def usage_script(since: float) -> str:
    """The probe a host runs with ``python3 -``: the sums since ``since`` (seconds since the epoch)."""
    return render("openwebui-usage.py.j2", manifest_path=MANIFEST, since=int(since))


@dataclass
class HostUsage:
    """One host's sums per person and model, or why there are none."""

    host: str
    people: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def rows(self) -> list[list[str]]:
        """One row per person and model: e-mail, model, calls, tokens in, tokens out; the most tokens first."""
        rows = []
        for who, person in self.people.items():
            for model, used in person["models"].items():
                rows.append((used["total_tokens"], [who, model, str(used["calls"]), str(used["input_tokens"]),
                                                    str(used["output_tokens"])]))
        return [row for _, row in sorted(rows, key=lambda r: (-r[0], r[1]))]


def collect_usage(inventory: Any, days: float, timeout: int = 30) -> list[HostUsage]:
    """Connect to every host (in parallel, pyinfra's connectors) and sum its record of the last ``days`` days."""
    state = connect_hosts(inventory, timeout)
    script = usage_script(time.time() - days * 86400)
    results = []
    for host in inventory:
        if host not in state.activated_hosts or host in state.failed_hosts:
            results.append(HostUsage(host.name, error="unreachable: SSH connection failed"))
            continue
        answer, error = run_probe(host, script, timeout * 4)
        answer = answer if answer is not None else {"error": f"the usage probe failed: {error}"}
        results.append(HostUsage(host.name, answer.get("people") or {}, answer.get("error", "")))
        host.disconnect()
    return results


def format_usage(results: list[HostUsage], days: float) -> str:
    """The human report: per host a table of person, model, calls and tokens."""
    lines = []
    for result in results:
        lines.append(f"{result.host}: model calls in the last {days:g} day(s), from Open WebUI's record")
        if result.error:
            lines.append(f"  {result.error}")
            continue
        rows = result.rows()
        if not rows:
            lines.append("  none")
            continue
        table = [["person", "model", "calls", "tokens in", "tokens out"], *rows]
        lines += ["  " + line for line in text_table(table, right_from=2)]
    lines.append("tokens out include the reasoning: vLLM's chat completions count it there, with no figure apart")
    return "\n".join(lines)
