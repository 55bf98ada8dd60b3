#!/usr/bin/env bash
# Builds the Python that sglang_argcheck.py needs: SGLang 0.5.23 (--no-deps) with CPU torch and only what
# `sglang.srt.server_args` imports, pinned. About 1 GB and a minute once; a finished DEST is reused.
# Usage: setup.sh DEST
set -euo pipefail
dest=${1:?usage: setup.sh DEST}
PYTHON=${PYTHON:-python3}
if [ -x "$dest/bin/python" ] && "$dest/bin/python" -c "import sglang.srt.server_args" 2>/dev/null; then
  exit 0
fi
rm -rf "$dest"
"$PYTHON" -m venv "$dest"
PIP="$dest/bin/pip --disable-pip-version-check -q"
# 1. CPU torch first, so that nothing pulls the CUDA build (the parser never touches a GPU).
$PIP install torch==2.13.0+cpu \
  filelock==4.2.12 fsspec==2026.9.0 Jinja2==3.1.6 MarkupSafe==3.0.4 mpmath==1.3.0 networkx==3.6.1 \
  sympy==1.14.0 typing_extensions==4.16.0 setuptools==84.2.1
# 2. SGLang itself, without its dependency tree (kernels, CUDA libraries).
$PIP install --no-deps sglang==0.5.23
# 3. What `sglang.srt.server_args` imports, pinned.
$PIP install \
  msgspec==0.22.0 numpy==2.4.6 orjson==3.13.0 psutil==7.2.2 pybase64==1.5.1 requests==2.34.2 \
  packaging==26.3 pillow==13.0.0 starlette==1.10.0 pydantic==2.14.4 pydantic_core==2.50.5 \
  annotated-types==0.8.0 typing-inspection==0.4.5 pyzmq==27.3.0 tqdm==4.70.1 ipython==9.18.1 \
  aiohttp==3.14.5 aiohappyeyeballs==2.7.1 aiosignal==1.4.0 attrs==26.1.0 frozenlist==1.8.0 multidict==7.2.1 \
  propcache==0.5.4 yarl==1.25.1 anyio==4.16.0 idna==3.20 certifi==2026.10.19.post1 charset-normalizer==3.5.2 \
  urllib3==2.8.0 PyYAML==6.0.3 triton==3.9.0
"$dest/bin/python" "$(dirname "$0")/sglang_argcheck.py" -- --model-path Qwen/Qwen3-8B --port 30000 >/dev/null
