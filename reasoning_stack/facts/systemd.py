"""What systemd says of one unit, in one command: whether it is active and whether it is enabled."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase


class UnitState(FactBase):
    """
    ``systemctl is-active`` and ``is-enabled`` of one unit (pyinfra's ``SystemdStatus`` and ``SystemdEnabled`` list
    every unit, a command each).

    .. code:: python

        host.get_fact(UnitState, unit="reasoning-vllm.service")  # {"active": "active", "enabled": "enabled"}
    """

    def command(self, unit: str) -> str:
        quoted = shlex.quote(unit)
        return f"systemctl is-active {quoted} || true; systemctl is-enabled {quoted} 2>/dev/null || echo unknown"

    def process(self, output: list[str]) -> dict[str, str]:
        words = [line.strip() for line in output if line.strip()]
        return {"active": words[0] if words else "unknown", "enabled": words[1] if len(words) > 1 else "unknown"}
