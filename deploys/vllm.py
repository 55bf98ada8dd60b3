"""vLLM OpenAI servers as systemd units running the pinned image: one unit per planned instance (the
primary model, plus each of extra_models), arguments from the serving plan."""


from pyinfra import host
from pyinfra.facts.files import FindFiles

from reasoning_stack.context import host_plan, host_settings
from reasoning_stack.instances import PRIMARY_UNIT
from reasoning_stack.services import CONFIG_DIR, UNIT_DIR, vllm_service
from reasoning_stack.units import (
    install_env_file,
    install_service,
    prepare_vllm_host,
    retire_service,
    serving_checks,
    weights_before_start,
)

settings = host_settings()
plan, gpus = host_plan()
prepare_vllm_host(settings)

# Extra-model units that are no longer in the settings: stop them and remove their files.
wanted = {f"{i.unit}.service" for i in plan.instances}
existing = host.get_fact(FindFiles, path=UNIT_DIR, fname=f"{PRIMARY_UNIT}-*.service", maxdepth=1) or []
for path in sorted(existing):
    unit_file = path.rsplit("/", 1)[1]
    if unit_file not in wanted:
        retire_service(path, f"{CONFIG_DIR}/{unit_file.removesuffix('.service')}.env")

for instance in plan.instances:
    service = vllm_service(settings, instance, host_gpu_count=len(gpus))
    env = install_env_file(service)  # the weights download reads HF_TOKEN from it
    weights_before_start(settings, service, instance)
    came_up = install_service(service, env)
    serving_checks(settings, service, instance, came_up)
