"""The host itself: where data lives, apt's lock wait, image pulls, Docker's daemon options."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

# Folders a deploy must never take over as its data_dir (it sets their mode).
_SYSTEM_DIRS = {"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/media", "/mnt", "/opt", "/proc",
                "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/local", "/var", "/var/lib", "/var/tmp"}
# Sampling defaults vLLM honours, with the values it accepts.
_SAMPLING_RANGES = {
    "temperature": (0.0, None, False, "0 or more"), "top_p": (0.0, 1.0, False, "above 0, at most 1"),
    "top_k": (-1, None, True, "a whole number, -1 (off) or more"), "min_p": (0.0, 1.0, False, "0 to 1"),
    "repetition_penalty": (0.0, None, False, "above 0"), "max_new_tokens": (1, None, True, "a whole number, 1 or more"),
}


class HostSettings(BaseModel):
    """Host"""

    data_dir: str = Field(
        "/var/lib/reasoning-stack", description="Where model weights and Open WebUI data live on the host."
    )

    apt_lock_timeout: int = Field(
        600, ge=0, le=7200,
        description="Seconds each apt or dpkg step of the deploy waits, saying so, for a package lock another apt run "
                    "(unattended upgrades, say) holds, before failing.",
    )

    pull_images: bool = Field(
        True, description="Pull missing images; False for air-gapped hosts with images loaded beforehand."
    )

    docker_daemon_options: dict[str, Any] = Field(
        {}, description="Extra keys for /etc/docker/daemon.json (for example a storage-driver)."
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/") or any(c in value for c in " '\"$`\\"):
            raise ValueError("must be an absolute path without spaces or quotes")
        value = value.rstrip("/") or "/"
        if value in _SYSTEM_DIRS:
            raise ValueError(f"{value} is a system directory: the deploy sets its owner and mode; use a folder of "
                             "its own, like /var/lib/reasoning-stack or /srv/reasoning-stack")
        return value

    def _check_daemon_options(self) -> None:
        """docker_daemon_options keys the stack sets itself would be rewritten (and Docker restarted) each run."""
        opts = self.docker_daemon_options
        drivers = [o for o in opts.get("exec-opts", []) if str(o).startswith("native.cgroupdriver=")]
        if self.nvidia_container_toolkit and any(o != "native.cgroupdriver=cgroupfs" for o in drivers):
            raise ValueError("docker_daemon_options exec-opts: the stack sets native.cgroupdriver=cgroupfs (with "
                             "the systemd driver a daemon-reload can take GPUs away from running containers); "
                             "remove your cgroup driver")
        if self.nvidia_container_toolkit and "nvidia" in (opts.get("runtimes") or {}):
            raise ValueError("docker_daemon_options runtimes: the stack sets the nvidia runtime itself; remove it")
