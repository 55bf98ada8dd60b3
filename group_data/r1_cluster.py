# What every node of the cluster in inventories/cluster.py shares. Every node must have the same GPUs, image,
# model and data_dir; `reasoning-stack check` refuses a cluster whose nodes differ.
cluster = "r1"
# The private network the nodes talk over (as `ip -br addr` names it on the nodes). Ray, vLLM, NCCL and Gloo
# all use this interface's address: the traffic between nodes is unencrypted, keep it off untrusted networks.
cluster_interface = "enp65s0"
# mp: vLLM's own multi-node mode (the default; see the README for why), or ray.
cluster_backend = "mp"

gpu_profile = "h100"
gpu_count = 8
model = "deepseek-r1"
