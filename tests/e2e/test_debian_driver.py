"""End to end: Debian 12's real non-free NVIDIA packages, installed by the deploy on a fresh test host.

The packages install in a container (about 380 MB from Debian's archive); the kernel module cannot load
there, which is exactly the state of a box whose running kernel has no NVIDIA module: the re-run must
explain it instead of failing obscurely.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest
import standin_repo
import testhosts
import testinfra

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project():
    testhosts.require_docker()
    image, key = testhosts.image_and_key()
    repos = standin_repo.build(Path(tempfile.mkdtemp(prefix="rs-repos-")), os.uname().release)
    host = testhosts.start_host(image, "debian-box", key, user="deployer",
                                gpu_profile="rtx-4090x1", driver=False, repos=repos)
    try:
        standin_repo.add_kernel_headers_source(host)
        project = testhosts.new_project([host])
        # Debian's 535 driver runs CUDA 12 images: vLLM 0.17.1, as check's refusal of the default release says
        project.write({"nvidia_driver": "debian", "nvidia_container_toolkit": False, "gpu_profile": "rtx-4090",
                       "model": "deepseek-r1-distill-qwen-7b", "vllm_version": "0.17.1"})
        yield project
    finally:
        testhosts.remove_hosts([host])


def test_debian_non_free_driver(project: testhosts.Project):
    host = project.hosts[0]
    start = time.monotonic()
    rc, data, text = project.pyinfra("nvidia.py")
    print(f"\nDebian non-free driver install: {time.monotonic() - start:.0f}s")
    assert rc == 0, text[-4000:]
    t = testinfra.get_host(f"docker://{host.container}")
    for package in ("nvidia-driver", "firmware-misc-nonfree", "nvidia-kernel-dkms", "nvidia-smi"):
        assert t.package(package).is_installed, package
    held = t.check_output("apt-mark showhold").split()
    assert {"nvidia-driver", "firmware-misc-nonfree", "nvidia-smi"} <= set(held)
    listing = t.file("/etc/apt/sources.list.d/reasoning-stack-debian-non-free.list").content_string
    assert "bookworm contrib non-free non-free-firmware" in listing
    assert "debian-box needs a reboot to load NVIDIA driver 535" in text
    # The module cannot load in a container: like a box whose kernel has no NVIDIA module, the next run
    # stops this host and says why and what to do.
    rc, data, text = project.pyinfra("nvidia.py")
    assert rc != 0
    assert "nvidia-smi failed: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver" in text
    assert "has no NVIDIA module" in text and "dkms autoinstall" in text
