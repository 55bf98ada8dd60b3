"""Debian 12 test hosts in Docker (systemd + sshd), reached by the real pyinfra CLI over SSH on 127.0.0.1.

Used by the end-to-end tests, ``scripts/demo`` and ``bench/deploy_time``. Only the GPU and the two upstream
images are stood in for (tests/standins/); everything else on a test host is real Debian.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from reasoning_stack.settings import SECRET_ENV_VARS

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
REPO = TESTS.parent
STANDINS = TESTS / "standins"
NVIDIA_SMI_FIXTURES = TESTS / "fixtures" / "nvidia-smi"
CACHE = Path(os.environ.get("REASONING_STACK_TEST_CACHE",
                            Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "reasoning-stack-tests"))
LABEL = "reasoning-stack-testhost"

# Docker inside a test host: no --privileged here; these capabilities are enough for systemd and dockerd. The inner
# Docker's /var/lib/docker is a volume of its own (removed with the host) rather than a folder of the host's overlay
# root, so the inner Docker runs on overlay2, as on a real box: on vfs every container start copied its whole image
# (the dockerd of a cluster node spent 30 s of a core per `docker run`).
RUN_FLAGS = [
    "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--tmpfs", "/run", "--tmpfs", "/run/lock",
    "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro",
    "--mount", "type=volume,destination=/var/lib/docker",
]
# The label the test deployments give the inner Docker through docker_daemon_options: `docker info` shows it
# only when the deploy's daemon.json reached dockerd.
INNER_DOCKER_LABEL = "reasoning-stack-test-host=1"


def docker(*args: str, check: bool = True, capture: bool = True, input: bytes | None = None,
           timeout: float | None = 600) -> subprocess.CompletedProcess:
    """Run the docker CLI of the machine running the tests."""
    return subprocess.run(["docker", *args], check=check, capture_output=capture, input=input, timeout=timeout)


def docker_available() -> bool:
    """True when a Docker engine answers."""
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def require_docker() -> None:
    """Fail (under CI) or skip (elsewhere) a test that needs a Docker engine when none answers."""
    import pytest

    if not docker_available():
        if os.environ.get("CI"):
            pytest.fail("end-to-end tests need a Docker engine; .ci/run starts one")
        pytest.skip("no Docker engine here; .ci/run starts one and runs these tests")


def image_and_key() -> tuple[str, Path]:
    """The test-host image (built or reused) and the SSH key of the test run."""
    keydir = CACHE / "ssh"
    keydir.mkdir(parents=True, exist_ok=True)
    return build_image(), ssh_keypair(keydir)


def build_image() -> str:
    """Build (or reuse, by recipe hash) the test-host image; returns its tag."""
    out = subprocess.run(["bash", str(HERE / "image.sh")], check=True, capture_output=True, text=True,
                         env={**os.environ, "REASONING_STACK_TEST_CACHE": str(CACHE)})
    return out.stdout.strip().splitlines()[-1]


def standin_rootfs(tag: str) -> Path:
    """The root filesystem tarball the stand-in images are imported from."""
    return CACHE / f"standin-rootfs-{tag.rsplit(':', 1)[1]}.tar"


# scripts/test runs four pytest lanes at once, then one alone: each takes ports from its own range, below the
# kernel's ephemeral ports (32768 up), so two lanes are never handed one port (a port bound to 0, closed and handed
# back, can be handed to another process before its first user binds it).
PORT_RANGES = {"e2e-a": 12000, "e2e-b": 14500, "servers": 17000, "rest": 19500, "alone": 22000, "timing": 24500}
PORTS_PER_RANGE = 2500
_next_port: list[int] = []


def free_port() -> int:
    """A port nothing listens on at 127.0.0.1, from this pytest run's own range (``PORT_RANGES``, by lane; a run
    outside scripts/test has one more), each handed out once per run."""
    if not _next_port:
        _next_port.append(PORT_RANGES.get(os.environ.get("RS_TIMING_NAME", ""), 27000))
    end = PORT_RANGES.get(os.environ.get("RS_TIMING_NAME", ""), 27000) + PORTS_PER_RANGE
    while _next_port[0] < end:
        port = _next_port[0]
        _next_port[0] += 1
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken: by a server of an earlier run still stopping, or by something else
        return port
    raise RuntimeError(f"no free port left in this run's range (up to {end})")


def ssh_keypair(directory: Path) -> Path:
    """An ed25519 key pair for the test run; returns the private key path."""
    key = directory / "id_ed25519"
    with open(directory / ".lock", "w") as lock:  # test modules run side by side may ask at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


@dataclass
class TestHost:
    """One running test host."""

    name: str
    container: str
    port: int
    user: str
    key: Path
    gpu_profile: str = "rtx-4090x1"
    extra_data: dict[str, object] = field(default_factory=dict)

    def exec(self, *cmd: str, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess:
        """Run a command in the host as root (through the engine, not through the deploy's SSH)."""
        return docker("exec", "-i", self.container, *cmd, check=check, input=input)

    def sh(self, script: str, check: bool = True) -> str:
        return self.exec("sh", "-c", script, check=check).stdout.decode()

    def inventory_entry(self) -> tuple[str, dict[str, object]]:
        data: dict[str, object] = {
            "ssh_hostname": "127.0.0.1",
            "ssh_port": self.port,
            "ssh_user": self.user,
            "ssh_key": str(self.key),
            "ssh_strict_host_key_checking": "off",
            "ssh_known_hosts_file": "/dev/null",
        }
        if self.user != "root":
            data["_sudo"] = True
        data.update(self.extra_data)
        return self.name, data


def create_network(purpose: str) -> str:
    """A Docker network of its own for test hosts that must reach each other (a cluster's nodes); nothing
    else is on it. Returns its name; :func:`remove_network` takes it away."""
    name = f"rs-test-{purpose}-{uuid.uuid4().hex[:8]}"
    docker("network", "create", "--label", LABEL, name)
    return name


def remove_network(name: str) -> None:
    docker("network", "rm", name, check=False)


def start_host(image: str, name: str, key: Path, user: str = "root", gpu_profile: str = "rtx-4090x1",
               driver: bool = True, repos: Path | None = None, network: str | None = None) -> TestHost:
    """Start a test host: systemd as PID 1, sshd on 127.0.0.1:<free port>, the stand-in GPU on its PCI bus,
    with a (stand-in) driver already working unless ``driver`` is False, and the stand-in NVIDIA apt
    repositories (tests/hosts/standin_repo.py) under /srv/standin-nvidia when ``repos`` is given."""
    container = f"rs-test-{name}-{uuid.uuid4().hex[:8]}"
    port = free_port()
    on_network = ["--network", network] if network else []
    docker("run", "-d", "--name", container, "--hostname", name, "--label", LABEL, *RUN_FLAGS, *on_network,
           "-p", f"127.0.0.1:{port}:22", image)
    host = TestHost(name, container, port, user, key, gpu_profile)
    pub = key.with_suffix(".pub").read_bytes()
    home = "/root" if user == "root" else f"/home/{user}"
    host.exec("sh", "-c", f"mkdir -p {home}/.ssh && cat > {home}/.ssh/authorized_keys && "
              f"chown -R {user}:{user} {home}/.ssh && chmod 700 {home}/.ssh && chmod 600 {home}/.ssh/authorized_keys",
              input=pub)
    install_standin_gpu(host, gpu_profile, driver)
    if repos is not None:
        docker("cp", f"{repos}/.", f"{container}:/srv/standin-nvidia")
    wait_for_ssh(host)
    return host


def install_standin_gpu(host: TestHost, profile: str, driver: bool = True) -> None:
    """The hardware stand-in: lspci listing the profile's GPUs, and (with ``driver``) an nvidia-smi that
    prints its recorded CSV, as on a box whose driver is already installed. The OCI hook that makes
    `docker run --gpus` work comes with the stand-in Container Toolkit package, as the real one does."""
    host.exec("mkdir", "-p", "/usr/local/share/standin-nvidia-smi")
    for fixture in NVIDIA_SMI_FIXTURES.iterdir():
        host.exec("sh", "-c", f"cat > /usr/local/share/standin-nvidia-smi/{fixture.name}", input=fixture.read_bytes())
    for tool in ("lspci", "nvidia-smi") if driver else ("lspci",):
        host.exec("sh", "-c", f"cat > /usr/local/bin/{tool} && chmod 755 /usr/local/bin/{tool}",
                  input=(STANDINS / tool).read_bytes())
    host.exec("sh", "-c", "cat > /etc/standin-gpu-profile", input=profile.encode())


def wait_for_ssh(host: TestHost, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = host.exec("systemctl", "is-active", "ssh", check=False).stdout.decode().strip()
        if state == "active":
            try:
                with socket.create_connection(("127.0.0.1", host.port), timeout=2) as sock:
                    if sock.recv(4).startswith(b"SSH-"):
                        return
            except OSError:
                pass
        time.sleep(0.5)
    raise TimeoutError(f"sshd of test host {host.name} did not come up in {timeout}s")


RAY_VERSION = "2.54.0"  # the stand-in's Ray, from PyPI (vLLM 0.17.1's image ships Ray 2.x)


def ray_site_packages() -> Path:
    """Ray and its dependencies for the stand-in image, installed once into the test cache with this
    interpreter (the test hosts run Debian 12's Python 3.11, the same minor version)."""
    target = CACHE / f"ray-{RAY_VERSION}-py{sys.version_info[0]}{sys.version_info[1]}"
    if (target / ".complete").exists():
        return target
    tmp = Path(tempfile.mkdtemp(prefix="ray-", dir=CACHE))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-compile",
                    "--only-binary=:all:", "--target", str(tmp), f"ray=={RAY_VERSION}"], check=True)
    (tmp / ".complete").write_text(RAY_VERSION)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def load_standin_images(host: TestHost, rootfs: Path, images: list[str], ray: Path | None = None) -> None:
    """Import the stand-in image into the host's own Docker under the given names (as `docker load` would
    on an air-gapped box). One image serves them all: with arguments it is vLLM (the DCGM exporter when they
    start with its ``-f``; NVIDIA NIM when NIM_MODEL_PATH is set), without it is Open WebUI (Grafana when Grafana's
    environment is set).
    With ``ray`` (see :func:`ray_site_packages`) the image carries Ray and its `ray` command, as vLLM
    0.17.1's image does."""
    host.exec("mkdir", "-p", "/tmp/standin")
    for script in ("vllm_standin.py", "openwebui_standin.py", "sglang_standin.py", "ollama_standin.py",
                   "grafana_standin.py", "dcgm_exporter_standin.py", "nim_standin.py", "registry_standin.py"):
        host.exec("sh", "-c", f"cat > /tmp/standin/{script}", input=(STANDINS / script).read_bytes())
    # the tables Open WebUI 0.12.4 makes in PostgreSQL (the stand-in makes them on a postgresql DATABASE_URL)
    host.exec("sh", "-c", "cat > /tmp/standin/openwebui-postgresql.sql",
              input=(STANDINS / "openwebui-postgresql.sql").read_bytes())
    entry = textwrap.dedent("""\
        #!/bin/sh
        if [ "$1" = "-f" ]; then exec python3 -u /standin/dcgm_exporter_standin.py "$@"; fi
        if [ -n "$NIM_MODEL_PATH" ]; then exec python3 -u /standin/nim_standin.py "$@"; fi
        if [ "$#" -gt 0 ]; then exec python3 -u /standin/vllm_standin.py "$@"; fi
        if [ -n "$GF_SERVER_HTTP_PORT" ]; then exec python3 -u /standin/grafana_standin.py; fi
        exec python3 -u /standin/openwebui_standin.py
        """)
    host.exec("sh", "-c", "cat > /tmp/standin/entrypoint && chmod 755 /tmp/standin/entrypoint", input=entry.encode())
    host.exec("sh", "-c", "cat > /tmp/standin/hf", input=(STANDINS / "hf").read_bytes())
    docker("cp", str(rootfs), f"{host.container}:/tmp/standin-rootfs.tar")
    first = images[0]
    # `python3 -m sglang.launch_server` (the SGLang unit's command) runs the SGLang stand-in
    site = "/tmp/overlay/usr/local/lib/python3.11/dist-packages"
    host.exec("mkdir", "-p", f"{site}/sglang")
    host.sh(f"touch {site}/sglang/__init__.py && cp /tmp/standin/sglang_standin.py {site}/sglang/launch_server.py")
    python_paths = " ./usr/local/lib/python3.11/dist-packages/sglang"
    if ray is not None:
        host.exec("mkdir", "-p", site, "/tmp/overlay/usr/local/bin")
        docker("cp", f"{ray}/.", f"{host.container}:{site}")
        wrapper = ("#!/bin/sh\nexec python3 -c 'import sys; from ray.scripts.scripts import main; "
                   "sys.argv[0] = \"ray\"; main()' \"$@\"\n")
        host.exec("sh", "-c", "cat > /tmp/overlay/usr/local/bin/ray && chmod 755 /tmp/overlay/usr/local/bin/ray",
                  input=wrapper.encode())
        # the entries below dist-packages, not the folder itself: Debian's root already has it, and an
        # image layer may not carry a path twice
        python_paths = " ./usr/local/lib/python3.11/dist-packages/* ./usr/local/bin/ray"
    host.sh(
        "set -e; cd /tmp; mkdir -p overlay/standin overlay/usr/local/bin; cp /tmp/standin/* overlay/standin/; "
        "install -m 755 /tmp/standin/hf overlay/usr/local/bin/hf; "
        "mkdir -p overlay/usr/bin && install -m 755 /tmp/standin/ollama_standin.py overlay/usr/bin/ollama; "
        "cd /tmp/overlay; "
        f"tar -rf /tmp/standin-rootfs.tar ./standin ./usr/local/bin/hf ./usr/bin/ollama{python_paths}; cd /tmp; "
        f"docker import --change 'ENTRYPOINT [\"/standin/entrypoint\"]' /tmp/standin-rootfs.tar {first} >/dev/null; "
        "rm -f /tmp/standin-rootfs.tar"
    )
    for other in images[1:]:
        host.exec("docker", "tag", first, other)


def unpacked_tool(path: Path, setup: str) -> Path:
    """``path``, a tool ``setup`` (a script under tests/tools/ that scripts/test runs) unpacks into the user cache;
    fails the test under CI, skips it elsewhere, when it is not there."""
    import pytest

    if not path.exists():
        message = f"{path.name} is not unpacked ({path}); scripts/test runs {setup}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def share_images(source: TestHost, targets: list[TestHost], images: list[str]) -> None:
    """The images of ``source``'s Docker, the same image IDs, into each target's (``docker save`` and ``load``):
    a cluster's nodes run one image, as pulled from one registry, and the cluster preflight checks the IDs."""
    archive = Path(tempfile.mkdtemp(prefix="rs-images-")) / "images.tar"
    try:
        source.exec("docker", "save", "-o", "/tmp/shared-images.tar", *images)
        docker("cp", f"{source.container}:/tmp/shared-images.tar", str(archive))
        source.exec("rm", "-f", "/tmp/shared-images.tar")
        for target in targets:
            docker("cp", str(archive), f"{target.container}:/tmp/shared-images.tar")
            target.sh("docker load -q -i /tmp/shared-images.tar >/dev/null && rm -f /tmp/shared-images.tar")
    finally:
        shutil.rmtree(archive.parent, ignore_errors=True)


def remove_hosts(hosts: list[TestHost]) -> None:
    for host in hosts:
        docker("rm", "-f", "-v", host.container, check=False)


def remove_all_test_hosts() -> None:
    """Remove every test host left by an interrupted run (they carry the test-host label)."""
    ids = docker("ps", "-aq", "--filter", f"label={LABEL}", check=False).stdout.decode().split()
    if ids:
        docker("rm", "-f", "-v", *ids, check=False)
    networks = docker("network", "ls", "-q", "--filter", f"label={LABEL}", check=False).stdout.decode().split()
    if networks:
        docker("network", "rm", *networks, check=False)


@dataclass
class Project:
    """A throw-away project folder: inventory + group_data for test hosts, deploys from this checkout."""

    path: Path
    hosts: list[TestHost]
    environ: dict[str, str] = field(default_factory=dict)  # secrets reach the deploy as the operator's would
    extra_environ: dict[str, str] = field(default_factory=dict)  # more of them (cloud API keys), set by tests

    @property
    def inventory(self) -> Path:
        return self.path / "inventory.py"

    def write(self, group_settings: dict[str, object]) -> None:
        entries = ",\n    ".join(repr(h.inventory_entry()) for h in self.hosts)
        self.inventory.write_text(f"test_hosts = [\n    {entries},\n]\n")
        group_data = self.path / "group_data"
        group_data.mkdir(exist_ok=True)
        self.environ = {SECRET_ENV_VARS[k]: str(v) for k, v in group_settings.items() if k in SECRET_ENV_VARS and v}
        body = "".join(f"{k} = {v!r}\n" for k, v in group_settings.items() if k not in SECRET_ENV_VARS)
        (group_data / "test_hosts.py").write_text(body)

    def command(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """Run ``reasoning-stack ARGS... INVENTORY`` with the project's secrets in its environment, as an operator
        would."""
        env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV_VARS.values()} | self.environ
        cmd = [str(Path(sys.executable).parent / "reasoning-stack"), *args, str(self.inventory)]
        return subprocess.run(cmd, cwd=self.path, capture_output=True, text=True, timeout=timeout, env=env)

    def status(self, *extra: str) -> tuple[int, dict | None, str]:
        """Run `reasoning-stack status --json` on the project's inventory: (exit code, report, stderr)."""
        out = self.command("status", "--json", *extra)
        try:
            return out.returncode, json.loads(out.stdout), out.stderr
        except json.JSONDecodeError:
            return out.returncode, None, out.stderr + out.stdout

    def pyinfra(self, deploy: str = "reasoning.py", *extra: str, timeout: float = 1500,
                profile: Path | None = None) -> tuple[int, dict | None, str]:
        """Run the real pyinfra CLI (-y --json); returns (exit code, JSON results or None, stderr). ``profile``:
        run it through bench/pyinfra_profile.py, which writes where the seconds went to that file."""
        cli = [str(Path(sys.executable).parent / "pyinfra")]
        if profile is not None:
            cli = [sys.executable, str(REPO / "bench" / "pyinfra_profile.py"), str(profile)]
        cmd = [*cli, "-y", "--json", *extra, str(self.inventory), str(REPO / "deploys" / deploy)]
        env = ({k: v for k, v in os.environ.items() if k not in SECRET_ENV_VARS.values()} | self.environ
               | self.extra_environ)
        out = subprocess.run(cmd, cwd=self.path, capture_output=True, text=True, timeout=timeout, env=env)
        try:
            data = json.loads(out.stdout) if out.stdout.strip() else None
        except json.JSONDecodeError:
            data = None
        return out.returncode, data, out.stderr + out.stdout


def standin_settings(repos_mount: str = "/srv/standin-nvidia") -> dict[str, object]:
    """group_data every test deployment needs: Docker inside a container on overlay2 (its folder is a volume, see
    RUN_FLAGS; named so that a machine where it cannot work fails at once) with a label, images are loaded
    beforehand (no registry is reachable), NVIDIA's repositories are the local stand-in ones, and monitoring is
    off unless a test turns it on."""
    return {
        "docker_daemon_options": {"storage-driver": "overlay2", "labels": [INNER_DOCKER_LABEL]},
        "pull_images": False,
        "nvidia_cuda_repo": f"file://{repos_mount}/cuda/{{distro}}/{{arch}}",
        "nvidia_toolkit_repo": f"file://{repos_mount}/toolkit",
        # monitoring is deployed by the tests that look at it (its packages come from Debian's mirror)
        "monitoring_enabled": False,
    }


def new_project(hosts: list[TestHost]) -> Project:
    return Project(Path(tempfile.mkdtemp(prefix="rs-project-")), hosts)


class Box:
    """One test host in a project of its own, for the end-to-end modules that share one host: ``deploy`` keeps
    each change to the group settings for the runs after it."""

    def __init__(self, host: TestHost, rootfs: Path, settings: dict[str, object]) -> None:
        self.host = host
        self.rootfs = rootfs
        self.project = new_project([host])
        self.settings = dict(settings)

    def deploy(self, deploy: str = "reasoning.py", *extra: str, **changes: object) -> tuple[int, dict | None, str]:
        """Run the real pyinfra CLI with the settings so far plus ``changes``: (exit code, JSON results, stderr)."""
        self.settings.update(changes)
        self.project.write(self.settings)
        return self.project.pyinfra(deploy, *extra)
