"""The pyinfra steps every service of the stack shares: write its env file and unit, reload systemd and
restart only when one of them changed, keep it running and enabled; and the reverse, to retire a unit."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from pyinfra import host
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.deb import DebPackages
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from reasoning_stack import engines
from reasoning_stack.catalogue import GIB, find_model
from reasoning_stack.context import host_settings
from reasoning_stack.facts import FileDigest
from reasoning_stack.openwebui.paths import data_dir
from reasoning_stack.operations import (
    apt_installed,
    apt_lists_updated,
    docker_image,
    docker_login,
    dpkg_interrupted_finished,
    missing_packages,
    model_folder,
    model_weights,
    secret_file,
    smoke_test,
    stack_file,
    unit_running,
    wait_http,
)
from reasoning_stack.planning.types import Instance
from reasoning_stack.prepared import prepared_fact, run_store
from reasoning_stack.render import render
from reasoning_stack.services import CONFIG_DIR, HELPER_DIR, SMOKE_TEST, WAIT_HTTP, ServiceFiles
from reasoning_stack.settings import StackSettings
from reasoning_stack.status import smoke_record


def install_env_file(service: ServiceFiles) -> OperationMeta:
    """Write one service's env file (secrets: 0600, never shown in diffs)."""
    return secret_file(name=f"{service.unit} env file (0600)", dest=service.env_path, content=service.env_text)


def install_service(service: ServiceFiles, env: OperationMeta,
                    also_restart_on: tuple[OperationMeta, ...] = ()) -> Callable[[], bool]:
    """Deploy one service's unit (its env file was written by :func:`install_env_file`); returns the
    condition "it was (re)started in this run", for the health waits that follow."""
    unit = stack_file(name=f"{service.unit} unit", dest=service.unit_path, content=service.unit_text, mode="644")
    systemd.daemon_reload(name="systemd daemon-reload", _if=unit.did_change)
    restarted = systemd.service(
        name=f"Restart {service.unit} for changed unit or env",
        service=f"{service.unit}.service",
        restarted=True,
        _if=any_changed(unit, env, *also_restart_on),
        _retries=2,  # systemctl can lose its D-Bus connection while packages restart services
        _retry_delay=5,
    )
    started = unit_running(
        name=f"{service.unit} running and enabled",
        service=f"{service.unit}.service",
        _retries=2,  # systemctl can lose its D-Bus connection while packages restart services
        _retry_delay=5,
    )
    return any_changed(restarted, started)


def any_changed_or(condition: Callable[[], bool], *ops: OperationMeta) -> Callable[[], bool]:
    """``condition`` or any of ``ops`` changed something (evaluated when the operation runs)."""
    changed = any_changed(*ops)
    return lambda: condition() or changed()


def stack_directories(config: bool = True, helpers: bool = False) -> None:
    """The stack's private config directory (0700) and its helper directory, declared once per host and run
    whichever layer needs them first (each layer asks; a directory checked once is one fact fewer)."""
    done = run_store("directories", set)
    if config and (host.name, CONFIG_DIR) not in done:
        done.add((host.name, CONFIG_DIR))
        files.directory(name="Stack config directory", path=CONFIG_DIR, mode="700", user="root", group="root")
    if helpers and (host.name, HELPER_DIR) not in done:
        done.add((host.name, HELPER_DIR))
        files.directory(name="Helper directory", path=HELPER_DIR, mode="755")


def registry_logins(settings: StackSettings) -> None:
    """Log the host's Docker in where an engine's image needs it (Engine.registry_login), before any pull;
    once per host. The password goes into a 0600 file of its own and reaches ``docker login`` through stdin; a
    changed password logs in again."""
    done = run_store("registry-logins", set)
    for login in engines.registry_logins(settings):
        if (host.name, login.registry) in done:
            continue
        done.add((host.name, login.registry))
        stack_directories(config=True)
        path = login.password_file
        password = getattr(settings, login.secret_setting).get_secret_value()
        here = host.get_fact(FileDigest, path=path)
        renew = not here or here["sha1"] != hashlib.sha1(password.encode()).hexdigest()
        secret_file(name=f"{login.title} for {login.registry} (0600)", dest=path, content=password)
        docker_login(name=f"Docker login to {login.registry} ({login.title}, read from {path})",
                     registry=login.registry, command=login.command(), renew=renew)


def prepare_serving_host(settings: StackSettings, extra_helpers: Iterable[tuple[str, str]] = ()) -> None:
    """What every host serving a model needs first, whatever its engines: the private config directory, the helper
    scripts (``(path, template)`` pairs beyond wait-http and smoke-test: its engines' own, a cluster's), the data
    directory with the Hugging Face cache, and each engine's pinned image."""
    stack_directories(config=True, helpers=True)
    helpers = [(WAIT_HTTP, "wait-http.py.j2"), (SMOKE_TEST, "smoke-test.py.j2"), *extra_helpers]
    for helper, template in helpers:
        stack_file(name=f"{helper.rsplit('/', 1)[1]} helper", dest=helper, content=render(template), mode="755")
    files.directory(name="Data directory", path=settings.data_dir, mode="755")
    files.directory(name="Hugging Face cache", path=f"{settings.data_dir}/huggingface", mode="755")
    files.directory(name="Status records (last smoke test)", path=f"{settings.data_dir}/status", mode="755")
    registry_logins(settings)
    for image in settings.serving_images():
        docker_image(name=f"Serving image {image}", image=image, pull=settings.pull_images)


def weights_before_start(settings: StackSettings, service: ServiceFiles, instance: Instance) -> None:
    """Download the instance's weights into the Hugging Face cache before its unit starts (free disk checked,
    resumable, a finished download skipped); the download reads HF_TOKEN from the service's env file."""
    plan = instance.plan
    size_gib = plan.weights_gib_per_gpu * plan.tensor_parallel_size * plan.pipeline_parallel_size
    if plan.model_repo.startswith("/"):  # a folder model: served from the host's own copy, mounted read-only
        model_folder(name=f"Model folder {plan.model_repo}", path=plan.model_repo)
        return
    model_weights(
        name=f"Weights of {plan.model_repo} (~{size_gib:.1f} GiB, resumable)",
        repo=plan.model_repo,
        cache_dir=f"{settings.data_dir}/huggingface",
        image=service.image,  # the engine's own image carries the Hugging Face CLI
        env_file=service.env_path,
        size_gib=size_gib,
        offline=settings.offline,
        revision=find_model(plan.model).revision,
    )
    drafter_gib = find_model(plan.model).draft_params_b * 2e9 / GIB  # its 16-bit weights
    for repo in plan.output.repos_beside():
        model_weights(
            name=f"Weights of {repo}, the drafter beside it (~{drafter_gib:.1f} GiB, resumable)",
            repo=repo,
            cache_dir=f"{settings.data_dir}/huggingface",
            image=service.image,
            env_file=service.env_path,
            size_gib=drafter_gib,
            offline=settings.offline,
        )


def serving_checks(settings: StackSettings, service: ServiceFiles, instance: Instance, came_up: Callable[[], bool],
                   loading: str = "") -> None:
    """After a model server's unit (re)started: wait for its health path and /v1/models, printing progress, then the
    smoke test (measured speed beside the plan's estimate). ``loading`` says what it loads, for the step name."""
    wait_http(
        name=f"Wait for {service.unit} to load {instance.plan.model}{loading} "
             f"({service.health_url.removeprefix(service.base_url)}, up to {settings.health_timeout}s)",
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
            base_url=service.base_url,
            model=instance.served_model_name,
            key_from=service.env_path,
            thinking_kwarg=find_model(instance.plan.model).thinking_request_kwarg,
            expect_tps=instance.plan.decode_tokens_per_s,
            record=smoke_record(settings, service.unit),
            _if=came_up,
        )


def retire_service(unit_path: str, env_path: str | None = None, *more_files: str) -> None:
    """Stop and disable a unit the settings no longer ask for, and remove its files (data stays)."""
    unit_file = unit_path.rsplit("/", 1)[1]
    systemd.service(name=f"Stop {unit_file} (no longer wanted)", service=unit_file, running=False, enabled=False)
    files.file(name=f"Remove {unit_file}", path=unit_path, present=False)
    if env_path:
        files.file(name=f"Remove {unit_file} env file", path=env_path, present=False)
    for path in more_files:
        files.file(name=f"Remove {path.rsplit('/', 1)[1]}", path=path, present=False)
    systemd.daemon_reload(name="systemd daemon-reload")


def remove_stack_files(settings: StackSettings, state_dirs: Iterable[str]) -> None:
    """What removing the stack takes off any host after its services: config and secrets, helpers, the
    ``data_dir`` folders in ``state_dirs``; the weights and Open WebUI's data only when the settings ask."""
    files.directory(name="Remove the stack's config and secrets", path=CONFIG_DIR, present=False)
    files.directory(name="Remove the stack's helpers", path=HELPER_DIR, present=False)
    for state in state_dirs:
        files.directory(name=f"Remove {settings.data_dir}/{state}", path=f"{settings.data_dir}/{state}",
                        present=False)
    if settings.remove_weights:
        files.directory(name="Remove the model weights (asked for)", path=f"{settings.data_dir}/huggingface",
                        present=False)
    if settings.remove_openwebui_data:
        files.directory(name="Remove Open WebUI's data (asked for)", path=data_dir(settings),
                        present=False)


def packages_present(name: str, packages: list[str]) -> OperationMeta:
    """Install apt packages (``name=version`` pins allowed), refreshing the package lists only when something
    is missing, so a run with nothing to install changes nothing however old the lists are. Every apt step
    waits up to ``apt_lock_timeout`` for a lock another apt run holds, and a dpkg run an earlier deploy left
    cut off is finished first."""
    lock_timeout = host_settings().apt_lock_timeout
    if host.name not in _dpkg_checked:
        _dpkg_checked.add(host.name)
        dpkg_interrupted_finished(name="Finish a dpkg run that was cut off (dpkg --configure -a)",
                                  lock_timeout=lock_timeout)
    if missing_packages(prepared_fact(host, DebPackages) or {}, packages):
        apt_lists_updated(name=f"Update apt lists for: {name}", cache_time=600, lock_timeout=lock_timeout)
    return apt_installed(name=name, packages=packages, lock_timeout=lock_timeout)


_dpkg_checked: set[str] = set()  # hosts whose interrupted-dpkg check is already in this run


def apt_source(name: str, path: str, line: str, also_update_on: tuple[OperationMeta, ...] = ()) -> OperationMeta:
    """Write a one-line apt source file and refresh the package lists only when it (or, for example, the
    keyring it names) changed."""
    source = stack_file(name=name, dest=path, content=f"# Managed by reasoning-stack\n{line}\n", mode="644")
    apt_lists_updated(name=f"Update apt lists for: {name}", lock_timeout=host_settings().apt_lock_timeout,
                      _if=any_changed(source, *also_update_on))
    return source
