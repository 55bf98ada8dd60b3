#!/usr/bin/env bash
# Debian packages, pinned to versions of Debian 12's archive, unpacked into a folder without installing them (no
# service starts, nothing lands in the system):
#   tests/tools/unpack-debs.sh DEST "pkg=version ..." BINARY     then DEST/usr/bin/BINARY
# Reused when DEST already holds exactly these versions.
set -euo pipefail
dest=${1:?usage: unpack-debs.sh DEST VERSIONS BINARY}
versions=${2:?usage: unpack-debs.sh DEST VERSIONS BINARY}
binary=${3:?usage: unpack-debs.sh DEST VERSIONS BINARY}
if [ -x "$dest/usr/bin/$binary" ] && [ "$(cat "$dest/.reasoning-stack-ready" 2>/dev/null)" = "$versions" ]; then
  exit 0
fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
chmod 777 "$work"  # apt's download user writes here
# shellcheck disable=SC2086
if ! apt-get download -q $versions >/dev/null 2>&1; then
  $SUDO apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  apt-get download -q $versions >/dev/null
fi
rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
for deb in ./*.deb; do dpkg-deb -x "$deb" "$dest.tmp"; done
echo "$versions" > "$dest.tmp/.reasoning-stack-ready"
rm -rf "$dest" && mv "$dest.tmp" "$dest"
