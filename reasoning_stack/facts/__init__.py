"""pyinfra facts this stack reads from hosts, one module per tool they ask (nvidia-smi and the kernel, apt, Docker,
the Hugging Face cache, the cluster network, the stack's own manifest, macOS)."""

from reasoning_stack.facts.apt import (
    AptSources,
    DpkgInterrupted,
    HeldPackages,
    conflicting_sources,
    debian_archive,
)
from reasoning_stack.facts.cluster import (
    InterfaceAddress,
    NodeClock,
    RayClusterNodes,
    RouteInterface,
    ShmBytes,
    TcpPeers,
    TcpReach,
    peer_address,
)
from reasoning_stack.facts.docker import (
    DockerImageId,
    DockerRegistryLogins,
    ImageRayVersion,
)
from reasoning_stack.facts.files import (
    DirectoryOwner,
    FileDigest,
)
from reasoning_stack.facts.macos import (
    MacHardware,
)
from reasoning_stack.facts.nvidia import (
    NvidiaGpus,
    NvidiaKernelState,
    NvidiaPciGpus,
    NvidiaTopology,
    SecureBoot,
)
from reasoning_stack.facts.stack import (
    StackManifest,
    WebuiDatabaseState,
)
from reasoning_stack.facts.systemd import (
    UnitState,
)
from reasoning_stack.facts.weights import (
    FreeDiskBytes,
    HfWeights,
    hf_repo_folder,
    weights_marker,
)

__all__ = [
    "AptSources",
    "DockerImageId",
    "DockerRegistryLogins",
    "DpkgInterrupted",
    "DirectoryOwner",
    "FileDigest",
    "FreeDiskBytes",
    "HeldPackages",
    "HfWeights",
    "ImageRayVersion",
    "InterfaceAddress",
    "MacHardware",
    "NvidiaGpus",
    "NvidiaKernelState",
    "NvidiaPciGpus",
    "NvidiaTopology",
    "NodeClock",
    "RayClusterNodes",
    "RouteInterface",
    "ShmBytes",
    "TcpPeers",
    "TcpReach",
    "SecureBoot",
    "StackManifest",
    "WebuiDatabaseState",
    "UnitState",
    "conflicting_sources",
    "debian_archive",
    "hf_repo_folder",
    "peer_address",
    "weights_marker",
]
