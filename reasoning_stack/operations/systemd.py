"""systemd units the stack keeps running: started and enabled, read in one command."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import operation

from reasoning_stack.facts.systemd import UnitState


@operation()
def unit_running(service: str):
    """
    Keep a unit active and enabled: ``systemctl start`` when it is not active (stopped, failed), ``enable`` when it
    is not enabled; nothing when it is both (one fact, where pyinfra's ``systemd.service`` reads two).

    + service: the unit, with its suffix (``reasoning-vllm.service``)

    .. code:: python

        unit_running(name="reasoning-vllm running and enabled", service="reasoning-vllm.service")
    """
    state = host.get_fact(UnitState, unit=service)
    if state["active"] == "active" and state["enabled"] == "enabled":
        host.noop(f"{service} is active and enabled")
        return
    if state["active"] != "active":
        yield f"systemctl start {shlex.quote(service)}"
    if state["enabled"] != "enabled":
        yield f"systemctl enable {shlex.quote(service)}"
