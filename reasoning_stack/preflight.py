"""Cluster preflight: what every node must have before a cluster downloads weights or starts, judged from facts.

The deploy reads each node's facts while pyinfra prepares (nothing changed yet) and refuses the run with every
problem found, each naming the node and the fix (``reasoning_stack.deploys.preflight``). The checks:

- **network**: each node has its own, non-loopback address on ``cluster_interface``; its routes to the other
  nodes leave by that interface (NCCL and Gloo are pinned to it); each node reaches every other node's cluster
  port over TCP (a reset counts: the path works, nothing listens yet; no answer means the packets are dropped);
- **/dev/shm** of at least :data:`SHM_MIN_BYTES` (the containers use the host's; Docker's own default is 64 MiB,
  where NCCL fails with "Bus error" or shared-memory errors);
- **clocks** agreeing within :data:`CLOCK_TOLERANCE_S` (logs, Ray's and Prometheus's timestamps and TLS assume it);
- **the same image**: where the serving image is already on several nodes, one image ID on all of them (a moved
  tag or a local build under the same name would mix releases; Ray refuses that, ranks of different builds hang);
- **disk** for the weights on every node that still has to download them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from reasoning_stack.catalogue import GIB
from reasoning_stack.topology import Cluster

SHM_MIN_BYTES = 1 * GIB
CLOCK_TOLERANCE_S = 2.0
REACH_TIMEOUT_S = 3.0
WEIGHTS_MARGIN = 1.05  # safetensors plus tokenizer and config files


@dataclass(frozen=True)
class NodeReport:
    """What one node's facts say, as the preflight reads them."""

    name: str
    address: str  # its address on cluster_interface
    routes: dict[str, str | None] = field(default_factory=dict)  # other node -> interface its route leaves by
    reach: dict[str, str] = field(default_factory=dict)  # other node -> TcpReach's answer for its cluster port
    shm_bytes: int | None = None
    clock_offset_s: float | None = None  # its clock minus the deploying machine's
    clock_error_s: float = 0.0  # half the round trip the reading took
    image_id: str | None = None  # None: the image is not on the node yet
    free_bytes: int | None = None  # free on the filesystem of the Hugging Face cache
    weights_gib: float = 0.0  # what it still has to download (0: complete, a folder model, or resuming)


def weights_space_problem(repo: str, cache_dir: str, size_gib: float, free: int | None,
                          have: dict[str, object]) -> str | None:
    """Why a download of ``repo`` (``size_gib``) into ``cache_dir`` cannot fit, or None. A finished download or a
    partial one (resumed: part of it is on disk already) is not judged."""
    if have.get("complete") or have.get("snapshots") or free is None:
        return None
    needed = size_gib * WEIGHTS_MARGIN * GIB
    if free >= needed:
        return None
    return (f"{repo} needs about {needed / GIB:.1f} GiB but {cache_dir} has {free / GIB:.1f} GiB free: free some "
            "space, move data_dir to a larger disk, or pick a smaller model")


def preflight_problems(cluster: Cluster, reports: dict[str, NodeReport], interface: str, port: int,
                       image: str, repo: str) -> list[str]:
    """Every problem of the cluster's nodes, each naming the node and the fix (empty: the cluster may form)."""
    problems: list[str] = []
    problems += _address_problems(cluster, reports, interface)
    problems += _route_problems(cluster, reports, interface)
    problems += _reach_problems(cluster, reports, interface, port)
    problems += _shm_problems(cluster, reports)
    problems += _clock_problems(cluster, reports)
    problems += _image_problems(cluster, reports, image)
    problems += _disk_problems(cluster, reports, repo)
    return problems


def _address_problems(cluster: Cluster, reports: dict[str, NodeReport], interface: str) -> list[str]:
    problems, seen = [], {}
    for name in cluster.nodes:
        address = reports[name].address
        if ipaddress.ip_address(address).is_loopback:
            problems.append(f"host {name!r}: cluster_interface {interface!r} gives it the loopback address {address}, "
                            "which no other node reaches; name the interface of the network the nodes share "
                            "(`ip -br addr` on the node)")
        elif address in seen:
            problems.append(f"host {name!r}: its address on cluster_interface {interface!r}, {address}, is also "
                            f"{seen[address]!r}'s; every node needs its own address on the cluster network")
        seen.setdefault(address, name)
    return problems


def _route_problems(cluster: Cluster, reports: dict[str, NodeReport], interface: str) -> list[str]:
    problems = []
    for name in cluster.nodes:
        for peer, dev in reports[name].routes.items():
            if dev != interface:
                leaves = f"leaves by {dev}" if dev else "does not exist"
                problems.append(f"host {name!r}: its route to {peer!r} ({reports[peer].address}) {leaves}, not "
                                f"cluster_interface {interface!r}, which NCCL and Gloo are pinned to; put the nodes' "
                                f"addresses on one subnet of {interface}, or name the interface the routes use")
    return problems


def _reach_problems(cluster: Cluster, reports: dict[str, NodeReport], interface: str, port: int) -> list[str]:
    problems = []
    for name in cluster.nodes:
        for peer, answer in reports[name].reach.items():
            if answer not in ("open", "closed"):
                why = f"no answer within {REACH_TIMEOUT_S:g} s" if answer == "no answer" else answer
                problems.append(f"host {name!r} cannot reach {peer!r} at {reports[peer].address}:{port} over "
                                f"{interface} ({why}); cluster_interface must be the network the nodes share, and no "
                                f"firewall between them may drop TCP {port} (NCCL also opens ports of its own between "
                                "the nodes)")
    return problems


def _shm_problems(cluster: Cluster, reports: dict[str, NodeReport]) -> list[str]:
    problems = []
    for name in cluster.nodes:
        size = reports[name].shm_bytes
        if size is None:
            problems.append(f"host {name!r}: it has no /dev/shm; NCCL and vLLM's workers need at least "
                            f"{SHM_MIN_BYTES // GIB} GiB of shared memory there (mount a tmpfs on /dev/shm)")
        elif size < SHM_MIN_BYTES:
            problems.append(f"host {name!r}: /dev/shm is {_size(size)}, below the {SHM_MIN_BYTES // GIB} GiB NCCL and "
                            "vLLM's workers need (the containers share the host's, --ipc host): `mount -o "
                            "remount,size=16G /dev/shm`, and the same size in /etc/fstab")
    return problems


def _clock_problems(cluster: Cluster, reports: dict[str, NodeReport]) -> list[str]:
    head = reports[cluster.head]
    if head.clock_offset_s is None:
        return []
    problems = []
    for name in cluster.workers:
        node = reports[name]
        if node.clock_offset_s is None:
            continue
        apart = node.clock_offset_s - head.clock_offset_s
        if abs(apart) - node.clock_error_s - head.clock_error_s > CLOCK_TOLERANCE_S:
            way = "ahead of" if apart > 0 else "behind"
            problems.append(f"host {name!r}: its clock is {abs(apart):.1f} s {way} the head {cluster.head!r}'s (more "
                            f"than {CLOCK_TOLERANCE_S:g} s); turn on time sync on every node (`timedatectl set-ntp "
                            "true`, or chrony)")
    return problems


def _image_problems(cluster: Cluster, reports: dict[str, NodeReport], image: str) -> list[str]:
    head = reports[cluster.head].image_id
    if head is None:
        return []
    problems = []
    for name in cluster.workers:
        mine = reports[name].image_id
        if mine is not None and mine != head:
            problems.append(f"host {name!r}: {image} there is image {_short(mine)}, on the head {cluster.head!r} "
                            f"{_short(head)}; every node must run the identical image (Ray refuses mixed releases, "
                            f"ranks of different builds hang): `docker image rm {image}` on the stale node and "
                            "re-run, and the deploy pulls it again")
    return problems


def pulled_image_problem(cluster: Cluster, image: str, ids: dict[str, str | None]) -> str | None:
    """After a pull: why the image IDs the nodes recorded (node -> ID, None: missing) do not agree, or None."""
    head = ids.get(cluster.head)
    stale = sorted(n for n, i in ids.items() if i != head)
    if head is not None and not stale:
        return None
    seen = ", ".join(f"{n}: {_short(i) if i else 'missing'}" for n, i in sorted(ids.items()))
    return (f"cluster {cluster.name!r}: {image} differs between the nodes after the pull ({seen}); every node must "
            f"run the identical image: `docker image rm {image}` on {', '.join(stale) or cluster.head} and re-run")


def _disk_problems(cluster: Cluster, reports: dict[str, NodeReport], repo: str) -> list[str]:
    problems = []
    for name in cluster.nodes:
        node = reports[name]
        if node.weights_gib and node.free_bytes is not None:
            problem = weights_space_problem(repo, "its Hugging Face cache", node.weights_gib, node.free_bytes, {})
            if problem:
                problems.append(f"host {name!r}: {problem}")
    return problems


def _size(size: int) -> str:
    return f"{size / GIB:.1f} GiB" if size >= GIB else f"{size / 2**20:.0f} MiB"


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]
