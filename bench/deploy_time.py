"""Deploy timings on Docker test hosts: first deploy and no-op re-run, 1 host and 4 hosts in one run, and where a
no-op re-run's seconds go (connecting, preparing: the deploy files run and gather facts, executing operations;
facts gathered and commands sent over SSH), so the next regression shows the day it lands.

    bench/deploy_time            # both sizes, with the breakdown of each no-op re-run
    bench/deploy_time --hosts 1  # one size only
"""

from __future__ import annotations

import argparse
import json
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


def timed(project: testhosts.Project, deploy: str = "reasoning.py", profile: Path | None = None) -> tuple[float, int]:
    start = time.monotonic()
    rc, data, text = project.pyinfra(deploy, profile=profile)
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
        profile = project.path / "profile.json"
        timed(project, profile=profile)
        return {"docker_layer_s": docker_s, "first_deploy_s": first_s, "noop_rerun_s": min(noop),
                "profile": json.loads(profile.read_text())}
    finally:
        testhosts.remove_hosts(hosts)


def breakdown(count: int, profile: dict) -> list[str]:
    """Where one profiled no-op re-run of ``count`` host(s) spent its seconds."""
    phases = profile["phases_s"]
    lines = [f"no-op re-run of {count} host(s), profiled: {profile['total_s']:.2f}s = connecting "
             f"{phases.get('connect', 0):.2f}s + preparing (deploy files, facts) {profile['prepare_s']:.2f}s + "
             f"executing operations {phases.get('execute', 0):.2f}s",
             f"  {profile['facts']} facts gathered, {profile['commands']} commands over SSH "
             f"({profile['command_seconds']:.2f}s of them), by phase: {profile['commands_by_phase']}"]
    top = list(profile["fact_seconds_by_class"].items())[:8]
    lines.append("  slowest facts: " + ", ".join(f"{name} x{profile['facts_by_class'][name]} {secs:.2f}s"
                                                for name, secs in top))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, choices=(1, 4), help="measure only this many hosts")
    args = parser.parse_args()
    image = testhosts.build_image()
    keydir = testhosts.CACHE / "ssh"
    keydir.mkdir(parents=True, exist_ok=True)
    key = testhosts.ssh_keypair(keydir)
    repos = standin_repo.build(Path(tempfile.mkdtemp(prefix="rs-repos-")), os.uname().release)
    rows = {count: measure(count, image, key, repos) for count in ((args.hosts,) if args.hosts else (1, 4))}
    print(f"{'hosts':>5}  {'docker layer s':>14}  {'first deploy s':>14}  {'no-op re-run s':>14}")
    for count, row in rows.items():
        cells = (row["docker_layer_s"], row["first_deploy_s"], row["noop_rerun_s"])
        print(f"{count:>5}  " + "  ".join(f"{c:>14.1f}" for c in cells))
    if 1 in rows:
        print(f"no-op re-run, 1 host: {rows[1]['noop_rerun_s']:.2f}s (target < 5 s, aim 3 s)")
    if 1 in rows and 4 in rows:
        print(f"no-op re-run, 4 hosts / 1 host: {rows[4]['noop_rerun_s'] / rows[1]['noop_rerun_s']:.2f}x "
              "(target < 1.5x)")
    for count, row in rows.items():
        print("\n".join(breakdown(count, row["profile"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
