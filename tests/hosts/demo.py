"""scripts/demo: deploy the stack to one local test host with the real pyinfra CLI, then re-run it."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import standin_repo  # noqa: E402
import testhosts  # noqa: E402

from reasoning_stack.settings import DEFAULT_OPENWEBUI_IMAGE, DEFAULT_VLLM_IMAGE  # noqa: E402

SETTINGS = {**testhosts.standin_settings(standin_repo.MOUNT), "model": "auto"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, allow_abbrev=False)
    parser.add_argument("--keep", action="store_true", help="leave the test host running afterwards")
    parser.add_argument("--gpu", default="rtx-4090x1", help="stand-in GPU profile (tests/fixtures/nvidia-smi)")
    args = parser.parse_args()
    print("==> test-host image (debootstrap, cached by recipe hash)", flush=True)
    image = testhosts.build_image()
    keydir = testhosts.CACHE / "ssh"
    keydir.mkdir(parents=True, exist_ok=True)
    repos = standin_repo.build(Path(tempfile.mkdtemp(prefix="rs-repos-")), os.uname().release)
    host = testhosts.start_host(image, "demo-box", testhosts.ssh_keypair(keydir), user="deployer",
                                gpu_profile=args.gpu, repos=repos)
    try:
        project = testhosts.new_project([host])
        project.write(SETTINGS)
        print(f"==> project in {project.path}: inventory.py + group_data/test_hosts.py", flush=True)
        print("==> docker layer (the stand-in images are then loaded, as on an air-gapped box)", flush=True)
        run(project, "docker.py")
        testhosts.load_standin_images(host, testhosts.standin_rootfs(image),
                                      [DEFAULT_VLLM_IMAGE, DEFAULT_OPENWEBUI_IMAGE])
        print("==> reasoning-stack check (settings of every host, no connection)", flush=True)
        subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "check", str(project.inventory)],
                       cwd=project.path, check=True)
        print("==> pyinfra inventory.py deploys/reasoning.py", flush=True)
        run(project, "reasoning.py")
        print("==> the same command again: nothing to do", flush=True)
        changes = run(project, "reasoning.py")
        answer = host.sh("python3 -c \"import urllib.request as u; print(u.urlopen("
                         "'http://127.0.0.1:3000/health').read().decode())\"")
        print(f"==> Open WebUI health on the host: {answer.strip()}; re-run changes: {changes}")
        if args.keep:
            print(f"==> kept: ssh -p {host.port} -i {host.key} deployer@127.0.0.1 "
                  f"(remove with: docker rm -f {host.container})")
        return 0 if changes == 0 else 1
    finally:
        if not args.keep:
            testhosts.remove_hosts([host])


def run(project: testhosts.Project, deploy: str) -> int:
    start = time.monotonic()
    rc, data, text = project.pyinfra(deploy)
    if rc != 0 or data is None:
        print(text[-5000:])
        raise SystemExit(f"deploy {deploy} failed (exit {rc})")
    totals = data["results"]["totals"]
    print(f"    {deploy}: {totals['success']} changed, {totals['no_change']} unchanged, "
          f"{time.monotonic() - start:.1f}s", flush=True)
    return totals["success"]


if __name__ == "__main__":
    sys.exit(main())
