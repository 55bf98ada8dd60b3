# The workers of the cluster in inventories/cluster.py: each holds its pipeline stage of the model.
cluster_role = "worker"
