"""An Apple Silicon Mac: MLX-LM serving the planned model and Open WebUI in front of it, as launchd jobs.

    pyinfra inventories/home.py deploys/reasoning.py   # picks this file for a Mac (engine mlx)

Homebrew's Python makes two virtual environments (the pinned MLX-LM and Open WebUI releases from PyPI), the
weights are downloaded before MLX-LM starts, and each service is a LaunchDaemon rendered from a template, run as
the Mac's own account (``mac_user``, else the inventory's ``ssh_user``). The health waits and the smoke test are
the Linux hosts' own helpers, run by the stack's Python.
"""

from __future__ import annotations

import io
from typing import Any

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.files import File
from pyinfra.operations import files, pip, server

from reasoning_stack import engines
from reasoning_stack.catalogue import find_model
from reasoning_stack.context import host_plan, host_settings, host_webui_database, settings_from_arguments
from reasoning_stack.engines.mlx import VERSION as MLX_VERSION
from reasoning_stack.facts import MacHardware
from reasoning_stack.launchd import MLX_VENV, ROOT, LaunchdJob
from reasoning_stack.openwebui.after_start import after_start, generated_secrets
from reasoning_stack.openwebui.entries import USAGE_DIR
from reasoning_stack.openwebui.mac import OPENWEBUI_VENV, openwebui_job
from reasoning_stack.openwebui.paths import ADMIN_HELPERS, OPENWEBUI_UNIT, data_dir
from reasoning_stack.operations import (
    launchd_job,
    launchd_reload,
    model_weights,
    smoke_test,
    wait_http,
)
from reasoning_stack.planning.types import Instance
from reasoning_stack.platforms.macos import (
    BREW,
    MAC_HELPERS,
    PYTHON,
    PYTHON_FORMULA,
    helper_text,
    weights_env_text,
)
from reasoning_stack.prepared import prepared_fact
from reasoning_stack.services import CONFIG_DIR, HELPER_DIR, SMOKE_TEST, WAIT_HTTP
from reasoning_stack.settings import OPENWEBUI_VERSION, StackSettings
from reasoning_stack.status import smoke_record


@deploy("Apple Silicon Mac")
@settings_from_arguments(model="model")
def mac_stack(model: str | None = None, **other_settings: Any) -> None:
    """An Apple Silicon Mac: MLX-LM serving the planned model and Open WebUI in front of it, as launchd jobs.

    + model: the model MLX-LM serves (default: the host's ``model``)
    + other_settings: any other setting by its group_data name (``openwebui_port=3001``), for all of the Mac's stack

    .. code:: python

        mac_stack(model="qwen3-8b", openwebui_signup="admin-approves")
    """
    settings = host_settings()
    plan, _gpus = host_plan()
    hardware = prepared_fact(host, MacHardware)
    assert hardware is not None  # host_plan() refused a host that is not a Mac
    user = settings.mac_user or host.data.get("ssh_user")
    if not user or user == "root":
        raise PyinfraError(f"host {host.name!r}: the Mac's services run as its own account, not root: set mac_user (or "
                           "connect with ssh_user as that account)")
    if not hardware["brew"]:
        raise PyinfraError(f"host {host.name!r}: Homebrew is not installed at /opt/homebrew; install it as {user} "
                           "(https://brew.sh) and deploy again")
    instance = plan.instances[0]
    as_user = {"_sudo": True, "_sudo_user": user}  # Homebrew and pip refuse root; the environments belong to the user
    stack_python = {"_env": {"PATH": f"{MLX_VENV}/bin:/usr/bin:/bin:/usr/sbin:/sbin"}}  # python3: the stack's own

    if not hardware["python"]:
        server.shell(name=f"Homebrew {PYTHON_FORMULA}", commands=[f"{BREW} install {PYTHON_FORMULA}"], **as_user)
    files.directory(name="Stack config directory", path=CONFIG_DIR, mode="700", user="root", group="wheel")
    files.directory(name="Helper directory", path=HELPER_DIR, mode="755", user="root", group="wheel")
    for helper, template in MAC_HELPERS + (ADMIN_HELPERS if settings.openwebui_enabled else ()):
        files.put(name=f"{helper.rsplit('/', 1)[1]} helper", src=io.StringIO(helper_text(template)), dest=helper,
                  mode="755", user="root", group="wheel", create_remote_dir=False)
    for name, path in (("Stack directory", ROOT), ("Data directory", settings.data_dir),
                       ("Hugging Face cache", f"{settings.data_dir}/huggingface"),
                       ("Logs", f"{settings.data_dir}/logs"),
                       ("Status records (last smoke test)", f"{settings.data_dir}/status")):
        files.directory(name=name, path=path, mode="755", user=user, group="staff")

    # MLX-LM, pinned, in its own environment
    if not prepared_fact(host, File, path=f"{MLX_VENV}/bin/python"):
        server.shell(name="MLX-LM virtual environment", commands=[f"{PYTHON} -m venv {MLX_VENV}"], **as_user)
    pip.packages(name=f"MLX-LM {MLX_VERSION}", packages=[f"mlx-lm=={MLX_VERSION}"], pip=f"{MLX_VENV}/bin/pip",
                 **as_user)
    env_path = f"{CONFIG_DIR}/{instance.unit}.env"  # where `status` reads the instance's files, as on Linux
    _root_file(f"{instance.unit} env file (0600: the Hugging Face token for the download)", env_path,
               weights_env_text(settings))
    model_weights(
        name=f"Weights of {instance.plan.model_repo} (~{instance.plan.weights_gib_per_gpu:.1f} GiB, resumable)",
        repo=instance.plan.model_repo,
        cache_dir=f"{settings.data_dir}/huggingface",
        image="",
        env_file=env_path,
        size_gib=instance.plan.weights_gib_per_gpu,
        offline=settings.offline,
        hf=f"{MLX_VENV}/bin/hf",
        user=user,
    )

    def install_job(job: LaunchdJob):
        """The job's plist, reloaded when it changed, loaded when launchd lacks it; returns the plist operation."""
        plist = files.put(name=f"{job.label} plist", src=io.StringIO(job.plist_text), dest=job.plist_path, mode="644",
                          user="root", group="wheel", create_remote_dir=False)
        launchd_reload(name=f"Reload {job.label} for its changed plist", label=job.label, plist=job.plist_path,
                       _if=plist.did_change)
        launchd_job(name=f"{job.label} loaded in launchd", label=job.label, plist=job.plist_path)
        return plist

    server_job = host_engine_job(settings, instance, user)
    server_plist = install_job(server_job)
    wait_http(name=f"Wait for MLX-LM to load {instance.plan.model} (/health, up to {settings.health_timeout}s)",
              helper=WAIT_HTTP, url=server_job.health_url, timeout=settings.health_timeout, unit=server_job.label,
              log=server_job.log_path, _if=server_plist.did_change)
    wait_http(name="Wait for MLX-LM /v1/models", helper=WAIT_HTTP, url=server_job.ready_url, timeout=120,
              unit=server_job.label, log=server_job.log_path, expect=instance.plan.model_repo,
              _if=server_plist.did_change)
    if settings.smoke_test:
        smoke_test(name=f"Smoke test: one reasoning question to {instance.plan.model_repo}", helper=SMOKE_TEST,
                   base_url=server_job.base_url, model=instance.plan.model_repo,
                   thinking_kwarg=find_model(instance.plan.model).thinking_request_kwarg,
                   record=smoke_record(settings, instance.unit),
                   _if=server_plist.did_change)

    # Open WebUI from PyPI, the release the Linux hosts run, in front of MLX-LM
    if settings.openwebui_enabled:
        files.directory(name="Open WebUI data", path=data_dir(settings), mode="755", user=user, group="staff")
        if settings.openwebui_api_keys != "off":  # its record of who used which model: the Mac user's alone
            files.directory(name="Open WebUI usage record (its user only)", mode="700", user=user, group="staff",
                            path=f"{data_dir(settings)}/{USAGE_DIR}")
        if not prepared_fact(host, File, path=f"{OPENWEBUI_VENV}/bin/python"):
            server.shell(name="Open WebUI virtual environment", commands=[f"{PYTHON} -m venv {OPENWEBUI_VENV}"],
                         **as_user)
        pip.packages(name=f"Open WebUI {OPENWEBUI_VERSION}", packages=[f"open-webui=={OPENWEBUI_VERSION}"],
                     pip=f"{OPENWEBUI_VENV}/bin/pip", **as_user)
        generated = generated_secrets(settings, **stack_python)
        webui_job, webui_env_path, webui_env = openwebui_job(settings, plan, user, host_webui_database())
        env_file = _root_file(f"{OPENWEBUI_UNIT} env file (0600)", webui_env_path, webui_env)
        webui_plist = install_job(webui_job)
        launchd_reload(name=f"Restart {webui_job.label} for its changed settings", label=webui_job.label,
                       plist=webui_job.plist_path,
                       _if=lambda: not webui_plist.did_change() and (env_file.did_change()
                                                                     or any(g.did_change() for g in generated)))

        def came_up() -> bool:
            return webui_plist.did_change() or env_file.did_change() or any(g.did_change() for g in generated)

        wait_http(name="Wait for Open WebUI /health", helper=WAIT_HTTP, url=webui_job.health_url, timeout=600,
                  unit=webui_job.label, log=webui_job.log_path, _if=came_up)
        after_start(settings, plan, webui_job.base_url, came_up, _root_file)


def host_engine_job(settings: StackSettings, instance: Instance, user: str) -> LaunchdJob:
    """The instance's launchd job, from its engine (MLX-LM's: ``engines/mlx/service.py``)."""
    return engines.get(instance.engine).launchd_job(settings, instance, user)


def _root_file(name: str, dest: str, content: str) -> OperationMeta:
    """A root-only file (0600, root:wheel) from the deploy's text."""
    return files.put(name=name, src=io.StringIO(content), dest=dest, mode="600", user="root", group="wheel",
                     create_remote_dir=False)
