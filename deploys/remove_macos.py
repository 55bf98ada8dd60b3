"""Take the stack off an Apple Silicon Mac: its launchd jobs and plists, virtual environments, helpers, config and

    pyinfra inventories/home.py deploys/remove.py   # picks this file for a Mac

The deploy itself is ``reasoning_stack.deploys.remove_from_mac``; this file is what the pyinfra CLI runs.
"""

from reasoning_stack.deploys import remove_from_mac

remove_from_mac()
