"""One model across the nodes of a cluster (pipeline parallel between them), for cluster hosts instead of vllm.py.

Every node: its address on the cluster network (facts for ``cluster_interface``), the cluster preflight
(``reasoning_stack.deploys.preflight``: before anything changes on any node), the weights downloaded and checked
complete, then either

- mp (vLLM's own multi-node mode): ``vllm serve`` on every node with ``--nnodes/--node-rank/--master-addr``,
  ``--headless`` on the workers; the head waits until every worker joined its port, naming the missing ones,
  and serves once every rank has joined;
- ray: a Ray node (``ray start --block``) on every node; the head waits until Ray reports every node and
  GPU, then runs ``vllm serve --distributed-executor-backend ray``.

Then the head's health waits and smoke test, as on a single box. Switching backend retires the other's units.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.exceptions import PyinfraError
from pyinfra.facts.files import File, FindFiles
from pyinfra.operations import files

from reasoning_stack.context import cluster_address, host_cluster, host_plan, host_settings, settings_from_arguments
from reasoning_stack.deploys.preflight import cluster_preflight, same_image_after_pull
from reasoning_stack.facts import ImageRayVersion, RayClusterNodes, TcpPeers
from reasoning_stack.instances import unit_name
from reasoning_stack.operations import (
    image_has_ray,
    mp_cluster_ready,
    ray_cluster_ready,
)
from reasoning_stack.prepared import prepared_fact
from reasoning_stack.services import (
    CLUSTER_HELPERS,
    CONFIG_DIR,
    MP_WAIT,
    RAY_CONTAINER,
    RAY_UNIT,
    RAY_WAIT,
    UNIT_DIR,
    ClusterNode,
    engine_service,
    ray_service,
)
from reasoning_stack.units import (
    install_env_file,
    install_service,
    prepare_serving_host,
    retire_service,
    serving_checks,
    weights_before_start,
)


@deploy("Cluster node")
@settings_from_arguments(join_timeout="cluster_join_timeout")
def cluster_node(join_timeout: int | None = None) -> None:
    """One model across the nodes of a cluster (pipeline parallel between them), instead of model_servers.

    + join_timeout: seconds the head waits for every node to join (default: the host's ``cluster_join_timeout``)

    The model and its layout are the cluster's, planned once for every node from group_data, so this layer takes
    no serving argument.

    .. code:: python

        cluster_node(join_timeout=1800)   # slow nodes still pulling the image
    """
    settings = host_settings()
    plan, gpus = host_plan()
    cluster = host_cluster()
    assert cluster is not None and settings.cluster_interface is not None
    instance = plan.instances[0]

    def address_of(name: str) -> str:
        """A node's address on the cluster network."""
        assert settings.cluster_interface is not None
        return cluster_address(name, settings.cluster_interface)

    node = ClusterNode(cluster, host.name, address_of(host.name), address_of(cluster.head), settings.cluster_interface)
    ray = cluster.backend == "ray"

    # Before anything changes on any node: the network, /dev/shm, clocks, image and disk of every node.
    reports = cluster_preflight(settings, cluster, instance)
    prepare_serving_host(settings, extra_helpers=CLUSTER_HELPERS)
    same_image_after_pull(settings, cluster, reports)

    primary = unit_name(instance.engine)  # the cluster's one server (engines serving across nodes: vLLM)
    # Units of a single box or of the other backend: retired, so switching converges.
    extras = prepared_fact(host, FindFiles, path=UNIT_DIR, fname=f"{primary}-*.service", maxdepth=1) or []
    for path in sorted(extras):
        retire_service(path, f"{CONFIG_DIR}/{path.rsplit('/', 1)[1].removesuffix('.service')}.env")
    if not ray and prepared_fact(host, File, path=f"{UNIT_DIR}/{RAY_UNIT}.service"):
        retire_service(f"{UNIT_DIR}/{RAY_UNIT}.service", f"{CONFIG_DIR}/{RAY_UNIT}.env")
    serves_here = node.is_head or not ray  # with Ray only the head runs vllm serve
    if not serves_here and prepared_fact(host, File, path=f"{UNIT_DIR}/{primary}.service"):
        retire_service(f"{UNIT_DIR}/{primary}.service", f"{CONFIG_DIR}/{primary}.env")

    service = engine_service(settings, instance, len(gpus), node)
    env = install_env_file(service)  # the weights download reads HF_TOKEN from it
    # Every node loads its own stage from its own disk: each downloads (in parallel) and checks free space first.
    weights_before_start(settings, service, instance)

    if ray:
        ray_version = prepared_fact(host, ImageRayVersion, image=settings.vllm_image)
        if ray_version == "":
            raise PyinfraError(f"host {host.name!r}: {settings.vllm_image} has no Ray (vLLM images from 0.18 on no "
                               "longer ship it, vllm-project/vllm#36170): use cluster_backend 'mp' or an image with "
                               "Ray")
        if ray_version is None:  # pulled in this run: checked once it is here
            image_has_ray(name=f"{settings.vllm_image} carries Ray", image=settings.vllm_image)
        # Ray owns the modes inside its session directory (/tmp/ray in the containers): only make sure it exists.
        files.directory(name="Ray session directory", path=f"{settings.data_dir}/ray")
        ray_unit = ray_service(settings, node, len(gpus), unified=any(g.unified for g in gpus))
        install_service(ray_unit, install_env_file(ray_unit))
        expected = {address_of(n): n for n in cluster.nodes}
        alive = prepared_fact(host, RayClusterNodes, container=RAY_CONTAINER) if node.is_head else {}
        # Wait on a first start, or when Ray is missing nodes or GPUs now (this run may be starting them again);
        # a healthy cluster is left alone, so a re-run changes nothing.
        if node.is_head and (alive is None or any(alive.get(a, 0) < len(gpus) for a in expected)):
            ray_cluster_ready(
                name=f"Ray cluster {cluster.name}: every node and GPU joined",
                helper=RAY_WAIT,
                container=RAY_CONTAINER,
                nodes=expected,
                gpus_per_node=len(gpus),
                timeout=settings.cluster_join_timeout,
            )

    came_up = install_service(service, env) if serves_here else None

    if node.is_head and not ray and came_up is not None:
        # The head serves once every rank joined its torch.distributed port; it waits when it (re)starts or when a
        # worker is missing now, and names the workers that do not come.
        workers = {address_of(n): n for n in cluster.workers}
        joined = prepared_fact(host, TcpPeers, port=settings.cluster_port)
        missing_now = [a for a in workers if a not in joined]
        mp_cluster_ready(
            name=f"mp cluster {cluster.name}: every worker joined the head",
            helper=MP_WAIT,
            workers=workers,
            port=settings.cluster_port,
            timeout=settings.cluster_join_timeout,
            **({} if missing_now else {"_if": came_up}),
        )

    if node.is_head and came_up is not None:
        serving_checks(settings, service, instance, came_up, loading=f" across {len(cluster.nodes)} nodes")
