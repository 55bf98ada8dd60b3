"""Bad input refused by `reasoning-stack check` before any host is touched: the host, the key and what would
work, never a secret, never a traceback. One case per class of mistake."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SECRET = "sk-DO-NOT-PRINT-4242"


def _check(tmp_path: Path, settings: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    (tmp_path / "group_data").mkdir(exist_ok=True)
    (tmp_path / "inventory.py").write_text('boxes = [("gpu-box", {"ssh_hostname": "192.0.2.10"})]\n')
    (tmp_path / "group_data" / "boxes.py").write_text(settings)
    return subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "check", "inventory.py"], cwd=tmp_path,
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", **(env or {})}, timeout=60)


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ('vllm_image = "vllm/vllm-openai:latest"\n', "vllm_image (set in group_data/boxes.py): got "),
        ('openwebui_image = "ghcr.io/open-webui/open-webui:main"\n', "'main' moves with every upstream release"),
        ('data_dir = "/var"\n', "/var is a system directory"),
        ('data_dir = "/tmp/"\n', "/tmp is a system directory"),
        ('sampling_overrides = {"temperature": -0.5}\n', "temperature -0.5 is out of range: must be 0 or more"),
        ('sampling_overrides = {"top_p": 1.2}\n', "top_p 1.2 is out of range: must be above 0, at most 1"),
        ('sampling_overrides = {"top_k": 20.5}\n', "top_k 20.5 is out of range: must be a whole number"),
        ('vllm_extra_args = ["--max-model-len", "4096"]\n', "'--max-model-len' is set by the stack: use max_model_len"),
        ('vllm_extra_args = ["--tensor_parallel_size=2"]\n', "use tensor_parallel_size instead"),
        ('vllm_listen = "0.0.0.0"\n', "exposes vLLM beyond this host without an API key"),
        ('docker_daemon_options = {"exec-opts": ["native.cgroupdriver=systemd"]}\n', "remove your cgroup driver"),
        ('docker_daemon_options = {"runtimes": {"nvidia": {"path": "x"}}}\n', "sets the nvidia runtime itself"),
    ],
)
def test_mistake_is_refused_with_host_key_and_way_out(tmp_path: Path, settings: str, words: str):
    out = _check(tmp_path, settings)
    assert out.returncode == 2, out.stdout
    assert "host 'gpu-box'" in out.stderr and words in out.stderr
    assert "nothing was changed on any host" in out.stderr and "Traceback" not in out.stderr


def test_an_api_key_in_extra_arguments_is_refused_without_echoing_it(tmp_path: Path):
    out = _check(tmp_path, f'vllm_extra_args = ["--api-key={SECRET}"]\n')
    assert out.returncode == 2
    assert "'--api-key' is set by the stack: use vllm_api_key" in out.stderr
    assert SECRET not in out.stderr + out.stdout


def test_a_secret_with_a_line_break_is_refused_without_echoing_it(tmp_path: Path):
    out = _check(tmp_path, "", {"REASONING_STACK_VLLM_API_KEY": f"{SECRET}\nINJECTED=1"})
    assert out.returncode == 2
    assert "vllm_api_key" in out.stderr and "contains a line break" in out.stderr
    assert SECRET not in out.stderr + out.stdout


def test_an_exposed_vllm_with_a_key_from_the_environment_passes(tmp_path: Path):
    out = _check(tmp_path, 'vllm_listen = "0.0.0.0"\n', {"REASONING_STACK_VLLM_API_KEY": SECRET})
    assert out.returncode == 0, out.stderr
    assert SECRET not in out.stderr + out.stdout


def test_a_secret_written_into_group_data_is_refused(tmp_path: Path):
    out = _check(tmp_path, f'vllm_api_key = "{SECRET}"\n')
    assert out.returncode == 2
    assert "vllm_api_key (set in group_data/boxes.py): a secret in host data" in out.stderr
    assert "export REASONING_STACK_VLLM_API_KEY" in out.stderr and SECRET not in out.stderr + out.stdout


def test_debug_inventory_shows_no_secret(tmp_path: Path):
    """pyinfra's own debug-inventory prints every host's data: the secrets are not in it (they are read from the
    environment when settings are validated, never put into host data)."""
    _check(tmp_path, 'vllm_listen = "0.0.0.0"\n')
    secrets = {"REASONING_STACK_VLLM_API_KEY": SECRET, "HF_TOKEN": "hf_SECRET_2",
               "REASONING_STACK_OPENWEBUI_SECRET_KEY": "webui-SECRET-3"}
    pyinfra = str(Path(sys.executable).parent / "pyinfra")
    out = subprocess.run([pyinfra, "inventory.py", "debug-inventory"], cwd=tmp_path, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", **secrets}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "vllm_listen" in out.stdout + out.stderr  # the host data is printed
    for value in secrets.values():
        assert value not in out.stdout + out.stderr
    assert _check(tmp_path, 'vllm_listen = "0.0.0.0"\n', secrets).returncode == 0  # and check reads them
