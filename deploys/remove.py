"""Take the stack off every host of the inventory: its services, units, helpers, config and images.

    pyinfra inventories/home.py deploys/remove.py
    pyinfra inventories/home.py deploys/remove.py --data remove_weights=true --data remove_openwebui_data=true

The deploy itself is ``reasoning_stack.deploys.remove_stack``; this file is what the pyinfra CLI runs.
"""

from reasoning_stack.deploys import remove_stack

remove_stack()
