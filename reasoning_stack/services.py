"""What goes on a host for the services: paths, unit names and the rendered text of every file.

Pure functions of (settings, plan): the deploy files write these with pyinfra, the tests read them directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from reasoning_stack.cluster import Cluster, node_args
from reasoning_stack.instances import HostPlan, Instance, unit_name
from reasoning_stack.plan import ServingPlan
from reasoning_stack.render import render
from reasoning_stack.settings import StackSettings
from reasoning_stack.webui import connection_configs, model_defaults_env, task_config

CONFIG_DIR = "/etc/reasoning-stack"
UNIT_DIR = "/etc/systemd/system"
HELPER_DIR = "/usr/local/libexec/reasoning-stack"
WAIT_HTTP = f"{HELPER_DIR}/wait-http"
SMOKE_TEST = f"{HELPER_DIR}/smoke-test"
OPENWEBUI_UNIT = "reasoning-openwebui"
OPENWEBUI_SECRET_ENV = f"{CONFIG_DIR}/openwebui-secret.env"
OPENWEBUI_ADMIN_ENV = f"{CONFIG_DIR}/openwebui-admin.env"  # the admin password, when the host generates it
OPENWEBUI_SIGNUP = f"{HELPER_DIR}/openwebui-signup"
CLOUD_MODELS = f"{HELPER_DIR}/cloud-models"
OPENWEBUI_MODELS = f"{HELPER_DIR}/openwebui-models"
OPENWEBUI_MODELS_JSON = f"{CONFIG_DIR}/openwebui-models.json"  # the model entries the deploy keeps in Open WebUI
OLLAMA_PULL = f"{HELPER_DIR}/ollama-pull"
RAY_UNIT = "reasoning-ray"
RAY_CONTAINER = "ray"
RAY_WAIT = f"{HELPER_DIR}/ray-wait"
# Earlier releases set apt's lock wait system-wide here; the stack now waits in its own apt steps.
LEGACY_APT_LOCK_CONF = "/etc/apt/apt.conf.d/90reasoning-stack-lock-timeout"


@dataclass(frozen=True)
class ClusterNode:
    """One node of a cluster as the deploy sees it: its rank's host and the addresses on the cluster network."""

    cluster: Cluster
    host: str
    address: str  # this node's address on cluster_interface
    head_address: str
    interface: str

    @property
    def is_head(self) -> bool:
        return self.host == self.cluster.head

    def env_args(self) -> list[str]:
        """Every process of the node uses the cluster network's address and interface: when Ray and vLLM pick
        different addresses vLLM waits forever for its placement group (vllm-project/vllm#7815), and Gloo
        falls back to 127.0.0.1 without the interface names."""
        env = {"VLLM_HOST_IP": self.address, "NCCL_SOCKET_IFNAME": self.interface,
               "GLOO_SOCKET_IFNAME": self.interface}
        if self.cluster.backend == "ray":
            env.update(RAY_NODE_IP_ADDRESS=self.address, RAY_OVERRIDE_NODE_IP_ADDRESS=self.address)
        return [arg for key, value in env.items() for arg in ("--env", f"{key}={value}")]


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
    secret_path: str = ""  # a second 0600 file the service reads (SGLang: its --config with the API key)
    secret_text: str = ""

    @property
    def unit_path(self) -> str:
        return f"{UNIT_DIR}/{self.unit}.service"

    @property
    def base_url(self) -> str:
        """Where the service's API answers (its OpenAI-compatible /v1 sits below)."""
        for suffix in ("/api/version", "/health"):
            if self.health_url.endswith(suffix):
                return self.health_url.removesuffix(suffix)
        return self.health_url


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


def _gpu_container_args(settings: StackSettings, instance: Instance, host_gpu_count: int, env_path: str) -> list[str]:
    """``docker run`` options of a model server on Hugging Face weights: host network and IPC, the plan's GPUs,
    its env file and the host's Hugging Face cache."""
    return [
        "--network", "host",
        "--ipc", "host",
        "--gpus", gpu_request(instance.plan, host_gpu_count),
        "--env-file", env_path,
        "--volume", f"{settings.data_dir}/huggingface:/root/.cache/huggingface",
        "--label", "managed-by=reasoning-stack",
    ]


def vllm_service(settings: StackSettings, instance: Instance, host_gpu_count: int,
                 node: ClusterNode | None = None) -> ServiceFiles:
    """The unit and env file of one vLLM instance (on a cluster ``node``: its part of the cluster's one)."""
    plan = instance.plan
    env_path = f"{CONFIG_DIR}/{instance.unit}.env"
    docker_args = _gpu_container_args(settings, instance, host_gpu_count, env_path)
    args, part_of = list(plan.vllm_args), []
    if node is not None:
        docker_args += node.env_args()
        if node.cluster.backend == "ray":
            # a Ray driver on the head's Ray node: its session directory (sockets) and GCS address
            docker_args += ["--volume", f"{settings.data_dir}/ray:/tmp/ray",
                            "--env", f"RAY_ADDRESS={node.head_address}:{settings.ray_port}"]
            part_of = [f"{RAY_UNIT}.service"]
        args += node_args(node.cluster, node.host, node.head_address, settings.cluster_port)
    # A large model needs time to release its GPUs cleanly.
    stop_grace = 120 if plan.weights_gib_per_gpu * plan.tensor_parallel_size > 40 else 60
    unit_text = render(
        "vllm.service.j2",
        plan=plan,
        served_model_name=instance.served_model_name,
        container=instance.container,
        image=settings.vllm_image,
        docker_args=docker_args,
        args=args,
        stop_grace=stop_grace,
        unit_name=instance.unit,
        after_units=([] if not instance.name else [f"{unit_name('vllm')}.service"]) + part_of,
        part_of=part_of,
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


def _engine_unit(title: str, instance: Instance, image: str, docker_args: list[str], args: list[str],
                 stop_grace: int) -> str:
    """The unit text of an instance whose engine runs in one container on this host (SGLang, Ollama)."""
    return render("vllm.service.j2", title=title, plan=instance.plan, served_model_name=instance.served_model_name,
                  container=instance.container, image=image, docker_args=docker_args, args=args,
                  stop_grace=stop_grace, unit_name=instance.unit, after_units=[], part_of=[])


SGLANG_SECRET_MOUNT = "/etc/sglang/secrets.yaml"  # where an SGLang container reads its --config


def sglang_service(settings: StackSettings, instance: Instance, host_gpu_count: int) -> ServiceFiles:
    """The unit, env file and 0600 config of one SGLang instance: ``python3 -m sglang.launch_server`` in the
    pinned SGLang image. SGLang takes its API key only as an option, so the key goes into a YAML file SGLang
    reads with ``--config`` (mounted read-only), never onto the command line or into the unit."""
    plan = instance.plan
    env_path = f"{CONFIG_DIR}/{instance.unit}.env"
    secret_path = f"{CONFIG_DIR}/{instance.unit}.yaml"
    api_key = settings.vllm_api_key.get_secret_value() if settings.vllm_api_key else ""
    docker_args = [*_gpu_container_args(settings, instance, host_gpu_count, env_path), "--entrypoint", plan.command[0]]
    args = list(plan.command[1:])
    if api_key:
        docker_args += ["--volume", f"{secret_path}:{SGLANG_SECRET_MOUNT}:ro"]
        args += ["--config", SGLANG_SECRET_MOUNT]
    stop_grace = 120 if plan.weights_gib_per_gpu * plan.tensor_parallel_size > 40 else 60
    unit_text = _engine_unit("SGLang OpenAI API", instance, settings.sglang_image, docker_args, args, stop_grace)
    # VLLM_API_KEY in the env file is for the stack's own helpers (health wait, smoke test, status), which read
    # the key of every OpenAI API from there; SGLang itself ignores the variable.
    env_text = render("vllm.env.j2", unit_name=instance.unit, offline=settings.offline,
                      hf_token=settings.hf_token.get_secret_value() if settings.hf_token else "", api_key=api_key)
    secret_text = (f"# Managed by reasoning-stack. SGLang options for {instance.unit} that are secrets; mode 0600.\n"
                   f"api-key: {json.dumps(api_key)}\n") if api_key else ""
    base = local_url(settings.vllm_listen, instance.port)
    return ServiceFiles(instance.unit, unit_text, env_path, env_text, instance.container, settings.sglang_image,
                        f"{base}/health", f"{base}/v1/models", secret_path if api_key else "", secret_text)


def ollama_service(settings: StackSettings, instance: Instance, host_gpu_count: int) -> ServiceFiles:
    """The unit and env file of one Ollama instance: ``ollama serve`` in the pinned Ollama image, its settings
    (context, parallel slots, KV cache type, keep-alive) from the plan in the env file, its models under
    ``<data_dir>/ollama``. Health is ``/api/version``; ready when ``/api/tags`` lists the model's tag."""
    plan = instance.plan
    env_path = f"{CONFIG_DIR}/{instance.unit}.env"
    docker_args = [
        "--network", "host",
        "--gpus", gpu_request(plan, host_gpu_count),
        "--env-file", env_path,
        "--volume", f"{settings.data_dir}/ollama:/root/.ollama",
        "--label", "managed-by=reasoning-stack",
        "--entrypoint", "/usr/bin/ollama",
    ]
    unit_text = _engine_unit("Ollama", instance, settings.ollama_image, docker_args, plan.command[1:], 30)
    lines = [f"# Managed by reasoning-stack. Settings for {instance.unit} (from the serving plan); mode 0600."]
    lines += [f"{key}={value}" for key, value in sorted(plan.environment.items())]
    if settings.offline:
        lines.append("# offline: models are pre-staged under <data_dir>/ollama; nothing is pulled")
    base = local_url(settings.vllm_listen, instance.port)
    return ServiceFiles(instance.unit, unit_text, env_path, "\n".join(lines) + "\n", instance.container,
                        settings.ollama_image, f"{base}/api/version", f"{base}/api/tags")


def ollama_manifest(settings: StackSettings, tag: str) -> str:
    """Where Ollama keeps a pulled tag's manifest on the host (present = the model is there)."""
    name, _, version = tag.partition(":")
    return f"{settings.data_dir}/ollama/models/manifests/registry.ollama.ai/library/{name}/{version or 'latest'}"


def engine_service(settings: StackSettings, instance: Instance, host_gpu_count: int,
                   node: ClusterNode | None = None) -> ServiceFiles:
    """The service files of an instance, by its engine."""
    if instance.engine == "sglang":
        return sglang_service(settings, instance, host_gpu_count)
    if instance.engine == "ollama":
        return ollama_service(settings, instance, host_gpu_count)
    return vllm_service(settings, instance, host_gpu_count, node)


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
        "vllm.env.j2",
        unit_name=RAY_UNIT,
        offline=settings.offline,
        hf_token=settings.hf_token.get_secret_value() if settings.hf_token else "",
        api_key="",
    )
    return ServiceFiles(RAY_UNIT, unit_text, env_path, env_text, RAY_CONTAINER, settings.vllm_image, "", "")


def openwebui_service(settings: StackSettings, host_plan: HostPlan) -> ServiceFiles:
    """The Open WebUI unit and env file, wired to every vLLM instance of the host."""
    env_path = f"{CONFIG_DIR}/{OPENWEBUI_UNIT}.env"
    docker_args = ["--network", "host", "--env-file", env_path]
    if settings.openwebui_secret_key is None:
        docker_args += ["--env-file", OPENWEBUI_SECRET_ENV]
    if settings.openwebui_admin_email is not None and settings.openwebui_admin_password is None:
        docker_args += ["--env-file", OPENWEBUI_ADMIN_ENV]
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
    openai = [i for i in host_plan.instances if i.engine != "ollama"]  # vLLM and SGLang speak OpenAI's API
    env_text = render(
        "openwebui.env.j2",
        unit_name=OPENWEBUI_UNIT,
        listen=settings.openwebui_listen,
        port=settings.openwebui_port,
        base_urls=[local_url(settings.vllm_listen, i.port) + "/v1" for i in openai]
        + [c.base_url for c in settings.openwebui_cloud],
        api_keys=[api_key for _ in openai]
        + [c.api_key.get_secret_value() for c in settings.openwebui_cloud if c.api_key is not None],
        ollama_urls=[local_url(settings.vllm_listen, i.port) for i in host_plan.instances if i.engine == "ollama"],
        api_configs=connection_configs(settings, len(openai)),
        signup=settings.openwebui_signup,
        default_models=[host_plan.instances[0].served_model_name],
        secret_key=settings.openwebui_secret_key.get_secret_value() if settings.openwebui_secret_key else "",
        admin_email=settings.openwebui_admin_email,
        admin_password=(settings.openwebui_admin_password.get_secret_value()
                        if settings.openwebui_admin_password else ""),
        tasks=task_config(settings, host_plan),
        model_defaults=model_defaults_env(),
    )
    base = local_url(settings.openwebui_listen, settings.openwebui_port)
    return ServiceFiles(OPENWEBUI_UNIT, unit_text, env_path, env_text, "open-webui", settings.openwebui_image,
                        f"{base}/health", f"{base}/health")
