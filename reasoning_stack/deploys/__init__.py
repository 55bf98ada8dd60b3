"""The stack's pyinfra deploys as typed ``@deploy`` functions, to call from your own deploy file:

    from reasoning_stack.deploys import model_servers, open_webui, reasoning_stack

    reasoning_stack()      # everything, as `pyinfra INVENTORY deploys/reasoning.py` does
    open_webui()           # or one layer (each reads the host's validated settings and plan itself)
    open_webui(port=3001)  # a layer's typed arguments win over the host's data, checked as group_data is

Typed arguments, each defaulting to the host's setting of the same meaning and checked as that setting in group_data
is: ``reasoning_stack(model, engine, **other_settings)``, ``linux_stack`` and ``mac_stack`` alike (any setting by its
group_data name, for every layer), ``model_servers(model, engine, quantization, max_model_len, port)``,
``cluster_node(join_timeout)``, ``open_webui(port, listen, image, enabled)``, ``docker_engine(daemon_options)``,
``nvidia_gpus(driver, driver_branch, allow_reboot)``, ``stack_firewall(allow)``, ``stack_monitoring(enabled,
retention, grafana_port, prometheus_port)``, ``stack_https(mode, names, port, acme_email)`` and
``remove_from_linux(weights, openwebui_data, driver)``. An argument holds for the call it is given to and the layers
that call makes (``reasoning_stack(model=...)`` plans, serves, lists and proxies that model); every ``@deploy`` also
takes pyinfra's own (``_sudo=True``). ``reasoning-stack check`` and ``plan`` read group_data only.

``deploys/*.py`` at the top of the repository are the entry points the pyinfra CLI runs; each calls one of these.
"""

from reasoning_stack.deploys.cluster import cluster_node
from reasoning_stack.deploys.docker import docker_engine
from reasoning_stack.deploys.firewall import stack_firewall
from reasoning_stack.deploys.https import stack_https
from reasoning_stack.deploys.macos import mac_stack
from reasoning_stack.deploys.monitoring import stack_monitoring
from reasoning_stack.deploys.nvidia import nvidia_gpus
from reasoning_stack.deploys.remove_linux import remove_from_linux
from reasoning_stack.deploys.remove_macos import remove_from_mac
from reasoning_stack.deploys.serving import model_servers
from reasoning_stack.deploys.stack import linux_stack, reasoning_stack, remove_stack
from reasoning_stack.openwebui.deploy import open_webui

__all__ = ["cluster_node", "docker_engine", "linux_stack", "mac_stack", "model_servers", "nvidia_gpus", "open_webui",
           "reasoning_stack", "remove_from_linux", "remove_from_mac", "remove_stack", "stack_firewall", "stack_https",
           "stack_monitoring"]
