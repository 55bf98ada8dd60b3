"""pyinfra operations of this stack that pyinfra does not ship. Each yields nothing when nothing is to do."""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import shlex
from datetime import UTC, datetime

from pyinfra import host
from pyinfra.api import FileUploadCommand, FunctionCommand, OperationError, StringCommand, operation
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.files import File, FileContents, Sha1File
from pyinfra.facts.launchd import LaunchdStatus
from pyinfra.facts.server import Date
from pyinfra.operations import files

from reasoning_stack.catalogue import GIB
from reasoning_stack.facts import (
    DockerImageId,
    DpkgInterrupted,
    FreeDiskBytes,
    HeldPackages,
    HfWeights,
    weights_marker,
)


def run_streamed(command: str) -> None:
    """Marker name for :class:`StreamedCommand` in operation listings; the command runs on the host."""


class StreamedCommand(FunctionCommand):
    """A shell command whose output is shown live, line by line with the host's name, at any verbosity:
    long waits (image pulls, weight downloads, model loading) never block silently."""

    def __init__(self, command: str):
        super().__init__(run_streamed, (command,), {})

    def execute(self, state, host, connector_arguments) -> bool:  # type: ignore[override]
        status, _output = host.run_shell_command(StringCommand(self.args[0]), print_output=True,
                                                 **connector_arguments)
        return bool(status)


@operation()
def docker_image(image: str, pull: bool = True):
    """
    Make sure a Docker image is on the host; pull it (with Docker's progress) only when it is missing.

    + image: image reference, pinned by tag or digest
    + pull: pull a missing image; when False a missing image is an error (air-gapped hosts)

    .. code:: python

        docker_image(name="vLLM image", image="vllm/vllm-openai:v0.17.1")
    """
    if host.get_fact(DockerImageId, image=image):
        host.noop(f"image {image} is present")
        return
    if not pull:
        raise OperationError(f"image {image} is not on the host and pull_images is False: load it with "
                             f"`docker load` first, or set pull_images = True")
    yield StreamedCommand(f"docker pull {shlex.quote(image)}")


@operation()
def secret_env_file(path: str, variable: str, nbytes: int = 32):
    """
    Create an env file holding one random secret, once; an existing file is kept as it is.

    + path: file to create (mode 0600, owner root)
    + variable: the variable name, e.g. ``WEBUI_SECRET_KEY``
    + nbytes: random bytes in the secret

    .. code:: python

        secret_env_file(path="/etc/reasoning-stack/openwebui-secret.env", variable="WEBUI_SECRET_KEY")
    """
    if host.get_fact(File, path=path):
        host.noop(f"{path} exists")
        return
    script = f"import secrets; print('{variable}=' + secrets.token_urlsafe({int(nbytes)}))"
    target = shlex.quote(path)
    yield f"umask 077 && python3 -c {shlex.quote(script)} > {target}.tmp && mv {target}.tmp {target}"


@operation(is_idempotent=False)
def wait_http(helper: str, url: str, timeout: int, unit: str, expect: str = "", key_from: str = "", log: str = ""):
    """
    Wait until ``url`` answers 200 (printing progress); on timeout print the unit's journal and fail.

    + helper: path of the wait-http helper installed on the host
    + url: URL to poll
    + timeout: seconds to wait
    + unit: systemd unit whose journal tail is shown on failure
    + expect: text the body must contain
    + key_from: env file whose VLLM_API_KEY is sent as a bearer token
    + log: the service's log file, shown on failure instead of its journal (launchd services on macOS)

    .. code:: python

        wait_http(helper=WAIT_HTTP, url="http://127.0.0.1:8000/health", timeout=1800, unit="reasoning-vllm")
    """
    args = [helper, url, str(int(timeout)), unit]
    args += ["--expect", expect] if expect else []
    args += ["--key-from", key_from] if key_from else []
    args += ["--log", log] if log else []
    yield StreamedCommand(" ".join(shlex.quote(a) for a in args))


@operation(is_idempotent=False)
def openwebui_signup_policy(helper: str, url: str, policy: str, env_files: list[str]):
    """
    Make Open WebUI's sign-up policy hold after it created its first account (which switches sign-up off until
    a restart): the helper reads the policy Open WebUI applies and, when it differs, sets it as the admin.

    + helper: path of the openwebui-signup helper on the host
    + url: Open WebUI's base URL
    + policy: closed, pending or open
    + env_files: env files holding WEBUI_ADMIN_EMAIL and WEBUI_ADMIN_PASSWORD (read on the host)

    .. code:: python

        openwebui_signup_policy(helper=OPENWEBUI_SIGNUP, url="http://127.0.0.1:3000", policy="pending",
                                env_files=["/etc/reasoning-stack/reasoning-openwebui.env"])
    """
    args = [helper, url, policy] + [arg for path in env_files for arg in ("--env-file", path)]
    yield StreamedCommand(" ".join(shlex.quote(a) for a in args))


@operation(is_idempotent=False)
def openwebui_models(helper: str, url: str, models_file: str, env_files: list[str]):
    """
    Create or update Open WebUI's model entries (names, prompting advice, read access for everyone) from
    ``models_file`` on the host, signed in as the admin whose credentials the env files hold.

    + helper: path of the openwebui-models helper on the host
    + url: Open WebUI's base URL
    + models_file: JSON list of model entries (reasoning_stack.webui.model_entries)
    + env_files: env files holding WEBUI_ADMIN_EMAIL and WEBUI_ADMIN_PASSWORD

    .. code:: python

        openwebui_models(helper=OPENWEBUI_MODELS, url="http://127.0.0.1:3000",
                         models_file="/etc/reasoning-stack/openwebui-models.json",
                         env_files=["/etc/reasoning-stack/reasoning-openwebui.env"])
    """
    args = [helper, url, models_file] + [arg for path in env_files for arg in ("--env-file", path)]
    yield StreamedCommand(" ".join(shlex.quote(a) for a in args))


@operation(is_idempotent=False)
def cloud_models_check(helper: str, env_file: str, connections: list[tuple[str, int, list[str]]]):
    """
    Check that each cloud connection offers the model ids the settings list, warning (never failing) when one
    is missing or the API cannot be reached from the host. The URLs and keys are read from ``env_file`` on the
    host, so no key is on a command line.

    + helper: path of the cloud-models helper on the host
    + env_file: Open WebUI's env file (OPENAI_API_BASE_URLS / OPENAI_API_KEYS)
    + connections: (name, index among the connections, model ids) per cloud connection

    .. code:: python

        cloud_models_check(helper=CLOUD_MODELS, env_file="/etc/reasoning-stack/reasoning-openwebui.env",
                           connections=[("deepseek", 1, ["deepseek-reasoner"])])
    """
    specs = [f"{name}={index}:{','.join(models)}" for name, index, models in connections]
    yield StreamedCommand(" ".join(shlex.quote(a) for a in [helper, env_file, *specs]))


def deep_merge(base: dict[str, object], extra: dict[str, object]) -> dict[str, object]:
    """``base`` with ``extra`` merged in; nested objects are merged key by key, other values replaced."""
    merged = dict(base)
    for key, value in extra.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


@operation()
def json_file_merged(path: str, options: dict[str, object], mode: str = "644"):
    """
    Merge keys into a JSON object file, keeping every key the file already has that is not given here
    (nested objects, such as Docker's ``runtimes``, are merged key by key).

    + path: the JSON file (created when missing)
    + options: keys to set
    + mode: file mode

    .. code:: python

        json_file_merged(path="/etc/docker/daemon.json", options={"storage-driver": "vfs"})
    """
    lines = host.get_fact(FileContents, path=path)
    current: dict[str, object] = {}
    if lines:
        try:
            current = json.loads("\n".join(lines))
        except json.JSONDecodeError as exc:
            raise OperationError(f"{path} is not valid JSON ({exc}); fix or remove it, then deploy again") from None
    merged = deep_merge(current, options)
    if lines is not None and merged == current:
        host.noop(f"{path} already has {', '.join(options) or 'nothing to add'}")
        return
    text = json.dumps(merged, indent=2, sort_keys=True) + "\n"
    yield from files.put._inner(src=io.StringIO(text), dest=path, mode=mode, user="root", group="root")


@operation()
def model_weights(repo: str, cache_dir: str, image: str, env_file: str, size_gib: float, offline: bool = False,
                  hf: str = "", user: str = ""):
    """
    Download a model's weights into the host's Hugging Face cache before the service starts, with the
    ``hf`` tool of the vLLM image (resumable; skipped once complete). Free disk is checked first.

    + repo: Hugging Face model repo
    + cache_dir: the host folder mounted as the container's Hugging Face cache
    + image: the vLLM image (it carries huggingface_hub's ``hf`` command)
    + env_file: env file with HF_TOKEN for gated models
    + size_gib: expected size of the weights
    + offline: weights are pre-staged; never download, fail if they are missing
    + hf: an ``hf`` command on the host to use instead of the image's (a Mac: the MLX-LM environment's)
    + user: with ``hf``, the account that owns the cache (the download runs as it, with HF_TOKEN from env_file)

    .. code:: python

        model_weights(repo="Qwen/QwQ-32B-AWQ", cache_dir="/var/lib/reasoning-stack/huggingface",
                      image="vllm/vllm-openai:v0.17.1", env_file="/etc/reasoning-stack/reasoning-vllm.env",
                      size_gib=18.0)
    """
    have = host.get_fact(HfWeights, cache_dir=cache_dir, repo=repo)
    if have["complete"]:
        host.noop(f"weights of {repo} are complete")
        return
    if offline:
        if have["snapshots"]:
            host.noop(f"weights of {repo} are pre-staged (offline)")
            return
        raise OperationError(f"offline is true but {cache_dir} has no snapshot of {repo}; pre-stage it with "
                             f"`hf download {repo} --cache-dir {cache_dir}/hub` or set offline = False")
    free = host.get_fact(FreeDiskBytes, path=cache_dir)
    needed = size_gib * 1.05 * GIB  # safetensors plus tokenizer and config files
    if free is not None and free < needed and not have["snapshots"]:
        raise OperationError(f"{repo} needs about {needed / GIB:.1f} GiB but {cache_dir} has {free / GIB:.1f} GiB "
                             f"free: free some space, move data_dir to a larger disk, or pick a smaller model")
    marker = weights_marker(cache_dir, repo)
    pull = (
        f"docker run --rm --network host --env-file {shlex.quote(env_file)} "
        f"--volume {shlex.quote(cache_dir)}:/root/.cache/huggingface --entrypoint hf {shlex.quote(image)} "
        f"download {shlex.quote(repo)}"
    )
    if hf:  # the token is read from the root-only env file, then the download runs as the cache's owner
        token = f"$(sed -n 's/^HF_TOKEN=//p' {shlex.quote(env_file)} 2>/dev/null)"
        pull = (f"sudo -u {shlex.quote(user)} env HF_HOME={shlex.quote(cache_dir)} HF_TOKEN=\"{token}\" "
                f"{shlex.quote(hf)} download {shlex.quote(repo)}")
    hint = (f"downloading {repo} failed; if the model is gated, accept its licence on Hugging Face and set HF_TOKEN; "
            "a re-run resumes the download")
    yield StreamedCommand(f"{pull} || {{ echo {shlex.quote(hint)} >&2; exit 1; }}; "
                          f"mkdir -p {shlex.quote(posixpath.dirname(marker))} && touch {shlex.quote(marker)}")


@operation()
def launchd_job(label: str, plist: str):
    """
    Have launchd run a LaunchDaemon: ``launchctl bootstrap system`` when launchd does not have it loaded
    (a plist that changed is reloaded by :func:`launchd_reload`, added before this).

    + label: the job's label (``com.reasoning-stack.mlx``)
    + plist: its plist under /Library/LaunchDaemons

    .. code:: python

        launchd_job(label="com.reasoning-stack.mlx", plist="/Library/LaunchDaemons/com.reasoning-stack.mlx.plist")
    """
    if label in (host.get_fact(LaunchdStatus) or {}):
        host.noop(f"launchd runs {label}")
        return
    target = shlex.quote(f"system/{label}")
    yield f"launchctl print {target} >/dev/null 2>&1 || launchctl bootstrap system {shlex.quote(plist)}"


@operation(is_idempotent=False)
def launchd_reload(label: str, plist: str):
    """
    Reload a LaunchDaemon whose plist changed: ``bootout`` (if loaded) and ``bootstrap`` again, so launchd
    starts it with the new arguments. Add it with ``_if=`` the plist's change.

    .. code:: python

        launchd_reload(label="com.reasoning-stack.mlx", plist="/Library/LaunchDaemons/com.reasoning-stack.mlx.plist",
                       _if=plist.did_change)
    """
    target = shlex.quote(f"system/{label}")
    yield (f"launchctl bootout {target} 2>/dev/null; for _ in $(seq 30); do launchctl print {target} >/dev/null "
           f"2>&1 || break; sleep 1; done; launchctl bootstrap system {shlex.quote(plist)}")


@operation()
def launchd_unload(label: str):
    """
    Stop a LaunchDaemon and take it out of launchd (``launchctl bootout``); nothing changes when launchd does
    not have it. Remove its plist after this, or it loads again at boot.

    .. code:: python

        launchd_unload(label="com.reasoning-stack.mlx")
    """
    if label not in (host.get_fact(LaunchdStatus) or {}):
        host.noop(f"launchd has no {label}")
        return
    target = shlex.quote(f"system/{label}")
    yield (f"launchctl bootout {target}; for _ in $(seq 30); do launchctl print {target} >/dev/null 2>&1 || exit 0; "
           f"sleep 1; done; echo '{label} is still loaded after 30 s' >&2; exit 1")


@operation()
def ollama_model(helper: str, base_url: str, tag: str, unit: str, manifest: str, offline: bool = False):
    """
    Pull an Ollama library tag through the running server, with its progress, unless its manifest is already
    on the host (then nothing changes).

    + helper: path of the ollama-pull helper installed on the host
    + base_url: the Ollama server, e.g. http://127.0.0.1:11434
    + tag: library tag, e.g. ``deepseek-r1:7b``
    + unit: the server's systemd unit (its journal is shown when the pull fails)
    + manifest: the tag's manifest file under the server's models folder
    + offline: models are pre-staged; never pull, fail when the tag is missing

    .. code:: python

        ollama_model(helper=OLLAMA_PULL, base_url="http://127.0.0.1:11434", tag="deepseek-r1:7b",
                     unit="reasoning-ollama", manifest="/var/lib/reasoning-stack/ollama/models/manifests/"
                     "registry.ollama.ai/library/deepseek-r1/7b")
    """
    if host.get_fact(File, path=manifest):
        host.noop(f"Ollama has {tag}")
        return
    if offline:
        raise OperationError(f"offline is true but Ollama has no {tag} under {posixpath.dirname(manifest)}; "
                             f"pre-stage it (`ollama pull {tag}` on a connected machine, then copy the models "
                             "folder) or set offline = False")
    yield StreamedCommand(" ".join(shlex.quote(a) for a in [helper, base_url, tag, unit]))


@operation(is_idempotent=False)
def smoke_test(helper: str, base_url: str, model: str, key_from: str = "", thinking_kwargs: bool = False,
               expect_tps: float | None = None, record: str = ""):
    """
    Ask one reasoning question through the OpenAI API and check the reasoning arrives apart from the
    answer; prints time to first token, tokens per second (beside the plan's estimate) and
    reasoning/answer token counts.

    + helper: path of the smoke-test helper installed on the host
    + base_url: the vLLM server, e.g. ``http://127.0.0.1:8000``
    + model: served model name
    + key_from: env file whose VLLM_API_KEY is sent as a bearer token
    + thinking_kwargs: ask a Qwen3 model to think for this request
    + expect_tps: the plan's single-request decode estimate, printed beside the measured figure
    + record: file that keeps the figures for ``reasoning-stack status``

    .. code:: python

        smoke_test(helper=SMOKE_TEST, base_url="http://127.0.0.1:8000", model="qwq-32b")
    """
    args = [helper, base_url, model]
    args += ["--key-from", key_from] if key_from else []
    args += ["--thinking-kwargs"] if thinking_kwargs else []
    args += ["--expect-tps", f"{expect_tps:.1f}"] if expect_tps else []
    args += ["--record", record] if record else []
    yield StreamedCommand(" ".join(shlex.quote(a) for a in args))


@operation()
def secret_file(dest: str, content: str, user: str = "root", group: str = "root"):
    """
    Write a file that holds secrets: mode 0600 from its first byte (also the upload's temporary copy when
    going through sudo), compared by checksum, and never shown in ``--diff`` output.

    + dest: file path; its directory should be private (0700)
    + content: the text to write
    + user: owner
    + group: group

    .. code:: python

        secret_file(dest="/etc/reasoning-stack/reasoning-vllm.env", content="VLLM_API_KEY=...\\n")
    """
    data = content.encode()
    if host.get_fact(Sha1File, path=dest) == hashlib.sha1(data).hexdigest():
        stat = host.get_fact(File, path=dest) or {}
        if stat.get("mode") == 600 and stat.get("user") == user and stat.get("group") == group:
            host.noop(f"{dest} is up to date")
            return
    else:
        temp = f"/tmp/reasoning-stack-{hashlib.sha1(dest.encode()).hexdigest()[:16]}"
        # Created 0600 by the SSH user before the upload writes into it (SFTP keeps an existing file's mode).
        yield StringCommand(f"umask 077 && rm -f {temp} && : > {temp}", _sudo=False)
        yield f"umask 077 && touch {shlex.quote(dest)} && chmod 600 {shlex.quote(dest)}"
        yield FileUploadCommand(io.BytesIO(data), dest, remote_temp_filename=temp)
        yield StringCommand(f"rm -f {temp}", _sudo=False)
    yield f"chown {user}:{group} {shlex.quote(dest)} && chmod 600 {shlex.quote(dest)}"


@operation()
def deb_from_url(package: str, url: str, lock_timeout: int = 600):
    """
    Install a .deb fetched from a URL (NVIDIA's cuda-keyring), once: skipped while the package is installed.

    + package: the package name the .deb carries
    + url: where the .deb is (https:// or file://)
    + lock_timeout: seconds to wait for a package lock another apt run holds

    .. code:: python

        deb_from_url(package="cuda-keyring", url=".../cuda-keyring_1.1-1_all.deb")
    """
    if package in (host.get_fact(DebPackages) or {}):
        host.noop(f"{package} is installed")
        return
    temp = f"/tmp/reasoning-stack-{package}.deb"
    install = apt_waiting_for_lock(f"{APT_ENV} dpkg -i {temp}", lock_timeout)
    yield StreamedCommand(f"curl -fsSL --retry 3 -o {temp} {shlex.quote(url)} && ( {install} ) && rm -f {temp}")


@operation()
def gpg_keyring_from_url(path: str, url: str):
    """
    Fetch an armored GPG key and store it dearmored as an apt keyring, once.

    + path: keyring file, e.g. /usr/share/keyrings/nvidia-container-toolkit-keyring.gpg
    + url: the armored key

    .. code:: python

        gpg_keyring_from_url(path="/usr/share/keyrings/x.gpg", url=".../gpgkey")
    """
    if host.get_fact(File, path=path):
        host.noop(f"{path} exists")
        return
    yield (f"curl -fsSL --retry 3 {shlex.quote(url)} | gpg --batch --yes --dearmor -o {shlex.quote(path)} "
           f"&& chmod 644 {shlex.quote(path)}")


APT_STAMP = "/var/lib/apt/periodic/update-success-stamp"  # the stamp pyinfra's apt.update keeps too
APT_ENV = "DEBIAN_FRONTEND=noninteractive"
APT_OPTIONS = "-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"


def apt_waiting_for_lock(command: str, lock_timeout: int, every: float = 5) -> str:
    """A shell script running an apt/dpkg ``command`` with its output shown live; while another apt run
    (unattended upgrades, say) holds the package lock, it retries every ``every`` seconds, saying so, for up to
    ``lock_timeout`` seconds, then fails naming the setting. ``apt-get update`` does not wait for its lock
    by itself (apt 2.6), and ``dpkg`` never does, so the wait is done here for both."""
    hint = (f"apt_lock_timeout: the package lock was still held after {lock_timeout}s by the process named "
            f"above (unattended upgrades, say). Let it finish, or raise apt_lock_timeout.")
    return (
        f"end=$(( $(date +%s) + {int(lock_timeout)} )); log=$(mktemp); "
        "while :; do "
        f"{{ ( {command} ); echo $? > \"$log.rc\"; }} 2>&1 | tee \"$log\"; rc=$(cat \"$log.rc\"); "
        '[ "$rc" = 0 ] && break; '
        'grep -Eq "Could not get lock|dpkg frontend lock|lock-frontend|is locked by another process" "$log" || break; '
        f'if [ "$(date +%s)" -ge "$end" ]; then echo {shlex.quote(hint)} >&2; break; fi; '
        f'echo "waiting for the package lock (up to {int(lock_timeout)}s, apt_lock_timeout)"; sleep {every}; '
        'done; rm -f "$log" "$log.rc"; exit "$rc"'
    )


@operation()
def dpkg_interrupted_finished(lock_timeout: int = 600):
    """
    Finish a dpkg run that was cut off (``dpkg --configure -a``), so a deploy cut halfway converges on the
    next run instead of failing with "dpkg was interrupted".

    + lock_timeout: seconds to wait for a package lock another apt run holds

    .. code:: python

        dpkg_interrupted_finished(name="Finish an interrupted dpkg run")
    """
    if not list(host.get_fact(DpkgInterrupted) or []):
        host.noop("no interrupted dpkg run")
        return
    yield StreamedCommand(apt_waiting_for_lock(f"{APT_ENV} dpkg --configure -a", lock_timeout))


@operation()
def apt_lists_updated(lock_timeout: int = 600, cache_time: int = 0):
    """
    Refresh apt's package lists, waiting (with progress) for a lock another apt run holds.

    + lock_timeout: seconds to wait for the lists lock
    + cache_time: skip when the lists were refreshed by this stack less than this many seconds ago

    .. code:: python

        apt_lists_updated(name="Update apt lists", cache_time=600)
    """
    if cache_time:
        stamp = host.get_fact(File, path=APT_STAMP)
        if stamp and stamp.get("mtime"):
            # the stamp's mtime is read as naive UTC; compare with the host's clock the same way
            now = datetime.fromtimestamp(host.get_fact(Date).timestamp(), UTC).replace(tzinfo=None)
            if (now - stamp["mtime"]).total_seconds() < cache_time:
                host.noop("apt lists are recent")
                return
    yield StreamedCommand(apt_waiting_for_lock(f"{APT_ENV} apt-get -q update && touch {APT_STAMP}", lock_timeout))


def missing_packages(installed: dict[str, list[str]], packages: list[str]) -> list[str]:
    """The ``packages`` (``name`` or ``name=version``) that ``installed`` (the DebPackages fact) lacks."""
    def missing(spec: str) -> bool:
        package, _, version = spec.partition("=")
        return package not in installed or bool(version) and version not in installed[package]

    return [p for p in packages if missing(p)]


@operation()
def apt_installed(packages: list[str], lock_timeout: int = 600):
    """
    Install apt packages (``name=version`` pins allowed) without recommends, showing apt's output live
    (a driver build takes minutes) and waiting for a package lock another apt run holds.

    + packages: package names, optionally ``name=version``
    + lock_timeout: seconds to wait for the package lock

    .. code:: python

        apt_installed(name="Docker engine", packages=["docker.io"])
    """
    installed = host.get_fact(DebPackages) or {}
    wanted = missing_packages(installed, packages)
    if not wanted:
        host.noop("packages are installed")
        return
    args = " ".join(shlex.quote(p) for p in wanted)
    yield StreamedCommand(apt_waiting_for_lock(
        f"{APT_ENV} apt-get {APT_OPTIONS} install --no-install-recommends {args}", lock_timeout))
    for spec in wanted:  # later operations of this run see them installed
        package, _, version = spec.partition("=")
        installed[package] = [version] if version else ["(new)"]


@operation()
def apt_hold(packages: list[str]):
    """
    Hold packages so unattended upgrades cannot split driver and library versions.

    + packages: package names

    .. code:: python

        apt_hold(packages=["nvidia-open-580"])
    """
    held = set(host.get_fact(HeldPackages) or [])
    missing = [p for p in packages if p not in held]
    if not missing:
        host.noop("packages already held")
        return
    yield "apt-mark hold " + " ".join(shlex.quote(p) for p in missing)


@operation(is_idempotent=False)
def host_notice(message: str):
    """
    Print a notice in the host's output (for example "this host needs a reboot").

    + message: the text

    .. code:: python

        host_notice(message="reboot needed", _if=driver.did_change)
    """
    yield StreamedCommand(f"echo {shlex.quote(message)}")


@operation(is_idempotent=False)
def gpu_container_check(image: str, expected: int):
    """
    Run ``nvidia-smi -L`` in a container with ``--gpus all`` and check it sees ``expected`` GPUs; where no
    driver works yet (a reboot is pending), say so instead of passing silently.

    + image: an image with CUDA user space (the vLLM image)
    + expected: number of GPUs the host has

    .. code:: python

        gpu_container_check(image="vllm/vllm-openai:v0.17.1", expected=2)
    """
    script = (
        "if ! nvidia-smi -L >/dev/null 2>&1; then echo 'container GPU check skipped: no working driver yet "
        "(reboot pending?)'; exit 0; fi; "
        f"n=$(docker run --rm --gpus all --entrypoint nvidia-smi {shlex.quote(image)} -L | grep -c '^GPU '); "
        f"if [ \"$n\" != {int(expected)} ]; then echo \"containers see $n GPU(s), expected {int(expected)}: check the "
        "NVIDIA Container Toolkit and /etc/docker/daemon.json\" >&2; exit 1; fi; "
        "echo \"containers see $n GPU(s)\""
    )
    yield StreamedCommand(script)


@operation(is_idempotent=False)
def image_has_ray(image: str):
    """
    Check that an image carries Ray (``import ray``): the Ray backend runs ``ray start`` from the vLLM image,
    and vLLM images from 0.18 on no longer ship Ray (vllm-project/vllm#36170).

    + image: the vLLM image every node runs

    .. code:: python

        image_has_ray(image="vllm/vllm-openai:v0.17.1")
    """
    quoted = shlex.quote(image)
    yield StreamedCommand(
        f"if v=$(docker run --rm --entrypoint python3 {quoted} -c 'import ray; print(ray.__version__)' 2>/dev/null);"
        f" then echo \"Ray $v in {image}\"; else echo \"{image} has no Ray (vLLM images from 0.18 on no longer ship "
        "it): use cluster_backend 'mp' or an image with Ray installed\" >&2; exit 1; fi"
    )


@operation(is_idempotent=False)
def ray_cluster_ready(helper: str, container: str, nodes: dict[str, str], gpus_per_node: int, timeout: int):
    """
    Wait until the Ray cluster reports every expected node, each with its GPUs (Ray's own state API, run in the
    head's Ray container), printing progress; fail naming the nodes that are missing.

    + helper: path of the ray-wait helper on the host
    + container: the Ray head's container
    + nodes: node address -> host name, every node of the cluster
    + gpus_per_node: GPUs each node declares to Ray
    + timeout: seconds to wait

    .. code:: python

        ray_cluster_ready(helper=RAY_WAIT, container="ray", nodes={"10.0.0.1": "head"}, gpus_per_node=8,
                          timeout=300)
    """
    args = [json.dumps(nodes, sort_keys=True), str(int(gpus_per_node)), str(int(timeout))]
    name = shlex.quote(container)
    # The head's container may still be starting (a large image takes a while to unpack): wait for it first.
    yield StreamedCommand(
        f"end=$(( $(date +%s) + {int(timeout)} )); "
        f"until [ \"$(docker inspect --format '{{{{.State.Running}}}}' {name} 2>/dev/null)\" = true ]; do "
        f"if [ $(date +%s) -ge $end ]; then echo 'the Ray head container {container} is not running' >&2; exit 1; fi; "
        "echo 'waiting for the Ray head container to start'; sleep 3; done; "
        f"docker exec -i {name} python3 - " + " ".join(shlex.quote(a) for a in args) + f" < {shlex.quote(helper)}")


@operation()
def docker_image_absent(image: str):
    """
    Remove a Docker image from the host when it is there.

    + image: image reference

    .. code:: python

        docker_image_absent(name="vLLM image", image="vllm/vllm-openai:v0.17.1")
    """
    if not host.get_fact(DockerImageId, image=image):
        host.noop(f"image {image} is not on the host")
        return
    yield f"docker image rm {shlex.quote(image)}"


@operation(is_idempotent=False)
def sqlite_backup(database: str, backup: str):
    """
    A consistent copy of a SQLite database, taken with SQLite's own online backup (safe while it is in use),
    written beside the older copies (mode 0600: it holds accounts and chats).

    + database: the live database file
    + backup: the copy to write (its directory is created)

    .. code:: python

        sqlite_backup(database="/var/lib/reasoning-stack/open-webui/webui.db",
                      backup="/var/lib/reasoning-stack/backups/webui-v0.12.4.db")
    """
    script = ("import sqlite3, sys; source = sqlite3.connect(sys.argv[1]); target = sqlite3.connect(sys.argv[2]); "
              "source.backup(target); target.close(); print('backed up', sys.argv[1], 'to', sys.argv[2])")
    folder = posixpath.dirname(backup)
    yield (f"mkdir -p {shlex.quote(folder)} && chmod 700 {shlex.quote(folder)} && umask 077 && "
           f"python3 -c {shlex.quote(script)} {shlex.quote(database)} {shlex.quote(backup)}")
