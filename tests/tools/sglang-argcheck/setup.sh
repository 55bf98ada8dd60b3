#!/usr/bin/env bash
# Builds the Python that sglang_argcheck.py needs: SGLang 0.5.23 (--no-deps) with CPU torch and only what
# `sglang.srt.server_args` imports, pinned in requirements.txt beside this script. About 2.3 GB and a few minutes
# once; a finished DEST is reused while the pins are unchanged.
# Usage: setup.sh DEST
set -euo pipefail
dest=${1:?usage: setup.sh DEST}
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/../pinned-venv.sh" "$dest" "$here/requirements.txt" \
  "$here/sglang_argcheck.py" -- --model-path Qwen/Qwen3-8B --port 30000
