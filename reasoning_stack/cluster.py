"""Clusters: hosts that serve one model together (pipeline parallel across nodes), checked as a whole.

A cluster is every host whose ``cluster`` setting names it. Before any host is touched: exactly one head;
every node with the same GPUs, image, model, weights path and backend (a model split across nodes needs
them identical: Ray refuses mixed versions, and each pipeline stage is planned for the same memory).
"""

from __future__ import annotations

from collections.abc import Mapping

from reasoning_stack.settings import StackSettings
from reasoning_stack.topology import Cluster
from reasoning_stack.validation import SettingError

__all__ = ["Cluster", "cluster_errors", "find_clusters"]

# Settings every node of a cluster must share, with why.
SAME_ON_EVERY_NODE = {
    "gpu_profile": "each pipeline stage is planned for the same GPUs",
    "gpu_count": "each pipeline stage is planned for the same GPUs",
    "gpu_indices": "each pipeline stage is planned for the same GPUs",
    "vllm_version": "every node must run the same vLLM release (its ranks meet, and its memory is planned, alike)",
    "vllm_image": "every node must run the identical image (Ray refuses mixed versions)",
    "model": "the nodes serve one model together",
    "quantization": "the nodes serve one model together",
    "max_model_len": "the nodes serve one model together",
    "min_context": "the nodes serve one model together",
    "kv_cache_dtype": "the nodes serve one model together",
    "gpu_memory_utilization": "each pipeline stage is planned for the same memory",
    "tensor_parallel_size": "the nodes serve one model together",
    "data_dir": "the weights must be at the same path on every node",
    "offline": "the weights must be at the same path on every node",
    "cluster_backend": "the nodes must use one way of spanning them",
    "cluster_port": "the nodes meet on one port",
    "ray_port": "the nodes meet on one port",
    "cluster_interface": "every node's address comes from the same cluster network",
}


def find_clusters(settings: Mapping[str, StackSettings]) -> dict[str, Cluster]:
    """Every cluster of an inventory's (validated, checked) settings, by name."""
    names = sorted({s.cluster for s in settings.values() if s.cluster})
    found = {}
    for name in names:
        members = [h for h, s in settings.items() if s.cluster == name]
        head = next(h for h in members if settings[h].cluster_role == "head")
        found[name] = Cluster(name, head, tuple(h for h in members if h != head), settings[head].cluster_backend)
    return found


def cluster_errors(settings: Mapping[str, StackSettings],
                   sources: Mapping[str, Mapping[str, str]] | None = None) -> list[SettingError]:
    """What stops a cluster before any host is touched: heads, and settings the nodes do not share."""
    sources = sources or {}
    errors: list[SettingError] = []
    for name in sorted({s.cluster for s in settings.values() if s.cluster}):
        members = [h for h, s in settings.items() if s.cluster == name]
        heads = [h for h in members if settings[h].cluster_role == "head"]
        if len(heads) != 1:
            found = f"{len(heads)} ({', '.join(heads)})" if heads else "none"
            for host in heads or members[:1]:
                errors.append(SettingError(host, "cluster_role", f"cluster {name!r} needs exactly one head, has "
                                           f"{found}; set cluster_role = 'worker' on the others",
                                           sources.get(host, {}).get("cluster_role", "")))
            continue
        if len(members) == 1:
            errors.append(SettingError(heads[0], "cluster", f"cluster {name!r} has only its head; add its workers "
                                       "(cluster = " f"{name!r}, cluster_role = 'worker') or remove cluster",
                                       sources.get(heads[0], {}).get("cluster", "")))
        head = settings[heads[0]]
        for host in members:
            for key, why in SAME_ON_EVERY_NODE.items():
                mine, theirs = getattr(settings[host], key), getattr(head, key)
                if key == "vllm_image" and settings[host].vllm_version != head.vllm_version:
                    continue  # the image follows the release, whose difference is said already
                if mine != theirs:
                    errors.append(SettingError(host, key, f"{mine!r} differs from the head {heads[0]!r} "
                                               f"({theirs!r}): {why}", sources.get(host, {}).get(key, "")))
    return errors
