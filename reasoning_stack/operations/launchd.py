"""launchd jobs on a Mac: loaded or unloaded, and reloaded for a changed plist."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import operation
from pyinfra.facts.launchd import LaunchdStatus


@operation()
def launchd_job(label: str, plist: str = "", present: bool = True):
    """
    Have launchd run a LaunchDaemon, or not: ``launchctl bootstrap system`` when launchd does not have it loaded
    (a plist that changed is reloaded by :func:`launchd_reload`, added before this); with ``present=False``
    ``launchctl bootout`` when it does (remove its plist after this, or it loads again at boot).

    + label: the job's label (``com.reasoning-stack.mlx``)
    + plist: its plist under /Library/LaunchDaemons (to load it)
    + present: whether launchd should have the job

    .. code:: python

        launchd_job(label="com.reasoning-stack.mlx", plist="/Library/LaunchDaemons/com.reasoning-stack.mlx.plist")
        launchd_job(label="com.reasoning-stack.mlx", present=False)
    """
    loaded = label in (host.get_fact(LaunchdStatus) or {})
    target = shlex.quote(f"system/{label}")
    if present and loaded:
        host.noop(f"launchd runs {label}")
    elif present:
        yield f"launchctl print {target} >/dev/null 2>&1 || launchctl bootstrap system {shlex.quote(plist)}"
    elif not loaded:
        host.noop(f"launchd has no {label}")
    else:
        yield (f"launchctl bootout {target}; for _ in $(seq 30); do launchctl print {target} >/dev/null 2>&1 || "
               f"exit 0; sleep 1; done; echo '{label} is still loaded after 30 s' >&2; exit 1")


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
