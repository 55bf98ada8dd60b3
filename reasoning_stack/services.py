"""What goes on a host for the services beside the engines' own: Open WebUI wired to every instance, a cluster
node's Ray, and each instance's service files from its engine.

Pure functions of (settings, plan): the deploy files write these with pyinfra, the tests read them directly. The
paths and the parts every engine's service shares are in ``reasoning_stack.service_files``.
"""

from __future__ import annotations

from reasoning_stack import engines
from reasoning_stack.planning.types import HostPlan, Instance
from reasoning_stack.render import render
from reasoning_stack.service_files import (
    CONFIG_DIR,
    HELPER_DIR,
    OPENWEBUI_UNIT,
    SMOKE_TEST,
    UNIT_DIR,
    WAIT_HTTP,
    ClusterNode,
    ServiceFiles,
    gpu_request,
    local_url,
    secret_values,
)
from reasoning_stack.settings import StackSettings
from reasoning_stack.topology import RAY_CONTAINER, RAY_UNIT
from reasoning_stack.webui import api_keys_env, connection_configs, model_defaults_env, task_config
from reasoning_stack.webui_database import DB_ENV, WebuiDatabase, database_for

__all__ = ["CONFIG_DIR", "HELPER_DIR", "RAY_CONTAINER", "RAY_UNIT", "SMOKE_TEST", "UNIT_DIR", "WAIT_HTTP",
           "ClusterNode", "ServiceFiles", "engine_service", "gpu_request", "local_url", "openwebui_service",
           "ray_service"]

OPENWEBUI_SECRET_ENV = f"{CONFIG_DIR}/openwebui-secret.env"
OPENWEBUI_ADMIN_ENV = f"{CONFIG_DIR}/openwebui-admin.env"  # the admin password, when the host generates it
OPENWEBUI_SIGNUP = f"{HELPER_DIR}/openwebui-signup"
CLOUD_MODELS = f"{HELPER_DIR}/cloud-models"
OPENWEBUI_MODELS = f"{HELPER_DIR}/openwebui-models"
OPENWEBUI_MODELS_JSON = f"{CONFIG_DIR}/openwebui-models.json"  # the model entries the deploy keeps in Open WebUI
WEBUI_DATA = "/app/backend/data"  # Open WebUI's data folder in its container (<data_dir>/open-webui on the host)
RAY_WAIT = f"{HELPER_DIR}/ray-wait"
MP_WAIT = f"{HELPER_DIR}/mp-wait"
# The helpers every cluster node carries, beside wait-http and smoke-test: (path, template).
CLUSTER_HELPERS = ((RAY_WAIT, "ray-wait.py.j2"), (MP_WAIT, "mp-wait.py.j2"))
# Earlier releases set apt's lock wait system-wide here; the stack now waits in its own apt steps.
LEGACY_APT_LOCK_CONF = "/etc/apt/apt.conf.d/90reasoning-stack-lock-timeout"


def engine_service(settings: StackSettings, instance: Instance, host_gpu_count: int,
                   node: ClusterNode | None = None) -> ServiceFiles:
    """The service files of an instance, from its engine."""
    return engines.get(instance.engine).service(settings, instance, host_gpu_count, node)


def ray_service(settings: StackSettings, node: ClusterNode, gpu_count: int, unified: bool = False) -> ServiceFiles:
    """The Ray node of a cluster host: ``ray start --block`` in the foreground of the same pinned vLLM image,
    host networking and IPC, the GPUs and the Hugging Face cache (Ray runs vLLM's GPU workers here). On unified
    memory (DGX Spark) Ray's memory monitor is off: the page cache there looks like memory pressure and Ray
    would kill the workers (NVIDIA's DGX Spark playbook sets RAY_memory_monitor_refresh_ms=0)."""
    env_path = f"{CONFIG_DIR}/{RAY_UNIT}.env"
    docker_args = [
        "--network", "host",
        "--ipc", "host",
        "--gpus", "all",
        "--env-file", env_path,
        "--volume", f"{settings.data_dir}/huggingface:/root/.cache/huggingface",
        "--volume", f"{settings.data_dir}/ray:/tmp/ray",
        "--label", "managed-by=reasoning-stack",
        *node.env_args(),
        *(["--env", "RAY_memory_monitor_refresh_ms=0"] if unified else []),
        "--entrypoint", "ray",
    ]
    ray_args = ["start", "--block", "--node-ip-address", node.address, "--num-gpus", str(gpu_count),
                "--disable-usage-stats"]
    if node.is_head:
        ray_args += ["--head", "--port", str(settings.ray_port)]
    else:
        ray_args += ["--address", f"{node.head_address}:{settings.ray_port}"]
    unit_text = render("ray.service.j2", role="head" if node.is_head else "worker", cluster=node.cluster.name,
                       container=RAY_CONTAINER, image=settings.vllm_image, docker_args=docker_args,
                       ray_args=ray_args, unit_name=RAY_UNIT)
    env_text = render(
        "model-server.env.j2",
        unit_name=RAY_UNIT,
        offline=settings.offline,
        hf_token=secret_values(settings)[0],
        api_key="",
    )
    return ServiceFiles(RAY_UNIT, unit_text, env_path, env_text, RAY_CONTAINER, settings.vllm_image, "", "")


def openwebui_service(settings: StackSettings, host_plan: HostPlan, public_url: str | None = None,
                      database: WebuiDatabase | None = None, webui_data: str = WEBUI_DATA,
                      read_by: str = "docker --env-file", sampling_by: str = "vLLM") -> ServiceFiles:
    """The Open WebUI unit and env file, wired to every vLLM instance of the host. ``public_url``: the HTTPS
    proxy's address of it (then it listens on loopback behind the proxy, and its cookies are HTTPS-only).
    ``database``: where it keeps its data (None: as the settings plan it, on a host of unknown size).
    ``webui_data``: its data folder as Open WebUI sees it (the container's; a Mac's own path). ``read_by`` and
    ``sampling_by``: what reads the env file and which engine keeps the sampling, for its comments (a Mac's own)."""
    database = database or database_for(settings)
    listen = "127.0.0.1" if public_url else settings.openwebui_listen
    env_path = f"{CONFIG_DIR}/{OPENWEBUI_UNIT}.env"
    docker_args = ["--network", "host", "--env-file", env_path]
    if settings.openwebui_secret_key is None:
        docker_args += ["--env-file", OPENWEBUI_SECRET_ENV]
    if settings.openwebui_admin_email is not None and settings.openwebui_admin_password is None:
        docker_args += ["--env-file", OPENWEBUI_ADMIN_ENV]
    if database.postgresql:  # DATABASE_URL and REDIS_URL, with the passwords generated on the host
        docker_args += ["--env-file", DB_ENV]
    docker_args += [
        "--volume", f"{settings.data_dir}/open-webui:{WEBUI_DATA}",
        "--label", "managed-by=reasoning-stack",
    ]
    unit_text = render(
        "container.service.j2",
        description="Open WebUI for the reasoning stack",
        container="open-webui",
        image=settings.openwebui_image,
        docker_args=docker_args,
        unit_name=OPENWEBUI_UNIT,
        after_units=[f"{i.unit}.service" for i in host_plan.instances]
        + (["postgresql.service", "redis-server.service"] if database.postgresql else []),
    )
    api_key = settings.api_key.get_secret_value() if settings.api_key else "none"
    openai = [i for i in host_plan.instances if engines.get(i.engine).openai_api]
    env_text = render(
        "openwebui.env.j2",
        unit_name=OPENWEBUI_UNIT,
        read_by=read_by,
        sampling_by=sampling_by,
        listen=listen,
        port=settings.openwebui_port,
        public_url=public_url,
        base_urls=[local_url(settings.api_listen, i.port) + "/v1" for i in openai]
        + [c.base_url for c in settings.openwebui_cloud],
        api_keys=[api_key for _ in openai]
        + [c.api_key.get_secret_value() for c in settings.openwebui_cloud if c.api_key is not None],
        ollama_urls=[local_url(settings.api_listen, i.port) for i in host_plan.instances
                     if not engines.get(i.engine).openai_api],
        api_configs=connection_configs(settings, len(openai)),
        signup=settings.openwebui_signup,
        default_models=[host_plan.instances[0].served_model_name],
        secret_key=settings.openwebui_secret_key.get_secret_value() if settings.openwebui_secret_key else "",
        admin_email=settings.openwebui_admin_email,
        admin_password=(settings.openwebui_admin_password.get_secret_value()
                        if settings.openwebui_admin_password else ""),
        tasks=task_config(settings, host_plan),
        model_defaults=model_defaults_env(),
        person_keys=api_keys_env(settings, webui_data),
        database=database,
        db_env=DB_ENV,
    )
    base = local_url(listen, settings.openwebui_port)
    return ServiceFiles(OPENWEBUI_UNIT, unit_text, env_path, env_text, "open-webui", settings.openwebui_image,
                        f"{base}/health", f"{base}/health")
