"""vLLM OpenAI server as a systemd unit running the pinned image, arguments from the serving plan."""

import io

from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from reasoning_stack.context import host_plan, host_settings
from reasoning_stack.operations import docker_image, wait_http
from reasoning_stack.render import render
from reasoning_stack.services import CONFIG_DIR, HELPER_DIR, UNIT_DIR, WAIT_HTTP, vllm_service

settings = host_settings()
plan, gpus = host_plan()
service = vllm_service(settings, plan, host_gpu_count=len(gpus))

files.directory(name="Stack config directory", path=CONFIG_DIR, mode="700", user="root", group="root")
files.directory(name="Helper directory", path=HELPER_DIR, mode="755")
files.put(
    name="wait-http helper",
    src=io.StringIO(render("wait-http.py.j2")),
    dest=WAIT_HTTP,
    mode="755",
)
files.directory(name="Data directory", path=settings.data_dir, mode="755")
files.directory(name="Hugging Face cache", path=f"{settings.data_dir}/huggingface", mode="755")

docker_image(name=f"vLLM image {service.image}", image=service.image, pull=settings.pull_images)

env = files.put(
    name=f"{service.unit} env file (secrets, 0600)",
    src=io.StringIO(service.env_text),
    dest=service.env_path,
    mode="600",
    user="root",
    group="root",
)
unit = files.put(
    name=f"{service.unit} unit",
    src=io.StringIO(service.unit_text),
    dest=service.unit_path,
    mode="644",
)
assert service.unit_path.startswith(UNIT_DIR)
systemd.daemon_reload(name="systemd daemon-reload", _if=unit.did_change)
restarted = systemd.service(
    name=f"Restart {service.unit} for changed unit or env",
    service=f"{service.unit}.service",
    restarted=True,
    _if=any_changed(unit, env),
)
started = systemd.service(
    name=f"{service.unit} running and enabled",
    service=f"{service.unit}.service",
    running=True,
    enabled=True,
)
wait_http(
    name=f"Wait for vLLM to load {plan.model} (/health, up to {settings.health_timeout}s)",
    helper=WAIT_HTTP,
    url=service.health_url,
    timeout=settings.health_timeout,
    unit=service.unit,
    _if=any_changed(restarted, started),
)
wait_http(
    name="Wait for vLLM /v1/models",
    helper=WAIT_HTTP,
    url=service.ready_url,
    timeout=120,
    unit=service.unit,
    expect=settings.served_model_name or plan.model,
    key_from=service.env_path,
    _if=any_changed(restarted, started),
)
