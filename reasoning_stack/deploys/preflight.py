"""Cluster preflight on the hosts: every node's facts read while pyinfra prepares, checked by
``reasoning_stack.preflight``; any problem refuses the run before a weights download or a cluster start on any node.

Where the serving image is not on every node yet (a first deploy), the image check runs right after the pull
instead: every node records its image ID, then every node compares them, and a difference fails every node.
"""

from __future__ import annotations

import time

from pyinfra import host, logger
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.host import Host
from pyinfra.api.state import State
from pyinfra.operations import python

from reasoning_stack.context import cluster_address, cluster_host
from reasoning_stack.facts import (
    DockerImageId,
    FreeDiskBytes,
    HfWeights,
    NodeClock,
    RouteInterface,
    ShmBytes,
    TcpReach,
)
from reasoning_stack.planning.types import Instance
from reasoning_stack.preflight import REACH_TIMEOUT_S, NodeReport, preflight_problems, pulled_image_problem
from reasoning_stack.prepared import prepared_fact, run_store
from reasoning_stack.settings import StackSettings
from reasoning_stack.topology import Cluster


def cluster_port(settings: StackSettings, cluster: Cluster) -> int:
    """The port every node must reach on the others: torch.distributed's (mp) or the Ray head's."""
    return settings.ray_port if cluster.backend == "ray" else settings.cluster_port


def cluster_preflight(settings: StackSettings, cluster: Cluster, instance: Instance) -> dict[str, NodeReport]:
    """Check the cluster once per run (from the first of its nodes the deploy prepares); raise naming every node's
    problem and its fix. Returns the nodes' reports."""
    checked = run_store("preflight", dict)
    if checked is not None and cluster.name in checked:
        return checked[cluster.name]
    assert settings.cluster_interface is not None
    interface, port = settings.cluster_interface, cluster_port(settings, cluster)
    addresses = {name: cluster_address(name, interface) for name in cluster.nodes}
    reports = {name: _report(name, settings, cluster, instance, addresses, port) for name in cluster.nodes}
    problems = preflight_problems(cluster, reports, interface, port, settings.vllm_image, instance.plan.model_repo)
    if problems:
        raise PyinfraError(f"cluster {cluster.name!r}: the preflight found {len(problems)} problem(s); nothing was "
                           "changed on any node:\n  - " + "\n  - ".join(problems))
    logger.info(f"cluster {cluster.name!r}: preflight passed on {len(cluster.nodes)} nodes (addresses on "
                f"{interface}, routes, TCP {port} node to node, /dev/shm, clocks, image, disk)")
    if checked is not None:
        checked[cluster.name] = reports
    return reports


def _report(name: str, settings: StackSettings, cluster: Cluster, instance: Instance, addresses: dict[str, str],
            port: int) -> NodeReport:
    """One node's facts, as the checks read them."""
    target = host if name == host.name else cluster_host(name)
    others = [n for n in cluster.nodes if n != name]
    probes = prepared_fact(target, TcpReach, targets=",".join(f"{addresses[p]}:{port}" for p in others),
                           timeout=REACH_TIMEOUT_S)
    before = time.time()
    clock = target.get_fact(NodeClock)  # read live, once per run: the round trip bounds the offset's error
    after = time.time()
    plan = instance.plan
    cache_dir = f"{settings.data_dir}/huggingface"
    weights_gib = 0.0
    if not plan.model_repo.startswith("/"):  # a folder model is on the host already
        have = prepared_fact(target, HfWeights, cache_dir=cache_dir, repo=plan.model_repo)
        if not have["complete"] and not have["snapshots"]:
            weights_gib = plan.weights_gib_per_gpu * plan.tensor_parallel_size * plan.pipeline_parallel_size
    return NodeReport(
        name=name,
        address=addresses[name],
        routes={p: prepared_fact(target, RouteInterface, address=addresses[p]) for p in others},
        reach={p: probes.get(f"{addresses[p]}:{port}", "no probe result: the node needs python3") for p in others},
        shm_bytes=prepared_fact(target, ShmBytes),
        clock_offset_s=None if clock is None else clock - (before + after) / 2,
        clock_error_s=(after - before) / 2,
        image_id=prepared_fact(target, DockerImageId, image=settings.vllm_image),
        free_bytes=prepared_fact(target, FreeDiskBytes, path=cache_dir),
        weights_gib=weights_gib,
    )


def same_image_after_pull(settings: StackSettings, cluster: Cluster, reports: dict[str, NodeReport]) -> None:
    """Where some node did not have the serving image yet, add the two steps that compare it once pulled (every
    node records its ID, then every node compares them); nothing when the preflight compared them already."""
    if all(r.image_id is not None for r in reports.values()):
        return
    ids = run_store(f"image_ids_{cluster.name}", dict)
    image = settings.vllm_image

    def record(state: State, host: Host) -> None:
        ids[host.name] = host.get_fact(DockerImageId, image=image)

    def compare(state: State, host: Host) -> None:
        problem = pulled_image_problem(cluster, image, ids)
        if problem:
            raise PyinfraError(problem)

    python.call(name=f"Image ID of {image} on this node (for the cluster's image check)", function=record)
    python.call(name=f"Cluster {cluster.name}: the same {image} on every node", function=compare)
