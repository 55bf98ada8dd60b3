"""pyinfra operations of this stack that pyinfra does not ship, one module per tool (apt, Docker, files and
secrets, HTTP helpers, models, launchd, Ray). Each yields nothing when nothing is to do."""

from reasoning_stack.operations.apt import (
    APT_ENV,
    APT_OPTIONS,
    APT_STAMP,
    apt_hold,
    apt_installed,
    apt_lists_updated,
    apt_waiting_for_lock,
    deb_from_url,
    dpkg_interrupted_finished,
    gpg_keyring_from_url,
    missing_packages,
)
from reasoning_stack.operations.cluster import (
    mp_cluster_ready,
)
from reasoning_stack.operations.docker import (
    docker_image,
    docker_login,
    docker_logout,
    gpu_container_check,
)
from reasoning_stack.operations.files import (
    deep_merge,
    directory_owned,
    host_notice,
    json_file_merged,
    secret_env_file,
    secret_file,
    sqlite_backup,
    stack_file,
)
from reasoning_stack.operations.http import (
    smoke_test,
    wait_http,
)
from reasoning_stack.operations.launchd import (
    launchd_job,
    launchd_reload,
)
from reasoning_stack.operations.models import (
    model_folder,
    model_weights,
    ollama_model,
)
from reasoning_stack.operations.ray import (
    image_has_ray,
    ray_cluster_ready,
)
from reasoning_stack.operations.streamed import (
    StreamedCommand,
)
from reasoning_stack.operations.systemd import (
    unit_running,
)

__all__ = [
    "APT_ENV",
    "APT_OPTIONS",
    "APT_STAMP",
    "StreamedCommand",
    "apt_hold",
    "apt_installed",
    "apt_lists_updated",
    "apt_waiting_for_lock",
    "deb_from_url",
    "deep_merge",
    "directory_owned",
    "docker_image",
    "docker_login",
    "docker_logout",
    "dpkg_interrupted_finished",
    "gpg_keyring_from_url",
    "gpu_container_check",
    "host_notice",
    "image_has_ray",
    "json_file_merged",
    "launchd_job",
    "launchd_reload",
    "missing_packages",
    "model_folder",
    "model_weights",
    "ollama_model",
    "mp_cluster_ready",
    "ray_cluster_ready",
    "secret_env_file",
    "secret_file",
    "stack_file",
    "unit_running",
    "smoke_test",
    "sqlite_backup",
    "wait_http",
]
