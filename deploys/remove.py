"""Take the stack off every host of the inventory: its services, units, helpers, config and images.

    pyinfra inventories/home.py deploys/remove.py
    pyinfra inventories/home.py deploys/remove.py --data remove_weights=true --data remove_openwebui_data=true

Model weights and Open WebUI's data (accounts, chats) stay unless asked for, each on its own; the NVIDIA driver
stays unless ``remove_driver`` is set; Docker stays. A second run changes nothing, and deploying again puts
the stack back (kept weights are not downloaded again). A Mac has a removal of its own (its launchd jobs and
virtual environments; Homebrew and its Python stay).
"""

from pyinfra import host, local

from reasoning_stack.context import host_settings
from reasoning_stack.facts import MacHardware

host_settings()  # validates every host of the inventory before any is changed
local.include("./remove_macos.py" if host.get_fact(MacHardware) is not None else "./remove_linux.py")
