"""Docker engine from the distribution's packages, with the daemon options from group_data.

The deploy itself is ``reasoning_stack.deploys.docker_engine``; this file is what the pyinfra CLI runs.
"""

from reasoning_stack.deploys import docker_engine

docker_engine()
