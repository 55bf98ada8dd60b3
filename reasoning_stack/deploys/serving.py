"""The model servers: one systemd unit per planned instance (the primary model, plus each of extra_models), each
running its engine's pinned image with the arguments from the serving plan. What an engine needs before or after
its start (the weights downloaded first, or the model pulled through the running server) it says itself
(``Engine.startup``).
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.files import FindFiles
from pyinfra.operations import files

from reasoning_stack import engines
from reasoning_stack.context import host_plan, host_settings, settings_from_arguments
from reasoning_stack.instances import UNIT_PREFIX, unit_name
from reasoning_stack.operations import ollama_model, secret_file
from reasoning_stack.prepared import prepared_fact
from reasoning_stack.services import CONFIG_DIR, UNIT_DIR, engine_service
from reasoning_stack.units import (
    any_changed_or,
    install_env_file,
    install_service,
    prepare_serving_host,
    retire_service,
    serving_checks,
    weights_before_start,
)


@deploy("Model servers")
@settings_from_arguments(model="model", engine="engine", quantization="quantization", max_model_len="max_model_len",
                         port="api_port")
def model_servers(model: str | None = None, engine: str | None = None, quantization: str | None = None,
                  max_model_len: int | None = None, port: int | None = None) -> None:
    """One systemd unit per planned instance, each running its engine's image with the plan's arguments.

    + model: the primary model: a preset, a Hugging Face repo or a folder (default: the host's ``model``)
    + engine: an engine's name, or auto (default: ``engine``; docs/engines.md lists them)
    + quantization: the weights' format, or auto (default: ``quantization``)
    + max_model_len: the context a request may use (default: ``max_model_len``; None: the most that fits)
    + port: the API's port (default: ``api_port``, 8000)

    These hold for this layer only: Open WebUI, the firewall and the proxy made by other calls follow the host's
    data. To change the model for every layer, give it to ``reasoning_stack(model=...)``.

    .. code:: python

        model_servers(model="qwen3-8b", max_model_len=32768)
    """
    settings = host_settings()
    plan, gpus = host_plan()
    used = list(dict.fromkeys(engines.get(i.engine) for i in plan.instances))
    prepare_serving_host(settings, [helper for engine in used for helper in engine.helpers()])
    for engine in used:
        for title, path in engine.data_dirs(settings):
            files.directory(name=title, path=path, mode="755")

    # Units no longer in the settings (an extra model dropped, an instance switched to another engine): stop them
    # and remove their files, before the new ones start on the GPUs they held.
    wanted = {f"{i.unit}.service" for i in plan.instances}
    # every engine's units, from one listing of the stack's units (reasoning-<engine>[-<name>].service)
    listed = prepared_fact(host, FindFiles, path=UNIT_DIR, fname=f"{UNIT_PREFIX}*.service", maxdepth=1) or []
    engine_units = [unit_name(name) for name in engines.names()]

    def an_engines(path: str) -> bool:
        unit = path.rsplit("/", 1)[1].removesuffix(".service")
        return any(unit == e or unit.startswith(f"{e}-") for e in engine_units)

    existing = {path for path in listed if an_engines(path)}
    for path in sorted(existing):
        unit_file = path.rsplit("/", 1)[1]
        if unit_file not in wanted:
            base = f"{CONFIG_DIR}/{unit_file.removesuffix('.service')}"
            retire_service(path, f"{base}.env", f"{base}.yaml")

    for instance in plan.instances:
        engine = engines.get(instance.engine)
        service = engine_service(settings, instance, host_gpu_count=len(gpus))
        env = install_env_file(service)  # the weights download reads HF_TOKEN from it
        extra = []
        if service.secret_path:
            extra.append(secret_file(name=f"{service.unit} options that are secrets (0600)", dest=service.secret_path,
                                     content=service.secret_text))
        if engine.startup == "pull":  # the model is pulled through the running server
            came_up = install_service(service, env)
            pulled = ollama_model(name=f"{engine.title} model {instance.plan.model_repo} (pulled with progress)",
                                  helper=engine.pull_helper, base_url=service.base_url,
                                  tag=instance.plan.model_repo, unit=service.unit,
                                  manifest=engine.model_store(settings, instance), offline=settings.offline)
            serving_checks(settings, service, instance, any_changed_or(came_up, pulled))
            continue
        if engine.startup == "weights":
            weights_before_start(settings, service, instance)
        came_up = install_service(service, env, also_restart_on=tuple(extra))
        serving_checks(settings, service, instance, came_up)
