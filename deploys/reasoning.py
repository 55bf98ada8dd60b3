"""The whole reasoning stack on every host of the inventory.

    pyinfra inventories/home.py deploys/reasoning.py

Settings of every host are validated and every host's serving plan is made before any host is changed.
Each layer is also a deploy of its own (``pyinfra inventories/home.py deploys/docker.py``).
"""

import io

from pyinfra import host, local
from pyinfra.operations import files

from reasoning_stack.context import check_os, host_cluster, host_is_mac, host_plan, host_settings
from reasoning_stack.status import MANIFEST, manifest_text, status_manifest

host_settings()  # validates every host of the inventory, before any operation exists
mac = host_is_mac()  # an Apple Silicon Mac (engine mlx) has a deploy of its own
if not mac:
    check_os()
host_plan()  # refuses a model that cannot fit, with the numbers, before any host is changed

if mac:
    local.include("./macos.py")
else:
    local.include("./docker.py")
    local.include("./nvidia.py")
    local.include("./firewall.py")  # the stack's ports are filtered before its services start
    # A cluster node serves its part of the cluster's one model; any other host serves its own models.
    local.include("./cluster.py" if host_cluster() else "./serving.py")
    local.include("./openwebui.py")

# What this host now runs, for `reasoning-stack status` (no secret in it).
manifest = status_manifest(host_settings(), host_plan()[0], host.name, host_cluster(), mac=mac)
files.put(name="Status manifest", src=io.StringIO(manifest_text(manifest)), dest=MANIFEST, mode="600")
