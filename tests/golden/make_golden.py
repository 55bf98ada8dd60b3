"""Writes the golden files that pin the planner's and the renderer's behaviour across a refactor.

    .venv/bin/python tests/golden/make_golden.py          # rewrite them (only when a change is meant)

``plans.json.gz``: ``reasoning-stack plan --json`` (and its text form) for every catalogue model and ``auto`` on
every GPU profile, with the engines that run there and the GPU counts people build. ``renders.json.gz``: every file
``reasoning-stack render`` writes for the example inventories and ``render_cases.py``. ``tests/test_golden.py``
compares the live output with both.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import tempfile
from pathlib import Path

from reasoning_stack.catalogue import GPUS, MODELS
from reasoning_stack.cli import main

HERE = Path(__file__).parent
OTHER_VLLM_RELEASES = ("0.17.1", "0.32.0")  # planned besides the default release (whose cases name none)
REPO = HERE.parents[1]
RENDER_INVENTORIES = [*sorted((REPO / "inventories").glob("*.py")), HERE / "render_cases.py"]
# Secrets of the rendered hosts: any value will do, render replaces each with a placeholder naming its variable.
RENDER_SECRETS = {"REASONING_STACK_VLLM_API_KEY": "sk-vllm-3f9a1c", "HF_TOKEN": "hf_tok_77b2e0",
                  "REASONING_STACK_DEEPSEEK_API_KEY": "sk-cloud-c0ffee"}


def plan_cases() -> list[list[str]]:
    """Every (GPU profile, count, engine, model) what-if the golden file pins."""
    cases = []
    for slug, gpu in GPUS.items():
        engines = ["mlx"] if gpu.apple else ["vllm", "sglang", "ollama", "auto"]
        counts = [1] if gpu.apple or gpu.unified else [1, 2] + ([8] if slug in ("h100", "h200", "a100-80") else [])
        for count in counts:
            for engine in engines:
                for model in ["auto", *MODELS]:
                    cases.append(["--gpu", slug, "--count", str(count), "--engine", engine, "--model", model])
                    if engine == "vllm":  # each other vLLM release, keyed by it (its memory regime and flags)
                        cases += [["--gpu", slug, "--count", str(count), "--engine", engine, "--model", model,
                                   "--vllm-version", version] for version in OTHER_VLLM_RELEASES]
    return cases


def run_cli(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    return code, out.getvalue()


def plan_outputs(cases: list[list[str]]) -> dict[str, dict[str, object]]:
    result = {}
    for case in cases:
        code, text = run_cli(["plan", *case, "--json"])
        _, human = run_cli(["plan", *case])
        result[" ".join(case)] = {"exit": code, "json": json.loads(text), "text": human}
    return result


def render_outputs() -> dict[str, dict[str, str]]:
    """{inventory/host/path: text} of every file ``reasoning-stack render`` writes for RENDER_INVENTORIES."""
    result: dict[str, dict[str, str]] = {}
    saved = {k: os.environ.get(k) for k in RENDER_SECRETS}
    os.environ.update(RENDER_SECRETS)
    try:
        for inventory in RENDER_INVENTORIES:
            with tempfile.TemporaryDirectory() as out:
                code, _text = run_cli(["render", str(inventory.relative_to(REPO)), "--out", out])
                files = {str(p.relative_to(out)): p.read_text() for p in sorted(Path(out).rglob("*")) if p.is_file()}
                result[inventory.name] = {"exit": str(code), **files}
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    return result


def write(name: str, data: object) -> None:
    (HERE / name).write_bytes(gzip.compress(json.dumps(data, indent=1, sort_keys=True).encode(), mtime=0))


def read(name: str) -> object:
    return json.loads(gzip.decompress((HERE / name).read_bytes()))


if __name__ == "__main__":
    os.chdir(REPO)
    write("plans.json.gz", plan_outputs(plan_cases()))
    write("renders.json.gz", render_outputs())
    print(f"golden files written to {HERE}")
