"""A Ray cluster: the image carries Ray, every node and GPU joined."""

from __future__ import annotations

import json
import shlex

from pyinfra.api import operation

from reasoning_stack.operations.streamed import StreamedCommand


@operation(is_idempotent=False)
def image_has_ray(image: str):
    """
    Check that an image carries Ray (``import ray``): the Ray backend runs ``ray start`` from the vLLM image,
    and vLLM images from 0.18 on no longer ship Ray (vllm-project/vllm#36170).

    + image: the vLLM image every node runs

    .. code:: python

        image_has_ray(image="vllm/vllm-openai:v0.17.1")
    """
    quoted = shlex.quote(image)
    yield StreamedCommand(
        f"if v=$(docker run --rm --entrypoint python3 {quoted} -c 'import ray; print(ray.__version__)' 2>/dev/null);"
        f" then echo \"Ray $v in {image}\"; else echo \"{image} has no Ray (vLLM images from 0.18 on no longer ship "
        "it): use cluster_backend 'mp' or an image with Ray installed\" >&2; exit 1; fi"
    )


@operation(is_idempotent=False)
def ray_cluster_ready(helper: str, container: str, nodes: dict[str, str], gpus_per_node: int, timeout: int):
    """
    Wait until the Ray cluster reports every expected node, each with its GPUs (Ray's own state API, run in the
    head's Ray container), printing progress; fail naming the nodes that are missing.

    + helper: path of the ray-wait helper on the host
    + container: the Ray head's container
    + nodes: node address -> host name, every node of the cluster
    + gpus_per_node: GPUs each node declares to Ray
    + timeout: seconds to wait

    .. code:: python

        ray_cluster_ready(helper=RAY_WAIT, container="ray", nodes={"10.0.0.1": "head"}, gpus_per_node=8,
                          timeout=300)
    """
    args = [json.dumps(nodes, sort_keys=True), str(int(gpus_per_node)), str(int(timeout))]
    name = shlex.quote(container)
    # The head's container may still be starting (a large image takes a while to unpack): wait for it first.
    yield StreamedCommand(
        f"end=$(( $(date +%s) + {int(timeout)} )); "
        f"until [ \"$(docker inspect --format '{{{{.State.Running}}}}' {name} 2>/dev/null)\" = true ]; do "
        f"if [ $(date +%s) -ge $end ]; then echo 'the Ray head container {container} is not running' >&2; exit 1; fi; "
        "echo 'waiting for the Ray head container to start'; sleep 3; done; "
        f"docker exec -i {name} python3 - " + " ".join(shlex.quote(a) for a in args) + f" < {shlex.quote(helper)}")
