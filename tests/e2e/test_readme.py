"""End to end: the README's "Deploy to your own box" commands, verbatim, on a fresh Debian 12 machine (a test host
with nothing of the stack on it), up to the deploy itself: install the tools, then `check`, `plan` and `render` of
the shipped home inventory. The deploy line is left out: its placeholder address answers nothing.

The test host reaches Debian's archive but no Python package index, so pip is pointed at a folder of the project's
wheels (downloaded here once into the test cache) through its own environment variables; the commands stay as the
README writes them.
"""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import testhosts

pytestmark = pytest.mark.slow

README = testhosts.REPO / "README.md"
SECTION = "## Deploy to your own box"


def readme_commands() -> list[str]:
    """The shell lines of the section's code blocks, up to (not including) the deploy."""
    text = README.read_text()
    section = text[text.index(SECTION):]
    section = section[:section.index("\n## ", len(SECTION))]
    lines = [line for block in re.findall(r"```\n(.*?)```", section, re.S) for line in block.splitlines()]
    deploy = next(i for i, line in enumerate(lines) if line.startswith("pyinfra "))
    return lines[:deploy]


def wheelhouse() -> Path:
    """The project's dependencies and its build backend (with ``editables``, which Debian 12's pip asks of it for an
    editable install) as wheels, once per pyproject.toml, in the test cache."""
    pyproject = (testhosts.REPO / "pyproject.toml").read_bytes()
    folder = testhosts.CACHE / f"readme-wheels-{hashlib.sha256(pyproject).hexdigest()[:12]}"
    if not (folder / ".complete").exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                        "--only-binary=:all:", "-d", str(folder), str(testhosts.REPO), "hatchling", "editables"],
                       check=True)
        (folder / ".complete").write_text("")
    return folder


def checkout_tar() -> bytes:
    """The checkout as a clone has it (tracked and new files, not what .gitignore leaves out)."""
    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=testhosts.REPO, check=True,
                           capture_output=True).stdout.decode().split("\0")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in filter(None, names):
            path = testhosts.REPO / name
            if path.is_file():
                tar.add(path, arcname=f"reasoning-stack/{name}")
    return buffer.getvalue()


def test_the_readme_commands_work_verbatim_on_a_fresh_debian_12(tmp_path: Path):
    testhosts.require_docker()
    image, key = testhosts.image_and_key()
    commands = readme_commands()
    assert commands[:4] == ["sudo apt-get update", "sudo apt-get install -y python3-venv",
                            "python3 -m venv .venv", ". .venv/bin/activate"], commands
    assert any(c.startswith("reasoning-stack check inventories/home.py") for c in commands)
    wheels = wheelhouse()
    host = testhosts.start_host(image, "fresh-debian", key, user="deployer")
    try:
        host.exec("sh", "-c", "mkdir -p /home/deployer && tar -x -C /home/deployer && chown -R deployer "
                  "/home/deployer/reasoning-stack", input=checkout_tar())
        testhosts.docker("cp", f"{wheels}/.", f"{host.container}:/wheels")
        script = "set -euo pipefail\n" + "\n".join(commands) + "\n"
        out = testhosts.docker("exec", "-u", "deployer", "-w", "/home/deployer/reasoning-stack",
                               "-e", "PIP_NO_INDEX=1", "-e", "PIP_FIND_LINKS=/wheels", "-e", "HOME=/home/deployer",
                               host.container, "bash", "-c", script, check=False)
        text = out.stdout.decode() + out.stderr.decode()
        assert out.returncode == 0, text[-3000:]
        assert "1 host(s) checked, settings valid: gpu-box" in text
        assert "gpu-box (192.0.2.10) lets in:" in text
        assert re.search(r"^gpu-box +vllm .* yes$", text, re.M), text[-3000:]
        assert re.search(r"^gpu-box: \d+ files under rendered/gpu-box$", text, re.M), text[-3000:]
        assert "Traceback" not in text
    finally:
        testhosts.remove_hosts([host])
