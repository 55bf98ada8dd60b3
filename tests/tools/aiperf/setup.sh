#!/usr/bin/env bash
# NVIDIA's AIPerf 0.13.0, the load generator `reasoning-stack bench` runs, in a virtual environment of its own with
# the pinned requirements beside this script (about 1.2 GB and 1.5 minutes once; a finished DEST is reused).
# An operator installs it the same way without the pins: python3 -m venv DEST && DEST/bin/pip install aiperf==0.13.0
# Usage: setup.sh DEST
set -euo pipefail
dest=${1:?usage: setup.sh DEST}
here=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-python3}
if [ -x "$dest/bin/python" ] && [ -f "$dest/.reasoning-stack-ready" ] \
   && cmp -s "$here/requirements.txt" "$dest/.reasoning-stack-ready"; then
  exit 0
fi
rm -rf "$dest"
"$PYTHON" -m venv "$dest"
"$dest/bin/pip" --disable-pip-version-check -q install --no-deps -r "$here/requirements.txt"
"$dest/bin/python" -c "import aiperf.cli"
cp "$here/requirements.txt" "$dest/.reasoning-stack-ready"
