#!/usr/bin/env bash
# Builds the Debian 12 test-host image (systemd + sshd + python3 + sudo) with debootstrap and
# `docker import`, plus the root filesystem tarball the stand-in vLLM / Open WebUI images are made from.
# The image tag carries a hash of this recipe, so a changed recipe builds a new image and an unchanged
# one is reused.  Usage: tests/hosts/image.sh   (prints the image tag on stdout)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${REASONING_STACK_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/reasoning-stack-tests}
hash=$(cat "$here/image.sh" "$here"/rootfs/* | sha256sum | cut -c1-12)
tag="reasoning-stack-testhost:$hash"
mkdir -p "$cache"
if docker image inspect "$tag" >/dev/null 2>&1 && [ -s "$cache/standin-rootfs-$hash.tar" ]; then
  echo "$tag"; exit 0
fi
root=$(mktemp -d "$cache/rootfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
echo "building test-host image $tag (debootstrap, a few minutes)" >&2
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,openssh-server,python3,sudo,iproute2,ca-certificates,procps,kmod,python3-psycopg2 \
  bookworm "$root" >&2
# systemd in a container: no gettys, no units that need real hardware.
for unit in getty.target console-getty.service systemd-udevd.service systemd-udev-trigger.service \
            systemd-modules-load.service sys-kernel-debug.mount sys-kernel-tracing.mount \
            systemd-remount-fs.service systemd-firstboot.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
: > "$root/etc/machine-id"
install -m 0644 "$here/rootfs/sshd-test.conf" "$root/etc/ssh/sshd_config.d/test.conf"
install -D -m 0644 "$here/rootfs/redis-server-test-host.conf" \
  "$root/etc/systemd/system/redis-server.service.d/test-host.conf"
chroot "$root" useradd -m -s /bin/bash deployer
install -m 0440 "$here/rootfs/sudoers-deployer" "$root/etc/sudoers.d/deployer"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*_Packages
# The stand-in images run from the same Debian root (python3 included), without systemd as PID 1; python3-psycopg2
# lets the stand-in Open WebUI make its tables in PostgreSQL (a host gets that package from the deploy too).
tar -C "$root" --numeric-owner -cf "$cache/standin-rootfs-$hash.tar" .
tar -C "$root" --numeric-owner -c . | docker import \
  --change 'CMD ["/lib/systemd/systemd"]' --change 'ENV container=docker' - "$tag" >&2
echo "$tag"
