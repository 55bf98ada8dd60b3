"""What the stack left on a host: the status manifest of its last deploy."""

from __future__ import annotations

import json

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
