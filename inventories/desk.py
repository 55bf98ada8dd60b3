# A desk: one DGX Spark and one Apple Silicon Mac, each serving a reasoning model with Open WebUI in front. The
# addresses are documentation placeholders that nothing answers on; replace them with your machines'.
#   reasoning-stack check inventories/desk.py && reasoning-stack plan inventories/desk.py
#   pyinfra inventories/desk.py deploys/reasoning.py
#
# Hardware and engine are set on each host here. The Spark keeps the driver DGX OS ships and pulls the aarch64
# vLLM image; the Mac runs MLX-LM and Open WebUI as launchd jobs, as the account you connect with. model "auto" is
# the planner's pick for each (`plan` names it: gpt-oss-120b on both today); set a slug or repo id to choose.
desk = [
    ("spark", {"ssh_hostname": "192.0.2.41", "ssh_user": "ubuntu", "_sudo": True, "gpu_profile": "gb10",
               "nvidia_driver": "preinstalled", "model": "auto"}),
    ("mac", {"ssh_hostname": "192.0.2.42", "ssh_user": "me", "_sudo": True, "engine": "mlx",
             "gpu_profile": "m4-max-128", "model": "auto"}),
]
