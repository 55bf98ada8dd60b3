"""Take the stack off a Linux host: its systemd units, containers' images, helpers, config and secrets.

    pyinfra inventories/home.py deploys/remove.py   # picks this file for a Linux host

The deploy itself is ``reasoning_stack.deploys.remove_from_linux``; this file is what the pyinfra CLI runs.
"""

from reasoning_stack.deploys import remove_from_linux

remove_from_linux()
