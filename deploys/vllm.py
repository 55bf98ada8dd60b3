"""vLLM OpenAI servers as systemd units running the pinned image: one unit per planned instance (the
primary model, plus each of extra_models), arguments from the serving plan."""

import io

from pyinfra import host
from pyinfra.facts.files import FindFiles
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from reasoning_stack.catalogue import find_model
from reasoning_stack.context import host_plan, host_settings
from reasoning_stack.instances import PRIMARY_UNIT
from reasoning_stack.operations import docker_image, model_weights, secret_file, smoke_test, wait_http
from reasoning_stack.render import render
from reasoning_stack.services import CONFIG_DIR, HELPER_DIR, SMOKE_TEST, UNIT_DIR, WAIT_HTTP, vllm_service

settings = host_settings()
plan, gpus = host_plan()
cache_dir = f"{settings.data_dir}/huggingface"

files.directory(name="Stack config directory", path=CONFIG_DIR, mode="700", user="root", group="root")
files.directory(name="Helper directory", path=HELPER_DIR, mode="755")
for helper, template in ((WAIT_HTTP, "wait-http.py.j2"), (SMOKE_TEST, "smoke-test.py.j2")):
    files.put(name=f"{helper.rsplit('/', 1)[1]} helper", src=io.StringIO(render(template)), dest=helper, mode="755")
files.directory(name="Data directory", path=settings.data_dir, mode="755")
files.directory(name="Hugging Face cache", path=cache_dir, mode="755")
docker_image(name=f"vLLM image {settings.vllm_image}", image=settings.vllm_image, pull=settings.pull_images)

# Extra-model units that are no longer in the settings: stop them and remove their files.
wanted = {f"{i.unit}.service" for i in plan.instances}
existing = host.get_fact(FindFiles, path=UNIT_DIR, fname=f"{PRIMARY_UNIT}-*.service", maxdepth=1) or []
for path in sorted(existing):
    unit_file = path.rsplit("/", 1)[1]
    if unit_file not in wanted:
        systemd.service(name=f"Stop {unit_file} (no longer planned)", service=unit_file, running=False, enabled=False)
        files.file(name=f"Remove {unit_file}", path=path, present=False)
        files.file(name=f"Remove {unit_file} env file", path=f"{CONFIG_DIR}/{unit_file[:-8]}.env", present=False)
        systemd.daemon_reload(name="systemd daemon-reload")

for instance in plan.instances:
    model = find_model(instance.plan.model)
    service = vllm_service(settings, instance, host_gpu_count=len(gpus))
    env = secret_file(
        name=f"{service.unit} env file (secrets, 0600)",
        dest=service.env_path,
        content=service.env_text,
    )
    size_gib = instance.plan.weights_gib_per_gpu * instance.plan.tensor_parallel_size
    size_gib *= instance.plan.pipeline_parallel_size
    model_weights(
        name=f"Weights of {instance.plan.model_repo} (~{size_gib:.1f} GiB, resumable)",
        repo=instance.plan.model_repo,
        cache_dir=cache_dir,
        image=settings.vllm_image,
        env_file=service.env_path,
        size_gib=size_gib,
        offline=settings.offline,
    )
    unit = files.put(
        name=f"{service.unit} unit",
        src=io.StringIO(service.unit_text),
        dest=service.unit_path,
        mode="644",
    )
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
    came_up = any_changed(restarted, started)
    wait_http(
        name=f"Wait for {service.unit} to load {instance.plan.model} (/health, up to {settings.health_timeout}s)",
        helper=WAIT_HTTP,
        url=service.health_url,
        timeout=settings.health_timeout,
        unit=service.unit,
        _if=came_up,
    )
    wait_http(
        name=f"Wait for {service.unit} /v1/models",
        helper=WAIT_HTTP,
        url=service.ready_url,
        timeout=120,
        unit=service.unit,
        expect=instance.served_model_name,
        key_from=service.env_path,
        _if=came_up,
    )
    if settings.smoke_test:
        smoke_test(
            name=f"Smoke test: one reasoning question to {instance.served_model_name}",
            helper=SMOKE_TEST,
            base_url=service.health_url.removesuffix("/health"),
            model=instance.served_model_name,
            key_from=service.env_path,
            thinking_kwargs=model.thinking_switch,
            _if=came_up,
        )
