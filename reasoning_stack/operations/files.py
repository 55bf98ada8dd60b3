"""Files the stack keeps: secrets generated once, JSON merged into a file, a SQLite backup, a notice."""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import shlex

from pyinfra import host, logger, state
from pyinfra.api import FileUploadCommand, OperationError, StringCommand, operation
from pyinfra.facts.files import File, FileContents
from pyinfra.operations import files
from pyinfra.operations.util.files import generate_color_diff

from reasoning_stack.facts.files import DirectoryOwner, FileDigest
from reasoning_stack.operations.streamed import StreamedCommand


@operation()
def directory_owned(path: str, uid: int, gid: int = 0, mode: str = "750"):
    """
    A directory owned by a numeric user and group that may have no name on the host (a container image's user,
    such as Grafana's 472), with ``mode``; nothing to do when it already is.

    .. code:: python

        directory_owned(path="/var/lib/reasoning-stack/grafana/data", uid=472, gid=0, mode="750")
    """
    found = host.get_fact(DirectoryOwner, path=path)
    if found == {"uid": int(uid), "gid": int(gid), "mode": mode}:
        host.noop(f"{path} is {uid}:{gid} {mode}")
        return
    target = shlex.quote(path)
    yield f"mkdir -p {target} && chown {int(uid)}:{int(gid)} {target} && chmod {shlex.quote(mode)} {target}"


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
    here = host.get_fact(FileDigest, path=dest)
    if here and here["sha1"] == hashlib.sha1(data).hexdigest():
        if (here["mode"], here["user"], here["group"]) == ("600", user, group):
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
def stack_file(dest: str, content: str, mode: str = "644", user: str = "root", group: str = "root"):
    """
    Write a file the stack renders (a unit, a helper, a config), compared by checksum, mode and owner read in
    one command (pyinfra's ``files.put`` reads three facts for it). Its directory must exist.

    + dest: file path
    + content: the text to write
    + mode: octal mode, as ``chmod`` takes it
    + user: owner
    + group: group

    .. code:: python

        stack_file(name="vLLM unit", dest="/etc/systemd/system/reasoning-vllm.service", content=unit_text)
    """
    data = content.encode()
    here = host.get_fact(FileDigest, path=dest)
    quoted = shlex.quote(dest)
    if here is None or here["sha1"] != hashlib.sha1(data).hexdigest():
        if state.config.DIFF:  # --diff: what changes, as files.put shows it
            current = host.get_fact(FileContents, path=dest) if here is not None else None
            host.log(f"Will {'modify' if here is not None else 'create'} {dest}", logger.info)
            for line in generate_color_diff([line + "\n" for line in current or []], content.splitlines(True)):
                logger.info("  %s", line)
            logger.info("")
        yield FileUploadCommand(io.BytesIO(data), dest)
        yield f"chmod {mode} {quoted} && chown {user}:{group} {quoted}"
        return
    if (here["mode"], here["user"], here["group"]) == (mode.lstrip("0") or "0", user, group):
        host.noop(f"{dest} is up to date")
        return
    yield f"chmod {mode} {quoted} && chown {user}:{group} {quoted}"


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
