"""Open WebUI as a systemd unit: pinned image, data kept on the host, wired to this host's vLLM."""

import io

from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from reasoning_stack.context import host_plan, host_settings
from reasoning_stack.operations import docker_image, secret_env_file, secret_file, wait_http
from reasoning_stack.services import (
    CONFIG_DIR,
    OPENWEBUI_SECRET_ENV,
    OPENWEBUI_UNIT,
    UNIT_DIR,
    WAIT_HTTP,
    openwebui_service,
)

settings = host_settings()
plan, _gpus = host_plan()

if settings.openwebui_enabled:
    service = openwebui_service(settings, plan)
    files.directory(name="Stack config directory", path=CONFIG_DIR, mode="700", user="root", group="root")
    files.directory(name="Open WebUI data", path=f"{settings.data_dir}/open-webui", mode="755")
    docker_image(name=f"Open WebUI image {service.image}", image=service.image, pull=settings.pull_images)
    secret = None
    if settings.openwebui_secret_key is None:
        secret = secret_env_file(
            name="Open WebUI secret key (generated once, kept)",
            path=OPENWEBUI_SECRET_ENV,
            variable="WEBUI_SECRET_KEY",
        )
    env = secret_file(
        name=f"{service.unit} env file (0600)",
        dest=service.env_path,
        content=service.env_text,
    )
    unit = files.put(
        name=f"{service.unit} unit",
        src=io.StringIO(service.unit_text),
        dest=service.unit_path,
        mode="644",
    )
    systemd.daemon_reload(name="systemd daemon-reload", _if=unit.did_change)
    changes = [unit, env] + ([secret] if secret is not None else [])
    restarted = systemd.service(
        name=f"Restart {service.unit} for changed unit or env",
        service=f"{service.unit}.service",
        restarted=True,
        _if=any_changed(*changes),
    )
    started = systemd.service(
        name=f"{service.unit} running and enabled",
        service=f"{service.unit}.service",
        running=True,
        enabled=True,
    )
    wait_http(
        name="Wait for Open WebUI /health",
        helper=WAIT_HTTP,
        url=service.health_url,
        timeout=600,
        unit=service.unit,
        _if=any_changed(restarted, started),
    )
elif host.get_fact(File, path=f"{UNIT_DIR}/{OPENWEBUI_UNIT}.service"):
    # Switched off after it was deployed: stop it and remove its unit; its data stays on the host.
    systemd.service(name=f"Stop {OPENWEBUI_UNIT}", service=f"{OPENWEBUI_UNIT}.service", running=False, enabled=False)
    files.file(name=f"{OPENWEBUI_UNIT} unit removed", path=f"{UNIT_DIR}/{OPENWEBUI_UNIT}.service", present=False)
    systemd.daemon_reload(name="systemd daemon-reload")
