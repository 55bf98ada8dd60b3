"""What a host's Hugging Face cache holds of a model, and the disk it has free."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase


class HfWeights(FactBase):
    """
    What the host's Hugging Face cache holds of one model repo: the snapshot folders, and whether this
    stack finished downloading it (its marker file).

    .. code:: python

        host.get_fact(HfWeights, cache_dir="/var/lib/reasoning-stack/huggingface", repo="Qwen/QwQ-32B-AWQ")
    """

    def command(self, cache_dir: str, repo: str) -> str:
        snapshots = shlex.quote(f"{cache_dir}/hub/{hf_repo_folder(repo)}/snapshots")
        marker = shlex.quote(weights_marker(cache_dir, repo))
        return (f"ls -1 {snapshots} 2>/dev/null | sed 's/^/snapshot=/'; "
                f"if [ -f {marker} ]; then echo complete=yes; else echo complete=no; fi")

    def process(self, output: list[str]) -> dict[str, object]:
        snapshots = [line.split("=", 1)[1] for line in output if line.startswith("snapshot=")]
        return {"snapshots": snapshots, "complete": "complete=yes" in output}


class FreeDiskBytes(FactBase):
    """
    Bytes free on the filesystem that holds ``path`` (or its nearest existing parent).

    .. code:: python

        host.get_fact(FreeDiskBytes, path="/var/lib/reasoning-stack")
    """

    def command(self, path: str) -> str:
        return (f"p={shlex.quote(path)}; while [ ! -e \"$p\" ]; do p=$(dirname \"$p\"); done; "
                "df -P -B1 \"$p\" | awk 'NR==2 {print $4}'")

    def process(self, output: list[str]) -> int | None:
        text = "".join(output).strip()
        return int(text) if text.isdigit() else None


def hf_repo_folder(repo: str) -> str:
    """The folder huggingface_hub uses for a model repo in its cache (``models--org--name``)."""
    return "models--" + repo.replace("/", "--")


def weights_marker(cache_dir: str, repo: str) -> str:
    """The file this stack writes once a repo's download finished."""
    return f"{cache_dir}/reasoning-stack/{hf_repo_folder(repo)}.complete"
