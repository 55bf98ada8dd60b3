"""The real engines on this CPU-only machine: vLLM's own CPU builds (0.17.1, the seed's release, and 0.32.0, the
newest CPU build of the current line) and MLX-LM 0.32.2's ``mlx_lm.server``
on MLX's CPU build, each started with the command line the deploy renders for a host (the unit's ``docker run``
arguments, the launchd job's ProgramArguments), on a tiny model made in the test (``tiny_models``) and laid out in
a Hugging Face cache as the deploy's weight download leaves it.

What has to change for a CPU-only machine is listed once, in ``VLLM_CPU_CHANGES`` and ``MLX_CPU_CHANGES``, and
applied only by ``vllm_cpu_command`` and ``mlx_cpu_command``; everything else on the command line is the plan's.
The venvs are built once into the user cache by ``scripts/test`` (``tests/tools/vllm-cpu/setup.sh``,
``tests/tools/mlx-argcheck/setup.sh``); ``VLLM_CPU_PYTHON`` (0.17.1), ``VLLM_CPU_PYTHON_0_32_0`` and
``MLX_ARGCHECK_PYTHON`` point elsewhere.
"""

from __future__ import annotations

import json
import os
import plistlib
import re
import shlex
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import tiny_models
from real_openwebui import parse_env_file, wait_answering

from reasoning_stack.engines.vllm.releases import tagged_release

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "reasoning-stack"
VLLM_RELEASES = ("0.17.1", "0.32.0")  # the real CPU servers: a host one stands for is planned for it (vllm_version)
VLLM_RELEASE = VLLM_RELEASES[0]  # the one a test needing a single real vLLM starts (and the tiny models' builder)


def vllm_python(release: str) -> Path:
    """The Python of the real vLLM ``release`` (its CPU build), as scripts/test builds and exports it."""
    var = "VLLM_CPU_PYTHON" if release == "0.17.1" else "VLLM_CPU_PYTHON_" + release.replace(".", "_")
    return Path(os.environ.get(var, CACHE / f"vllm-cpu-{release}" / "bin" / "python"))


VLLM_PYTHON = vllm_python(VLLM_RELEASE)
MLX_PYTHON = Path(os.environ.get("MLX_ARGCHECK_PYTHON", CACHE / "mlx-argcheck-0.32.2" / "bin" / "python"))
START_TIMEOUT = 600  # seconds: 30-110 s measured on the 2-core CI machine, several servers starting at once

VLLM_CPU_CHANGES = (
    "the image's `vllm serve MODEL` runs as `python -m vllm.entrypoints.openai.api_server --model MODEL`: the "
    "CPU build's package is `vllm-cpu`, and the `vllm` command looks up the metadata of one named `vllm`",
    "--kv-cache-dtype fp8 is dropped: vLLM's CPU backend refuses it together with chunked prefill or prefix "
    "caching (the GPU plans keep it)",
    "the KV cache's size, in place of a share of the machine's RAM that a 2-core test machine may not have free: "
    "0.17.1 reads it from VLLM_CPU_KVCACHE_SPACE=1 (whole GiB only); 0.32 gets --kv-cache-memory-bytes 640M, the "
    "setting that variable sets there, in about half the memory (a server here holds its KV cache whole: eight of them "
    "start at once); --gpu-memory-utilization stays on the command line",
    "HF_HOME: the test's Hugging Face cache in place of the container's mount of the host's cache",
    "VLLM_CPU_CI_ENV=1, as vLLM's own CPU CI sets it: the CPU build traces the model with Dynamo and runs the graph "
    "eagerly instead of compiling C++ kernels with Inductor at every start, and skips the warm-up pass (the KV "
    "cache is sized as above, not measured); the same answers, about half the start on two cores "
    "(a GPU's compilation is another path, which no CPU run proves)",
    "--enable-prefix-caching becomes --no-enable-prefix-caching for a hybrid Mamba model (Nemotron-H): vLLM 0.32 "
    "caches its prefixes from each chunk's SSM state ('align' mode), which the CPU build's Mamba kernel does not "
    "return (it keeps the last chunk's alone: an IndexError on any prompt past one block)",
    "--tensor-parallel-size N becomes 1: a plan across several GPUs (Kimi-K2-Thinking's four B300s) runs as one rank, "
    "as two cores cannot hold four or eight engine workers; the rest of its line (parsers, remote code) is the plan's",
)
CPU_KV_CACHE = "640M"  # a real vLLM 0.32's KV cache here (decimal): the longest planned context fits (Kimi's, 604 MB)
MLX_CPU_CHANGES = (
    "ProgramArguments[0], the Mac's venv's `mlx_lm.server`, is this machine's (MLX's CPU build for Linux)",
    "HF_HOME and HOME: the test's Hugging Face cache and folder in place of the Mac's data folder",
)


def _require(python: Path, what: str) -> None:
    import pytest

    if not python.exists():
        message = f"{what} is not built ({python}); scripts/test builds it into the user cache"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def require_vllm(release: str = VLLM_RELEASE) -> None:
    """Fail (under CI) or skip a test that needs the real vLLM ``release`` when it is not built."""
    _require(vllm_python(release), f"the real vLLM {release} (CPU build)")


def require_mlx() -> None:
    """Fail (under CI) or skip a test that needs the real MLX-LM when it is not built."""
    _require(MLX_PYTHON, "MLX-LM 0.32.2 on MLX's CPU build")


def unit_server_args(unit_text: str, image: str) -> list[str]:
    """What a model-server unit's ``docker run`` passes to the image: the engine's own command line."""
    line = next(x for x in unit_text.splitlines() if x.startswith("ExecStart="))
    words = shlex.split(line.removeprefix("ExecStart="))
    return words[words.index(image) + 1:]


def mamba_hybrid(hf_home: Path, repo: str) -> bool:
    """Whether the model under ``repo`` in the Hugging Face cache has Mamba layers (Nemotron-H's pattern)."""
    snapshots = hf_home / "hub" / f"models--{repo.replace('/', '--')}" / "snapshots"
    for config in snapshots.glob("*/config.json"):
        if "M" in json.loads(config.read_text()).get("hybrid_override_pattern", ""):
            return True
    return False


def vllm_cpu_command(planned: list[str], release: str = VLLM_RELEASE, mamba: bool = False) -> list[str]:
    """The planned ``vllm serve`` arguments as vLLM ``release``'s CPU build starts them here (``VLLM_CPU_CHANGES``);
    ``mamba``: the model has Mamba layers."""
    model, rest = planned[0], list(planned[1:])
    if "--kv-cache-dtype" in rest and rest[rest.index("--kv-cache-dtype") + 1] == "fp8":
        at = rest.index("--kv-cache-dtype")
        del rest[at:at + 2]
    if mamba:
        rest = [a for a in rest if a != "--enable-prefix-caching"] + ["--no-enable-prefix-caching"]
    if "--tensor-parallel-size" in rest:
        rest[rest.index("--tensor-parallel-size") + 1] = "1"
    if release != "0.17.1":  # (0.17.1 reads its KV cache's size from VLLM_CPU_KVCACHE_SPACE alone: real_vllm)
        rest += ["--kv-cache-memory-bytes", CPU_KV_CACHE]
    return [str(vllm_python(release)), "-m", "vllm.entrypoints.openai.api_server", "--model", model, *rest]


def mlx_cpu_command(program_arguments: list[str]) -> list[str]:
    """The launchd job's ``mlx_lm.server`` command as MLX's CPU build starts it here (``MLX_CPU_CHANGES``)."""
    return [str(MLX_PYTHON.parent / "mlx_lm.server"), *program_arguments[1:]]


def plist_job(plist_text: str) -> tuple[list[str], dict[str, str]]:
    """A launchd job's ProgramArguments and EnvironmentVariables."""
    job = plistlib.loads(plist_text.encode())
    return list(job["ProgramArguments"]), dict(job.get("EnvironmentVariables", {}))


def tiny_model_cache(family: str, hf_home: Path, repo: str, mlx: bool = False) -> Path:
    """The tiny ``family`` model under ``repo`` in the Hugging Face cache ``hf_home``; ``mlx``: converted to a
    4-bit MLX model first, as the mlx-community repos are. Built with the engine's own Python (numpy,
    safetensors, tokenizers), returns the snapshot folder."""
    python = MLX_PYTHON if mlx else VLLM_PYTHON
    script = Path(tiny_models.__file__)
    if not mlx:
        out = subprocess.run([str(python), str(script), "cache", family, str(hf_home), repo],
                             capture_output=True, text=True, timeout=300, check=True)
        return Path(out.stdout.strip())
    source = hf_home / f"tiny-{family}-source"
    subprocess.run([str(python), str(script), family, str(source)], capture_output=True, text=True, timeout=300,
                   check=True)
    converted = hf_home / f"tiny-{family}-mlx"
    convert = subprocess.run([str(python), "-m", "mlx_lm", "convert", "--hf-path", str(source), "--mlx-path",
                              str(converted), "-q"], capture_output=True, text=True, timeout=600)
    if convert.returncode != 0:
        raise RuntimeError(f"mlx_lm convert failed:\n{convert.stdout}\n{convert.stderr}")
    out = subprocess.run([str(python), str(script), "cache-folder", str(converted), str(hf_home), repo],
                         capture_output=True, text=True, timeout=300, check=True)
    return Path(out.stdout.strip())


def http(method: str, url: str, body: object = None, key: str = "", timeout: float = 120,
         ) -> tuple[int, Message, bytes]:
    """One request: (status, headers (case-insensitive), raw body), HTTP errors included."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@dataclass
class Server:
    """A real engine server started from a planned command line; ``start`` waits for /health (a generous
    bound: several servers may start at once on two cores) and raises with the log's end if it exits."""

    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    workdir: Path
    key: str = ""
    process: subprocess.Popen | None = None
    started_s: float = 0.0
    planned: list[str] = field(default_factory=list)
    release: str = ""  # a real vLLM's release

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def launch(self) -> Server:
        self.workdir.mkdir(parents=True, exist_ok=True)
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "XDG_CACHE_HOME")}
        self.process = subprocess.Popen(self.command, env={**keep, **self.env}, stdout=self.log.open("w"),
                                        stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True)
        self._t0 = time.monotonic()
        return self

    def wait(self, timeout: float = START_TIMEOUT) -> Server:
        assert self.process is not None
        # a failed engine start logs its root cause above a long traceback: keep a long tail
        wait_answering(f"{self.url}/health", self.process, self.log, timeout, tail=20000)
        self.started_s = time.monotonic() - self._t0
        return self

    def start(self, timeout: float = START_TIMEOUT) -> Server:
        return self.launch().wait(timeout)

    def log_tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, 15)  # the API server and its engine core process
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait(10)

    def metric(self, name: str, **labels: str) -> float:
        """The sum of a Prometheus sample ``name`` from /metrics over the series matching ``labels``."""
        text = http("GET", f"{self.url}/metrics")[2].decode()
        total = 0.0
        for line in text.splitlines():
            found = re.match(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)", line)
            if not found or found.group(1) != name:
                continue
            series = dict(re.findall(r'(\w+)="([^"]*)"', found.group(2) or ""))
            if all(series.get(k) == v for k, v in labels.items()):
                total += float(found.group(3))
        return total


def flag(args: list[str], name: str) -> str:
    """The value of ``name`` in an argument list."""
    return args[args.index(name) + 1]


def release_of(image: str) -> str:
    """The real vLLM release that serves a unit planned for ``image`` (its tag's release, one of VLLM_RELEASES)."""
    release = tagged_release(image)
    if release not in VLLM_RELEASES:
        raise AssertionError(f"a unit planned for {image}: the real servers are vLLM {', '.join(VLLM_RELEASES)}; set "
                             f"vllm_version to one of them in its settings")
    return release


def real_vllm(name: str, unit_text: str, image: str, env_text: str, hf_home: Path, workdir: Path) -> Server:
    """The real vLLM for one rendered unit and env file (not yet started), on the planned port, of the release the
    unit is planned for (its image's tag): another release's command line is not this server's to judge."""
    release = release_of(image)
    planned = unit_server_args(unit_text, image)
    env = {**parse_env_file(env_text), "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1",
           "VLLM_CPU_CI_ENV": "1", "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}
    if release == "0.17.1":
        env["VLLM_CPU_KVCACHE_SPACE"] = "1"
    command = vllm_cpu_command(planned, release, mamba_hybrid(hf_home, planned[0]))
    return Server(name, command, env, int(flag(planned, "--port")), workdir,
                  env.get("VLLM_API_KEY", ""), planned=planned, release=release)


def real_mlx(name: str, plist_text: str, hf_home: Path, workdir: Path) -> Server:
    """The real ``mlx_lm.server`` for one rendered launchd job (not yet started), on the planned port."""
    arguments, environment = plist_job(plist_text)
    env = {**environment, "HF_HOME": str(hf_home), "HOME": str(workdir)}
    return Server(name, mlx_cpu_command(arguments), env, int(flag(arguments, "--port")), workdir,
                  planned=arguments)
