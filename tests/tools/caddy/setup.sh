#!/usr/bin/env bash
# Debian 12's own Caddy 2.6.2 (the package the deploy installs on a host for https), unpacked into a folder of the
# user cache without installing it (no service starts here):
#   tests/tools/caddy/setup.sh DEST     then DEST/usr/bin/caddy
set -euo pipefail
dest=${1:?usage: setup.sh DEST}
bash "$(dirname "$0")/../unpack-debs.sh" "$dest" "caddy=2.6.2-5" caddy
"$dest/usr/bin/caddy" version
