"""End to end: the real pyinfra CLI deploys the stack over SSH to two Debian 12 test hosts at once (one as
root, one as a sudo user), then the host state is checked and a re-run must change nothing.

The tests in this module run in order and share the hosts (a deploy is what each later step builds on).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pytest
import standin_repo
import testhosts
import testinfra

from reasoning_stack.settings import (
    DEFAULT_OLLAMA_IMAGE,
    DEFAULT_OPENWEBUI_IMAGE,
    DEFAULT_SGLANG_IMAGE,
    DEFAULT_VLLM_IMAGE,
)

pytestmark = pytest.mark.slow

VLLM_IMAGE = DEFAULT_VLLM_IMAGE
WEBUI_IMAGE = DEFAULT_OPENWEBUI_IMAGE
API_KEY = "sk-test-SECRET-0123456789"
HF_TOKEN = "hf_testSECRET9876543210"
BASE_SETTINGS: dict[str, object] = {
    **testhosts.standin_settings(standin_repo.MOUNT),
    "model": "deepseek-r1-distill-qwen-7b",
    "api_key": API_KEY,
    "hf_token": HF_TOKEN,
    "health_timeout": 60,
    "nvidia_cdi": True,
}
MODEL = str(BASE_SETTINGS["model"])


class Stack:
    def __init__(self, hosts: list[testhosts.TestHost], rootfs):
        self.hosts = hosts
        self.rootfs = rootfs
        self.project = testhosts.new_project(hosts)
        self.settings = dict(BASE_SETTINGS)
        self.outputs: list[str] = []

    def deploy(self, deploy: str = "reasoning.py", *extra: str, **changes: object) -> tuple[int, dict | None, str]:
        self.settings.update(changes)
        self.project.write(self.settings)
        rc, data, text = self.project.pyinfra(deploy, *extra)
        self.outputs.append(text)
        return rc, data, text

    def deploy_changed(self, host: testhosts.TestHost, change: str, undo: str) -> tuple[int, dict | None, str]:
        """Deploy with ``change`` run on ``host`` first; ``undo`` runs afterwards whatever happens."""
        host.sh(change)
        try:
            return self.deploy()
        finally:
            host.sh(undo)

    def testinfra(self, host: testhosts.TestHost):
        return testinfra.get_host(f"docker://{host.container}")


@pytest.fixture(scope="module")
def stack():
    testhosts.require_docker()
    image, key = testhosts.image_and_key()
    repos = standin_repo.build(Path(tempfile.mkdtemp(prefix="rs-repos-")), os.uname().release)
    hosts: list[testhosts.TestHost] = []
    try:
        # root-box: one GPU, driver already working. sudo-box: a fresh dual-4090 box with no driver yet,
        # its GPUs declared in the inventory (as on a box waiting for its driver).
        hosts.append(testhosts.start_host(image, "root-box", key, user="root", repos=repos))
        hosts.append(testhosts.start_host(image, "sudo-box", key, user="deployer", gpu_profile="rtx-4090x2",
                                          driver=False, repos=repos))
        hosts[1].extra_data.update({"gpu_profile": "rtx-4090", "gpu_count": 2})
        yield Stack(hosts, testhosts.standin_rootfs(image))
    finally:
        testhosts.remove_hosts(hosts)


def _log(text: str) -> str:
    """pyinfra's own log (stderr) for assertion messages: the lines around the first error, else the tail."""
    log = text.split('{"plan"', 1)[0]
    lines = log.splitlines()
    first = next((i for i, line in enumerate(lines) if "Error" in line or "error:" in line), None)
    return "\n".join(lines[max(0, first - 40):first + 20]) if first is not None else log[-6000:]


def _changed_ops(data: dict) -> list[tuple[str, list[str]]]:
    # Operation names carry the deploy file they come from ("deploys/serving.py | ..."): keep the name only.
    return [(op["name"].split(" | ")[-1], op["success"]) for op in data["results"]["operations"] if op["success"]]


def test_secure_boot_and_conflicting_apt_sources_stop_a_fresh_box(stack: Stack):
    fresh = stack.hosts[1]
    mokutil = "/usr/local/bin/mokutil"  # stand-in: the firmware reports Secure Boot on
    rc, _data, text = stack.deploy_changed(
        fresh, f"printf '#!/bin/sh\\necho SecureBoot enabled\\n' > {mokutil} && chmod 755 {mokutil}",
        f"rm -f {mokutil}")
    assert rc != 0
    assert "host 'sudo-box': Secure Boot is on" in text and "mokutil --import" in text
    # a leftover source list beside a new one, each with its own keyring
    lists = " && ".join(f"echo 'deb [signed-by=/usr/share/keyrings/{name}.gpg] https://repo.invalid/cuda/ /' "
                        f"> /etc/apt/sources.list.d/{name}.list" for name in ("a", "b"))
    rc, _data, text = stack.deploy_changed(
        fresh, lists, "rm -f /etc/apt/sources.list.d/a.list /etc/apt/sources.list.d/b.list")
    assert rc != 0
    assert "Conflicting values set for option Signed-By" in text
    assert "/etc/apt/sources.list.d/a.list, /etc/apt/sources.list.d/b.list" in text
    assert not stack.testinfra(fresh).package("docker.io").is_installed


HOLD_APT_LOCKS = ("import fcntl, sys, time; locks = [open(p, 'w') for p in ('/var/lib/apt/lists/lock', "
                  "'/var/lib/dpkg/lock-frontend', '/var/lib/dpkg/lock')]; "
                  "[fcntl.lockf(f, fcntl.LOCK_EX) for f in locks]; time.sleep(float(sys.argv[1]))")


def _hold_apt_locks(host: testhosts.TestHost, seconds: float) -> None:
    """Hold apt's and dpkg's locks on the host for a while, as unattended upgrades do."""
    testhosts.docker("exec", "-d", host.container, "python3", "-c", HOLD_APT_LOCKS, str(seconds))
    probe = "import fcntl; fcntl.lockf(open('/var/lib/dpkg/lock-frontend', 'w'), fcntl.LOCK_EX | fcntl.LOCK_NB)"
    _wait_until(lambda: host.exec("python3", "-c", probe, check=False).returncode != 0, 10)


def test_held_package_lock_is_waited_for_within_the_limit(stack: Stack):
    busy = stack.hosts[0]
    _hold_apt_locks(busy, 600)
    try:
        rc, data, text = stack.deploy("docker.py", apt_lock_timeout=6)
    finally:
        busy.sh("pkill -f '[f]cntl.LOCK_EX' || true")
        del stack.settings["apt_lock_timeout"]
    # root-box gave up after its limit, naming the holder and the setting; sudo-box went on alone
    assert rc != 0
    assert data is not None and data["results"]["failed_hosts"] == ["root-box"], _log(text)
    assert "It is held by process" in text and "(python3)" in text
    assert "apt_lock_timeout: the package lock was still held after 6s" in text
    assert not stack.testinfra(busy).package("docker.io").is_installed
    assert stack.testinfra(stack.hosts[1]).package("docker.io").is_installed
    # Held for 20 s, within the default limit: the deploy says it waits, then installs.
    _hold_apt_locks(busy, 20)
    rc, data, text = stack.deploy("docker.py")
    assert rc == 0, _log(text)
    assert "[root-box] waiting for the package lock (up to 600s, apt_lock_timeout)" in text
    assert stack.testinfra(busy).package("docker.io").is_installed


SLOW_PACKAGE = """set -e; mkdir -p /tmp/slowpkg/DEBIAN; cd /tmp/slowpkg
printf 'Package: rs-test-slow\nVersion: 1\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n' > DEBIAN/control
printf '#!/bin/sh\nif [ -e /tmp/slow ]; then sleep 120; fi\n' > DEBIAN/postinst; chmod 755 DEBIAN/postinst
dpkg-deb -b /tmp/slowpkg /tmp/rs-test-slow.deb >/dev/null"""


def test_dpkg_run_cut_off_is_finished_by_the_next_deploy(stack: Stack):
    # dpkg killed in a package's configure step (where a driver's DKMS build runs): apt then refuses every
    # install ("dpkg was interrupted") until `dpkg --configure -a` has run.
    host = stack.hosts[1]
    host.sh(SLOW_PACKAGE)
    host.sh("touch /tmp/slow; (dpkg -i /tmp/rs-test-slow.deb >/dev/null 2>&1 &); sleep 3; pkill -KILL -x dpkg; "
            "rm /tmp/slow")
    assert host.sh("ls /var/lib/dpkg/updates"), "dpkg left no journal"
    assert "dpkg was interrupted" in host.sh("apt-get install -y hello 2>&1 || true")
    try:
        rc, data, text = stack.deploy("docker.py")
        assert rc == 0, _log(text)
        assert [n for n, _ in _changed_ops(data)] == ["Finish a dpkg run that was cut off (dpkg --configure -a)"]
        assert stack.testinfra(host).package("rs-test-slow").is_installed
        assert host.sh("ls /var/lib/dpkg/updates") == ""
    finally:
        host.sh("dpkg --purge rs-test-slow >/dev/null 2>&1 || true")


def test_docker_layer(stack: Stack):
    rc, data, text = stack.deploy("docker.py")
    assert rc == 0, _log(text)
    for host in stack.hosts:
        t = stack.testinfra(host)
        assert t.package("docker.io").is_installed
        assert t.service("docker").is_running and t.service("docker").is_enabled
        daemon = json.loads(t.file("/etc/docker/daemon.json").content_string)
        assert daemon["storage-driver"] == "overlay2"
        assert t.check_output("docker info --format '{{.Driver}}'") == "overlay2"
        # the group's daemon options reached dockerd: the label is no default
        assert testhosts.INNER_DOCKER_LABEL in t.check_output("docker info --format '{{json .Labels}}'")
    rc, data, text = stack.deploy("docker.py")
    assert rc == 0 and data["results"]["totals"]["success"] == 0, _changed_ops(data)


def test_full_deploy(stack: Stack):
    for host in stack.hosts:
        testhosts.load_standin_images(host, stack.rootfs, [VLLM_IMAGE, WEBUI_IMAGE])
    start = time.monotonic()
    rc, data, text = stack.deploy()
    print(f"\nfirst full deploy of 2 hosts: {time.monotonic() - start:.1f}s")
    assert rc == 0, _log(text)
    assert data["results"]["totals"]["error"] == 0
    # Before any change, each host says what it will let in, as check does.
    assert "root-box (127.0.0.1) lets in:" in text and "sudo-box (127.0.0.1) lets in:" in text
    # Long steps print their progress and the smoke test its figures, whatever the verbosity.
    assert "Fetching model.safetensors for deepseek-ai/DeepSeek-R1-Distill-Qwen-7B" in text
    assert "reasoning-vllm: http://127.0.0.1:8000/health answered after" in text
    assert text.count("smoke test: time to first token") == 2
    assert text.count("tokens/s estimated by the plan for one request") == 2  # measured beside the estimate
    assert "smoke test: answer: The answer is \\boxed{391}." in text
    # The fresh box got its driver and says it needs a reboot; containers see every GPU on both boxes.
    assert "sudo-box needs a reboot to load NVIDIA driver 580" in text
    assert "[root-box] containers see 1 GPU(s)" in text and "[sudo-box] containers see 2 GPU(s)" in text
    # Open WebUI's admin was created on its first start (password generated on the host, never shown), and
    # the sign-up policy was put back after Open WebUI switched sign-up off.
    assert text.count("Open WebUI admin: admin@localhost; its password: sudo cat "
                      "/etc/reasoning-stack/openwebui-admin.env") == 2
    assert text.count("Open WebUI sign-up policy 'pending' applied") == 2
    assert text.count("Open WebUI model 'deepseek-r1-distill-qwen-7b' shown as 'DeepSeek-R1-Distill-Qwen-7B', "
                      "for everyone (created)") == 2


def test_nvidia_layer_state(stack: Stack):
    root_box, fresh = (stack.testinfra(h) for h in stack.hosts)
    for t in (root_box, fresh):
        for package in ("nvidia-container-toolkit", "nvidia-container-toolkit-base", "libnvidia-container-tools",
                        "libnvidia-container1"):
            assert t.package(package).version == standin_repo.TOOLKIT_VERSION, package
        held = t.check_output("apt-mark showhold").split()
        assert "nvidia-container-toolkit" in held
        daemon = json.loads(t.file("/etc/docker/daemon.json").content_string)
        assert daemon["runtimes"]["nvidia"]["path"] == "nvidia-container-runtime"
        assert daemon["exec-opts"] == ["native.cgroupdriver=cgroupfs"]
        assert daemon["storage-driver"] == "overlay2"  # the user's own keys are kept
        assert daemon["labels"] == [testhosts.INNER_DOCKER_LABEL]
        assert "kind: nvidia.com/gpu" in t.file("/etc/cdi/nvidia.yaml").content_string
    # Only the fresh box needed a driver: keyring, kernel headers, the pinned branch, nouveau out of the way.
    assert fresh.package("cuda-keyring").is_installed
    assert fresh.package(f"linux-headers-{os.uname().release}").is_installed
    assert fresh.package("nvidia-open-580").is_installed
    assert "nvidia-open-580" in fresh.check_output("apt-mark showhold").split()
    assert "blacklist nouveau" in fresh.file("/etc/modprobe.d/blacklist-nouveau.conf").content_string
    assert not root_box.package("nvidia-open-580").is_installed
    assert not root_box.file("/etc/modprobe.d/blacklist-nouveau.conf").exists


@pytest.mark.parametrize("index", [0, 1], ids=["root-box", "sudo-box"])
def test_host_state(stack: Stack, index: int):
    host = stack.hosts[index]
    t = stack.testinfra(host)
    for unit in ("reasoning-vllm", "reasoning-openwebui"):
        service = t.service(unit)
        assert service.is_enabled and service.is_running, unit
        unit_file = t.file(f"/etc/systemd/system/{unit}.service")
        assert unit_file.mode == 0o644 and unit_file.user == "root"
    for env in ("reasoning-vllm.env", "reasoning-openwebui.env", "openwebui-secret.env"):
        f = t.file(f"/etc/reasoning-stack/{env}")
        assert f.mode == 0o600 and f.user == "root", env
    assert t.file("/etc/reasoning-stack").mode == 0o700
    # No copy of a secret is left behind by the uploads (through sudo they pass a temporary file).
    assert t.check_output("find /tmp -maxdepth 1 -name 'reasoning-stack-*' -o -maxdepth 1 -name 'pyinfra-*'") == ""
    # The weights were downloaded before the service started, into the cache the container mounts.
    cache = "/var/lib/reasoning-stack/huggingface"
    assert t.file(f"{cache}/hub/models--deepseek-ai--DeepSeek-R1-Distill-Qwen-7B/snapshots/standin0").is_directory
    assert t.file(f"{cache}/reasoning-stack/models--deepseek-ai--DeepSeek-R1-Distill-Qwen-7B.complete").exists
    assert API_KEY in t.file("/etc/reasoning-stack/reasoning-vllm.env").content_string
    # vLLM answers only on loopback; Open WebUI on every address.
    assert t.socket("tcp://127.0.0.1:8000").is_listening
    assert not t.socket("tcp://0.0.0.0:8000").is_listening
    assert t.socket("tcp://0.0.0.0:3000").is_listening
    models = t.check_output(
        "python3 -c \"import urllib.request as u; r=u.Request('http://127.0.0.1:8000/v1/models', "
        f"headers={{'Authorization': 'Bearer {API_KEY}'}}); print(u.urlopen(r).read().decode())\""
    )
    assert json.loads(models)["data"][0]["id"] == "deepseek-r1-distill-qwen-7b"
    unauthorised = t.run("python3 -c \"import urllib.request as u; u.urlopen('http://127.0.0.1:8000/v1/models')\"")
    assert unauthorised.rc != 0 and "401" in unauthorised.stderr
    health = t.check_output("python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:3000/health').read().decode())\"")
    assert json.loads(health) == {"status": True}
    # Every rendered unit passes systemd's own checker.
    verify = t.run("systemd-analyze verify /etc/systemd/system/reasoning-vllm.service "
                   "/etc/systemd/system/reasoning-openwebui.service")
    assert verify.rc == 0, verify.stderr
    # Every GPU serves: the unit asks for all of them and carries the planned layout; the container sees them.
    unit_text = t.file("/etc/systemd/system/reasoning-vllm.service").content_string
    assert "--gpus all" in unit_text
    # root-box has one GPU; sudo-box has two, and a 7B model that fits one runs tensor parallel over both
    # (the layout rule: faster for one request, and both layouts hold plenty of 16K requests).
    assert f"--tensor-parallel-size {index + 1} " in unit_text and "--data-parallel-size" not in unit_text
    seen = t.check_output("docker exec vllm nvidia-smi -L").splitlines()
    assert len(seen) == index + 1 and all("NVIDIA GeForce RTX 4090" in line for line in seen)
    journal = t.check_output("journalctl -u reasoning-vllm --no-pager -o cat")
    assert f"stand-in vLLM: tensor parallel {index + 1} x data parallel 1 on {index + 1} visible GPU(s)" in journal
    assert "--reasoning-parser deepseek_r1" in unit_text
    # Open WebUI got the vLLM endpoint and its settings from the environment.
    seen = json.loads(t.file("/var/lib/reasoning-stack/open-webui/standin-env.json").content_string)
    assert seen["OPENAI_API_BASE_URLS"] == "http://127.0.0.1:8000/v1"
    assert seen["ENABLE_OLLAMA_API"] == "False" and seen["WEBUI_AUTH"] == "True"
    assert seen["ENABLE_PERSISTENT_CONFIG"] == "False"
    assert seen["WEBUI_SECRET_KEY"].startswith("sha256:")
    assert seen["WEBUI_ADMIN_EMAIL"] == "admin@localhost" and seen["WEBUI_ADMIN_PASSWORD"].startswith("sha256:")
    admin_env = t.file("/etc/reasoning-stack/openwebui-admin.env")
    assert admin_env.mode == 0o600 and admin_env.user == "root"
    # a second person signing up gets the policy's answer (pending) without a restart
    signup = t.check_output(
        "python3 -c \"import json, urllib.request as u; r = u.Request('http://127.0.0.1:3000/api/v1/auths/signup', "
        "data=json.dumps({'name': 'b', 'email': 'b@example.com', 'password': 'x'}).encode(), method='POST'); "
        "print(json.loads(u.urlopen(r).read())['role'])\"")
    assert signup == "pending"


def test_no_secret_in_units_or_output(stack: Stack):
    for host in stack.hosts:
        t = stack.testinfra(host)
        for unit in ("reasoning-vllm", "reasoning-openwebui"):
            shown = t.check_output(f"systemctl show {unit}")
            assert API_KEY not in shown and HF_TOKEN not in shown
            text = t.file(f"/etc/systemd/system/{unit}.service").content_string
            assert API_KEY not in text and HF_TOKEN not in text
        processes = t.check_output("ps -eo args")
        assert API_KEY not in processes and HF_TOKEN not in processes
    for output in stack.outputs:
        assert API_KEY not in output and HF_TOKEN not in output


def test_rotated_secret_stays_out_of_diff_output(stack: Stack):
    rotated = "sk-rotated-SECRET-5550123"
    rc, data, text = stack.deploy("reasoning.py", "--diff", api_key=rotated, gpu_memory_utilization=0.8)
    assert rc == 0, _log(text)
    assert rotated not in text and API_KEY not in text
    assert "--gpu-memory-utilization 0.8" in text  # --diff is on: the unit-file diff still shows
    t = stack.testinfra(stack.hosts[1])
    assert rotated in t.file("/etc/reasoning-stack/reasoning-vllm.env").content_string
    rc, data, text = stack.deploy(api_key=API_KEY, gpu_memory_utilization=None)  # the release's own again
    assert rc == 0, _log(text)


def test_rerun_changes_nothing(stack: Stack):
    start = time.monotonic()
    rc, data, text = stack.deploy()
    elapsed = time.monotonic() - start
    print(f"\nno-op re-run of 2 hosts: {elapsed:.1f}s")
    assert rc == 0, _log(text)
    assert data["results"]["totals"]["success"] == 0, _changed_ops(data)
    assert data["results"]["totals"]["no_change"] > 20


def test_a_hugging_face_repo_model_deploys_planned_from_its_own_config(stack: Stack, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch):
    """``model`` set to a repo id the catalogue does not know: the deploy reads its config through huggingface_hub
    from the Hub (stood in locally, HF_ENDPOINT), plans it, downloads its weights, starts it with the planned
    arguments and parser, smoke-tests it; a re-run changes nothing; back to the catalogue model afterwards."""
    from hub_standin import HubStandin

    from reasoning_stack.models.presets import PRESETS

    qwen3_8b = next(p for p in PRESETS if p["slug"] == "deepseek-r1-0528-qwen3-8b")
    repo = "acme/Qwen3-8B-Thinker"
    hub = HubStandin({repo: {"config.json": qwen3_8b["config"],
                             "generation_config.json": {"temperature": 0.6, "top_p": 0.95, "top_k": 20},
                             "tokenizer_config.json": {"chat_template": "{%- if enable_thinking %}<think>{% endif %}"},
                             "model.safetensors": 16_400_000_000}}).start()
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    box = stack.hosts[0]
    t = stack.testinfra(box)
    try:
        box.extra_data["model"] = repo
        rc, data, text = stack.deploy()
        assert rc == 0, _log(text)
        assert any(r.startswith("GET /api/models/acme/Qwen3-8B-Thinker") for r in hub.requests)
        unit = t.file("/etc/systemd/system/reasoning-vllm.service").content_string
        assert f"{VLLM_IMAGE} {repo} --served-model-name {repo}" in unit
        assert "--reasoning-parser qwen3" in unit and "--tool-call-parser hermes" in unit
        snapshot = "/var/lib/reasoning-stack/huggingface/hub/models--acme--Qwen3-8B-Thinker/snapshots"
        assert t.file(snapshot).is_directory  # the weights were downloaded into the host's cache
        assert f"Smoke test: one reasoning question to {repo}" in text  # the smoke test ran against it ...
        assert "smoke test: answer: The answer is \\boxed{391}." in text  # ... and got the answer apart
        ask = ("import urllib.request as u; print(u.urlopen(u.Request('http://127.0.0.1:8000/v1/models', headers="
               f"{{'Authorization': 'Bearer {API_KEY}'}}), timeout=30).read().decode())")
        served = json.loads(t.check_output(f'python3 -c "{ask}"'))
        assert served["data"][0]["id"] == repo
        rc, data, _ = stack.deploy()
        assert rc == 0 and data["results"]["totals"]["success"] == 0, _changed_ops(data)
    finally:
        hub.stop()
        box.extra_data.pop("model", None)
    rc, data, text = stack.deploy()
    assert rc == 0, _log(text)
    unit = t.file("/etc/systemd/system/reasoning-vllm.service").content_string
    assert "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B" in unit


def test_unreachable_host_fails_alone_and_is_named(stack: Stack):
    # A third box of the inventory is switched off: the two others still deploy (nothing to do), and the
    # run fails naming it.
    image, key = testhosts.image_and_key()
    spare = testhosts.start_host(image, "spare-box", key)
    testhosts.docker("stop", "-t", "1", spare.container)
    stack.hosts.append(spare)
    try:
        rc, data, text = stack.deploy()
    finally:
        stack.hosts.remove(spare)
        testhosts.remove_hosts([spare])
        stack.project.write(stack.settings)  # the inventory without it, for the tests that follow
    assert rc != 0
    assert data is not None, _log(text)
    assert data["results"]["failed_hosts"] == ["spare-box"]
    assert data["results"]["totals"]["success"] == 0, _changed_ops(data)
    assert data["results"]["totals"]["no_change"] > 20  # the two reachable boxes were checked in full
    summary = text.split("--> Results:", 1)[-1] if "--> Results:" in text else text[-3000:]
    assert "spare-box" in summary, text[-3000:]


def _wait_until(condition, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(1)


def _reaches(client: testhosts.TestHost, url: str) -> bool:
    script = f"import urllib.request; urllib.request.urlopen({url!r}, timeout=3)"
    return client.exec("python3", "-c", script, check=False).returncode == 0


def _units(host_status: dict) -> dict[str, dict]:
    return {u["unit"]: u for u in host_status["report"]["units"]}


def test_status_reports_a_healthy_stack_then_each_fault(stack: Stack):
    rc, report, text = stack.project.status()
    assert rc == 0, text
    assert "known_hosts" not in text  # the hosts' key checking is off: pyinfra's line for it is not repeated
    for host_status in report["hosts"]:
        assert host_status["healthy"] and host_status["problems"] == [], host_status
        units = _units(host_status)
        assert {u["state"] for u in units.values()} == {"active"}
        vllm = units["reasoning-vllm"]
        assert vllm["health"] == 200 and vllm["completion"]["status"] == 200
        assert vllm["smoke_test"]["reasoning_apart"] and vllm["smoke_test"]["tokens_per_s"] > 0
        assert units["reasoning-openwebui"]["health"] == 200
        assert host_status["gpus"][0]["name"] == "NVIDIA GeForce RTX 4090"
        assert vllm["max_model_len"] == host_status["report"]["manifest"]["units"][1]["max_model_len"]
    assert len(report["hosts"][1]["gpus"]) == 2
    # A stopped unit: that host is down, named with its unit; the other stays healthy; exit 1.
    root = stack.hosts[0]
    root.sh("systemctl stop reasoning-openwebui")
    try:
        rc, report, text = stack.project.status()
    finally:
        root.sh("systemctl start reasoning-openwebui")
        _wait_until(lambda: _reaches(root, "http://127.0.0.1:3000/health"))
    assert rc == 1, text
    assert report["hosts"][0]["problems"] == ["reasoning-openwebui is inactive"]
    assert report["hosts"][1]["healthy"]
    # A hung engine: /health still 200, but no token comes back within the timeout.
    hang = "/var/lib/reasoning-stack/huggingface/standin-hang"
    root.sh(f"touch {hang}")
    try:
        rc, report, text = stack.project.status("--timeout", "3")
    finally:
        root.sh(f"rm -f {hang}")
    assert rc == 1, text
    problems = report["hosts"][0]["problems"]
    assert any(p.startswith("reasoning-vllm: a one-token completion failed") and "/health 200" in p
               for p in problems), problems
    rc, report, text = stack.project.status()
    assert rc == 0, text


def _starts(t, path="/var/lib/reasoning-stack/open-webui/standin-starts.log") -> int:
    return len(t.file(path).content_string.splitlines())


def test_changed_setting_restarts_only_its_service(stack: Stack):
    t = stack.testinfra(stack.hosts[0])
    vllm_pid = t.check_output("systemctl show --property MainPID --value reasoning-vllm")
    webui_starts = _starts(t)
    rc, data, text = stack.deploy(gpu_memory_utilization=0.85)
    assert rc == 0, _log(text)
    changed = dict(_changed_ops(data))
    assert "Restart reasoning-vllm for changed unit or env" in changed
    assert "Restart reasoning-openwebui for changed unit or env" not in changed
    assert t.check_output("systemctl show --property MainPID --value reasoning-vllm") != vllm_pid
    assert "--gpu-memory-utilization 0.85" in t.file("/etc/systemd/system/reasoning-vllm.service").content_string
    assert _starts(t) == webui_starts
    rc, data, _ = stack.deploy()
    assert data["results"]["totals"]["success"] == 0, _changed_ops(data)


def test_a_rerun_still_notices_drift(stack: Stack):
    """The faster no-op re-run reads each file's checksum, mode and owner in one command and reads the deploy code's
    facts once: a removed helper, a loosened mode and a stopped unit are still put right, and only they."""
    box = stack.hosts[0]
    t = stack.testinfra(box)
    box.sh("rm /usr/local/libexec/reasoning-stack/smoke-test && chmod 644 /usr/local/libexec/reasoning-stack/wait-http"
           " && systemctl stop reasoning-openwebui")
    rc, data, text = stack.deploy()
    assert rc == 0, _log(text)
    changed = {name for name, _ in _changed_ops(data)}
    assert {"smoke-test helper", "wait-http helper", "reasoning-openwebui running and enabled"} <= changed, changed
    assert not any(name.startswith("Restart reasoning-vllm") for name in changed), changed
    assert t.file("/usr/local/libexec/reasoning-stack/smoke-test").mode == 0o755
    assert t.file("/usr/local/libexec/reasoning-stack/wait-http").mode == 0o755
    assert t.service("reasoning-openwebui").is_running
    rc, data, _ = stack.deploy()
    assert data["results"]["totals"]["success"] == 0, _changed_ops(data)


DB = "/var/lib/reasoning-stack/open-webui/webui.db"
SQL = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "


def test_openwebui_data_survives_a_new_image_and_a_rollback(stack: Stack):
    new_image = DEFAULT_OPENWEBUI_IMAGE.rsplit(":", 1)[0] + ":v0.12.5"
    for host in stack.hosts:
        host.exec("docker", "tag", WEBUI_IMAGE, new_image)
        host.exec("sh", "-c", "echo precious > /var/lib/reasoning-stack/open-webui/user-chat.txt")
        host.exec("python3", "-c", SQL + "c.execute('create table chat (text)'); "
                  "c.execute(\"insert into chat values ('hello')\"); c.commit()", DB)
    t = stack.testinfra(stack.hosts[1])
    before = _starts(t)
    rc, data, text = stack.deploy(openwebui_image=new_image)
    assert rc == 0, _log(text)
    for host in stack.hosts:
        t = stack.testinfra(host)
        assert new_image in t.file("/etc/systemd/system/reasoning-openwebui.service").content_string
        assert t.file("/var/lib/reasoning-stack/open-webui/user-chat.txt").content_string.strip() == "precious"
    assert _starts(stack.testinfra(stack.hosts[1])) == before + 1
    secret_before = t.file("/etc/reasoning-stack/openwebui-secret.env").sha256sum
    # the database was backed up (consistently, with SQLite's own backup) before the new image started
    backup = "/var/lib/reasoning-stack/backups/webui-v0.12.4.db"
    assert t.file(backup).mode == 0o600
    assert "hello" in stack.hosts[1].exec("python3", "-c", SQL + "print(c.execute('select * from chat').fetchall())",
                                          backup).stdout.decode()
    rc, data, _ = stack.deploy()
    assert data["results"]["totals"]["success"] == 0, _changed_ops(data)
    assert t.file("/etc/reasoning-stack/openwebui-secret.env").sha256sum == secret_before
    # Rolling back is setting the previous tag: the old image serves the same data again.
    rc, data, text = stack.deploy(openwebui_image=WEBUI_IMAGE)
    assert rc == 0, _log(text)
    assert WEBUI_IMAGE in t.file("/etc/systemd/system/reasoning-openwebui.service").content_string
    assert t.file("/var/lib/reasoning-stack/open-webui/user-chat.txt").content_string.strip() == "precious"
    assert t.file("/var/lib/reasoning-stack/backups/webui-v0.12.5.db").exists
    assert [n for n, _ in _changed_ops(data) if n.startswith("Restart")] == ["Restart reasoning-openwebui for "
                                                                            "changed unit or env"]


def test_cloud_connection_is_checked_and_an_unreachable_api_only_warns(stack: Stack):
    box = stack.hosts[0]
    cloud_key = "sk-cloud-SECRET-777"
    # nothing listens on this port of the host: the API cannot be reached, which is a warning, not a failure
    box.extra_data["openwebui_cloud"] = [{"name": "lab", "base_url": "http://127.0.0.1:9/v1",
                                          "models": ["big-reasoner"]}]
    stack.project.extra_environ["REASONING_STACK_LAB_API_KEY"] = cloud_key
    try:
        rc, data, text = stack.deploy()
        assert rc == 0, _log(text)
        assert ("warning: cloud connection 'lab': could not ask http://127.0.0.1:9/v1/models" in text
                and "shown in Open WebUI unchecked" in text)
        assert cloud_key not in text
        t = stack.testinfra(box)
        seen = json.loads(t.file("/var/lib/reasoning-stack/open-webui/standin-env.json").content_string)
        assert seen["OPENAI_API_BASE_URLS"] == "http://127.0.0.1:8000/v1;http://127.0.0.1:9/v1"
        configs = json.loads(seen["OPENAI_API_CONFIGS"])
        assert configs["1"]["prefix_id"] == "lab" and configs["1"]["model_ids"] == ["big-reasoner"]
        assert cloud_key in t.file("/etc/reasoning-stack/reasoning-openwebui.env").content_string
        assert cloud_key not in t.file("/etc/systemd/system/reasoning-openwebui.service").content_string
        rc, data, _ = stack.deploy()
        assert data["results"]["totals"]["success"] == 0, _changed_ops(data)
    finally:
        del box.extra_data["openwebui_cloud"]
        del stack.project.extra_environ["REASONING_STACK_LAB_API_KEY"]
    rc, data, text = stack.deploy()
    assert rc == 0, _log(text)
    assert "OPENAI_API_CONFIGS" not in stack.testinfra(box).file(
        "/etc/reasoning-stack/reasoning-openwebui.env").content_string


def test_second_model_gets_its_own_gpu_unit_and_port(stack: Stack):
    dual = stack.hosts[1]  # two stand-in RTX 4090s
    dual.extra_data["extra_models"] = [{"name": "fast", "model": "qwen3-8b", "port": 8001}]
    rc, data, text = stack.deploy()
    assert rc == 0, _log(text)
    t = stack.testinfra(dual)
    assert t.service("reasoning-vllm-fast").is_running and t.service("reasoning-vllm-fast").is_enabled
    assert t.socket("tcp://127.0.0.1:8001").is_listening
    fast_unit = t.file("/etc/systemd/system/reasoning-vllm-fast.service").content_string
    assert '--gpus "\\"device=1\\""' in fast_unit and "--reasoning-parser qwen3" in fast_unit
    primary_unit = t.file("/etc/systemd/system/reasoning-vllm.service").content_string
    assert '--gpus "\\"device=0\\""' in primary_unit and "--tensor-parallel-size 1 " in primary_unit
    # each container sees only its own GPU (the stand-in hook honours --gpus as NVIDIA's does)
    assert "GPU-7b2d" in t.check_output("docker exec vllm-fast nvidia-smi -L")
    assert "GPU-7b2d" not in t.check_output("docker exec vllm nvidia-smi -L")
    assert t.file("/etc/reasoning-stack/reasoning-vllm-fast.env").mode == 0o600
    seen = json.loads(t.file("/var/lib/reasoning-stack/open-webui/standin-env.json").content_string)
    assert seen["OPENAI_API_BASE_URLS"] == "http://127.0.0.1:8000/v1;http://127.0.0.1:8001/v1"
    assert not stack.testinfra(stack.hosts[0]).file("/etc/systemd/system/reasoning-vllm-fast.service").exists
    rc, data, _ = stack.deploy()
    assert data["results"]["totals"]["success"] == 0, _changed_ops(data)
    _new_vllm_image_restarts_each_instance_in_turn(stack, t)
    # Taken out of the settings again: its unit is stopped and removed, and the primary takes both GPUs back.
    del dual.extra_data["extra_models"]
    rc, data, text = stack.deploy()
    assert rc == 0, _log(text)
    assert not t.file("/etc/systemd/system/reasoning-vllm-fast.service").exists
    assert not t.socket("tcp://127.0.0.1:8001").is_listening
    assert "--gpus all" in t.file("/etc/systemd/system/reasoning-vllm.service").content_string
    rc, data, _ = stack.deploy()
    assert data["results"]["totals"]["success"] == 0, _changed_ops(data)


def test_moving_to_the_seed_vllm_release_and_back_is_day_two(stack: Stack):
    """``vllm_version`` moved from the default (0.34.0) to 0.17.1 runs 0.17.1's image with the command line planned
    by its rules, and ``status`` names the release; a re-run changes nothing. Taking the setting out again keeps
    0.17.1 (what the host runs), says so, and changes nothing; naming 0.34.0 moves it back to exactly the unit it
    had."""
    dual = stack.hosts[1]
    t = stack.testinfra(dual)
    unit_path = "/etc/systemd/system/reasoning-vllm.service"
    before = t.file(unit_path).content_string
    assert VLLM_IMAGE in before
    seed = VLLM_IMAGE.rsplit(":", 1)[0] + ":v0.17.1"  # the stand-in under the seed release's tag, as pulled
    dual.exec("docker", "tag", VLLM_IMAGE, seed)

    def on(version: str, image: str, other: str) -> None:
        unit = t.file(unit_path).content_string
        assert image in unit and other not in unit
        assert t.service("reasoning-vllm").is_running
        rc, report, text = stack.project.status()
        assert rc == 0, text
        releases = {u["unit"]: u.get("release") for u in report["hosts"][1]["report"]["manifest"]["units"]}
        assert releases.get("reasoning-vllm") == f"vLLM {version}", releases

    try:
        dual.extra_data["vllm_version"] = "0.17.1"
        rc, data, text = stack.deploy()
        assert rc == 0, _log(text)
        on("0.17.1", seed, VLLM_IMAGE)
        rc, data, _ = stack.deploy()
        assert data["results"]["totals"]["success"] == 0, _changed_ops(data)
        del dual.extra_data["vllm_version"]  # the group_data names no release again: the host keeps what it runs
        rc, data, text = stack.deploy()
        assert rc == 0, _log(text)
        assert data["results"]["totals"]["success"] == 0, _changed_ops(data)
        assert "host 'sudo-box' keeps vllm_version = '0.17.1', what its last deploy runs" in text
        assert "keeps vllm_version" not in text.replace("host 'sudo-box' keeps", "")  # the other runs the default
        on("0.17.1", seed, VLLM_IMAGE)
        dual.extra_data["vllm_version"] = "0.34.0"
        rc, data, text = stack.deploy()
        assert rc == 0, _log(text)
        on("0.34.0", VLLM_IMAGE, seed)
        assert t.file(unit_path).content_string == before  # back on the default: exactly the unit it had
        rc, data, _ = stack.deploy()
        assert data["results"]["totals"]["success"] == 0, _changed_ops(data)
    finally:
        dual.extra_data.pop("vllm_version", None)
        dual.exec("docker", "rmi", seed)


_ASK_OPENWEBUI = """
import json, sys, urllib.request as u
password = [l.split("=", 1)[1].strip() for l in open("/etc/reasoning-stack/openwebui-admin.env")
            if l.startswith("WEBUI_ADMIN_PASSWORD=")][0]
def call(path, payload=None, token=None):
    request = u.Request("http://127.0.0.1:3000" + path, data=None if payload is None else json.dumps(payload).encode(),
                        headers={"Content-Type": "application/json", **({"Authorization": "Bearer " + token}
                                                                         if token else {})})
    return json.loads(u.urlopen(request, timeout=60).read())
token = call("/api/v1/auths/signin", {"email": "admin@localhost", "password": password})["token"]
models = call("/api/models", token=token)
chats = {m: call("/api/chat/completions", {"model": m, "messages": [{"role": "user", "content": "17 * 23?"}]},
                 token) for m in sys.argv[1:]}
print(json.dumps({"models": models, "chats": chats}))
"""


def _through_openwebui(t, *models: str) -> dict:
    """Open WebUI's model list and one chat per model, as a signed-in person gets them (on the host)."""
    return json.loads(t.check_output("python3 - " + " ".join(models) + " <<'EOF'\n" + _ASK_OPENWEBUI + "EOF"))


def test_sglang_instance_beside_vllm_then_switched_to_vllm(stack: Stack):
    """One box serving a vLLM instance and an SGLang instance side by side, both reached through Open WebUI;
    a re-run changes nothing; switching the instance's engine retires the SGLang unit."""
    dual = stack.hosts[1]
    dual.exec("docker", "tag", VLLM_IMAGE, DEFAULT_SGLANG_IMAGE)  # the stand-in image carries both servers
    dual.extra_data["extra_models"] = [{"name": "batch", "model": "qwen3-8b", "port": 30000, "engine": "sglang"}]
    rc, data, text = stack.deploy()
    assert rc == 0, _log(text)
    t = stack.testinfra(dual)
    assert t.service("reasoning-sglang-batch").is_running and t.service("reasoning-sglang-batch").is_enabled
    assert t.socket("tcp://127.0.0.1:30000").is_listening
    unit = t.file("/etc/systemd/system/reasoning-sglang-batch.service").content_string
    assert "--entrypoint python3" in unit and "-m sglang.launch_server" in unit and "--tp-size 1 " in unit
    assert "--reasoning-parser qwen3" in unit and '--gpus "\\"device=1\\""' in unit and API_KEY not in unit
    options = t.file("/etc/reasoning-stack/reasoning-sglang-batch.yaml")
    assert options.mode == 0o600 and options.user == "root" and API_KEY in options.content_string
    journal = t.check_output("journalctl -u reasoning-sglang-batch --no-pager -o cat")
    assert "stand-in SGLang: mem_fraction_static 0.7" in journal and "API key from --config" in journal
    assert "Smoke test: one reasoning question to qwen3-8b" in text and API_KEY not in text
    seen = json.loads(t.file("/var/lib/reasoning-stack/open-webui/standin-env.json").content_string)
    assert seen["OPENAI_API_BASE_URLS"] == "http://127.0.0.1:8000/v1;http://127.0.0.1:30000/v1"
    answers = _through_openwebui(t, "deepseek-r1-distill-qwen-7b", "qwen3-8b")
    assert [m["id"] for m in answers["models"]["data"]] == ["deepseek-r1-distill-qwen-7b", "qwen3-8b"]
    assert answers["models"]["errors"] == []
    for model, port in (("deepseek-r1-distill-qwen-7b", 8000), ("qwen3-8b", 30000)):
        chat = answers["chats"][model]
        assert chat["connection"] == f"http://127.0.0.1:{port}/v1"
        assert "391" in chat["reasoning"] and "\\boxed{391}" in chat["content"]
    rc, data, _ = stack.deploy()
    assert data["results"]["totals"]["success"] == 0, _changed_ops(data)

    # the same instance on vLLM: the SGLang unit and its options file go, a vLLM unit takes the port
    dual.extra_data["extra_models"] = [{"name": "batch", "model": "qwen3-8b", "port": 30000}]
    rc, data, text = stack.deploy()
    assert rc == 0, _log(text)
    assert not t.file("/etc/systemd/system/reasoning-sglang-batch.service").exists
    assert not t.file("/etc/reasoning-stack/reasoning-sglang-batch.yaml").exists
    assert t.check_output("docker ps -q --filter name=sglang-batch") == ""
    assert t.service("reasoning-vllm-batch").is_running and t.socket("tcp://127.0.0.1:30000").is_listening
    assert "--reasoning-parser qwen3" in t.file("/etc/systemd/system/reasoning-vllm-batch.service").content_string
    rc, data, _ = stack.deploy()
    assert data["results"]["totals"]["success"] == 0, _changed_ops(data)
    del dual.extra_data["extra_models"]
    rc, data, text = stack.deploy()
    assert rc == 0, _log(text)
    assert not t.file("/etc/systemd/system/reasoning-vllm-batch.service").exists


def test_small_box_on_ollama_then_back_to_vllm(stack: Stack):
    """The one-GPU box switched to Ollama: the model pulled with progress, the planned context and slots in the
    server's environment and in Open WebUI's model entry (its num_ctx reaches Ollama), thinking apart; a re-run
    changes nothing; switching back retires the Ollama unit."""
    box = stack.hosts[0]
    box.exec("docker", "tag", VLLM_IMAGE, DEFAULT_OLLAMA_IMAGE)  # the stand-in image carries every server
    box.extra_data["engine"] = "ollama"
    rc, data, text = stack.deploy()
    assert rc == 0, _log(text)
    t = stack.testinfra(box)
    plan = _ollama_plan()
    assert not t.file("/etc/systemd/system/reasoning-vllm.service").exists
    assert t.check_output("docker ps -q --filter name=^vllm$") == ""
    assert t.service("reasoning-ollama").is_running and t.service("reasoning-ollama").is_enabled
    env = t.file("/etc/reasoning-stack/reasoning-ollama.env")
    assert env.mode == 0o600
    for key, value in plan.output.environment.items():
        assert f"{key}={value}\n" in env.content_string
    assert "OLLAMA_HOST=127.0.0.1:8000" in env.content_string and "OLLAMA_KEEP_ALIVE=-1" in env.content_string
    assert "--entrypoint /usr/bin/ollama" in t.file("/etc/systemd/system/reasoning-ollama.service").content_string
    assert "pulling sha256:5e8f: 50% of 4.70 GB" in text and "success" in text  # progress, never silent
    assert t.file("/var/lib/reasoning-stack/ollama/models/manifests/registry.ollama.ai/library/deepseek-r1/7b").exists
    assert "Smoke test: one reasoning question to deepseek-r1:7b" in text
    seen = json.loads(t.file("/var/lib/reasoning-stack/open-webui/standin-env.json").content_string)
    assert seen["ENABLE_OLLAMA_API"] == "True" and seen["OLLAMA_BASE_URLS"] == "http://127.0.0.1:8000"
    assert seen["ENABLE_OPENAI_API"] == "False" and seen["TASK_MODEL"] == "deepseek-r1:7b"
    entries = json.loads(t.file("/var/lib/reasoning-stack/open-webui/standin-models.json").content_string)
    assert entries["deepseek-r1:7b"]["params"] == {"num_ctx": plan.max_model_len}
    kept = json.loads(t.file("/var/lib/reasoning-stack/open-webui/standin-functions.json").content_string)
    assert kept["reasoning_stack_cut_off"]["is_active"] and kept["reasoning_stack_cut_off"]["is_global"]  # any engine
    answers = _through_openwebui(t, "deepseek-r1:7b")
    assert [m["id"] for m in answers["models"]["data"]] == ["deepseek-r1:7b"]
    chat = answers["chats"]["deepseek-r1:7b"]
    assert chat["connection"] == "http://127.0.0.1:8000" and "391" in chat["reasoning"] and "391" in chat["content"]
    journal = t.check_output("journalctl -u reasoning-ollama --no-pager -o cat")
    assert f"chat with deepseek-r1:7b, num_ctx {plan.max_model_len}, think True" in journal
    code, report, err = stack.project.status()
    host = next(h for h in report["hosts"] if h["host"] == box.name)
    assert host["healthy"], (host["problems"], err)
    rc, data, _ = stack.deploy()
    assert data["results"]["totals"]["success"] == 0, _changed_ops(data)

    del box.extra_data["engine"]
    _back_on_vllm(stack, t, "ollama")


def _back_on_vllm(stack: Stack, t, engine: str) -> None:
    """Deploy the box's settings back on vLLM: ``engine``'s unit and container are gone, vLLM runs, and a re-run
    changes nothing."""
    rc, data, text = stack.deploy()
    assert rc == 0, _log(text)
    assert not t.file(f"/etc/systemd/system/reasoning-{engine}.service").exists
    assert t.check_output(f"docker ps -q --filter name=^{engine}$") == ""
    assert t.service("reasoning-vllm").is_running
    rc, data, _ = stack.deploy()
    assert data["results"]["totals"]["success"] == 0, _changed_ops(data)


NGC_KEY = "nvapi-test-SECRET-4242"
NIM_MIRROR = "127.0.0.1:5000/nim/nvidia/vllm-model-free-nim:2.1.6"  # a mirror of the pinned tag, keyed


def test_nim_from_a_keyed_registry_then_back_to_vllm(stack: Stack):
    """The one-GPU box switched to NVIDIA NIM, its image on a registry that wants a key: the deploy logs Docker in
    with the NGC API key from the environment (read from a 0600 file, in no unit, command line or output), NIM
    reads its model from NIM_MODEL_PATH with the planned vLLM flags as arguments, the health wait passes on
    /v1/health/ready, the smoke test and Open WebUI reach it, status shows it healthy, a re-run changes nothing;
    switching back retires the NIM unit."""
    box = stack.hosts[0]
    t = stack.testinfra(box)
    box.exec("docker", "tag", VLLM_IMAGE, NIM_MIRROR)  # the stand-in image carries every server
    box.exec("sh", "-c", "cat > /root/registry_standin.py",
             input=(testhosts.STANDINS / "registry_standin.py").read_bytes())
    box.exec("systemd-run", "--unit", "standin-registry", "--setenv", "STANDIN_REGISTRY_USER=$oauthtoken",
             "--setenv", f"STANDIN_REGISTRY_PASSWORD={NGC_KEY}", "--setenv", "STANDIN_REGISTRY_LOG=/root/registry.log",
             "python3", "/root/registry_standin.py")
    # the registry answers before the deploy logs in (a generous bound: a loaded 2-core machine starts Python slowly)
    box.exec("python3", "-c", "import socket, sys, time\nfor _ in range(240):\n    try:\n"
             "        socket.create_connection(('127.0.0.1', 5000), 1).close(); sys.exit(0)\n"
             "    except OSError:\n        time.sleep(0.5)\nsys.exit('the stand-in registry never answered')")
    box.extra_data.update({"engine": "nim", "nim_image": NIM_MIRROR})
    try:
        rc, data, text = stack.deploy(ngc_api_key=NGC_KEY)
        assert rc == 0, _log(text)
        attempts = [json.loads(line) for line in t.file("/root/registry.log").content_string.splitlines()]
        assert {"path": "/v2/", "user": "$oauthtoken", "ok": True} in attempts, attempts
        key_file = t.file("/etc/reasoning-stack/registry-127.0.0.1-5000.key")
        assert key_file.mode == 0o600 and key_file.user == "root" and key_file.content_string.strip() == NGC_KEY
        assert "127.0.0.1:5000" in t.check_output("cat /root/.docker/config.json")
        assert not t.file("/etc/systemd/system/reasoning-vllm.service").exists
        assert t.service("reasoning-nim").is_running and t.service("reasoning-nim").is_enabled
        unit = t.file("/etc/systemd/system/reasoning-nim.service").content_string
        env = t.file("/etc/reasoning-stack/reasoning-nim.env")
        assert env.mode == 0o600
        assert "NIM_MODEL_PATH=hf://deepseek-ai/DeepSeek-R1-Distill-Qwen-7B" in env.content_string
        assert f"NIM_SERVED_MODEL_NAME={MODEL}" in env.content_string and "VLLM_API_KEY" not in env.content_string
        assert NIM_MIRROR in unit and "--reasoning-parser deepseek_r1" in unit and "--host 127.0.0.1" in unit
        assert "--volume /var/lib/reasoning-stack/nim:/opt/nim/.cache" in unit
        journal = t.check_output("journalctl -u reasoning-nim --no-pager -o cat")
        assert "stand-in NIM 2.1.6: hf://deepseek-ai/DeepSeek-R1-Distill-Qwen-7B in /opt/nim/.cache" in journal
        assert t.file("/var/lib/reasoning-stack/nim/standin-downloads/deepseek-ai--DeepSeek-R1-Distill-Qwen-7B").exists
        assert "/v1/health/ready answered" in text and f"Smoke test: one reasoning question to {MODEL}" in text
        processes = t.check_output("ps -eo args")
        for where, seen in (("the unit", unit), ("the env file", env.content_string), ("the output", text),
                            ("a command line", processes), ("the journal", journal)):
            assert NGC_KEY not in seen, f"the NGC API key is in {where}"
        answers = _through_openwebui(t, MODEL)
        assert [m["id"] for m in answers["models"]["data"]] == [MODEL]
        assert "391" in answers["chats"][MODEL]["reasoning"] and "391" in answers["chats"][MODEL]["content"]
        code, report, err = stack.project.status()
        host = next(h for h in report["hosts"] if h["host"] == box.name)
        assert host["healthy"], (host["problems"], err)
        shown = stack.project.command("status").stdout
        assert f"serves {MODEL} (deepseek-ai/DeepSeek-R1-Distill-Qwen-7B) on NIM 2.1.6 (vLLM 0.32.0)" in shown, shown
        assert "/v1/health/ready 200" in shown, shown
        rc, data, _ = stack.deploy()
        assert data["results"]["totals"]["success"] == 0, _changed_ops(data)
    finally:
        for key in ("engine", "nim_image"):
            box.extra_data.pop(key, None)
        stack.settings.pop("ngc_api_key", None)
        box.exec("systemctl", "stop", "standin-registry", check=False)
    _back_on_vllm(stack, t, "nim")


def _ollama_plan():
    from reasoning_stack.gpus import gpus_from_profile
    from reasoning_stack.plan import PlanRequest, make_plan

    return make_plan(PlanRequest(gpus=tuple(gpus_from_profile("rtx-4090")), model="deepseek-r1-distill-qwen-7b",
                                 engine="ollama"))


def _starts_since(t, unit: str, since: str) -> int:
    journal = t.check_output(f"journalctl -u {unit} --since @{since} --no-pager -o cat")
    return journal.count("stand-in vLLM: tensor parallel")


def _new_vllm_image_restarts_each_instance_in_turn(stack: Stack, t) -> None:
    """A new vLLM tag on a host with two instances: each restarts once, the second only after the first
    answered again; weights and data stay. Rolling back is setting the previous tag."""
    new_image = VLLM_IMAGE.rsplit(":", 1)[0] + ":v0.34.1"  # a patch release: planned as 0.34.0
    for host in stack.hosts:
        host.exec("docker", "tag", VLLM_IMAGE, new_image)
    for image, previous in ((new_image, VLLM_IMAGE), (VLLM_IMAGE, new_image)):
        since = t.check_output("date +%s")
        time.sleep(1)
        rc, data, text = stack.deploy(vllm_image=image)
        assert rc == 0, _log(text)
        for unit in ("reasoning-vllm", "reasoning-vllm-fast"):
            unit_text = t.file(f"/etc/systemd/system/{unit}.service").content_string
            assert image in unit_text and previous not in unit_text
            assert _starts_since(t, unit, since) == 1, unit
        order = [name for name, hosts in _changed_ops(data) if "sudo-box" in hosts]
        first, answered, second = ("Restart reasoning-vllm for changed unit or env",
                                   "Wait for reasoning-vllm /v1/models",
                                   "Restart reasoning-vllm-fast for changed unit or env")
        assert order.index(first) < order.index(answered) < order.index(second), order
        assert not [name for name in order if name.startswith(("Weights of", "Restart reasoning-openwebui"))]
        started = {u: int(t.check_output(f"systemctl show -p ExecMainStartTimestampMonotonic --value {u}"))
                   for u in ("reasoning-vllm", "reasoning-vllm-fast")}
        assert started["reasoning-vllm"] < started["reasoning-vllm-fast"]
    del stack.settings["vllm_image"]  # back to following vllm_version, as before the test
    rc, data, _ = stack.deploy()
    assert data["results"]["totals"]["success"] == 0, _changed_ops(data)


def test_reserved_gpu_is_left_to_other_work(stack: Stack):
    dual = stack.hosts[1]
    dual.extra_data["gpu_indices"] = [1]
    try:
        rc, data, text = stack.deploy()
        assert rc == 0, _log(text)
        t = stack.testinfra(dual)
        unit = t.file("/etc/systemd/system/reasoning-vllm.service").content_string
        assert '--gpus "\\"device=1\\""' in unit and "--tensor-parallel-size 1 " in unit
        assert t.check_output("docker exec vllm nvidia-smi -L").count("GPU ") == 1
        assert "GPU-7b2d" in t.check_output("docker exec vllm nvidia-smi -L")
        dual.extra_data["gpu_indices"] = [2]
        rc, _data, text = stack.deploy()
        assert rc != 0 and "host 'sudo-box': gpu_indices" in text
        assert "gpu_indices [2] name GPUs a 2-GPU rtx-4090 host lacks; valid indices: 0-1" in text
    finally:
        dual.extra_data.pop("gpu_indices")
    rc, data, text = stack.deploy()
    assert rc == 0, _log(text)
    assert "--gpus all" in stack.testinfra(dual).file("/etc/systemd/system/reasoning-vllm.service").content_string


def test_failing_instance_fails_only_its_host_with_its_journal(stack: Stack):
    bad = stack.hosts[1]
    bad.extra_data["vllm_extra_args"] = ["--max-num-seqs", "0"]
    try:
        rc, data, text = stack.deploy()
    finally:
        bad.extra_data.pop("vllm_extra_args")
    assert rc != 0
    assert data is None or data["results"]["failed_hosts"] == ["sudo-box"]
    assert "--- last lines of the reasoning-vllm journal ---" in text
    assert "stand-in vLLM" in text  # the unit's own log lines are shown
    # Putting the setting back heals the host.
    rc, data, text = stack.deploy()
    assert rc == 0, _log(text)
    assert stack.testinfra(bad).service("reasoning-vllm").is_running


def test_driver_library_mismatch_is_explained(stack: Stack):
    host = stack.hosts[0]
    rc, _data, text = stack.deploy_changed(host, "echo error-nvml-mismatch > /etc/standin-gpu-profile",
                                           f"echo {host.gpu_profile} > /etc/standin-gpu-profile")
    assert rc != 0
    assert "host 'root-box': nvidia-smi failed: Failed to initialize NVML: Driver/library version mismatch" in text
    assert "reboot the host" in text


def test_unsupported_os_is_refused(stack: Stack):
    host = stack.hosts[0]
    rc, _data, text = stack.deploy_changed(
        host,
        "cp /usr/lib/os-release /tmp/os-release.keep && "
        "sed -i 's/^VERSION_ID=.*/VERSION_ID=\"11\"/; s/^PRETTY_NAME=.*/PRETTY_NAME=\"Debian GNU\\/Linux 11\"/' "
        "/usr/lib/os-release",
        "cp /tmp/os-release.keep /usr/lib/os-release")
    assert rc != 0
    assert "host 'root-box': Debian GNU/Linux 11 is not supported" in text
    assert "Debian 12, Ubuntu 22.04, Ubuntu 24.04" in text


def test_switching_openwebui_off_stops_it_and_keeps_its_data(stack: Stack):
    rc, data, text = stack.deploy(openwebui_enabled=False)
    assert rc == 0, _log(text)
    for host in stack.hosts:
        t = stack.testinfra(host)
        assert not t.file("/etc/systemd/system/reasoning-openwebui.service").exists
        assert not t.socket("tcp://0.0.0.0:3000").is_listening
        assert t.file("/var/lib/reasoning-stack/open-webui/user-chat.txt").exists
        assert t.service("reasoning-vllm").is_running
    rc, data, _ = stack.deploy()
    assert data["results"]["totals"]["success"] == 0, _changed_ops(data)


def test_firewall_lets_listed_networks_in_and_keeps_others_out(stack: Stack):
    server, client = stack.hosts
    def address(h: testhosts.TestHost) -> str:  # the test host's address on the engine's bridge (eth0)
        return h.sh("ip -4 -o addr show dev eth0 | sed -E 's/.* inet ([0-9.]+).*/\\1/'").strip()

    server.extra_data["firewall_allow"] = [f"{address(client)}/32"]
    try:
        rc, data, text = stack.deploy(openwebui_enabled=True)
        assert rc == 0, _log(text)
        url = f"http://{address(server)}:3000/health"
        assert _reaches(client, url)  # on the listed network
        # this test runner, on the Docker engine's side of the bridge, is not listed: dropped
        assert not _reaches_from_here(url)
        assert "table inet reasoning_stack" in server.sh("nft list tables")
        rc, data, _ = stack.deploy()
        assert data["results"]["totals"]["success"] == 0, _changed_ops(data)  # SSH still works, nothing to do
        rc, report, text = stack.project.status()
        assert rc == 0 and _units(report["hosts"][0])["reasoning-firewall"]["state"] == "active", text
    finally:
        del server.extra_data["firewall_allow"]
    rc, data, text = stack.deploy()  # unset: the rules go
    assert rc == 0, _log(text)
    assert _reaches_from_here(f"http://{address(server)}:3000/health")
    assert "reasoning_stack" not in server.sh("nft list tables")


# A browser on the client that trusts only the stack's CA: the status and final URL of each URL it opens, following
# redirects, or the error it stops with.
_BROWSER = """
import json, ssl, sys, urllib.request
trusting = ssl.create_default_context(cafile="/tmp/stack-ca.crt")
out = {}
for name, url, context in (("https", "https://chat.lab.test/health", trusting),
                           ("http", "http://chat.lab.test/health", trusting),
                           ("untrusted", "https://chat.lab.test/health", ssl.create_default_context())):
    try:
        answer = urllib.request.urlopen(url, timeout=10, context=context)
        out[name] = [answer.status, answer.url]
    except Exception as exc:
        out[name] = [0, type(exc).__name__ + ": " + str(exc)]
print(json.dumps(out))
"""


_PERSON_KEY = """
import json, ssl, sys, urllib.error, urllib.request
context = ssl.create_default_context(cafile="/tmp/stack-ca.crt")
base, model, admin_password = "https://chat.lab.test", sys.argv[1], sys.stdin.read().strip()
def call(method, path, token="", body=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(request, timeout=60, context=context) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, None
admin = call("POST", "/api/v1/auths/signin", body={"email": "admin@localhost", "password": admin_password})[1]
call("POST", "/api/v1/auths/add", admin["token"], {"name": "ada", "email": "ada@example.com",
                                                   "password": "Ada-pass-123!", "role": "user"})
ada = call("POST", "/api/v1/auths/signin", body={"email": "ada@example.com", "password": "Ada-pass-123!"})[1]
key = call("POST", "/api/v1/auths/api_key", ada["token"])[1]["api_key"]
out = {"models": call("GET", "/api/models", key), "unknown": call("GET", "/api/models", "sk-unknown")[0],
       "chats": call("GET", "/api/v1/chats/", key)[0],
       "answer": call("POST", "/api/chat/completions", key, {"model": model, "messages": [
           {"role": "user", "content": "What is 2 + 2?"}]})}
call("DELETE", "/api/v1/auths/api_key", ada["token"])
out["revoked"] = call("GET", "/api/models", key)[0]
print(json.dumps(out))
"""


def _a_persons_key_through_the_proxy(stack: Stack, server: testhosts.TestHost, client: testhosts.TestHost) -> None:
    """From the other host, over HTTPS: ada's own key reaches the model and the OpenAI endpoints only; an unknown
    or revoked key is refused; `reasoning-stack usage` shows her call."""
    password = server.sh("sed -n 's/^WEBUI_ADMIN_PASSWORD=//p' /etc/reasoning-stack/openwebui-admin.env").strip()
    seen = json.loads(client.exec("python3", "-c", _PERSON_KEY, MODEL, input=password.encode()).stdout.decode())
    assert seen["models"][0] == 200 and MODEL in [m["id"] for m in seen["models"][1]["data"]], seen
    assert seen["answer"][0] == 200 and seen["answer"][1]["choices"][0]["message"]["content"], seen
    assert seen["unknown"] == 401 and seen["revoked"] == 401 and seen["chats"] == 403, seen
    out = stack.project.command("usage", "--json")
    assert out.returncode == 0, out.stderr + out.stdout
    used = json.loads(out.stdout)["hosts"]["root-box"]["people"]["ada@example.com"]["models"][MODEL]
    assert used["calls"] >= 1 and used["output_tokens"] > 0, used
    assert "ada@example.com" in stack.project.command("usage").stdout
    t = stack.testinfra(server)
    record = t.file("/var/lib/reasoning-stack/open-webui/audit")
    assert record.mode == 0o700 and record.user == "root"


def _the_engine_key_rotated(stack: Stack, server: testhosts.TestHost, client: testhosts.TestHost) -> None:
    """A new api_key and a re-deploy reach every service that holds it: the engine refuses the old key, Open WebUI
    reaches the engine with the new one, and a person's key keeps working (the engine's key never left the host)."""
    rotated = "sk-rotated-SECRET-7770123"
    rc, _data, text = stack.deploy(api_key=rotated)
    assert rc == 0, _log(text)
    assert rotated not in text and API_KEY not in text
    ask = ("import sys, urllib.error, urllib.request as u\nr = u.Request('http://127.0.0.1:8000/v1/models', "
           "headers={'Authorization': 'Bearer ' + sys.argv[1]})\ntry:\n    print(u.urlopen(r).status)\n"
           "except urllib.error.HTTPError as e:\n    print(e.code)")
    assert server.exec("python3", "-c", ask, API_KEY).stdout.decode().strip() == "401"
    assert server.exec("python3", "-c", ask, rotated).stdout.decode().strip() == "200"
    env = stack.testinfra(server).file("/etc/reasoning-stack/reasoning-openwebui.env").content_string
    assert f"OPENAI_API_KEYS={rotated}\n" in env and API_KEY not in env
    password = server.sh("sed -n 's/^WEBUI_ADMIN_PASSWORD=//p' /etc/reasoning-stack/openwebui-admin.env").strip()
    seen = json.loads(client.exec("python3", "-c", _PERSON_KEY, MODEL, input=password.encode()).stdout.decode())
    assert seen["answer"][0] == 200, seen  # through Open WebUI, which now holds the new key
    rc, _data, text = stack.deploy(api_key=API_KEY)
    assert rc == 0, _log(text)


def test_https_in_front_of_open_webui_with_the_stacks_own_ca(stack: Stack):
    server, client = stack.hosts

    def address(h: testhosts.TestHost) -> str:
        return h.sh("ip -4 -o addr show dev eth0 | sed -E 's/.* inet ([0-9.]+).*/\\1/'").strip()

    https = {"https": "internal", "https_names": ["chat.lab.test"], "firewall_allow": [f"{address(client)}/32"],
             "openwebui_api_keys": "everyone"}
    server.extra_data.update(https)
    client.sh(f"echo '{address(server)} chat.lab.test' >> /etc/hosts")
    try:
        rc, data, text = stack.deploy(openwebui_enabled=True)
        assert rc == 0, _log(text)
        assert "Open WebUI at https://chat.lab.test" in text
        ca = stack.project.path / "ca" / "root-box.crt"  # fetched back to the deploying machine
        assert ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
        client.exec("sh", "-c", "cat > /tmp/stack-ca.crt", input=ca.read_bytes())
        seen = json.loads(client.exec("python3", "-c", _BROWSER).stdout.decode())
        assert seen["https"] == [200, "https://chat.lab.test/health"], seen
        assert seen["http"] == [200, "https://chat.lab.test/health"], seen  # redirected to HTTPS
        assert seen["untrusted"][0] == 0 and "CERTIFICATE_VERIFY_FAILED" in seen["untrusted"][1], seen
        assert not _reaches(client, f"http://{address(server)}:3000/health")  # Open WebUI only behind the proxy
        t = stack.testinfra(server)
        env = t.file("/etc/reasoning-stack/reasoning-openwebui.env").content_string
        assert "HOST=127.0.0.1\n" in env and "WEBUI_URL=https://chat.lab.test\n" in env
        assert "WEBUI_SESSION_COOKIE_SECURE=True" in env
        _a_persons_key_through_the_proxy(stack, server, client)
        _the_engine_key_rotated(stack, server, client)
        rc, data, _ = stack.deploy()
        assert data["results"]["totals"]["success"] == 0, _changed_ops(data)
        rc, report, text = stack.project.status()
        assert rc == 0 and _units(report["hosts"][0])["caddy"]["state"] == "active", text
    finally:
        for key in https:
            server.extra_data.pop(key)
        # /etc/hosts is Docker's bind mount: rewritten in place, not replaced as sed -i would
        client.sh("grep -v chat.lab.test /etc/hosts > /tmp/hosts && cat /tmp/hosts > /etc/hosts")
    rc, data, text = stack.deploy()  # https off again: Caddy stopped, Open WebUI on its own port
    assert rc == 0, _log(text)
    assert not stack.testinfra(server).service("caddy").is_running
    assert _reaches(client, f"http://{address(server)}:3000/health")


def _reaches_from_here(url: str) -> bool:
    import urllib.request

    try:
        urllib.request.urlopen(url, timeout=3)
        return True
    except OSError:
        return False


def test_remove_takes_the_stack_off_and_a_deploy_puts_it_back(stack: Stack):
    rc, data, text = stack.deploy(openwebui_enabled=True)
    assert rc == 0, _log(text)
    rc, data, text = stack.deploy("remove.py")
    assert rc == 0, _log(text)
    data_dir = "/var/lib/reasoning-stack"
    for host in stack.hosts:
        t = stack.testinfra(host)
        assert not t.check_output("ls /etc/systemd/system | grep '^reasoning-' || true")
        assert not t.check_output("docker ps -aq")  # no container left
        assert not t.file("/etc/reasoning-stack").exists and not t.file("/usr/local/libexec/reasoning-stack").exists
        for image in (VLLM_IMAGE, WEBUI_IMAGE):
            assert t.run(f"docker image inspect {image}").rc != 0, image
        # kept unless asked for: the weights, Open WebUI's accounts and chats, the driver, Docker
        assert t.file(f"{data_dir}/open-webui/user-chat.txt").exists
        assert t.file(f"{data_dir}/huggingface").is_directory
        assert t.package("nvidia-container-toolkit").is_installed and t.service("docker").is_running
    assert not stack.testinfra(stack.hosts[0]).package("caddy").is_installed  # the HTTPS proxy went too
    rc, data, text = stack.deploy("remove.py")
    assert rc == 0 and data["results"]["totals"]["success"] == 0, _changed_ops(data)
    # Deploying again puts it back; the kept weights are not downloaded again.
    for host in stack.hosts:
        testhosts.load_standin_images(host, stack.rootfs, [VLLM_IMAGE, WEBUI_IMAGE])
    rc, data, text = stack.deploy()
    assert rc == 0, _log(text)
    assert not [name for name, _ in _changed_ops(data) if name.startswith("Weights of")]
    for host in stack.hosts:
        assert stack.testinfra(host).service("reasoning-vllm").is_running
    # Asked for: weights and Open WebUI's data go too, each by its own flag.
    rc, data, text = stack.deploy("remove.py", "--data", "remove_weights=true", "--data", "remove_openwebui_data=true")
    assert rc == 0, _log(text)
    for host in stack.hosts:
        t = stack.testinfra(host)
        assert not t.file(f"{data_dir}/huggingface").exists and not t.file(f"{data_dir}/open-webui").exists


def test_deploy_cut_halfway_converges_on_the_next_run(stack: Stack):
    """The stack was removed above, so a deploy has work to do: cut it halfway, on one box by dropping its SSH
    connection, on the other by rebooting the box; the next run converges and the one after changes
    nothing."""
    import threading

    for host in stack.hosts:
        testhosts.load_standin_images(host, stack.rootfs, [VLLM_IMAGE, WEBUI_IMAGE])
    result: list[tuple[int, dict | None, str]] = []
    run = threading.Thread(target=lambda: result.append(stack.deploy()))
    dropped, rebooted = stack.hosts
    unit = "/etc/systemd/system/reasoning-vllm.service"
    cut: set[str] = set()

    def cut_when_unit_written(host: testhosts.TestHost, name: str, how) -> None:
        # One watcher per box: a reboot blocks for seconds, and the other box must not go unwatched meanwhile.
        deadline = time.monotonic() + 600
        while run.is_alive() and time.monotonic() < deadline:
            if host.exec("test", "-e", unit, check=False).returncode == 0:
                how()
                cut.add(name)
                return
            time.sleep(0.2)

    watchers = [
        threading.Thread(
            target=cut_when_unit_written,
            args=(dropped, "dropped", lambda: dropped.sh("pkill -KILL -f '^sshd: (root|deployer)' || true")),
        ),  # the sessions, not the listener
        threading.Thread(
            target=cut_when_unit_written,
            args=(rebooted, "rebooted", lambda: testhosts.docker("restart", "-t", "0", rebooted.container)),
        ),
    ]
    run.start()
    for watcher in watchers:
        watcher.start()
    for watcher in watchers:
        watcher.join()
    run.join(timeout=900)
    assert cut == {"dropped", "rebooted"}, f"the deploy ended before both cuts: {cut}"
    rc, data, text = result[0]
    assert rc != 0, "a deploy cut on both hosts cannot succeed"
    testhosts.wait_for_ssh(rebooted, timeout=120)
    rc, data, text = stack.deploy()
    assert rc == 0, _log(text)
    for host in stack.hosts:
        t = stack.testinfra(host)
        assert t.service("reasoning-vllm").is_running and t.service("reasoning-openwebui").is_running
    rc, report, text = stack.project.status()
    assert rc == 0, text
    rc, data, _ = stack.deploy()
    assert data["results"]["totals"]["success"] == 0, _changed_ops(data)
