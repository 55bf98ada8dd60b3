#!/usr/bin/env bash
# Builds the Python that mlx_argcheck.py needs: MLX-LM 0.32.2 (--no-deps) on MLX's CPU build for Linux and only
# what `mlx_lm.server` imports, pinned in requirements.txt beside this script. About 350 MB and a minute once; a
# finished DEST is reused while the pins are unchanged.
# Usage: setup.sh DEST
set -euo pipefail
dest=${1:?usage: setup.sh DEST}
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/../pinned-venv.sh" "$dest" "$here/requirements.txt" \
  "$here/mlx_argcheck.py" -- --model mlx-community/QwQ-32B-4bit
