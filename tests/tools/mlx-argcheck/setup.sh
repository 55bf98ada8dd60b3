#!/usr/bin/env bash
# Builds the Python that mlx_argcheck.py needs: MLX-LM 0.32.2 (--no-deps) on MLX's CPU build for Linux and only
# what `mlx_lm.server` imports, pinned. About 350 MB and a minute once; a finished DEST is reused.
# Usage: setup.sh DEST
set -euo pipefail
dest=${1:?usage: setup.sh DEST}
PYTHON=${PYTHON:-python3}
if [ -x "$dest/bin/python" ] && "$dest/bin/python" -c "import mlx_lm.server, jinja2" 2>/dev/null; then
  exit 0
fi
rm -rf "$dest"
"$PYTHON" -m venv "$dest"
PIP="$dest/bin/pip --disable-pip-version-check -q"
# 1. MLX's CPU build (the Linux wheel of the same release Macs run on Metal): mlx_lm.server imports mlx.core.
$PIP install mlx==0.32.4 mlx-cpu==0.32.4 numpy==2.4.6
# 2. MLX-LM itself, without its dependency tree.
$PIP install --no-deps mlx-lm==0.32.2
# 3. What `mlx_lm.server` imports, pinned.
$PIP install \
  huggingface_hub==2.4.0 transformers==5.24.0 tokenizers==0.23.3 safetensors==0.8.0 PyYAML==6.0.4 \
  regex==2026.11.19 tqdm==4.70.1 filelock==4.2.12 fsspec==2026.9.0 packaging==26.3 hf-xet==1.8.0 \
  typing_extensions==4.16.0 httpx2==2.16.2 httpcore2==2.16.2 h11==0.16.0 anyio==4.16.0 idna==3.20 \
  click==8.5.1 typer==0.29.2 rich==15.0.0 markdown-it-py==4.3.0 mdurl==0.1.2 Pygments==2.21.0 \
  shellingham==1.5.4 annotated-doc==0.0.7 pydantic==2.14.4 pydantic_core==2.50.5 annotated-types==0.8.0 \
  typing-inspection==0.4.5 truststore==0.10.5 Jinja2==3.1.6 MarkupSafe==3.0.4
"$dest/bin/python" "$(dirname "$0")/mlx_argcheck.py" -- --model mlx-community/QwQ-32B-4bit >/dev/null
