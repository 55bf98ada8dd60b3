"""vLLM OpenAI servers as systemd units running the pinned image: one unit per planned instance (the
primary model, plus each of extra_models), arguments from the serving plan."""

import io

from pyinfra import host
from pyinfra.facts.files import FindFiles
from pyinfra.operations import files

from reasoning_stack.catalogue import find_model
from reasoning_stack.context import host_plan, host_settings
from reasoning_stack.instances import PRIMARY_UNIT
from reasoning_stack.operations import docker_image, model_weights, smoke_test, wait_http
from reasoning_stack.render import render
from reasoning_stack.services import CONFIG_DIR, HELPER_DIR, SMOKE_TEST, UNIT_DIR, WAIT_HTTP, vllm_service
from reasoning_stack.units import install_env_file, install_service, retire_service

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
        retire_service(path, f"{CONFIG_DIR}/{unit_file.removesuffix('.service')}.env")

for instance in plan.instances:
    model = find_model(instance.plan.model)
    service = vllm_service(settings, instance, host_gpu_count=len(gpus))
    env = install_env_file(service)  # the weights download reads HF_TOKEN from it
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
    came_up = install_service(service, env)
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
            expect_tps=instance.plan.decode_tokens_per_s,
            _if=came_up,
        )
