"""A cluster: hosts that serve one model together, their roles, network and backend."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from reasoning_stack.settings.common import NAME_RE


class ClusterSettings(BaseModel):
    """Cluster (one model across several hosts)"""

    cluster: str | None = Field(
        None,
        description="Name of the cluster this host belongs to: every host with the same name serves one model "
        "together (pipeline parallel across them); None = a box of its own.",
    )

    cluster_role: Literal["head", "worker"] | None = Field(
        None, description="head (serves the API; exactly one per cluster) or worker."
    )

    cluster_interface: str | None = Field(
        None,
        description="Network interface of the cluster network (e.g. 'enp65s0'); its address is this node's, "
        "for Ray, vLLM, NCCL and Gloo alike. Keep it a private network: the traffic is unencrypted.",
    )

    cluster_backend: Literal["mp", "ray"] = Field(
        "mp",
        description="How vLLM spans the nodes: mp (vLLM's own multi-node mode, --nnodes/--node-rank) or ray "
        "(a Ray cluster the deploy forms, --distributed-executor-backend ray). See the README for the choice.",
    )

    cluster_port: int = Field(
        29501, ge=1, le=65535,
        description="mp: the head's torch.distributed port (--master-port). ray: the Ray head's GCS port is "
        "ray_port.",
    )

    ray_port: int = Field(6379, ge=1, le=65535, description="Port of the Ray head (GCS) with cluster_backend ray.")

    cluster_join_timeout: int = Field(
        600, ge=10, le=7200, description="Seconds the head waits for every node to join: with Ray, every node and "
        "GPU in the Ray cluster; with mp, every worker connected to the head's cluster_port. The missing "
        "nodes are named (at most 2 hours)."
    )

    def _check_cluster(self) -> None:
        """A cluster member needs its role and interface; cluster settings without a cluster are a mistake."""
        if self.cluster is None:
            for key in ("cluster_role", "cluster_interface"):
                if getattr(self, key) is not None:
                    raise ValueError(f"{key} is set but cluster is not: name the cluster this host belongs to "
                                     "(cluster = 'r1'), or remove it")
            return
        if not NAME_RE.match(self.cluster):
            raise ValueError(f"cluster {self.cluster!r}: use lower-case letters, digits and '-', e.g. 'r1'")
        if self.cluster_role is None:
            raise ValueError(f"cluster_role is not set for a host of cluster {self.cluster!r}: 'head' or 'worker'")
        if not self.cluster_interface or not re.match(r"^[A-Za-z0-9_.:@-]{1,15}$", self.cluster_interface):
            raise ValueError(f"cluster_interface: name the network interface of cluster {self.cluster!r} "
                             "(as `ip -br addr` lists it, e.g. 'enp65s0')")
        if self.extra_models:
            raise ValueError("extra_models: a cluster serves one model across its nodes; put extra models on a "
                             "box of their own")
