"""Where the tests find an engine's own argument parser, which scripts/test builds into the user cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Each supported vLLM release's checker: the Python scripts/test exports for it (0.17.1's is its CPU server's own).
VLLM_ARGCHECK_PYTHONS = {"0.17.1": "VLLM_ARGCHECK_PYTHON", "0.32.0": "VLLM_ARGCHECK_PYTHON_0_32_0",
                         "0.34.0": "VLLM_ARGCHECK_PYTHON_0_34_0"}


def parser_command(engine: str, python_var: str, script: Path | None = None, script_var: str = "") -> list[str]:
    """The checker's command: the Python named by ``python_var`` and the checker script (``script``, or the path
    named by ``script_var``). Missing, it fails the test under CI and skips it elsewhere."""
    python = os.environ.get(python_var)
    tool = str(script) if script is not None else os.environ.get(script_var)
    if not tool or not python or not Path(python).exists():
        if os.environ.get("CI"):
            names = f"{script_var} / {python_var}" if script_var else python_var
            pytest.fail(f"{names} not set: scripts/test sets {'them' if script_var else 'it'} up")
        pytest.skip(f"{engine} argument checker not set up (scripts/test builds it)")
    return [python, tool]


def vllm_argcheck(version: str) -> list[str]:
    """The command of vLLM ``version``'s own ``vllm serve`` parser (../shared/tools/vllm-argcheck)."""
    return parser_command("vLLM", VLLM_ARGCHECK_PYTHONS[version], script_var="VLLM_ARGCHECK")


def run_in_vllm(version: str, tool: Path, cases: list[dict], workdir: Path) -> list[dict]:
    """Run ``tool`` (a script under tests/tools that imports vLLM) with release ``version``'s argcheck Python on
    ``cases`` (a JSON file of them in ``workdir``) and return the JSON list it prints last."""
    import json
    import subprocess

    command = parser_command(f"vLLM {version}'s argcheck environment", VLLM_ARGCHECK_PYTHONS[version], tool)
    asked = workdir / "cases.json"
    asked.write_text(json.dumps(cases))
    out = subprocess.run([*command, str(asked)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])
