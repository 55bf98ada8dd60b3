# The head of the cluster in inventories/cluster.py: it serves the OpenAI API (and Open WebUI).
cluster_role = "head"
