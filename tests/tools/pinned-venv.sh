#!/usr/bin/env bash
# A virtual environment holding exactly a requirements file's pins, installed --no-deps, built once and reused while
# the file is unchanged: a copy of the file in DEST, written only after the check passed, marks a finished build (a
# half-built DEST is built again). The tool setups beside this script share it.
# Usage: pinned-venv.sh DEST REQUIREMENTS CHECK...   (CHECK: the arguments DEST/bin/python runs once built: an
#        import with -c, or the tool's own script answering a first question)
set -euo pipefail
usage="usage: pinned-venv.sh DEST REQUIREMENTS CHECK..."
dest=${1:?$usage}; requirements=${2:?$usage}
shift 2
[ "$#" -gt 0 ] || { echo "$usage" >&2; exit 2; }
PYTHON=${PYTHON:-python3}
if [ -x "$dest/bin/python" ] && cmp -s "$requirements" "$dest/.reasoning-stack-ready"; then
  exit 0
fi
rm -rf "$dest"
"$PYTHON" -m venv "$dest"
"$dest/bin/pip" --disable-pip-version-check -q install --no-deps -r "$requirements"
"$dest/bin/python" "$@" >/dev/null
cp "$requirements" "$dest/.reasoning-stack-ready"
