"""The model servers, under the name this layer had before it served every engine: ``deploys/serving.py``.

The deploy itself is ``reasoning_stack.deploys.model_servers``; this file is what the pyinfra CLI runs.
"""

from reasoning_stack.deploys import model_servers

model_servers()
