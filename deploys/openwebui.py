"""Open WebUI as a systemd unit: pinned image, data kept on the host, wired to this host's vLLM; its admin

The deploy itself is ``reasoning_stack.deploys.open_webui``; this file is what the pyinfra CLI runs.
"""

from reasoning_stack.deploys import open_webui

open_webui()
