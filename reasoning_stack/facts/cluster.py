"""What a cluster node tells: its address on the cluster interface, and the Ray cluster its head sees."""

from __future__ import annotations

import json
import re
import shlex

from pyinfra.api import FactBase


class InterfaceAddress(FactBase):
    """
    The IPv4 address of one network interface (``ip -4 -o addr show dev IFACE``), or ``None`` when the
    interface is missing or has no IPv4 address. A cluster node's address on its cluster network.

    .. code:: python

        host.get_fact(InterfaceAddress, interface="enp65s0")  # "10.0.0.11"
    """

    def command(self, interface: str) -> str:
        return f"ip -4 -o addr show dev {shlex.quote(interface)} 2>/dev/null || true"

    def process(self, output: list[str]) -> str | None:
        for line in output:
            match = re.search(r"\binet (\d+\.\d+\.\d+\.\d+)/", line)
            if match:
                return match.group(1)
        return None


class RayClusterNodes(FactBase):
    """
    The nodes a running Ray head reports alive (address -> GPUs), asked through Ray's own state API in the
    head's container; ``None`` when no Ray head container runs there.

    .. code:: python

        host.get_fact(RayClusterNodes, container="ray")  # {"10.0.0.11": 8.0, "10.0.0.12": 8.0}
    """

    def command(self, container: str) -> str:
        script = ("import json, ray; ray.init(address='auto', logging_level='ERROR', log_to_driver=False); "
                  "print(json.dumps({n['NodeManagerAddress']: n['Resources'].get('GPU', 0) "
                  "for n in ray.nodes() if n['Alive']}))")
        return (f"if docker inspect --format '{{{{.State.Running}}}}' {shlex.quote(container)} 2>/dev/null "
                f"| grep -qx true; then docker exec {shlex.quote(container)} python3 -c {shlex.quote(script)} "
                "2>/dev/null | tail -n 1 || echo '{}'; fi")

    def process(self, output: list[str]) -> dict[str, float] | None:

        if not output:
            return None
        try:
            return {str(k): float(v) for k, v in json.loads(output[-1]).items()}
        except ValueError:
            return {}
