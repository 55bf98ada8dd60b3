"""The whole reasoning stack on every host of the inventory.

    pyinfra inventories/home.py deploys/reasoning.py

Settings of every host are validated and every host's serving plan is made before any host is changed.
Each layer is also a deploy of its own (``pyinfra inventories/home.py deploys/docker.py``).
"""

from pyinfra import local

from reasoning_stack.context import check_os, host_plan, host_settings

host_settings()  # validates every host of the inventory, before any operation exists
check_os()
host_plan()  # refuses a model that cannot fit, with the numbers, before any host is changed

local.include("./docker.py")
local.include("./nvidia.py")
local.include("./vllm.py")
local.include("./openwebui.py")
