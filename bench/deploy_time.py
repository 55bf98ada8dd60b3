"""Deploy timings on Docker test hosts: first deploy and no-op re-run, 1 host and 4 hosts in one run."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "hosts"))
import standin_repo  # noqa: E402
import testhosts  # noqa: E402

from reasoning_stack.settings import DEFAULT_OPENWEBUI_IMAGE, DEFAULT_VLLM_IMAGE  # noqa: E402

SETTINGS = {**testhosts.standin_settings(standin_repo.MOUNT), "model": "deepseek-r1-distill-qwen-7b"}
IMAGES = [DEFAULT_VLLM_IMAGE, DEFAULT_OPENWEBUI_IMAGE]


def timed(project: testhosts.Project, deploy: str = "reasoning.py") -> tuple[float, int]:
    start = time.monotonic()
    rc, data, text = project.pyinfra(deploy)
    elapsed = time.monotonic() - start
    if rc != 0 or data is None:
        raise SystemExit(f"deploy failed:\n{text[-4000:]}")
    return elapsed, data["results"]["totals"]["success"]


def measure(count: int, image: str, key: Path, repos: Path) -> dict[str, float]:
    hosts = []
    try:
        for i in range(count):
            hosts.append(testhosts.start_host(image, f"bench-{i}", key, repos=repos))
        project = testhosts.new_project(hosts)
        project.write(SETTINGS)
        docker_s, _ = timed(project, "docker.py")
        for host in hosts:
            testhosts.load_standin_images(host, testhosts.standin_rootfs(image), IMAGES)
        first_s, _ = timed(project)
        noop = []
        for _ in range(3):
            seconds, changes = timed(project)
            assert changes == 0, f"re-run changed {changes} things"
            noop.append(seconds)
        return {"docker_layer_s": docker_s, "first_deploy_s": first_s, "noop_rerun_s": min(noop)}
    finally:
        testhosts.remove_hosts(hosts)


def main() -> int:
    image = testhosts.build_image()
    keydir = testhosts.CACHE / "ssh"
    keydir.mkdir(parents=True, exist_ok=True)
    key = testhosts.ssh_keypair(keydir)
    repos = standin_repo.build(Path(tempfile.mkdtemp(prefix="rs-repos-")), os.uname().release)
    one = measure(1, image, key, repos)
    four = measure(4, image, key, repos)
    print(f"{'hosts':>5}  {'docker layer s':>14}  {'first deploy s':>14}  {'no-op re-run s':>14}")
    for count, row in ((1, one), (4, four)):
        cells = (row["docker_layer_s"], row["first_deploy_s"], row["noop_rerun_s"])
        print(f"{count:>5}  " + "  ".join(f"{c:>14.1f}" for c in cells))
    ratio = four["noop_rerun_s"] / one["noop_rerun_s"]
    print(f"no-op re-run, 1 host: {one['noop_rerun_s']:.2f}s (target < 5 s)")
    print(f"no-op re-run, 4 hosts / 1 host: {ratio:.2f}x (target < 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
