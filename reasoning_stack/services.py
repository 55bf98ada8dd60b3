"""What goes on a host for the services: paths, unit names and the rendered text of every file.

Pure functions of (settings, plan): the deploy files write these with pyinfra, the tests read them directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from reasoning_stack.instances import PRIMARY_UNIT, HostPlan, Instance
from reasoning_stack.plan import ServingPlan
from reasoning_stack.render import render
from reasoning_stack.settings import StackSettings

CONFIG_DIR = "/etc/reasoning-stack"
UNIT_DIR = "/etc/systemd/system"
HELPER_DIR = "/usr/local/libexec/reasoning-stack"
WAIT_HTTP = f"{HELPER_DIR}/wait-http"
SMOKE_TEST = f"{HELPER_DIR}/smoke-test"
OPENWEBUI_UNIT = "reasoning-openwebui"
OPENWEBUI_SECRET_ENV = f"{CONFIG_DIR}/openwebui-secret.env"


@dataclass(frozen=True)
class ServiceFiles:
    """One systemd service: its unit name, unit text, env-file path and text, container and URLs."""

    unit: str
    unit_text: str
    env_path: str
    env_text: str
    container: str
    image: str
    health_url: str
    ready_url: str

    @property
    def unit_path(self) -> str:
        return f"{UNIT_DIR}/{self.unit}.service"


def local_url(listen: str, port: int) -> str:
    """The URL to reach a service on the host itself."""
    address = "127.0.0.1" if listen in ("0.0.0.0", "127.0.0.1") else listen
    if listen == "::":
        address = "::1"
    if ":" in address:
        address = f"[{address}]"
    return f"http://{address}:{port}"


def gpu_request(plan: ServingPlan, host_gpu_count: int) -> str:
    """The ``docker run --gpus`` value for the GPUs the plan assigns (``host_gpu_count``: every GPU of the
    host, also those ``gpu_indices`` keeps for other work)."""
    wanted = plan.gpus_used
    if not wanted or len(wanted) == host_gpu_count and wanted == list(range(host_gpu_count)):
        return "all"
    return '"device=' + ",".join(str(i) for i in wanted) + '"'


def vllm_service(settings: StackSettings, instance: Instance, host_gpu_count: int) -> ServiceFiles:
    """The unit and env file of one vLLM instance."""
    plan = instance.plan
    env_path = f"{CONFIG_DIR}/{instance.unit}.env"
    docker_args = [
        "--network", "host",
        "--ipc", "host",
        "--gpus", gpu_request(plan, host_gpu_count),
        "--env-file", env_path,
        "--volume", f"{settings.data_dir}/huggingface:/root/.cache/huggingface",
        "--label", "managed-by=reasoning-stack",
    ]
    # A large model needs time to release its GPUs cleanly.
    stop_grace = 120 if plan.weights_gib_per_gpu * plan.tensor_parallel_size > 40 else 60
    unit_text = render(
        "vllm.service.j2",
        plan=plan,
        served_model_name=instance.served_model_name,
        container=instance.container,
        image=settings.vllm_image,
        docker_args=docker_args,
        stop_grace=stop_grace,
        unit_name=instance.unit,
        after_units=[] if not instance.name else [f"{PRIMARY_UNIT}.service"],
    )
    env_text = render(
        "vllm.env.j2",
        unit_name=instance.unit,
        offline=settings.offline,
        hf_token=settings.hf_token.get_secret_value() if settings.hf_token else "",
        api_key=settings.vllm_api_key.get_secret_value() if settings.vllm_api_key else "",
    )
    base = local_url(settings.vllm_listen, instance.port)
    return ServiceFiles(instance.unit, unit_text, env_path, env_text, instance.container, settings.vllm_image,
                        f"{base}/health", f"{base}/v1/models")


def openwebui_service(settings: StackSettings, host_plan: HostPlan) -> ServiceFiles:
    """The Open WebUI unit and env file, wired to every vLLM instance of the host."""
    env_path = f"{CONFIG_DIR}/{OPENWEBUI_UNIT}.env"
    docker_args = ["--network", "host", "--env-file", env_path]
    if settings.openwebui_secret_key is None:
        docker_args += ["--env-file", OPENWEBUI_SECRET_ENV]
    docker_args += [
        "--volume", f"{settings.data_dir}/open-webui:/app/backend/data",
        "--label", "managed-by=reasoning-stack",
    ]
    unit_text = render(
        "openwebui.service.j2",
        container="open-webui",
        image=settings.openwebui_image,
        docker_args=docker_args,
        unit_name=OPENWEBUI_UNIT,
        after_units=[f"{i.unit}.service" for i in host_plan.instances],
    )
    api_key = settings.vllm_api_key.get_secret_value() if settings.vllm_api_key else "none"
    env_text = render(
        "openwebui.env.j2",
        unit_name=OPENWEBUI_UNIT,
        listen=settings.openwebui_listen,
        port=settings.openwebui_port,
        base_urls=[local_url(settings.vllm_listen, i.port) + "/v1" for i in host_plan.instances],
        api_keys=[api_key for _ in host_plan.instances],
        signup=settings.openwebui_signup,
        default_models=[host_plan.instances[0].served_model_name],
        secret_key=settings.openwebui_secret_key.get_secret_value() if settings.openwebui_secret_key else "",
    )
    base = local_url(settings.openwebui_listen, settings.openwebui_port)
    return ServiceFiles(OPENWEBUI_UNIT, unit_text, env_path, env_text, "open-webui", settings.openwebui_image,
                        f"{base}/health", f"{base}/health")
