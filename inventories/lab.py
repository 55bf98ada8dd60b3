# A small lab: a single RTX 4090 box, a dual-4090 workstation and an 8x H100 server. The addresses are
# documentation placeholders that nothing answers on; replace them with your machines'.
#   reasoning-stack plan inventories/lab.py     (the plan of each box, no connection)
#
# Hardware and model are set on each host here; a group_data/lab.py file would set them for all three.
lab = [
    ("gpu-box", {"ssh_hostname": "192.0.2.10", "gpu_profile": "rtx-4090", "gpu_count": 1}),
    # a model that fits one 4090 runs as two replicas (or tensor parallel 2, whichever the rule picks)
    ("workstation", {"ssh_hostname": "192.0.2.11", "gpu_profile": "rtx-4090", "gpu_count": 2,
                     "model": "qwen3-14b", "quantization": "awq"}),
    # model: auto picks the strongest model that reaches min_context on all eight GPUs
    ("lab", {"ssh_hostname": "192.0.2.12", "gpu_profile": "h100", "gpu_count": 8}),
]
