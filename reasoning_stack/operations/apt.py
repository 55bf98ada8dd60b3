"""apt and dpkg: every step through one wrapper that waits (saying so) for a lock another apt run holds."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime

from pyinfra import host
from pyinfra.api import operation
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.files import File
from pyinfra.facts.server import Date

from reasoning_stack.facts import (
    DpkgInterrupted,
    HeldPackages,
)
from reasoning_stack.operations.streamed import StreamedCommand
from reasoning_stack.prepared import MISSING, fact_before_run


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
    # Installed before the run (what the deploy code read) stays installed: nothing in a deploy removes a package.
    before = fact_before_run(host, DebPackages)
    if before is not MISSING and not missing_packages(before or {}, packages):
        host.noop("packages are installed")
        return
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
