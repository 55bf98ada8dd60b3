"""What a file the stack manages is on the host, in one command: its checksum, mode and owner."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase


class FileDigest(FactBase):
    """
    A regular file's SHA-1, mode (octal, as ``chmod`` takes it) and owner, read in one command; ``None`` when there
    is no such file. pyinfra's own ``File`` and ``Sha1File`` take a command each.

    .. code:: python

        host.get_fact(FileDigest, path="/etc/systemd/system/reasoning-vllm.service")
        # {"sha1": "5c6e...", "mode": "644", "user": "root", "group": "root"}
    """

    def command(self, path: str) -> str:
        quoted = shlex.quote(path)
        return (f"if [ -f {quoted} ] && [ ! -L {quoted} ]; then stat -c 'mode=%a user=%U group=%G' {quoted} && "
                f"sha1sum {quoted}; fi")

    def process(self, output: list[str]) -> dict[str, str] | None:
        if len(output) < 2:
            return None
        found = dict(part.split("=", 1) for part in output[0].split())
        return {"sha1": output[1].split()[0], "mode": found["mode"], "user": found["user"], "group": found["group"]}


class DirectoryOwner(FactBase):
    """
    A directory's numeric owner, group and mode (octal), or ``None`` when there is no such directory: for a folder
    a container's user owns by number (that user has no name on the host, so ``stat %U`` says ``UNKNOWN``).

    .. code:: python

        host.get_fact(DirectoryOwner, path="/var/lib/reasoning-stack/grafana/data")
        # {"uid": 472, "gid": 0, "mode": "750"}
    """

    def command(self, path: str) -> str:
        quoted = shlex.quote(path)
        return f"if [ -d {quoted} ] && [ ! -L {quoted} ]; then stat -c '%u %g %a' {quoted}; fi"

    def process(self, output: list[str]) -> dict[str, object] | None:
        if not output:
            return None
        uid, gid, mode = output[0].split()
        return {"uid": int(uid), "gid": int(gid), "mode": mode}
