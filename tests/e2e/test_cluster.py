"""End to end: three Debian 12 test hosts on a Docker network of their own form one serving cluster, deployed by
the real pyinfra CLI over SSH: first on a real Ray cluster (Ray from PyPI in the stand-in image, CPU only,
GPUs declared to Ray), then switched to vLLM's own multi-node mode.

The stand-in vLLM on the head refuses to serve until Ray shows every node and GPU (Ray backend), or until
every rank has joined it (mp backend); the hosts reach each other only on their own network.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import standin_repo
import testhosts
import testinfra

from reasoning_stack.engines.vllm.releases import RELEASES
from reasoning_stack.settings import (
    DEFAULT_DCGM_EXPORTER_IMAGE,
    DEFAULT_GRAFANA_IMAGE,
    DEFAULT_OPENWEBUI_IMAGE,
)

pytestmark = pytest.mark.slow

VLLM_IMAGE = RELEASES["0.17.1"].image  # the cluster runs vLLM 0.17.1 (SETTINGS: Ray)

API_KEY = "sk-cluster-SECRET-42"
SETTINGS: dict[str, object] = {
    **testhosts.standin_settings(standin_repo.MOUNT),
    # 14B at bf16 is 27.5 GiB: no single 24 GB card holds it, three pipeline stages do.
    "model": "deepseek-r1-distill-qwen-14b",
    "quantization": "bf16",
    "gpu_profile": "rtx-4090",
    "gpu_count": 1,
    "cluster": "lab",
    "cluster_interface": "eth0",
    "cluster_backend": "ray",
    "vllm_version": "0.17.1",  # the release whose image carries Ray (0.18+ no longer depends on it)
    "cluster_join_timeout": 60,
    "api_key": API_KEY,
    "health_timeout": 120,
}


SHM = "2g"
# The wait of a deploy that is to name a node that never comes: the others are up already, so it need not be long.
MISSING_AFTER = 30


class Cluster:
    def __init__(self, hosts: list[testhosts.TestHost]):
        self.hosts = hosts
        self.project = testhosts.new_project(hosts)
        self.settings = dict(SETTINGS)

    @property
    def head(self) -> testhosts.TestHost:
        return self.hosts[0]

    def deploy(self, **changes: object) -> tuple[int, dict | None, str]:
        self.settings.update(changes)
        self.project.write(self.settings)
        return self.project.pyinfra("reasoning.py")

    def t(self, host: testhosts.TestHost):
        return testinfra.get_host(f"docker://{host.container}")

    def address(self, host: testhosts.TestHost) -> str:
        return host.sh("ip -4 -o addr show dev eth0 | sed -E 's/.* inet ([0-9.]+).*/\\1/'").strip()

    def ray_nodes(self) -> dict[str, float]:
        script = ("import json, ray; ray.init(address='auto', logging_level='ERROR'); print(json.dumps("
                  "{n['NodeManagerAddress']: n['Resources'].get('GPU', 0) for n in ray.nodes() if n['Alive']}))")
        out = self.head.exec("docker", "exec", "ray", "python3", "-c", script, check=False).stdout.decode()
        return json.loads(out.strip().splitlines()[-1]) if out.strip() else {}


@pytest.fixture(scope="module")
def cluster():
    testhosts.require_docker()
    image, key = testhosts.image_and_key()
    ray = testhosts.ray_site_packages()
    repos = standin_repo.build(Path(tempfile.mkdtemp(prefix="rs-repos-")), os.uname().release)
    network = testhosts.create_network("cluster")
    hosts: list[testhosts.TestHost] = []
    try:
        for index in range(3):
            host = testhosts.start_host(image, f"node-{index}", key, repos=repos, network=network)
            host.extra_data["cluster_role"] = "head" if index == 0 else "worker"
            # Docker gives a container 64 MiB of /dev/shm, below the preflight's 1 GiB (a host's is half its RAM)
            host.sh(f"mount -o remount,size={SHM} /dev/shm")
            hosts.append(host)
        stack = Cluster(hosts)
        stack.project.write(stack.settings)
        rc, _data, text = stack.project.pyinfra("docker.py")  # Docker first: the stand-in images go into it
        assert rc == 0, text[-4000:]
        rootfs = testhosts.standin_rootfs(image)
        images = [VLLM_IMAGE, DEFAULT_OPENWEBUI_IMAGE]
        testhosts.load_standin_images(hosts[0], rootfs, images, ray=ray)
        testhosts.share_images(hosts[0], hosts[1:], images)  # one image ID on every node, as from one registry
        yield stack
    finally:
        testhosts.remove_hosts(hosts)
        testhosts.remove_network(network)


def _log(text: str) -> str:
    return text.split('{"plan"', 1)[0][-6000:]


def _changed(data: dict) -> list[str]:
    return [op["name"].split(" | ")[-1] for op in data["results"]["operations"] if op["success"]]


def test_preflight_refuses_before_anything_changes(cluster: Cluster):
    head, first, second = cluster.hosts
    # the wrong interface: every node has rs0 with an address of its own, but rs0 leads nowhere (a veth pair's end)
    for index, host in enumerate(cluster.hosts):
        host.sh(f"ip link add rs0 type veth peer name rs0-peer && ip addr add 10.77.0.{index + 1}/24 dev rs0 && "
                "ip link set rs0 up && ip link set rs0-peer up")
    first.sh("mount -o remount,size=64m /dev/shm")  # Docker's default
    # another build under the same tag on one node
    original = second.sh(f"docker image inspect --format '{{{{.Id}}}}' {VLLM_IMAGE}").strip()
    second.sh(f"docker create --name rebuilt {VLLM_IMAGE} && docker commit rebuilt {VLLM_IMAGE} && "
              "docker rm rebuilt")
    try:
        rc, _data, text = cluster.deploy(cluster_interface="rs0")
        assert rc != 0
        assert "problem(s); nothing was changed on any node" in text, _log(text)
        assert "host 'node-1' cannot reach 'node-0' at 10.77.0.1:6379 over rs0" in text
        assert "host 'node-0' cannot reach 'node-2' at 10.77.0.3:6379 over rs0" in text
        assert "host 'node-1': /dev/shm is 64 MiB, below the 1 GiB" in text
        assert f"host 'node-2': {VLLM_IMAGE} there is image" in text
        assert "Traceback" not in text
        for host in cluster.hosts:  # refused before any download or start
            t = cluster.t(host)
            assert not t.file("/var/lib/reasoning-stack/huggingface").exists
            assert not t.file("/etc/systemd/system/reasoning-ray.service").exists
            assert not t.file("/etc/systemd/system/reasoning-vllm.service").exists
    finally:
        for host in cluster.hosts:
            host.sh("ip link del rs0")
        first.sh(f"mount -o remount,size={SHM} /dev/shm")
        second.sh(f"docker tag {original} {VLLM_IMAGE}")
        cluster.settings["cluster_interface"] = "eth0"


def test_ray_cluster_forms_then_the_head_serves(cluster: Cluster):
    start = time.monotonic()
    rc, data, text = cluster.deploy()
    print(f"\nfirst deploy of a 3-node Ray cluster: {time.monotonic() - start:.1f}s")
    assert rc == 0, _log(text)
    head, workers = cluster.head, cluster.hosts[1:]
    assert "ray cluster: 3/3 nodes, 3/3 GPUs: every node joined" in text
    assert "smoke test: answer: The answer is \\boxed{391}." in text
    unit = cluster.t(head).file("/etc/systemd/system/reasoning-vllm.service").content_string
    assert "--pipeline-parallel-size 3" in unit and "--distributed-executor-backend ray" in unit
    assert f"VLLM_HOST_IP={cluster.address(head)}" in unit and "GLOO_SOCKET_IFNAME=eth0" in unit
    assert "PartOf=reasoning-ray.service" in unit
    journal = cluster.t(head).check_output("journalctl -u reasoning-vllm --no-pager -o cat")
    assert "Ray cluster has 3 nodes and 3 GPUs" in journal
    for worker in workers:
        t = cluster.t(worker)
        assert t.service("reasoning-ray").is_running and t.service("reasoning-ray").is_enabled
        assert not t.file("/etc/systemd/system/reasoning-vllm.service").exists  # only the head serves
        assert not t.file("/etc/systemd/system/reasoning-openwebui.service").exists
        ray_unit = t.file("/etc/systemd/system/reasoning-ray.service").content_string
        assert f"--address {cluster.address(head)}:6379" in ray_unit
        assert f"--node-ip-address {cluster.address(worker)}" in ray_unit
    assert set(cluster.ray_nodes()) == {cluster.address(h) for h in cluster.hosts}
    assert cluster.t(head).service("reasoning-openwebui").is_running


def test_rerun_on_a_healthy_cluster_changes_nothing(cluster: Cluster):
    rc, data, text = cluster.deploy()
    assert rc == 0, _log(text)
    assert data["results"]["totals"]["success"] == 0, _changed(data)


def test_a_worker_whose_ray_dies_is_restarted_and_rejoins(cluster: Cluster):
    worker = cluster.hosts[2]
    worker.exec("docker", "kill", "ray")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(5)
        if cluster.address(worker) in cluster.ray_nodes() and len(cluster.ray_nodes()) == 3:
            break
    else:
        pytest.fail(f"the worker did not rejoin: {cluster.ray_nodes()}")


@contextlib.contextmanager
def _cannot_start(host: testhosts.TestHost, unit: str) -> Iterator[None]:
    """``unit`` stopped on ``host`` and unable to start (the deploy's attempt fails too) until the block ends."""
    dropin = f"/etc/systemd/system/{unit}.service.d"
    host.sh(f"mkdir -p {dropin} && printf '[Service]\\nExecStartPre=/bin/false\\n' > {dropin}/down.conf && "
            f"systemctl daemon-reload && systemctl stop {unit}")
    try:
        yield
    finally:
        host.sh(f"rm -rf {dropin} && systemctl daemon-reload")


def test_a_missing_worker_is_named(cluster: Cluster):
    with _cannot_start(cluster.hosts[2], "reasoning-ray"):  # a node whose Ray cannot come back
        rc, _data, text = cluster.deploy(cluster_join_timeout=MISSING_AFTER)
        assert rc != 0
        assert f"missing after {MISSING_AFTER} s: node-2" in text, _log(text)
    # Healed: systemd keeps restarting the node's Ray, the deploy makes sure it runs; every node is back.
    rc, data, text = cluster.deploy(cluster_join_timeout=SETTINGS["cluster_join_timeout"])
    assert rc == 0, _log(text)
    deadline = time.monotonic() + 90
    while len(cluster.ray_nodes()) < 3 and time.monotonic() < deadline:
        time.sleep(5)
    assert set(cluster.ray_nodes()) == {cluster.address(h) for h in cluster.hosts}


def test_switching_to_vllm_own_multi_node_mode(cluster: Cluster):
    rc, data, text = cluster.deploy(cluster_backend="mp")
    assert rc == 0, _log(text)
    head_address = cluster.address(cluster.head)
    for rank, host in enumerate(cluster.hosts):
        t = cluster.t(host)
        assert not t.file("/etc/systemd/system/reasoning-ray.service").exists  # the other backend retired
        assert t.service("reasoning-vllm").is_running
        unit = t.file("/etc/systemd/system/reasoning-vllm.service").content_string
        assert f"--nnodes 3 --node-rank {rank} --master-addr {head_address} --master-port 29501" in unit
        assert ("--headless" in unit) == (rank > 0)
        assert "--distributed-executor-backend" not in unit
    journal = cluster.t(cluster.head).check_output("journalctl -u reasoning-vllm --no-pager -o cat")
    assert "rank 1 joined" in journal and "rank 2 joined" in journal
    assert "smoke test: answer: The answer is \\boxed{391}." in text
    rc, data, text = cluster.deploy()
    assert rc == 0, _log(text)
    assert data["results"]["totals"]["success"] == 0, _changed(data)


def test_an_mp_head_names_the_missing_worker(cluster: Cluster):
    with _cannot_start(cluster.hosts[2], "reasoning-vllm"):  # a worker whose vLLM cannot start
        rc, _data, text = cluster.deploy(cluster_join_timeout=MISSING_AFTER)
        assert rc != 0
        assert f"missing after {MISSING_AFTER} s: node-2" in text, _log(text)
        assert "Traceback" not in text
    # healed: the worker starts, the head sees every rank
    rc, data, text = cluster.deploy(cluster_join_timeout=SETTINGS["cluster_join_timeout"])
    assert rc == 0, _log(text)
    assert "mp cluster: 3/3 nodes joined the head's port 29501: every worker joined" in text, _log(text)


def _get_from(host: testhosts.TestHost, url: str) -> int:
    """The HTTP status ``host`` gets for ``url`` (0: no answer within 5 s, as a dropped packet gives)."""
    script = ("import sys, urllib.request\ntry:\n    print(urllib.request.urlopen(sys.argv[1], timeout=5).status)\n"
              "except Exception:\n    print(0)\n")
    return int(host.exec("python3", "-c", script, url).stdout.decode().strip())


def test_monitoring_lets_the_head_scrape_every_node_and_nobody_else(cluster: Cluster):
    for host in cluster.hosts:  # the stand-in image under the monitoring images' names too
        for image in (DEFAULT_GRAFANA_IMAGE, DEFAULT_DCGM_EXPORTER_IMAGE):
            host.exec("docker", "tag", VLLM_IMAGE, image)
    rc, data, text = cluster.deploy(monitoring_enabled=True, monitoring_scrape_interval="2s",
                                    firewall_allow=["192.0.2.0/24"])
    assert rc == 0, _log(text)
    head, first, second = cluster.hosts
    addresses = {h.name: cluster.address(h) for h in cluster.hosts}

    def scraped() -> dict[tuple[str, str], str]:
        out = head.exec("python3", "-c", "import json, urllib.request; print(json.dumps(json.load(urllib.request."
                        "urlopen('http://127.0.0.1:9090/api/v1/query?query=up'))['data']['result']))",
                        check=False).stdout.decode()
        rows = json.loads(out) if out.strip() else []
        return {(r["metric"]["job"], r["metric"]["host"]): r["value"][1] for r in rows}

    deadline = time.monotonic() + 120
    want = {(job, h.name): "1" for job in ("node", "gpu") for h in cluster.hosts} | {("engine", head.name): "1"}
    while not want.items() <= scraped().items() and time.monotonic() < deadline:
        time.sleep(2)
    assert want.items() <= scraped().items(), scraped()
    # a worker's exporters listen on its cluster address; the head reaches them, another node does not
    assert _get_from(head, f"http://{addresses[first.name]}:9100/metrics") == 200
    assert _get_from(head, f"http://{addresses[first.name]}:9400/metrics") == 200
    assert _get_from(second, f"http://{addresses[first.name]}:9100/metrics") == 0
    assert _get_from(second, f"http://{addresses[first.name]}:9400/metrics") == 0
    for host in cluster.hosts[1:]:
        t = cluster.t(host)
        assert not t.package("prometheus").is_installed and t.package("prometheus-node-exporter").is_installed
        assert not t.file("/etc/systemd/system/reasoning-grafana.service").exists
    rc, data, text = cluster.deploy()
    assert rc == 0, _log(text)
    assert data["results"]["totals"]["success"] == 0, _changed(data)
