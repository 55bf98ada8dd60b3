"""scripts/demo: deploy the stack to one local test host with the real pyinfra CLI, show what it did, re-run it.

With --keep the host stays, and the real Open WebUI the stack pins (built once into the user cache) is started
on 127.0.0.1 with the environment the deploy wrote on the host, in front of the host's vLLM (stand-in model,
reached through an SSH tunnel as an operator would), so a person can sign in and see an answer with its
reasoning collapsed under "Thought for…".
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_openwebui  # noqa: E402
import standin_repo  # noqa: E402
import testhosts  # noqa: E402

from reasoning_stack.render import render  # noqa: E402
from reasoning_stack.settings import DEFAULT_OPENWEBUI_IMAGE, DEFAULT_VLLM_IMAGE  # noqa: E402

SETTINGS = {**testhosts.standin_settings(standin_repo.MOUNT), "model": "auto"}
OPENWEBUI_SETUP = testhosts.REPO.parent / "shared" / "tools" / "open-webui" / "setup.sh"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, allow_abbrev=False)
    parser.add_argument("--keep", action="store_true",
                        help="leave the test host running and open the real Open WebUI in front of it")
    parser.add_argument("--gpu", default="rtx-4090x1", help="stand-in GPU profile (tests/fixtures/nvidia-smi)")
    args = parser.parse_args()
    gpu, count = args.gpu.rsplit("x", 1)
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
        print(f"==> project in {project.path}: inventory.py + group_data/test_hosts.py (model = 'auto')")
        print(f"==> the serving plan for {count}x {gpu} (reasoning-stack plan; no host is touched)", flush=True)
        subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "plan", "--gpu", gpu, "--count", count,
                        "--model", "auto"], check=True)
        print("==> docker layer (the stand-in images are then loaded, as on an air-gapped box)", flush=True)
        run(project, "docker.py")
        testhosts.load_standin_images(host, testhosts.standin_rootfs(image),
                                      [DEFAULT_VLLM_IMAGE, DEFAULT_OPENWEBUI_IMAGE])
        print("==> reasoning-stack check (settings of every host, no connection)", flush=True)
        subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "check", str(project.inventory)],
                       cwd=project.path, check=True)
        print("==> pyinfra inventory.py deploys/reasoning.py", flush=True)
        _changes, text = run(project, "reasoning.py")
        print("==> what the deploy measured and said (from its output):")
        for line in _highlights(text):
            print(f"    {line}")
        print("==> the same command again: nothing to do", flush=True)
        changes, _text = run(project, "reasoning.py")
        print("==> reasoning-stack status", flush=True)
        status = subprocess.run([str(Path(sys.executable).parent / "reasoning-stack"), "status",
                                 str(project.inventory)], cwd=project.path, capture_output=True, text=True)
        print("    " + status.stdout.strip().replace("\n", "\n    "))
        print(f"==> re-run changes: {changes}")
        if changes != 0:
            return 1
        if args.keep:
            return keep(host, project)
        return 0
    finally:
        if not args.keep:
            testhosts.remove_hosts([host])


def _highlights(text: str) -> list[str]:
    """The deploy's own lines a newcomer wants to see: weights, health, smoke-test figures, the admin."""
    wanted = re.compile(r"(smoke test: |answered after|Weights of|Fetching model|Open WebUI admin:|sign-up policy|"
                        r"shown as|containers see)")
    seen: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and wanted.search(line) and line not in seen:  # the host's own output lines
            seen.append(line)
    return seen[:30]


def keep(host: testhosts.TestHost, project: testhosts.Project) -> int:
    """Leave the host running; start the real Open WebUI here with the environment the deploy wrote there."""
    print(f"==> kept: ssh -p {host.port} -i {host.key} deployer@127.0.0.1 "
          f"(remove with: docker rm -f {host.container})")
    if not real_openwebui.available():
        if not OPENWEBUI_SETUP.exists():
            print(f"==> the real Open WebUI is not built ({real_openwebui.VENV}) and its setup script is not here")
            return 0
        print(f"==> building the real Open WebUI {real_openwebui.VERSION} into {real_openwebui.VENV} "
              "(about 7.4 GB and 10 minutes, once)", flush=True)
        subprocess.run(["bash", str(OPENWEBUI_SETUP), str(real_openwebui.VENV), real_openwebui.VERSION], check=True)
    env_text = host.sh("cat /etc/reasoning-stack/reasoning-openwebui.env /etc/reasoning-stack/openwebui-admin.env "
                       "/etc/reasoning-stack/openwebui-secret.env")
    env = real_openwebui.parse_env_file(env_text)
    # The host's vLLM answers on its own loopback: reach it through SSH, as an operator would.
    tunnels, urls = [], []
    for url in env["OPENAI_API_BASE_URLS"].split(";"):
        match = re.match(r"http://127\.0\.0\.1:(\d+)(/.*)", url)
        if not match:
            urls.append(url)
            continue
        local = testhosts.free_port()
        tunnels.append(subprocess.Popen(
            ["ssh", "-N", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o",
             "ExitOnForwardFailure=yes", "-i", str(host.key), "-p", str(host.port),
             "-L", f"127.0.0.1:{local}:127.0.0.1:{match.group(1)}", "deployer@127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        urls.append(f"http://127.0.0.1:{local}{match.group(2)}")
    time.sleep(2)
    port = testhosts.free_port()
    env.update({"OPENAI_API_BASE_URLS": ";".join(urls), "PORT": str(port), "HOST": "127.0.0.1"})
    password_file = project.path / "openwebui-admin-password"
    password_file.write_text(env["WEBUI_ADMIN_PASSWORD"] + "\n")
    password_file.chmod(0o600)
    text = "".join(f"{k}={v}\n" for k, v in env.items())
    webui = real_openwebui.OpenWebUI(text, project.path / "open-webui-data")
    print("==> starting the real Open WebUI with the environment the deploy wrote on demo-box", flush=True)
    try:
        webui.start()
        # as the deploy does on the host: the sign-up policy after the first account, the model entries
        env_file, models_file = project.path / "openwebui.env", project.path / "openwebui-models.json"
        env_file.write_text(text)
        env_file.chmod(0o600)
        models_file.write_text(host.sh("cat /etc/reasoning-stack/openwebui-models.json"))
        policy = ("closed" if env.get("ENABLE_SIGNUP") == "False"
                  else "open" if env.get("DEFAULT_USER_ROLE") == "user" else "pending")
        for helper, extra in (("openwebui-signup", [policy]), ("openwebui-models", [str(models_file)])):
            script = project.path / helper
            script.write_text(render(f"{helper}.py.j2"))
            done = subprocess.run([sys.executable, str(script), webui.url, *extra, "--env-file", str(env_file)],
                                  capture_output=True, text=True, timeout=60)
            print("    " + (done.stdout + done.stderr).strip().replace("\n", "\n    "))
        print(f"\n    Open WebUI: {webui.url}\n    sign in as {env['WEBUI_ADMIN_EMAIL']}; the password (this demo "
              f"host's, generated there): cat {password_file}\n    ask anything: the stand-in model answers "
              "with its reasoning collapsed under 'Thought for…'; click it to read the reasoning.\n"
              "    Ctrl-C stops Open WebUI and the tunnel; the test host stays.", flush=True)
        while webui.process and webui.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        webui.stop()
        for tunnel in tunnels:
            tunnel.terminate()
    return 0


def run(project: testhosts.Project, deploy: str) -> tuple[int, str]:
    start = time.monotonic()
    rc, data, text = project.pyinfra(deploy)
    if rc != 0 or data is None:
        print(text[-5000:])
        raise SystemExit(f"deploy {deploy} failed (exit {rc})")
    totals = data["results"]["totals"]
    print(f"    {deploy}: {totals['success']} changed, {totals['no_change']} unchanged, "
          f"{time.monotonic() - start:.1f}s", flush=True)
    return totals["success"], text


if __name__ == "__main__":
    sys.exit(main())
