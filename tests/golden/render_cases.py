"""An inventory of the host shapes ``tests/golden/renders.json.gz`` pins: the example inventories' shapes and the
engines, extra models, thinking switch, sampling, firewall, cloud connection and Ray cluster that the tests use.
Placeholder addresses (TEST-NET-1); nothing connects to them. Secrets come from the environment the golden test
sets (``tests/test_golden.py``)."""

single = [
    ("plain-4090", {"ssh_hostname": "192.0.2.101", "gpu_profile": "rtx-4090"}),
    ("dual-4090", {"ssh_hostname": "192.0.2.102", "gpu_profile": "rtx-4090", "gpu_count": 2,
                   "model": "qwq-32b", "quantization": "awq",
                   "extra_models": [{"name": "batch", "model": "qwen3-8b", "port": 30000, "engine": "sglang"}]}),
    ("shared-h100", {"ssh_hostname": "192.0.2.103", "gpu_profile": "h100", "model": "qwen3-14b",
                     "thinking_default": False, "sampling_overrides": {"temperature": 0.6, "top_p": 0.95},
                     "extra_models": [{"name": "fast", "model": "deepseek-r1-distill-qwen-7b", "port": 8001}]}),
    ("ollama-box", {"ssh_hostname": "192.0.2.104", "gpu_profile": "rtx-8gb", "engine": "ollama",
                    "model": "qwen3-8b"}),
    ("open-box", {"ssh_hostname": "192.0.2.105", "gpu_profile": "rtx-5090", "api_listen": "0.0.0.0",
                  "firewall_allow": ["192.168.1.0/24"], "openwebui_task_model": "qwen3-8b", "model": "qwen3-8b",
                  "openwebui_cloud": [{"name": "deepseek", "base_url": "https://api.deepseek.com/v1",
                                       "models": ["deepseek-reasoner"]}]}),
    ("a6000-gpus", {"ssh_hostname": "192.0.2.106", "gpu_profile": "a6000", "gpu_count": 4, "gpu_indices": [0, 1],
                    "engine": "auto", "openwebui_enabled": False}),
    ("mac-mini", {"ssh_hostname": "192.0.2.107", "ssh_user": "me", "engine": "mlx", "gpu_profile": "m4-max-64",
                  "model": "qwen3-8b", "thinking_default": False}),
]
ray = [
    ("ray-head", {"ssh_hostname": "192.0.2.111", "gpu_profile": "h100", "gpu_count": 8, "cluster": "big",
                  "cluster_role": "head", "cluster_interface": "ens5", "cluster_backend": "ray",
                  "model": "deepseek-r1", "firewall_allow": ["10.0.0.0/8"]}),
    ("ray-worker", {"ssh_hostname": "192.0.2.112", "gpu_profile": "h100", "gpu_count": 8, "cluster": "big",
                    "cluster_role": "worker", "cluster_interface": "ens5", "cluster_backend": "ray",
                    "model": "deepseek-r1", "firewall_allow": ["10.0.0.0/8"]}),
]
