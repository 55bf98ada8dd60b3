"""What apt knows of a host: its sources (and which conflict), held packages, and a dpkg run that was cut off."""

from __future__ import annotations

import re

from pyinfra.api import FactBase


class AptSources(FactBase):
    """
    The apt sources of the host, one-line (``.list``) and deb822 (``.sources``) alike: a list of
    ``{"file", "url", "suites", "components", "signed_by"}`` (``signed_by`` is "" when none is set).

    .. code:: python

        host.get_fact(AptSources)
    """

    def command(self) -> str:
        one_line = (
            "$1==\"deb\" { o=\"\"; i=2; if ($2 ~ /^\\[/) { o=$2; i=3; while (o !~ /\\]$/ && i<=NF) "
            "{ o=o\" \"$i; i++ } } c=\"\"; for (j=i+2; j<=NF; j++) c=c (c?\",\":\"\") $j; "
            "print f \"|\" $i \"|\" $(i+1) \"|\" c \"|\" o }"
        )
        deb822 = (
            "function emit() { if (u) print f \"|\" u \"|\" s \"|\" c \"|signed-by=\" k; u=s=c=k=\"\" } "
            "/^URIs:/{u=$2} /^Suites:/{s=$2; for(j=3;j<=NF;j++) s=s \",\" $j} "
            "/^Components:/{c=$2; for(j=3;j<=NF;j++) c=c \",\" $j} /^Signed-By:/{k=$2} /^$/{emit()} END{emit()}"
        )
        return (
            f"for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do [ -f \"$f\" ] && "
            f"awk -v f=\"$f\" '{one_line}' \"$f\"; done; "
            f"for f in /etc/apt/sources.list.d/*.sources; do [ -f \"$f\" ] && "
            f"awk -v f=\"$f\" '{deb822}' \"$f\"; done; true"
        )

    def process(self, output: list[str]) -> list[dict[str, object]]:
        entries = []
        for line in output:
            parts = line.split("|")
            if len(parts) != 5:
                continue
            path, url, suites, components, options = parts
            match = re.search(r"signed-by=([^\s\]]*)", options)
            entries.append({
                "file": path,
                "url": url.rstrip("/"),
                "suites": [x for x in suites.split(",") if x],
                "components": [x for x in components.split(",") if x],
                "signed_by": match.group(1) if match else "",
            })
        return entries


def conflicting_sources(entries: list[dict[str, object]]) -> dict[str, list[str]]:
    """Repository URLs listed with different Signed-By keyrings (apt then fails with "Conflicting values
    set for option Signed-By"), and the files that list them."""
    keys: dict[str, list[tuple[str, str]]] = {}
    for entry in entries:
        keys.setdefault(str(entry["url"]), []).append((str(entry["file"]), str(entry["signed_by"])))
    return {url: sorted({f for f, _k in found}) for url, found in keys.items() if len({k for _f, k in found}) > 1}


def debian_archive(entries: list[dict[str, object]], codename: str) -> dict[str, object] | None:
    """The entry of Debian's main archive for ``codename`` (``bookworm``), if the sources have one."""
    for entry in entries:
        if codename in entry["suites"] and "main" in entry["components"]:
            return entry
    return None


class HeldPackages(FactBase):
    """
    Packages on hold (``apt-mark showhold``).

    .. code:: python

        host.get_fact(HeldPackages)  # ["nvidia-open-580", ...]
    """

    def command(self) -> str:
        return "apt-mark showhold"

    @staticmethod
    def default() -> list[str]:
        return []  # pyinfra's value when the command prints nothing: none

    def process(self, output: list[str]) -> list[str]:
        return [line.strip() for line in output if line.strip()]


class DpkgInterrupted(FactBase):
    """
    The journal files a cut-off dpkg run (SSH dropped, host rebooted) left behind; empty on a healthy host.
    While there are any, apt refuses every install until ``dpkg --configure -a`` finishes the job.

    .. code:: python

        host.get_fact(DpkgInterrupted)  # [] on a healthy host
    """

    def command(self) -> str:
        return "find /var/lib/dpkg/updates -maxdepth 1 -type f 2>/dev/null | head -n 5"

    @staticmethod
    def default() -> list[str]:
        return []  # pyinfra's value when the command prints nothing: none

    def process(self, output: list[str]) -> list[str]:
        return [line.strip() for line in output if line.strip()]
