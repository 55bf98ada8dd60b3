# A cluster for full DeepSeek-R1: two 8x H100 servers serving one model, pipeline parallel across them.
# The addresses are documentation placeholders that nothing answers on; replace them with your machines'.
#   reasoning-stack check inventories/cluster.py && reasoning-stack plan inventories/cluster.py
#   pyinfra inventories/cluster.py deploys/reasoning.py
#
# Each group has its own settings file: group_data/cluster_head.py, group_data/cluster_workers.py, and
# group_data/r1_cluster.py for what every node shares (model, GPUs, cluster network). Add a worker by adding
# a line to cluster_workers.
cluster_head = [
    ("r1-head", {"ssh_hostname": "192.0.2.31", "ssh_user": "ubuntu", "_sudo": True}),
]
cluster_workers = [
    ("r1-worker-1", {"ssh_hostname": "192.0.2.32", "ssh_user": "ubuntu", "_sudo": True}),
]
r1_cluster = cluster_head + cluster_workers
