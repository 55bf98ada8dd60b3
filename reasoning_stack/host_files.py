"""Every file the deploy would write on a host, as ``{path: text}``: what ``reasoning-stack render`` shows.

Pure functions of (settings, host plan): nothing is contacted. Each secret is replaced by a placeholder that names
its environment variable before anything is rendered, so no secret reaches the output. Facts that only a host can
tell (a cluster node's address on its cluster interface) are placeholders too.
"""

from __future__ import annotations

import json

from pydantic import SecretStr

from reasoning_stack import engines
from reasoning_stack.engines.mlx import VERSION as MLX_VERSION
from reasoning_stack.firewall import TABLE, firewall_rules
from reasoning_stack.macos import ENV_EXEC, helper_text, mlx_job, openwebui_job
from reasoning_stack.planning.types import HostPlan
from reasoning_stack.render import render
from reasoning_stack.services import (
    CLOUD_MODELS,
    CONFIG_DIR,
    OPENWEBUI_MODELS,
    OPENWEBUI_MODELS_JSON,
    OPENWEBUI_SIGNUP,
    RAY_WAIT,
    SMOKE_TEST,
    UNIT_DIR,
    WAIT_HTTP,
    ClusterNode,
    engine_service,
    openwebui_service,
    ray_service,
)
from reasoning_stack.settings import SECRET_SETTINGS, StackSettings
from reasoning_stack.status import MANIFEST, manifest_text, status_manifest
from reasoning_stack.topology import Cluster
from reasoning_stack.webui import model_entries

FIREWALL_UNIT = "reasoning-firewall"
FIREWALL_RULES = f"{CONFIG_DIR}/firewall.nft"


def placeholder(variable: str) -> str:
    """What stands for a secret in rendered files: the variable it is read from."""
    return f"<secret from ${variable}>"


def without_secrets(settings: StackSettings) -> StackSettings:
    """``settings`` with every secret that is set replaced by its placeholder (cloud API keys included)."""
    update: dict[str, object] = {}
    for secret, env_setting in SECRET_SETTINGS.items():
        if getattr(settings, secret) is not None:
            update[secret] = SecretStr(placeholder(getattr(settings, env_setting)))
    if settings.openwebui_cloud:
        update["openwebui_cloud"] = [c.model_copy(update={"api_key": SecretStr(placeholder(c.key_variable))})
                                     for c in settings.openwebui_cloud]
    return settings.model_copy(update=update)


def address_placeholder(node: str, interface: str) -> str:
    """A cluster node's address, which only the node's facts tell."""
    return f"<address-of-{node}-on-{interface}>"


def _helpers(paths_templates: list[tuple[str, str]], mac: bool = False) -> dict[str, str]:
    return {path: helper_text(template) if mac else render(template) for path, template in paths_templates}


def linux_files(settings: StackSettings, plan: HostPlan, host_gpu_count: int, host_name: str,
                cluster: Cluster | None = None) -> dict[str, str]:
    """The files a Linux host gets (units, env files, options, helpers, Open WebUI, firewall, status manifest)."""
    settings = without_secrets(settings)
    out: dict[str, str] = {}
    helpers = [(WAIT_HTTP, "wait-http.py.j2"), (SMOKE_TEST, "smoke-test.py.j2")]
    node = None
    if cluster is not None:
        assert settings.cluster_interface is not None
        iface = settings.cluster_interface
        node = ClusterNode(cluster, host_name, address_placeholder(host_name, iface),
                           address_placeholder(cluster.head, iface), iface)
        helpers.append((RAY_WAIT, "ray-wait.py.j2"))
    for engine in dict.fromkeys(engines.get(i.engine) for i in plan.instances):
        helpers += [h for h in engine.helpers() if h not in helpers]
    head = cluster is None or cluster.head == host_name
    for instance in plan.instances:
        if cluster is not None and cluster.backend == "ray" and not head:
            break  # with Ray only the head runs the engine
        service = engine_service(settings, instance, host_gpu_count, node)
        out[service.unit_path] = service.unit_text
        out[service.env_path] = service.env_text
        if service.secret_path:
            out[service.secret_path] = service.secret_text
    if node is not None and node.cluster.backend == "ray":
        ray = ray_service(settings, node, host_gpu_count)
        out[ray.unit_path] = ray.unit_text
        out[ray.env_path] = ray.env_text
    if settings.openwebui_enabled and head:
        helpers += [(OPENWEBUI_SIGNUP, "openwebui-signup.py.j2"), (CLOUD_MODELS, "cloud-models.py.j2"),
                    (OPENWEBUI_MODELS, "openwebui-models.py.j2")]
        webui = openwebui_service(settings, plan)
        out[webui.unit_path] = webui.unit_text
        out[webui.env_path] = webui.env_text
        if settings.openwebui_admin_email is not None:
            out[OPENWEBUI_MODELS_JSON] = json.dumps(model_entries(plan), indent=1, sort_keys=True) + "\n"
    nodes: tuple[str, ...] = ()
    if cluster is not None and settings.firewall_allow is not None:
        assert settings.cluster_interface is not None
        nodes = tuple(address_placeholder(n, settings.cluster_interface) for n in cluster.nodes)
    rules = firewall_rules(settings, plan, host_name, cluster, nodes)
    if rules is not None:
        out[FIREWALL_RULES] = rules.text()
        out[f"{UNIT_DIR}/{FIREWALL_UNIT}.service"] = render("firewall.service.j2", table=TABLE,
                                                           rules_path=FIREWALL_RULES)
    out[MANIFEST] = manifest_text(status_manifest(settings, plan, host_name, cluster))
    out.update(_helpers(helpers))
    return dict(sorted(out.items()))


def mac_files(settings: StackSettings, plan: HostPlan, host_name: str, user: str) -> dict[str, str]:
    """The files an Apple Silicon Mac gets (launchd jobs, env files, helpers, Open WebUI entries, manifest)."""
    settings = without_secrets(settings)
    instance = plan.instances[0]
    hf_token = settings.hf_token.get_secret_value() if settings.hf_token else ""
    out = {f"{CONFIG_DIR}/{instance.unit}.env": "# Managed by reasoning-stack. Read by the weights download only.\n"
                                                f"HF_TOKEN={hf_token}\n"}
    job = mlx_job(settings, instance, user, MLX_VERSION)
    out[job.plist_path] = job.plist_text
    helpers = [(WAIT_HTTP, "wait-http.py.j2"), (SMOKE_TEST, "smoke-test.py.j2"), (ENV_EXEC, "env-exec.py.j2"),
               (OPENWEBUI_SIGNUP, "openwebui-signup.py.j2"), (OPENWEBUI_MODELS, "openwebui-models.py.j2")]
    if settings.openwebui_enabled:
        webui, env_path, env_text = openwebui_job(settings, openwebui_service(settings, plan), user)
        out[webui.plist_path] = webui.plist_text
        out[env_path] = env_text
        if settings.openwebui_admin_email is not None:
            out[OPENWEBUI_MODELS_JSON] = json.dumps(model_entries(plan), indent=1, sort_keys=True) + "\n"
    out[MANIFEST] = manifest_text(status_manifest(settings, plan, host_name, None, mac=True))
    out.update(_helpers(helpers, mac=True))
    return dict(sorted(out.items()))
