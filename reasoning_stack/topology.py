"""Clusters as the planner and the services see them: which hosts serve one model together, and one node's place
on the cluster network. Checked as a whole from the settings in ``reasoning_stack.cluster``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cluster:
    """The hosts of one cluster, the head first."""

    name: str
    head: str
    workers: tuple[str, ...]
    backend: str

    @property
    def nodes(self) -> tuple[str, ...]:
        return (self.head, *self.workers)

    def rank(self, host: str) -> int:
        """The node rank of ``host`` (the head is 0, workers in inventory order)."""
        return self.nodes.index(host)


@dataclass(frozen=True)
class ClusterNode:
    """One node of a cluster as the deploy sees it: its rank's host and the addresses on the cluster network."""

    cluster: Cluster
    host: str
    address: str  # this node's address on cluster_interface
    head_address: str
    interface: str

    @property
    def is_head(self) -> bool:
        return self.host == self.cluster.head

    def env_args(self) -> list[str]:
        """Every process of the node uses the cluster network's address and interface: when Ray and vLLM pick
        different addresses vLLM waits forever for its placement group (vllm-project/vllm#7815), and Gloo
        falls back to 127.0.0.1 without the interface names."""
        env = {"VLLM_HOST_IP": self.address, "NCCL_SOCKET_IFNAME": self.interface,
               "GLOO_SOCKET_IFNAME": self.interface}
        if self.cluster.backend == "ray":
            env.update(RAY_NODE_IP_ADDRESS=self.address, RAY_OVERRIDE_NODE_IP_ADDRESS=self.address)
        return [arg for key, value in env.items() for arg in ("--env", f"{key}={value}")]


RAY_UNIT = "reasoning-ray"  # a Ray cluster node's unit (cluster_backend ray), on every node
RAY_CONTAINER = "ray"
