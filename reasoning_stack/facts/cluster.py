"""What a cluster node tells: its address on the cluster interface, the Ray cluster its head sees, and what the
cluster preflight reads (routes, TCP reach to the other nodes, /dev/shm, the clock, who joined the head)."""

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


class RouteInterface(FactBase):
    """
    The interface this node's kernel sends traffic for ``address`` out of (``ip -o route get``), or ``None``
    when it has no route there. NCCL and Gloo are pinned to ``cluster_interface``: a route that leaves by
    another interface means the nodes do not meet on that network.

    .. code:: python

        host.get_fact(RouteInterface, address="10.0.0.11")  # "enp65s0"
    """

    def command(self, address: str) -> str:
        return f"ip -o route get {shlex.quote(address)} 2>/dev/null || true"

    def process(self, output: list[str]) -> str | None:
        match = re.search(r"\bdev (\S+)", " ".join(output))
        return match.group(1) if match else None


# Probes every target at once (threads), each with its own bound: "open" (something listens), "closed" (the host
# answered with a reset: the path works, nothing listens yet) or what went wrong ("no answer", "unreachable", ...).
_PROBE = """
import errno, json, socket, sys, threading
timeout, found = float(sys.argv[1]), {}
def probe(target):
    host, port = target.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
        found[target] = "open"
    except ConnectionRefusedError:
        found[target] = "closed"
    except (socket.timeout, TimeoutError):
        found[target] = "no answer"
    except OSError as exc:
        found[target] = errno.errorcode.get(exc.errno, "") or str(exc)
threads = [threading.Thread(target=probe, args=(t,)) for t in sys.argv[2:]]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps(found))
"""


class TcpReach(FactBase):
    """
    Whether this node reaches each ``address:port`` of ``targets`` (comma-separated) over TCP, probed in parallel
    within ``timeout`` seconds each: ``"open"`` (a service answers), ``"closed"`` (the host answered that nothing
    listens: the path works) or what failed (``"no answer"``: dropped on the way, ``"EHOSTUNREACH"``, ...).
    Connects and closes; sends nothing.

    .. code:: python

        host.get_fact(TcpReach, targets="10.0.0.11:29501,10.0.0.13:29501")
        # {"10.0.0.11:29501": "closed", "10.0.0.13:29501": "no answer"}
    """

    @staticmethod
    def default() -> dict[str, str]:
        return {}

    def command(self, targets: str, timeout: float = 3.0) -> str:
        args = " ".join(shlex.quote(t) for t in targets.split(",") if t)
        return f"python3 -c {shlex.quote(_PROBE)} {float(timeout)} {args}"

    def process(self, output: list[str]) -> dict[str, str]:
        try:
            return {str(k): str(v) for k, v in json.loads(output[-1]).items()}
        except (IndexError, ValueError):
            return {}


class ShmBytes(FactBase):
    """
    The size of the node's ``/dev/shm`` in bytes (``None`` without one). The stack's containers share the host's
    (``--ipc host``); NCCL and vLLM's workers exchange tensors through it.

    .. code:: python

        host.get_fact(ShmBytes)  # 67108864 (Docker's default 64 MiB)
    """

    def command(self) -> str:
        return "df -P -B1 /dev/shm 2>/dev/null | awk 'NR==2 {print $2}'"

    def process(self, output: list[str]) -> int | None:
        text = "".join(output).strip()
        return int(text) if text.isdigit() else None


class NodeClock(FactBase):
    """
    The node's wall clock in seconds since the epoch; read with the deploying machine's clock on either side, it
    gives the node's offset (``reasoning_stack.preflight``).

    .. code:: python

        host.get_fact(NodeClock)  # 1796166000.123
    """

    def command(self) -> str:
        return "date +%s.%N"

    def process(self, output: list[str]) -> float | None:
        try:
            return float("".join(output).strip())
        except ValueError:
            return None


class TcpPeers(FactBase):
    """
    The remote addresses holding an established TCP connection to this node's local ``port`` (``ss``): on an mp
    cluster's head, the workers that joined its torch.distributed port.

    .. code:: python

        host.get_fact(TcpPeers, port=29501)  # ["10.0.0.12", "10.0.0.13"]
    """

    @staticmethod
    def default() -> list[str]:
        return []

    def command(self, port: int) -> str:
        return f"ss -Htn state established '( sport = :{int(port)} )' 2>/dev/null || true"

    def process(self, output: list[str]) -> list[str]:
        return sorted({peer_address(line.split()[-1]) for line in output if line.split()})


def peer_address(endpoint: str) -> str:
    """The address of an ``ss`` endpoint (``10.0.0.12:45678``, ``[::ffff:10.0.0.12]:45678``)."""
    address = endpoint.rsplit(":", 1)[0].strip("[]")
    return address.removeprefix("::ffff:")
