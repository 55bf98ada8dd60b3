"""An Apple Silicon Mac: MLX-LM serving the planned model and Open WebUI in front of it, as launchd jobs.

    pyinfra inventories/home.py deploys/reasoning.py   # picks this file for a Mac (engine mlx)

The deploy itself is ``reasoning_stack.deploys.mac_stack``; this file is what the pyinfra CLI runs.
"""

from reasoning_stack.deploys import mac_stack

mac_stack()
