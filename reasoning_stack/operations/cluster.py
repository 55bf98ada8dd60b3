"""vLLM's own multi-node mode (cluster_backend mp): the head waits for every worker rank and names the missing."""

from __future__ import annotations

import json
import shlex

from pyinfra.api import operation

from reasoning_stack.operations.streamed import StreamedCommand


@operation(is_idempotent=False)
def mp_cluster_ready(helper: str, workers: dict[str, str], port: int, timeout: int):
    """
    On an mp cluster's head: wait until every worker holds a connection to the head's torch.distributed port
    (``--master-port``), printing who joined; fail naming the workers still missing when ``timeout`` is up.

    + helper: path of the mp-wait helper on the head
    + workers: worker address -> host name
    + port: the head's torch.distributed port (cluster_port)
    + timeout: seconds to wait

    .. code:: python

        mp_cluster_ready(helper=MP_WAIT, workers={"10.0.0.12": "gpu-2"}, port=29501, timeout=600)
    """
    args = [json.dumps(workers, sort_keys=True), str(int(port)), str(int(timeout))]
    yield StreamedCommand(f"python3 {shlex.quote(helper)} " + " ".join(shlex.quote(a) for a in args))
