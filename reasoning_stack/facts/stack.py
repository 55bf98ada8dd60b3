"""What the stack left on a host: the status manifest of its last deploy."""

from __future__ import annotations

import json
import shlex

from pyinfra.api import FactBase


class StackManifest(FactBase):
    """
    The status manifest the last deploy left (what runs there), or ``None`` when there is none.

    .. code:: python

        host.get_fact(StackManifest)  # {"units": [{"unit": "reasoning-vllm", "image": ...}, ...], ...}
    """

    def command(self) -> str:
        return "cat /etc/reasoning-stack/status.json 2>/dev/null || true"

    def process(self, output: list[str]) -> dict[str, object] | None:
        try:
            return json.loads("\n".join(output)) if output else None
        except ValueError:
            return None


class WebuiDatabaseState(FactBase):
    """
    What the ``openwebui-db`` helper's ``check`` says of Open WebUI's PostgreSQL and Redis: ``"ready"`` when its
    ``setup`` would change nothing, else what it would change (``"missing"``: no helper yet).

    .. code:: python

        host.get_fact(WebuiDatabaseState, helper="/usr/local/libexec/reasoning-stack/openwebui-db",
                      args=["--postgres-port", "5432"])  # "ready"
    """

    def command(self, helper: str, args: list[str]) -> str:
        quoted = " ".join(shlex.quote(a) for a in args)
        return f"test -x {shlex.quote(helper)} && {shlex.quote(helper)} check {quoted} 2>&1 || echo missing"

    def process(self, output: list[str]) -> str:
        return output[-1].strip() if output else "missing"
