"""NVIDIA driver and Container Toolkit: from a fresh GPU box to "docker run --gpus all works".

The deploy itself is ``reasoning_stack.deploys.nvidia_gpus``; this file is what the pyinfra CLI runs.
"""

from reasoning_stack.deploys import nvidia_gpus

nvidia_gpus()
