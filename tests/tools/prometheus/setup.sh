#!/usr/bin/env bash
# Debian 12's own Prometheus 2.42 and node exporter 1.5 (the packages the deploy installs on a host), unpacked
# into a folder of the user cache without installing them (no service starts here):
#   tests/tools/prometheus/setup.sh DEST     then DEST/usr/bin/{prometheus,promtool,prometheus-node-exporter}
set -euo pipefail
dest=${1:?usage: setup.sh DEST}
bash "$(dirname "$0")/../unpack-debs.sh" "$dest" "prometheus=2.42.0+ds-5+deb12u1 prometheus-node-exporter=1.5.0-1+b6" \
  promtool
"$dest/usr/bin/promtool" --version | head -1
