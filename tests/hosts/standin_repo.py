"""Local apt repositories of stand-in packages that carry NVIDIA's package names, built with dpkg-deb and
signed with a throw-away GPG key: the CUDA repository (cuda-keyring, the driver, branch pinning, kernel
headers for the running kernel) and the Container Toolkit repository. They install the stand-in nvidia-smi
and OCI hook, so the deploy's own apt, keyring and hold steps run for real against them."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
STANDINS = HERE.parent / "standins"
FIXTURES = HERE.parent / "fixtures" / "nvidia-smi"
MOUNT = "/srv/standin-nvidia"  # where the repositories live inside a test host
TOOLKIT_VERSION = "1.18.0-1"
# `nvidia-ctk cdi generate --output=FILE` writes a CDI specification naming the GPUs nvidia-smi lists.
NVIDIA_CTK = """#!/bin/sh
case "$1 $2" in
  "cdi generate")
    out=$(echo "$3" | sed 's/^--output=//')
    { echo "cdiVersion: 0.5.0"; echo "kind: nvidia.com/gpu"; echo "devices:"
      nvidia-smi -L | awk '{sub(":", "", $2); print "- name: \"" $2 "\""}'; echo "- name: all"; } > "$out" ;;
  *) echo "stand-in nvidia-ctk: unsupported: $*" >&2; exit 2 ;;
esac
"""


def _deb(out_dir: Path, name: str, version: str, arch: str = "amd64", files: dict[str, Path | str] | None = None,
         depends: str = "") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "DEBIAN").mkdir()
        control = f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: tests <t@localhost>\n"
        control += f"Depends: {depends}\n" if depends else ""
        control += f"Description: reasoning-stack test stand-in for {name}\n"
        (root / "DEBIAN" / "control").write_text(control)
        for target, source in (files or {}).items():
            path = root / target.lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(source, Path):
                path.write_bytes(source.read_bytes())
                path.chmod(source.stat().st_mode & 0o777)
            else:
                path.write_text(source)
                path.chmod(0o755 if "/bin/" in target else 0o644)
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root),
                        str(out_dir / f"{name}_{version}_{arch}.deb")], check=True, capture_output=True)


def _index(repo: Path, gpg_home: Path) -> None:
    """Packages, Release and a signed InRelease for a flat repository."""
    stanzas = []
    for deb in sorted(repo.glob("*.deb")):
        control = subprocess.run(["dpkg-deb", "-f", str(deb)], check=True, capture_output=True, text=True).stdout
        data = deb.read_bytes()
        stanzas.append(control.rstrip("\n") + f"\nFilename: ./{deb.name}\nSize: {len(data)}\n"
                       f"SHA256: {hashlib.sha256(data).hexdigest()}\n")
    packages = "\n".join(stanzas).encode()
    (repo / "Packages").write_bytes(packages)
    release = textwrap.dedent(f"""\
        Origin: reasoning-stack tests
        Label: stand-in
        Date: Mon, 23 Nov 2026 00:00:00 UTC
        SHA256:
         {hashlib.sha256(packages).hexdigest()} {len(packages)} Packages
        """)
    (repo / "Release").write_text(release)
    subprocess.run(["gpg", "--homedir", str(gpg_home), "--batch", "--yes", "--clearsign", "-o",
                    str(repo / "InRelease"), str(repo / "Release")], check=True, capture_output=True)


def add_kernel_headers_source(host, cuda_distro: str = "debian12") -> None:
    """Let a test host find headers for the running kernel (which no Debian package carries here): the
    stand-in CUDA repository, trusted with its key, stands in for the distribution's headers."""
    host.sh(f"cp {MOUNT}/archive-keyring.gpg /usr/share/keyrings/standin-archive.gpg && "
            f"echo 'deb [signed-by=/usr/share/keyrings/standin-archive.gpg] file:{MOUNT}/cuda/{cuda_distro}/x86_64/ /' "
            "> /etc/apt/sources.list.d/standin-kernel-headers.list")


def build(dest: Path, kernel: str, cuda_distro: str = "debian12") -> Path:
    """Build both repositories under ``dest`` (copied to MOUNT in a test host)."""
    gpg_home = Path(tempfile.mkdtemp(prefix="rs-gpg-"))
    gpg_home.chmod(0o700)
    subprocess.run(["gpg", "--homedir", str(gpg_home), "--batch", "--passphrase", "", "--quick-gen-key",
                    "reasoning-stack test repository", "default", "default", "never"], check=True, capture_output=True)
    armored = subprocess.run(["gpg", "--homedir", str(gpg_home), "--armor", "--export"], check=True,
                             capture_output=True).stdout
    binary = subprocess.run(["gpg", "--homedir", str(gpg_home), "--export"], check=True, capture_output=True).stdout

    toolkit = dest / "toolkit" / "stable" / "deb" / "amd64"
    toolkit.mkdir(parents=True, exist_ok=True)
    (dest / "toolkit" / "gpgkey").write_bytes(armored)
    runtime = "#!/bin/sh\nexec runc \"$@\"\n"
    _deb(toolkit, "nvidia-container-toolkit", TOOLKIT_VERSION, files={
        "/usr/bin/nvidia-container-runtime-hook": STANDINS / "nvidia-container-runtime-hook",
        "/usr/bin/nvidia-container-runtime": runtime,
        "/usr/bin/nvidia-ctk": NVIDIA_CTK,
    }, depends=f"nvidia-container-toolkit-base (= {TOOLKIT_VERSION}), libnvidia-container-tools (= {TOOLKIT_VERSION})")
    for name in ("nvidia-container-toolkit-base", "libnvidia-container-tools", "libnvidia-container1"):
        _deb(toolkit, name, TOOLKIT_VERSION)
    _index(toolkit, gpg_home)

    cuda = dest / "cuda" / cuda_distro / "x86_64"
    cuda.mkdir(parents=True, exist_ok=True)
    keyring = gpg_home / "cuda-archive-keyring.gpg"
    keyring.write_bytes(binary)
    (dest / "archive-keyring.gpg").write_bytes(binary)
    _deb(cuda, "cuda-keyring", "1.1-1", arch="all", files={
        "/usr/share/keyrings/cuda-archive-keyring.gpg": keyring,
        f"/etc/apt/sources.list.d/cuda-{cuda_distro}-x86_64.list":
            f"deb [signed-by=/usr/share/keyrings/cuda-archive-keyring.gpg] file:{MOUNT}/cuda/{cuda_distro}/x86_64/ /\n",
    })
    smi_files: dict[str, Path | str] = {"/usr/bin/nvidia-smi": STANDINS / "nvidia-smi"}
    for fixture in FIXTURES.iterdir():
        smi_files[f"/usr/local/share/standin-nvidia-smi/{fixture.name}"] = fixture
    _deb(cuda, "nvidia-open-580", "580.95.05-1", files=smi_files)
    _deb(cuda, f"linux-headers-{kernel}", "1.0-1")
    _index(cuda, gpg_home)
    return dest
