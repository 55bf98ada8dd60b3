"""Bad input refused by `reasoning-stack check` before any host is touched: the host, the key and what would
work, never a secret, never a traceback. One case per class of mistake."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

# Every check here is timed against the bound below, which holds on a quiet machine: scripts/test runs these alone.
pytestmark = pytest.mark.alone

SECRET = "sk-DO-NOT-PRINT-4242"


INVENTORY = 'boxes = [("gpu-box", {"ssh_hostname": "192.0.2.10"})]\n'
# The bound on how long `check` may take to refuse a mistake (it contacts no host).
CHECK_SECONDS = 2.0


def _check(tmp_path: Path, settings: str, env: dict[str, str] | None = None, inventory: str = INVENTORY,
           files: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `reasoning-stack check` on an inventory of one group (``boxes``) with ``settings`` as its
    group_data; ``files`` adds more files (relative path -> text)."""
    (tmp_path / "group_data").mkdir(exist_ok=True)
    (tmp_path / "inventory.py").write_text(inventory)
    (tmp_path / "group_data" / "boxes.py").write_text(settings)
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "check", "inventory.py"], cwd=tmp_path,
                         capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", **(env or {})}, timeout=60)
    elapsed = time.monotonic() - start
    assert elapsed < CHECK_SECONDS, f"check took {elapsed:.2f}s"
    assert "Traceback" not in out.stderr + out.stdout
    return out


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
        ('api_listen = "0.0.0.0"\n', "exposes the model servers beyond this host without an API key"),
        ('docker_daemon_options = {"exec-opts": ["native.cgroupdriver=systemd"]}\n', "remove your cgroup driver"),
        ('docker_daemon_options = {"runtimes": {"nvidia": {"path": "x"}}}\n', "sets the nvidia runtime itself"),
        ("openwebui_admin_email = None\n", "openwebui_signup: 'pending' needs the deploy's admin account"),
        ('openwebui_admin_email = "admin"\n', "must be an email address Open WebUI accepts, like 'admin@localhost'"),
        ('openwebui_task_model = "qwen3-32b"\n', "is not served on this host; use one of: "),
        ('openwebui_cloud = [{"name": "deepseek", "base_url": "https://api.deepseek.com/v1", "models": ["r"]}]\n',
         "connection 'deepseek' has no API key: export REASONING_STACK_DEEPSEEK_API_KEY"),
        ('openwebui_cloud = [{"name": "x", "base_url": "api.deepseek.com", "models": ["r"]}]\n',
         "must be an http(s) URL like 'https://api.deepseek.com/v1'"),
        ('openwebui_cloud = [{"name": "x", "base_url": "https://a.example/v1/chat/completions", "models": ["r"]}]\n',
         "must be the API's base URL (ending before /chat/completions)"),
        ('api_port = 22\n', "api_port 22 is sshd's port, which pyinfra itself connects through"),
        ('openwebui_port = 22\n', "openwebui_port 22 is sshd's port"),
        ('min_context = 65536\nmax_model_len = 32768\n',
         "min_context 65536 is longer than max_model_len 32768: lower min_context to 32768 or less"),
        ('health_timeout = 999999\n', "14400"),
        ('vllm_image = "vllm/vllm-openai:v0.10.2"\n',
         "vllm/vllm-openai:v0.10.2 is vLLM 0.10.2, a release the stack does not plan for: its memory accounting "
         "and flags are known for 0.17.1, 0.32.0, 0.34.0"),
        ('served_model_name = "team"\nextra_models = [{"name": "fast", "model": "qwen3-8b", "port": 8001, '
         '"served_model_name": "team"}]\n', "served model name 'team' is served by two instances of this host"),
        ('vllm_extra_args = ["--max-num-seqs", "8; rm -rf /"]\n', "holds the shell character(s) ';'"),
        ('vllm_extra_args = ["--max-num-seqs=$(id)"]\n', "'$'"),
        ('sglang_extra_args = ["--log-level", "info | tee /tmp/x"]\n', "sglang_extra_args: argument"),
        ('https = "acme"\nhttps_names = ["chat.example.org"]\n', "https = 'acme' needs acme_email"),
        ('https = "acme"\nacme_email = "ops@example.org"\nhttps_names = ["192.0.2.10"]\n',
         "(a public CA signs no bare address); use https = 'internal' for addresses"),
        ('https = "internal"\nhttps_names = ["https://chat.lab/"]\n', "is neither a DNS name nor an IP address"),
        ('https = "internal"\nhttps_port = 3000\n', "https_port 3000 is already openwebui_port's port"),
        ('openwebui_api_keys = "yes"\n', "openwebui_api_keys"),
        ('openwebui_enabled = False\nopenwebui_api_keys = "everyone"\n',
         "openwebui_api_keys is set but openwebui_enabled is False"),
        ('model = "qwq-32b"\nopenwebui_model_groups = {"qwen3-32b": ["research"]}\n',
         "openwebui_model_groups names 'qwen3-32b', which is not served on this host; use one of: "),
        ('openwebui_model_groups = {"qwq-32b": []}\n', "lists no group: name the groups"),
        ('openwebui_model_groups = {"qwq-32b": ["a;b"]}\n', "group 'a;b' of "),
        ('model = "deepseek-r1-distill-qwen-7b"\nopenwebui_admin_email = None\nopenwebui_signup = "closed"\n'
         'openwebui_model_groups = {"deepseek-r1-distill-qwen-7b": ["research"]}\n',
         "openwebui_model_groups needs the deploy's admin account"),
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
    assert "'--api-key' is set by the stack: use api_key" in out.stderr
    assert SECRET not in out.stderr + out.stdout


def test_a_secret_with_a_line_break_is_refused_without_echoing_it(tmp_path: Path):
    out = _check(tmp_path, "", {"REASONING_STACK_VLLM_API_KEY": f"{SECRET}\nINJECTED=1"})
    assert out.returncode == 2
    assert "api_key" in out.stderr and "contains a line break" in out.stderr
    assert SECRET not in out.stderr + out.stdout


def test_an_exposed_vllm_with_a_key_from_the_environment_passes(tmp_path: Path):
    out = _check(tmp_path, 'api_listen = "0.0.0.0"\n', {"REASONING_STACK_VLLM_API_KEY": SECRET})
    assert out.returncode == 0, out.stderr
    assert SECRET not in out.stderr + out.stdout


def test_a_cloud_api_key_written_into_group_data_is_refused(tmp_path: Path):
    out = _check(tmp_path, 'openwebui_cloud = [{"name": "deepseek", "base_url": "https://api.deepseek.com/v1", '
                           f'"models": ["deepseek-reasoner"], "api_key": "{SECRET}"}}]\n')
    assert out.returncode == 2
    assert "connection 'deepseek': a secret in host data" in out.stderr and SECRET not in out.stderr + out.stdout
    ok = _check(tmp_path, 'openwebui_cloud = [{"name": "deepseek", "base_url": "https://api.deepseek.com/v1", '
                          '"models": ["deepseek-reasoner"]}]\n', {"REASONING_STACK_DEEPSEEK_API_KEY": SECRET})
    assert ok.returncode == 0, ok.stderr
    assert SECRET not in ok.stdout + ok.stderr


def test_a_secret_written_into_group_data_is_refused(tmp_path: Path):
    out = _check(tmp_path, f'api_key = "{SECRET}"\n')
    assert out.returncode == 2
    assert "api_key (set in group_data/boxes.py): a secret in host data" in out.stderr
    assert "export REASONING_STACK_VLLM_API_KEY" in out.stderr and SECRET not in out.stderr + out.stdout


def test_debug_inventory_shows_no_secret(tmp_path: Path):
    """pyinfra's own debug-inventory prints every host's data: the secrets are not in it (they are read from the
    environment when settings are validated, never put into host data)."""
    _check(tmp_path, 'api_listen = "0.0.0.0"\n')
    secrets = {"REASONING_STACK_VLLM_API_KEY": SECRET, "HF_TOKEN": "hf_SECRET_2",
               "REASONING_STACK_OPENWEBUI_SECRET_KEY": "webui-SECRET-3",
               "REASONING_STACK_OPENWEBUI_ADMIN_PASSWORD": "admin-SECRET-4"}
    pyinfra = str(Path(sys.executable).parent / "pyinfra")
    out = subprocess.run([pyinfra, "inventory.py", "debug-inventory"], cwd=tmp_path, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", **secrets}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "api_listen" in out.stdout + out.stderr  # the host data is printed
    for value in secrets.values():
        assert value not in out.stdout + out.stderr
    assert _check(tmp_path, 'api_listen = "0.0.0.0"\n', secrets).returncode == 0  # and check reads them


@pytest.mark.parametrize(
    ("inventory", "settings", "words"),
    [
        ('boxes = [("gpu-box", {"ssh_hostname": "192.0.2.10"})\n', "", "inventory.py, line 1: syntax error: '[' "),
        (INVENTORY, "model = 'qwq-32b'\nsampling = (\n", "group_data/boxes.py, line 2: syntax error"),
        (INVENTORY, "import os\n\nmodel = os.environ['MODEL']\n", "group_data/boxes.py, line 3: KeyError: 'MODEL'"),
        # an exception whose own str() fails: named by its type, not "<exception str() failed>"
        (INVENTORY, "class Odd(Exception):\n    def __str__(self):\n        raise ValueError\n\n\nraise Odd()\n",
         "group_data/boxes.py, line 6: Odd raised"),
        ('boxes = [("gpu-box", ["ssh_hostname", "192.0.2.10"])]\n', "",
         "inventory.py, line 1: group 'boxes', host 'gpu-box': its data must be a dict"),
        ('x = 1\nboxes = ("gpu-box", {"ssh_hostname": "192.0.2.10"})\n', "",
         "inventory.py, line 2: group 'boxes' is a tuple, which pyinfra reads as (hosts, data) and so as one host "
         "per character: write a list"),
        ("boxes = []\n", "", "inventory.py: no hosts"),
    ],
)
def test_a_broken_inventory_file_is_named_with_its_line(tmp_path: Path, inventory: str, settings: str, words: str):
    out = _check(tmp_path, settings, inventory=inventory)
    assert out.returncode == 2, out.stdout
    assert words in out.stderr and "nothing was changed on any host" in out.stderr


def test_one_machine_listed_twice_is_refused(tmp_path: Path):
    inventory = ('boxes = [("gpu-box", {"ssh_hostname": "192.0.2.10"}), "192.0.2.11",\n'
                 '         ("again", {"ssh_hostname": "192.0.2.10", "ssh_port": 22})]\n'
                 'other = [("other-port", {"ssh_hostname": "192.0.2.10", "ssh_port": 2222})]\n')
    out = _check(tmp_path, "", inventory=inventory)
    assert out.returncode == 2
    assert "host 'again': ssh_hostname (set in the inventory): 192.0.2.10 port 22 is also host 'gpu-box'" in out.stderr
    assert "other-port" not in out.stderr  # the same address on another port is another machine (a test host)


def test_a_group_data_file_of_no_group_is_warned_about(tmp_path: Path):
    out = _check(tmp_path, "", files={"group_data/boxs.py": "model = 'qwq-32b'\n"})
    assert out.returncode == 0
    assert ("warning: group_data/boxs.py matches no group of inventory.py, so its settings are not used; did you mean "
            "group_data/boxes.py?") in out.stderr
    # a file for another inventory beside this one is that inventory's, not a mistake
    quiet = _check(tmp_path, "", files={"group_data/boxs.py": "", "group_data/lab.py": "model = 'qwq-32b'\n",
                                        "lab_inventory.py": 'lab = ["192.0.2.30"]\n'})
    assert quiet.returncode == 0 and "matches no group" not in quiet.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ('["--max-num-seq", "64"]', "'--max-num-seq' is not a flag of `vllm serve` in vLLM 0.34.0 (vllm_version); "
                                    "did you mean '--max-num-seqs'?"),
        ('["--enable-prefix-cache"]', "did you mean '--enable-prefix-caching'?"),
        ('["--no-such-thing=1"]', "'--no-such-thing' is not a flag of `vllm serve`"),
    ],
)
def test_extra_flags_unknown_to_the_pinned_vllm_are_refused(tmp_path: Path, args: str, words: str):
    out = _check(tmp_path, f"vllm_extra_args = {args}\n")
    assert out.returncode == 2
    assert "host 'gpu-box': vllm_extra_args (set in group_data/boxes.py): " in out.stderr and words in out.stderr


def test_extra_flags_of_the_pinned_vllm_pass(tmp_path: Path):
    good = '["--max-num-seqs", "64", "--enable_expert_parallel", "--compilation-config.cudagraph_mode=PIECEWISE"]'
    assert _check(tmp_path, f"vllm_extra_args = {good}\n").returncode == 0
    # another release has other flags, each checked by that release's own list (a mirror's digest runs vllm_version)
    digest = 'vllm_image = "mirror.example:5000/vllm/vllm-openai@sha256:' + "b" * 64 + '"\n'
    newer = 'vllm_version = "0.34.0"\nvllm_extra_args = ["--enable-extensible-kv-cache"]\n'
    assert _check(tmp_path, digest + newer).returncode == 0
    assert _check(tmp_path, newer.replace("--enable-extensible-kv-cache", "--a-newer-flag")).returncode == 2
    out = _check(tmp_path, 'vllm_image = "vllm/vllm-openai:v0.18.0"\n')  # a release the stack does not plan for
    assert out.returncode == 2 and "is vLLM 0.18.0, a release the stack does not plan for" in out.stderr


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ('gpu_profile = "rtx-5090"\nnvidia_driver_branch = 550\n',
         "nvidia_driver_branch (set in group_data/boxes.py): driver branch 550 is too old: Blackwell GPUs need the "
         "open kernel modules and branch 570 or newer (gpu_profile 'rtx-5090')"),
        ('gpu_profile = "rtx-5090"\nnvidia_kernel_modules = "proprietary"\n',
         "nvidia_kernel_modules (set in group_data/boxes.py): proprietary kernel modules cannot drive these GPUs"),
        ('gpu_profile = "rtx-5090"\nnvidia_driver = "debian"\n',
         "nvidia_driver (set in group_data/boxes.py): Debian 12's non-free driver (535) cannot drive these GPUs: "
         "driver branch 535 is too old"),
        ('gpu_profile = "rtx-4090"\nnvidia_driver = "debian"\nnvidia_driver_branch = 580\n',
         "nvidia_driver (set in group_data/boxes.py): Debian 12's non-free driver is branch 535, not 580"),
    ],
)
def test_driver_settings_that_cannot_drive_the_gpu_are_refused(tmp_path: Path, settings: str, words: str):
    out = _check(tmp_path, settings)
    assert out.returncode == 2
    assert "host 'gpu-box': " in out.stderr and words in out.stderr


def test_driver_settings_that_suit_the_gpu_pass(tmp_path: Path):
    for settings in ('gpu_profile = "rtx-5090"\nnvidia_driver_branch = 580\n',
                     # a driver the GPU takes but the default vLLM (CUDA 13) does not: the release that runs on it
                     'gpu_profile = "rtx-5090"\nnvidia_driver_branch = 575\nvllm_version = "0.17.1"\n',
                     'gpu_profile = "rtx-4090"\nnvidia_driver = "debian"\nvllm_version = "0.17.1"\n',
                     'gpu_profile = "rtx-3090"\nnvidia_kernel_modules = "proprietary"\n'):
        out = _check(tmp_path, settings)
        assert out.returncode == 0, settings + out.stderr


def test_an_image_pinned_by_digest_passes(tmp_path: Path):
    digest = "vllm/vllm-openai@sha256:" + "0123456789abcdef" * 4
    assert _check(tmp_path, f'vllm_image = "{digest}"\n').returncode == 0


def test_a_renamed_setting_still_works_and_check_names_the_new_one(tmp_path: Path):
    out = _check(tmp_path, 'vllm_port = 8001\nvllm_listen = "0.0.0.0"\n',
                 env={"REASONING_STACK_VLLM_API_KEY": "sk-abc"})
    assert out.returncode == 0, out.stderr
    assert ("warning: vllm_listen (set in group_data/boxes.py, for gpu-box) is now api_listen: rename it; the old "
            "name still works") in out.stderr
    assert "vllm_port (set in group_data/boxes.py, for gpu-box) is now api_port" in out.stderr


def test_a_renamed_setting_under_both_names_is_refused(tmp_path: Path):
    out = _check(tmp_path, "vllm_port = 8001\napi_port = 8002\n")
    assert out.returncode == 2
    assert "host 'gpu-box': vllm_port (set in group_data/boxes.py): renamed api_port, which is set too; remove " \
           "vllm_port" in out.stderr


def test_a_secret_under_its_old_name_is_refused_unechoed(tmp_path: Path):
    out = _check(tmp_path, f'vllm_api_key = "{SECRET}"\n')
    assert out.returncode == 2 and SECRET not in out.stderr + out.stdout
    assert "api_key (set in group_data/boxes.py): a secret in host data" in out.stderr


def test_a_service_on_the_host_s_own_ssh_port_is_refused(tmp_path: Path):
    inventory = 'boxes = [("gpu-box", {"ssh_hostname": "192.0.2.10", "ssh_port": 2222})]\n'
    out = _check(tmp_path, "api_port = 2222\n", inventory=inventory)
    assert out.returncode == 2 and "host 'gpu-box': api_port" in out.stderr
    assert "2222 is this host's ssh_port" in out.stderr


def test_a_host_without_an_address_is_warned_about(tmp_path: Path):
    out = _check(tmp_path, "", inventory='boxes = [("gpu-box", {}), ("box.lan", {})]\n')
    assert out.returncode == 0, out.stderr
    assert "host 'gpu-box' has no ssh_hostname: pyinfra will connect to the name 'gpu-box' itself" in out.stderr
    assert "'box.lan' has no ssh_hostname" not in out.stderr  # a DNS name is an address


def test_what_if_flags_with_an_inventory_are_refused_not_ignored(tmp_path: Path):
    (tmp_path / "group_data").mkdir()
    (tmp_path / "inventory.py").write_text(INVENTORY)
    (tmp_path / "group_data" / "boxes.py").write_text('gpu_profile = "rtx-4090"\n')
    out = subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "plan", "inventory.py", "--gpu", "h100",
                          "--max-num-seqs", "8"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "--gpu, --max-num-seqs plan(s) a what-if GPU setup and would be ignored with an inventory" in out.stderr
    fine = subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "plan", "inventory.py", "--engine", "vllm"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert fine.returncode == 0, fine.stderr


@pytest.mark.parametrize(("settings", "words"), [
    ('cluster_port = 8000\n', "cluster_port 8000 is already api_port's port"),
    ('cluster_backend = "ray"\nray_port = 3000\n', "ray_port 3000 is already openwebui_port's port"),
])
def test_a_cluster_port_taken_by_another_service_is_refused(tmp_path: Path, settings: str, words: str):
    cluster = 'cluster = "c1"\ncluster_role = "head"\ncluster_interface = "eth0"\ngpu_profile = "h100"\n'
    out = _check(tmp_path, cluster + settings)
    assert out.returncode == 2 and words in out.stderr and "host 'gpu-box'" in out.stderr


def test_open_webui_shared_over_plain_http_is_warned_about(tmp_path: Path):
    out = _check(tmp_path, 'firewall_allow = ["192.168.1.0/24"]\n')
    assert out.returncode == 0, out.stderr
    assert ("warning: host 'gpu-box': Open WebUI is open to 192.168.1.0/24 over plain HTTP (passwords and chats in "
            "clear text); set https = 'internal'") in out.stderr
    out = _check(tmp_path, 'firewall_allow = ["192.168.1.0/24"]\nhttps = "internal"\n')
    assert out.returncode == 0 and "plain HTTP" not in out.stderr, out.stderr
