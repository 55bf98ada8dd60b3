# A desk: one DGX Spark and one Apple Silicon Mac, each serving a reasoning model with Open WebUI in front. The
# addresses are documentation placeholders that nothing answers on; replace them with your machines'.
#   reasoning-stack check inventories/desk.py && reasoning-stack plan inventories/desk.py
#   pyinfra inventories/desk.py deploys/reasoning.py
#
# Hardware and engine are set on each host here. The Spark keeps the driver DGX OS ships and pulls the aarch64
# vLLM image; the Mac runs MLX-LM and Open WebUI as launchd jobs, as the account you connect with.
desk = [
    ("spark", {"ssh_hostname": "192.0.2.41", "ssh_user": "ubuntu", "_sudo": True, "gpu_profile": "gb10",
               "nvidia_driver": "preinstalled", "model": "deepseek-r1-distill-llama-70b"}),
    ("mac", {"ssh_hostname": "192.0.2.42", "ssh_user": "me", "_sudo": True, "engine": "mlx",
             "gpu_profile": "m4-max-128", "model": "qwq-32b"}),
]
