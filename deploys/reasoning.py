"""The whole reasoning stack on every host of the inventory.

    pyinfra inventories/home.py deploys/reasoning.py

The deploy itself is ``reasoning_stack.deploys.reasoning_stack``; this file is what the pyinfra CLI runs.
"""

from reasoning_stack.deploys import reasoning_stack

reasoning_stack()
