#!/usr/bin/env bash
# Debian 12's own Prometheus 2.42 and node exporter 1.5 (the packages the deploy installs on a host), unpacked
# into a folder of the user cache without installing them (no service starts here):
#   tests/tools/prometheus/setup.sh DEST     then DEST/usr/bin/{prometheus,promtool,prometheus-node-exporter}
# Reused when the versions match; the versions are those of Debian 12's archive.
set -euo pipefail
dest=${1:?usage: setup.sh DEST}
versions="prometheus=2.42.0+ds-5+deb12u1 prometheus-node-exporter=1.5.0-1+b6"
if [ -x "$dest/usr/bin/promtool" ] && [ "$(cat "$dest/.reasoning-stack-ready" 2>/dev/null)" = "$versions" ]; then
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
"$dest/usr/bin/promtool" --version | head -1
