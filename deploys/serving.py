"""The model servers: one systemd unit per planned instance (the primary model, plus each of extra_models), each

The deploy itself is ``reasoning_stack.deploys.model_servers``; this file is what the pyinfra CLI runs.
"""

from reasoning_stack.deploys import model_servers

model_servers()
