# One GPU box at home. Replace the placeholder address (a documentation address nothing answers on)
# with your box's, then: reasoning-stack check inventories/home.py && pyinfra inventories/home.py deploys/reasoning.py
#
# Each list is a group; its settings live in group_data/<group>.py, a host's own settings in its dict.
gpu_boxes = [
    ("gpu-box", {"ssh_hostname": "192.0.2.10", "ssh_user": "ubuntu", "_sudo": True}),
    # A second box, say a dual-4090 workstation, is one more line:
    # ("workstation", {"ssh_hostname": "192.0.2.11", "ssh_user": "me", "_sudo": True, "gpu_count": 2}),
]

# A group of its own gets its own group_data file (group_data/lab.py):
# lab = [("lab-1", {"ssh_hostname": "192.0.2.21"}), ("lab-2", {"ssh_hostname": "192.0.2.22"})]
