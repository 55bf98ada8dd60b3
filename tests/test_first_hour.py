"""A new operator's first hour, through the real `reasoning-stack` command: `check` says what every host lets in and
from where, refuses what the deploy would refuse (a platform's limits, a model that does not fit, a group_data file
pyinfra would not read), and the small commands do not crash."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BOX = 'boxes = [("gpu-box", {"ssh_hostname": "192.0.2.10"})]\n'
MAC = 'boxes = [("mac", {"ssh_hostname": "192.0.2.42", "ssh_user": "alice"})]\n'
MAC_SETTINGS = 'engine = "mlx"\ngpu_profile = "m4-max-128"\nmodel = "gpt-oss-20b"\n'


def cli(*args: str, cwd: Path = REPO, stdout: int | None = subprocess.PIPE,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "reasoning_stack.cli", *args], cwd=cwd, stdout=stdout,
                         stderr=subprocess.PIPE, text=True, timeout=120, env={**os.environ, **(env or {})})
    assert "Traceback" not in (out.stdout or "") + out.stderr, out.stderr
    return out


def check(tmp_path: Path, settings: str, inventory: str = BOX, files: dict[str, str] | None = None):
    """`reasoning-stack check` of a one-group inventory (``boxes``) with ``settings`` as its group_data."""
    (tmp_path / "group_data").mkdir(exist_ok=True)
    (tmp_path / "inventory.py").write_text(inventory)
    (tmp_path / "group_data" / "boxes.py").write_text(settings)
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
    return cli("check", "inventory.py", cwd=tmp_path)


def test_a_default_box_says_open_webui_answers_every_network_and_how_to_limit_it(tmp_path: Path):
    out = check(tmp_path, 'gpu_profile = "rtx-4090"\n')
    assert out.returncode == 0, out.stderr
    assert ("Open WebUI  http://192.0.2.10:3000  from every network that reaches the host (no firewall rules"
            in out.stdout)
    assert "sign-up pending" in out.stdout
    assert "model API   http://127.0.0.1:8000  from this host only" in out.stdout
    assert ("warning: host 'gpu-box': Open WebUI answers http://192.0.2.10:3000 from every network" in out.stderr)
    assert "openwebui_listen = '127.0.0.1'" in out.stderr and "firewall_allow = [" in out.stderr


def test_open_signup_and_grafana_beyond_loopback_without_a_firewall_are_warned_about(tmp_path: Path):
    out = check(tmp_path, 'gpu_profile = "rtx-4090"\nopenwebui_signup = "open"\ngrafana_listen = "0.0.0.0"\n')
    assert out.returncode == 0, out.stderr
    assert "sign-up OPEN (anyone who reaches it gets an account)" in out.stdout
    assert "openwebui_signup = 'open': anyone who reaches http://192.0.2.10:3000 gets an account" in out.stderr
    assert "Grafana answers http://192.0.2.10:3001 from every network" in out.stderr


def test_a_box_behind_its_firewall_says_who_gets_in(tmp_path: Path):
    out = check(tmp_path, 'gpu_profile = "rtx-4090"\nfirewall_allow = ["192.168.1.0/24"]\n')
    assert out.returncode == 0, out.stderr
    assert "Open WebUI  http://192.0.2.10:3000  from 192.168.1.0/24 only (the stack's packet filter)" in out.stdout
    assert "answers http://192.0.2.10:3000 from every network" not in out.stderr
    assert "over plain HTTP (passwords and chats in clear text)" in out.stderr  # still plain HTTP: said


def test_an_https_box_names_its_url_and_certificate(tmp_path: Path):
    out = check(tmp_path, 'gpu_profile = "rtx-4090"\nhttps = "internal"\nfirewall_allow = ["192.168.1.0/24"]\n'
                          'https_names = ["chat.lab.example"]\n')
    assert out.returncode == 0, out.stderr
    assert ("Open WebUI  https://chat.lab.example  from 192.168.1.0/24 only (the stack's packet filter); HTTPS (the "
            "stack's own CA; plain HTTP on port 80 redirects)") in out.stdout
    assert "warning" not in out.stderr


@pytest.mark.parametrize("settings, words", [
    ('firewall_allow = ["192.168.1.0/24"]\n', "host 'mac': firewall_allow ['192.168.1.0/24'] is not deployed on this "
                                              "platform yet: no packet filter would limit who reaches Open WebUI"),
    ('https = "internal"\n', "host 'mac': https 'internal' is not deployed on this platform yet"),
    ("openwebui_users = 50\n", "host 'mac': Open WebUI on PostgreSQL (chosen by openwebui_database 'auto' for "
                               "openwebui_users 50) is not deployed on this platform yet"),
])
def test_what_a_mac_deploy_refuses_check_refuses(tmp_path: Path, settings: str, words: str):
    out = check(tmp_path, MAC_SETTINGS + settings, inventory=MAC)
    assert out.returncode == 2, out.stdout + out.stderr
    assert words in out.stderr
    assert "settings valid" not in out.stdout
    assert "the deploy would stop there" in out.stderr


def test_a_model_that_does_not_fit_is_refused_by_check_as_by_plan(tmp_path: Path):
    out = check(tmp_path, 'gpu_profile = "rtx-4090"\nmodel = "gpt-oss-120b"\n')
    assert out.returncode == 3, out.stdout + out.stderr
    assert "gpu-box: does not fit: " in out.stderr
    assert "settings valid" not in out.stdout
    plan = cli("plan", "inventory.py", cwd=tmp_path)
    assert plan.returncode == 3


def test_check_says_which_host_runs_the_model_repositorys_own_code(tmp_path: Path):
    """A model whose engine needs --trust-remote-code runs Python from its repository on the host: check says so
    for that host, as plan does, and says nothing of it for a model that needs none."""
    out = check(tmp_path, 'gpu_profile = "rtx-pro-6000"\nmodel = "nemotron-3-nano-30b-a3b"\n')
    assert out.returncode == 0, out.stderr
    assert ("note: gpu-box: runs the model repository's own Python (--trust-remote-code" in out.stderr
            and "pin what you read with model_revision" in out.stderr), out.stderr
    qwen = check(tmp_path, 'gpu_profile = "rtx-4090"\nmodel = "qwen3-8b"\n')
    assert qwen.returncode == 0 and "own Python" not in qwen.stderr, qwen.stderr


@pytest.mark.parametrize("name", ["boxes.yml", "boxes.yaml", "all.json"])
def test_a_group_data_file_pyinfra_would_not_read_is_refused(tmp_path: Path, name: str):
    (tmp_path / "group_data").mkdir()
    out = check(tmp_path, 'gpu_profile = "rtx-4090"\n', files={f"group_data/{name}": "model: qwq-32b\n"})
    assert out.returncode == 2, out.stdout + out.stderr
    stem = name.rsplit(".", 1)[0]
    assert f"group_data/{name}: pyinfra reads only Python group_data files" in out.stderr
    assert f"write them as group_data/{stem}.py" in out.stderr


def test_every_shipped_inventory_says_what_each_host_lets_in():
    for inventory in sorted((REPO / "inventories").glob("*.py")):
        out = cli("check", str(inventory.relative_to(REPO)))
        assert out.returncode == 0, out.stderr
        hosts = [line for line in out.stdout.splitlines() if line.endswith(" lets in:")]
        checked = out.stdout.rsplit("settings valid: ", 1)[1].strip().split(", ")
        assert [h.split(" (", 1)[0] for h in hosts] == checked, out.stdout
        plan = cli("plan", str(inventory.relative_to(REPO)))  # plan says it too, below the plans
        assert plan.returncode == 0, plan.stderr
        assert [line for line in plan.stdout.splitlines() if line.endswith(" lets in:")] == hosts


def test_version_and_a_closed_pipe_and_a_file_for_out(tmp_path: Path):
    version = cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("reasoning-stack ")
    read, write = os.pipe()
    os.close(read)  # `plan ... | head` once head has gone: every write finds the pipe closed
    try:
        closed = cli("plan", "--gpu", "rtx-4090", "--model", "qwq-32b", stdout=write)
    finally:
        os.close(write)
    assert closed.returncode == 0 and closed.stderr == ""
    target = tmp_path / "a-file"
    target.write_text("mine\n")
    rendered = cli("render", "inventories/home.py", "--out", str(target))
    assert rendered.returncode == 2
    assert f"--out {target}: is a file" in rendered.stderr
    assert target.read_text() == "mine\n"


def test_plan_help_names_every_gpu_the_catalogue_takes():
    from reasoning_stack.catalogue import GPUS

    text = " ".join(cli("plan", "--help").stdout.split())
    listed = text.split("GPU for a what-if plan: ", 1)[1].split(" --", 1)[0]
    assert sorted(name.strip(", ") for name in listed.split(", ")) == sorted(GPUS)


def test_a_second_render_removes_what_the_deploy_would_no_longer_write_and_names_the_secrets(tmp_path: Path):
    settings = 'gpu_profile = "rtx-4090"\nfirewall_allow = ["192.168.1.0/24"]\n'
    check(tmp_path, settings + 'https = "internal"\n')
    first = cli("render", "inventory.py", "--out", "out", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    caddyfile = tmp_path / "out" / "gpu-box" / "etc" / "caddy" / "Caddyfile"
    assert caddyfile.is_file()
    assert ("not rendered: /etc/reasoning-stack/grafana-admin.env, /etc/reasoning-stack/openwebui-admin.env, "
            "/etc/reasoning-stack/openwebui-secret.env: secrets the deploy generates on the host") in first.stdout
    (tmp_path / "group_data" / "boxes.py").write_text(settings)  # https off again
    second = cli("render", "inventory.py", "--out", "out", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert not caddyfile.exists()
    assert "removed, as the deploy would not write them now: /etc/caddy/Caddyfile" in second.stdout


def test_a_dgx_spark_may_leave_most_of_its_memory_to_other_work():
    out = cli("plan", "--gpu", "gb10", "--model", "gpt-oss-20b", "--gpu-memory-utilization", "0.3")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("FITS: gpt-oss-20b")


@pytest.mark.parametrize("args, first_way_out", [
    (["--gpu", "rtx-4090", "--model", "Qwen/Qwen3-30B-A3B-Thinking-2507"],
     "  instead: engine 'ollama' (Ollama) fits it (q4_k_m, "),  # the model asked for, on the GPUs at hand
    (["--gpu", "rtx-5090", "--model", "qwen3.5-35b-a3b"], "  instead: model gpt-oss-20b fits (mxfp4, 131072 tokens)"),
])
def test_a_refusal_names_first_what_works_on_the_gpus_at_hand(args: list[str], first_way_out: str):
    out = cli("plan", *args)
    assert out.returncode == 3, out.stdout + out.stderr
    ways = [line for line in out.stdout.splitlines() if line.startswith("  instead: ")]
    assert ways and ways[0].startswith(first_way_out), out.stdout
    assert "nodes like this one" in ways[-1]  # more hardware comes last


def test_a_format_not_published_names_the_repos_that_are():
    out = cli("plan", "--gpu", "rtx-4090", "--model", "qwq-32b", "--quantization", "gptq")
    assert out.returncode == 3
    assert "QwQ-32B is not published as gptq; available: bf16 (Qwen/QwQ-32B), awq (Qwen/QwQ-32B-AWQ)" in out.stdout


def test_a_model_that_fits_one_node_is_not_called_the_only_way_across_two():
    out = cli("plan", "--gpu", "h100", "--count", "8", "--nodes", "2", "--model", "gpt-oss-120b")
    assert out.returncode == 0, out.stderr
    assert "the only layout of gpt-oss-120b that fits" not in out.stdout
    assert "gpt-oss-120b fits one node of these (1x1x8): each node serving it on its own (no cluster)" in out.stdout


def test_a_stronger_faster_model_is_offered_beside_a_slow_one():
    out = cli("plan", "--gpu", "gb10", "--model", "deepseek-r1-distill-llama-70b")
    assert out.returncode == 0, out.stderr
    assert re.search(r"- model gpt-oss-120b: stronger reasoning; 131072 tokens of context .* ~47 tokens/s for one "
                     r"request \(now ~3\)", out.stdout), out.stdout


def test_a_mac_gives_the_whole_context_rather_than_more_slots_and_counts_its_whole_kv_cache():
    out = cli("plan", "--gpu", "m4-max-64", "--engine", "mlx", "--model", "qwen3-30b-a3b-thinking-2507")
    assert out.returncode == 0, out.stderr
    assert "with 1 request(s) at once of 262144 tokens" in out.stdout.splitlines()[0]  # was 4 of 82944
    kv = re.search(r"KV cache \(bf16\) ([\d.]+) GiB = (\d+) tokens", out.stdout)
    assert kv and float(kv[1]) > 20, out.stdout  # the pool, not the prompt cache's leftover


def test_a_card_the_catalogue_lacks_is_described_by_its_memory_and_planned_before_any_host(tmp_path: Path):
    settings = 'gpu_memory_gib = 95.6\ngpu_compute_capability = "12.0"\ngpu_count = 2\nmodel = "qwen3.5-35b-a3b"\n'
    out = check(tmp_path, settings)
    assert out.returncode == 0, out.stderr
    plan = cli("plan", "inventory.py", cwd=tmp_path)
    assert plan.returncode == 0 and re.search(r"^gpu-box +vllm +qwen3.5-35b-a3b .* 2/2 .* yes$", plan.stdout, re.M)
    rendered = cli("render", "inventory.py", "--out", "out", cwd=tmp_path)
    assert rendered.returncode == 0 and (tmp_path / "out/gpu-box/etc/systemd/system/reasoning-vllm.service").is_file()
    both = check(tmp_path, 'gpu_profile = "rtx-4090"\ngpu_memory_gib = 24\n')
    assert both.returncode == 2 and "gpu_profile 'rtx-4090' already describes the GPU" in both.stderr
    unknown = check(tmp_path, 'gpu_profile = "rtx-pro-5000"\n')
    assert unknown.returncode == 2 and "give its memory: gpu_memory_gib = N" in unknown.stderr
    assert "did you mean" not in unknown.stderr  # no other card with other memory is offered
    alone = cli("plan", "--compute-cap", "12.0", "--gpu", "h100")
    assert alone.returncode == 2 and "--compute-cap X.Y" in alone.stderr


def test_a_card_described_by_its_memory_gets_a_speed_estimate_once_its_bandwidth_is_given(tmp_path: Path):
    memory_only = cli("plan", "--vram-gib", "23.5", "--model", "qwen3-8b")
    assert memory_only.returncode == 0 and "so no estimate; give the card's memory bandwidth" in memory_only.stdout
    assert "--bandwidth-gb-s N with --vram-gib; gpu_memory_bandwidth_gb_s in group_data" in memory_only.stdout
    assert "?" not in memory_only.stdout  # the alternatives compare no unknown speed ("? tokens/s")
    given = cli("plan", "--vram-gib", "23.5", "--bandwidth-gb-s", "768", "--model", "qwen3-8b")
    assert given.returncode == 0 and re.search(r"speed, one request: ~\d+ tokens/s .*at 768 GB/s", given.stdout)
    alone = cli("plan", "--gpu", "rtx-4090", "--bandwidth-gb-s", "768")
    assert alone.returncode == 2 and "--bandwidth-gb-s N" in alone.stderr and "goes with --vram-gib" in alone.stderr
    out = check(tmp_path, 'gpu_memory_gib = 23.5\ngpu_memory_bandwidth_gb_s = 768\nmodel = "qwen3-8b"\n')
    assert out.returncode == 0, out.stderr
    plan = cli("plan", "inventory.py", cwd=tmp_path)
    assert re.search(r"^gpu-box +vllm +qwen3-8b .* ~\d+ +yes$", plan.stdout, re.M), plan.stdout
    assert "at 768 GB/s" in plan.stdout
    wrong = check(tmp_path, 'gpu_profile = "rtx-4090"\ngpu_memory_bandwidth_gb_s = 768\n')
    assert wrong.returncode == 2 and "gpu_memory_bandwidth_gb_s goes with gpu_memory_gib" in wrong.stderr


def test_a_model_name_mistyped_or_unreadable_offline_names_the_nearest_catalogue_model(tmp_path: Path):
    for name in ("GPT-OSS-20B", "gpt-oss:20b", "gpt-oss-20"):
        out = cli("plan", "--gpu", "rtx-4090", "--model", name)
        assert out.returncode == 2 and "did you mean 'gpt-oss-20b'?" in out.stderr, out.stderr
        assert "--model model" not in out.stderr
    offline = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = cli("plan", "--gpu", "h100", "--model", "Qwen/Qwen3.5-122B-A10B", env=offline)
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.startswith("plan: --model Qwen/Qwen3.5-122B-A10B: the Hugging Face Hub cannot be read")
    assert "the nearest catalogue model: 'qwen3.5-35b-a3b'" in out.stderr
