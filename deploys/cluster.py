"""One model across the nodes of a cluster (pipeline parallel between them), for cluster hosts instead of vllm.py.

The deploy itself is ``reasoning_stack.deploys.cluster_node``; this file is what the pyinfra CLI runs.
"""

from reasoning_stack.deploys import cluster_node

cluster_node()
