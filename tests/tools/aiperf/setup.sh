#!/usr/bin/env bash
# NVIDIA's AIPerf 0.13.0, the load generator `reasoning-stack bench` runs, in a virtual environment of its own with
# the pinned requirements beside this script (about 1.2 GB and 1.5 minutes once; a finished DEST is reused).
# An operator installs it the same way without the pins: python3 -m venv DEST && DEST/bin/pip install aiperf==0.13.0
# Usage: setup.sh DEST
set -euo pipefail
dest=${1:?usage: setup.sh DEST}
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/../pinned-venv.sh" "$dest" "$here/requirements.txt" -c "import aiperf.cli"
