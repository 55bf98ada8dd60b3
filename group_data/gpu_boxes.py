# Settings for the hosts in the gpu_boxes group (inventories/home.py). They override group_data/all.py.
# Every setting is listed in docs/settings.md; `reasoning-stack check inventories/home.py` validates them.

# Declare the GPU so `reasoning-stack plan` works before the driver is installed; the deploy checks it
# against nvidia-smi once the driver is there.
gpu_profile = "rtx-4090"
gpu_count = 1

model = "auto"
