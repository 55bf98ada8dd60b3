"""``reasoning-stack bench``: each deployed endpoint measured with NVIDIA's AIPerf, beside the plan's predictions.

AIPerf is the load generator because it counts reasoning tokens apart from the answer's (``reasoning_token_count``,
time to the first answer token), where others count only the answer or nothing streamed as reasoning (guidellm#737,
genai-bench#81). It runs from its own virtual environment (it brings ~1.2 GB of dependencies of its own, kept apart
from the deploy's), on the machine you deploy from, through an SSH tunnel over pyinfra's own connection to the
host: the API usually listens on loopback. The API key comes from the environment you deploy from, as for the
deploy, and reaches AIPerf in its environment, never on a command line.

Per endpoint and concurrency it reports time to first token, inter-token latency, decode tokens per second per
request and all together, and the seconds a 2,000-token reasoning trace takes; beside them the plan's figures and
the ratio. The result is saved as JSON and an HTML plot, and recorded on the host, where ``status`` shows it.
"""

from __future__ import annotations

import json
import os
import select
import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reasoning_stack.manifest import API_KINDS, MANIFEST
from reasoning_stack.speed import TRACE_TOKENS
from reasoning_stack.status import connect_hosts, sudo_arguments

AIPERF_VERSION = "0.13.0"
DEFAULT_AIPERF_PYTHON = (Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                         / "reasoning-stack" / f"aiperf-{AIPERF_VERSION}" / "bin" / "python")
KEY_VARIABLE = "REASONING_STACK_BENCH_API_KEY"  # how the key reaches AIPerf (its environment)
# AIPerf's own CLI, with the key added inside the process: /proc/<pid>/cmdline never carries it.
AIPERF_LAUNCH = ("import os, sys; sys.argv = ['aiperf', *sys.argv[1:]] + (['--api-key', os.environ['" + KEY_VARIABLE
                 + "']] if os.environ.get('" + KEY_VARIABLE + "') else []); from aiperf.cli import app; "
                 "sys.exit(app())")


class BenchError(Exception):
    """A bench that cannot run: which host or endpoint, and why."""


@dataclass(frozen=True)
class Endpoint:
    """One deployed instance, from its host's status manifest: where it answers and what the plan predicted."""

    host: str
    unit: str
    served_model_name: str
    repo: str
    remote_url: str  # on the host
    plan_tokens_per_s: float  # decode tokens per second of one request
    plan_trace_s: float | None  # a 2,000-token reasoning trace, one request
    record: str  # where the host keeps the last bench
    health_path: str = "/health"  # its engine's own, as the manifest says


@dataclass(frozen=True)
class Options:
    concurrencies: tuple[int, ...] = (1, 4)
    output_tokens: int = TRACE_TOKENS  # reasoning-length outputs (generated to the end: ignore_eos)
    input_tokens: int = 256
    requests: int = 0  # per concurrency; 0 = max(4, 2 x concurrency)
    tokenizer: str = ""  # '' = the endpoint's Hugging Face repo
    timeout: int = 3600


@dataclass
class Point:
    """AIPerf's figures at one concurrency."""

    concurrency: int
    requests: int
    errors: int
    ttft_p50_s: float
    ttft_p95_s: float
    itl_p50_ms: float
    tokens_per_s_per_request: float  # p50 over requests, reasoning and answer tokens together
    tokens_per_s_total: float
    reasoning_tokens_avg: float
    output_tokens_avg: float
    trace_s: float  # the seconds a 2,000-token trace takes at this speed, first token included


@dataclass
class EndpointResult:
    endpoint: Endpoint
    points: list[Point] = field(default_factory=list)
    finished: str = ""

    @property
    def ratio(self) -> float | None:
        """Measured decode tokens/s per request at the lowest concurrency, over the plan's."""
        if not self.points or not self.endpoint.plan_tokens_per_s:
            return None
        return self.points[0].tokens_per_s_per_request / self.endpoint.plan_tokens_per_s

    def to_json(self) -> dict[str, Any]:
        return {"endpoint": asdict(self.endpoint), "finished": self.finished, "ratio": self.ratio,
                "trace_tokens": TRACE_TOKENS, "points": [asdict(p) for p in self.points]}


def endpoints_of(host: str, manifest: dict[str, Any]) -> list[Endpoint]:
    """The instances a host's manifest lists that answer an API (a cluster worker's: none)."""
    out = []
    for unit in manifest.get("units", []):
        if unit.get("kind") in API_KINDS:
            out.append(Endpoint(host, unit["unit"], unit["served_model_name"], unit.get("repo", ""), unit["url"],
                                float(unit.get("estimate_tokens_per_s") or 0), unit.get("estimate_trace_s"),
                                unit.get("bench_record", ""), unit.get("health_path") or "/health"))
    return out


def find_aiperf(python: str | None) -> Path:
    """The Python of a virtual environment with AIPerf; a BenchError saying how to make one otherwise."""
    path = Path(python) if python else DEFAULT_AIPERF_PYTHON
    if not path.exists():
        venv = path.parent.parent
        raise BenchError(f"AIPerf {AIPERF_VERSION} is not installed at {venv}: install it once with\n"
                         f"  python3 -m venv {venv} && {venv}/bin/pip install aiperf=={AIPERF_VERSION}\n"
                         "or name another environment's python with --aiperf-python")
    return path


class Tunnel:
    """A local port forwarded to ``host:port`` as the remote host sees it, over an open paramiko transport (the
    connection pyinfra made): each local connection is one ``direct-tcpip`` channel."""

    def __init__(self, transport: Any, remote_host: str, remote_port: int) -> None:
        self.transport = transport
        self.remote = (remote_host, remote_port)
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, address = self.server.accept()
            except OSError:
                return
            try:
                channel = self.transport.open_channel("direct-tcpip", self.remote, address)
            except Exception:  # the far end refused: the client sees its connection closed
                client.close()
                continue
            threading.Thread(target=self._relay, args=(client, channel), daemon=True).start()

    @staticmethod
    def _relay(client: socket.socket, channel: Any) -> None:
        try:
            while True:
                ready, _, _ = select.select([client, channel], [], [], 60)
                if client in ready:
                    data = client.recv(65536)
                    if not data:
                        break
                    channel.sendall(data)
                if channel in ready:
                    data = channel.recv(65536)
                    if not data:
                        break
                    client.sendall(data)
        except OSError:
            pass
        finally:
            channel.close()
            client.close()

    def close(self) -> None:
        self.closed = True
        self.server.close()


def check_health(base_url: str, endpoint: Endpoint, timeout: float = 10) -> None:
    """The endpoint answers its health path through the tunnel, or a BenchError says which and why."""
    try:
        with urllib.request.urlopen(f"{base_url}{endpoint.health_path}", timeout=timeout) as response:
            if response.status == 200:
                return
            why = f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        why = f"HTTP {exc.code}"
    except OSError as exc:
        why = str(getattr(exc, "reason", exc)) or type(exc).__name__
    raise BenchError(f"host {endpoint.host!r}: {endpoint.unit} ({endpoint.remote_url} on the host) does not answer "
                     f"{endpoint.health_path} through the SSH tunnel ({why}); is it running? `reasoning-stack status` "
                     "says")


def aiperf_command(python: Path, endpoint: Endpoint, base_url: str, concurrency: int, options: Options,
                   artifacts: Path) -> list[str]:
    """The AIPerf ``profile`` run for one concurrency (the key is added from the environment, see above)."""
    requests = options.requests or max(4, 2 * concurrency)
    return [str(python), "-c", AIPERF_LAUNCH, "profile", "--model", endpoint.served_model_name, "--url", base_url,
            "--endpoint-type", "chat", "--streaming", "--concurrency", str(concurrency),
            "--request-count", str(requests), "--isl", str(options.input_tokens), "--isl-stddev", "0",
            "--osl", str(options.output_tokens), "--extra-inputs", "ignore_eos:true",
            "--tokenizer", options.tokenizer or endpoint.repo, "--artifact-dir", str(artifacts),
            "--ui", "simple", "--no-server-metrics", "--random-seed", "0"]


def point_from(export: dict[str, Any], concurrency: int) -> Point:
    """A Point from AIPerf's ``profile_export_aiperf.json``."""

    def stat(name: str, key: str = "p50", default: float = 0.0) -> float:
        value = (export.get(name) or {}).get(key)
        return float(value) if value is not None else default

    ttft = stat("time_to_first_token") / 1000
    per_request = stat("output_token_throughput_per_user")
    return Point(
        concurrency=concurrency,
        requests=int(stat("request_count", "avg")),
        errors=int(stat("error_request_count", "avg")),
        ttft_p50_s=ttft,
        ttft_p95_s=stat("time_to_first_token", "p95") / 1000,
        itl_p50_ms=stat("inter_token_latency"),
        tokens_per_s_per_request=per_request,
        tokens_per_s_total=stat("output_token_throughput", "avg"),
        reasoning_tokens_avg=stat("reasoning_token_count", "avg"),
        output_tokens_avg=stat("output_sequence_length", "avg"),
        trace_s=ttft + TRACE_TOKENS / per_request if per_request else 0.0,
    )


def run_point(python: Path, endpoint: Endpoint, base_url: str, key: str, concurrency: int, options: Options,
              artifacts: Path) -> Point:
    """One AIPerf run; its progress bars go to the terminal (stderr), its figures come back as a Point."""
    artifacts.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, KEY_VARIABLE: key, "HF_HUB_DISABLE_TELEMETRY": "1"}
    log = artifacts / "aiperf-output.txt"
    with log.open("w") as out:
        process = subprocess.Popen(aiperf_command(python, endpoint, base_url, concurrency, options, artifacts),
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert process.stdout is not None
        for line in process.stdout:  # shown as it comes: AIPerf's progress bars
            out.write(line)
            sys.stderr.write(line)
        rc = process.wait(options.timeout)
    export = artifacts / "profile_export_aiperf.json"
    if rc != 0 or not export.exists():
        tail = log.read_text(errors="replace")[-1500:]
        raise BenchError(f"host {endpoint.host!r}: AIPerf against {endpoint.unit} at concurrency {concurrency} "
                         f"failed (exit {rc}); its output ends:\n{tail}")
    return point_from(json.loads(export.read_text()), concurrency)


def format_result(result: EndpointResult) -> str:
    """The figures measured beside the plan's, as the terminal shows them."""
    e = result.endpoint
    plan_trace = f"{e.plan_trace_s:.1f} s" if e.plan_trace_s else "?"
    lines = [f"{e.host} {e.unit} ({e.served_model_name}): plan {e.plan_tokens_per_s:.1f} tokens/s per request, "
             f"a {TRACE_TOKENS:,}-token trace {plan_trace}",
             f"  {'concurrency':>11}  {'TTFT p50/p95':>14}  {'ITL p50':>9}  {'tokens/s per request':>20}  "
             f"{'all requests':>12}  {'reasoning tokens':>16}  {f'{TRACE_TOKENS:,}-token trace':>17}  vs plan"]
    for p in result.points:
        ratio = f"{p.tokens_per_s_per_request / e.plan_tokens_per_s:.2f}x" if e.plan_tokens_per_s else "?"
        lines.append(f"  {p.concurrency:>11}  {f'{p.ttft_p50_s:.2f}/{p.ttft_p95_s:.2f} s':>14}  "
                     f"{f'{p.itl_p50_ms:.1f} ms':>9}  {p.tokens_per_s_per_request:>20.1f}  "
                     f"{p.tokens_per_s_total:>12.1f}  {p.reasoning_tokens_avg:>16.0f}  "
                     f"{f'{p.trace_s:.1f} s':>17}  {ratio}"
                     + (f"  ({p.errors} failed)" if p.errors else ""))
    return "\n".join(lines)


def plot_html(result: EndpointResult) -> str:
    """A self-contained HTML page: decode tokens/s per request and all together by concurrency, the plan's line."""
    e, points = result.endpoint, result.points
    width, height, pad = 640, 360, 50
    top = max([p.tokens_per_s_total for p in points] + [p.tokens_per_s_per_request for p in points]
              + [e.plan_tokens_per_s, 1.0]) * 1.1
    xs = [p.concurrency for p in points] or [1]

    def x(c: int) -> float:
        return pad + (width - 2 * pad) * (xs.index(c) / max(1, len(xs) - 1))

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * v / top

    def line(values: list[float], colour: str) -> str:
        path = " ".join(f"{x(p.concurrency):.1f},{y(v):.1f}" for p, v in zip(points, values, strict=True))
        dots = "".join(f'<circle cx="{x(p.concurrency):.1f}" cy="{y(v):.1f}" r="4" fill="{colour}"/>'
                       for p, v in zip(points, values, strict=True))
        return f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>{dots}'

    ticks = "".join(f'<text x="{x(c):.1f}" y="{height - pad + 20}" text-anchor="middle">{c}</text>' for c in xs)
    plan_y = y(e.plan_tokens_per_s)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="12"><rect width="{width}" height="{height}" fill="white"/>'
           f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="black"/>'
           f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="black"/>{ticks}'
           f'<text x="{width / 2}" y="{height - 10}" text-anchor="middle">concurrency</text>'
           f'<text x="12" y="{pad - 15}">tokens/s (top {top:.0f})</text>'
           f'<line x1="{pad}" y1="{plan_y:.1f}" x2="{width - pad}" y2="{plan_y:.1f}" stroke="#888" '
           f'stroke-dasharray="6 4"/><text x="{width - pad}" y="{plan_y - 6:.1f}" text-anchor="end" fill="#555">'
           f'plan {e.plan_tokens_per_s:.1f} per request</text>'
           + line([p.tokens_per_s_per_request for p in points], "#1f77b4")
           + line([p.tokens_per_s_total for p in points], "#d62728") + "</svg>")
    rows = "".join(f"<tr><td>{p.concurrency}</td><td>{p.ttft_p50_s:.2f}</td><td>{p.itl_p50_ms:.1f}</td>"
                   f"<td>{p.tokens_per_s_per_request:.1f}</td><td>{p.tokens_per_s_total:.1f}</td>"
                   f"<td>{p.trace_s:.1f}</td></tr>" for p in points)
    return (f"<!doctype html><meta charset='utf-8'><title>bench {e.host} {e.unit}</title>"
            f"<h1>{e.host} {e.unit}: {e.served_model_name}</h1><p>{result.finished}. Blue: decode tokens/s per "
            "request; red: all requests together; dashed: the plan's per-request estimate.</p>" + svg
            + "<table border='1' cellpadding='4'><tr><th>concurrency</th><th>TTFT p50 s</th><th>ITL p50 ms</th>"
            f"<th>tokens/s per request</th><th>all requests</th><th>{TRACE_TOKENS}-token trace s</th></tr>{rows}"
            "</table>\n")


def bench_endpoint(endpoint: Endpoint, base_url: str, key: str, python: Path, options: Options,
                   out_dir: Path) -> tuple[EndpointResult, Path, Path]:
    """Measure one endpoint reachable at ``base_url`` at every concurrency; (result, its JSON, its plot)."""
    check_health(base_url, endpoint)
    result = EndpointResult(endpoint)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    folder = out_dir / f"{endpoint.host}-{endpoint.unit}-{stamp}"
    for concurrency in options.concurrencies:
        print(f"bench {endpoint.host} {endpoint.unit}: concurrency {concurrency}, "
              f"{options.requests or max(4, 2 * concurrency)} requests of {options.output_tokens} tokens",
              file=sys.stderr, flush=True)
        result.points.append(run_point(python, endpoint, base_url, key, concurrency, options,
                                       folder / f"concurrency-{concurrency}"))
    result.finished = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    saved = folder / "bench.json"
    saved.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    plot = folder / "bench.html"
    plot.write_text(plot_html(result))
    return result, saved, plot


def bench_inventory(inventory: Any, settings: dict[str, Any], hosts: list[str], python: Path, options: Options,
                    out_dir: Path, timeout: int = 30) -> list[tuple[EndpointResult, Path, Path]]:
    """Connect to the hosts (pyinfra's connectors and SSH settings), read each manifest, tunnel to each
    endpoint and bench it; record each result on its host for ``status``."""
    from pyinfra.api.command import StringCommand

    state = connect_hosts(inventory, timeout)
    results = []
    for host in inventory:
        if hosts and host.name not in hosts:
            continue
        if host not in state.activated_hosts or host in state.failed_hosts:
            raise BenchError(f"host {host.name!r}: the SSH connection failed; `reasoning-stack status` says more")
        sudo = sudo_arguments(host)
        ok, output = host.run_shell_command(StringCommand("cat", MANIFEST), _timeout=timeout, **sudo)
        if not ok:
            raise BenchError(f"host {host.name!r}: no status manifest ({MANIFEST}): deploy the stack first")
        found = endpoints_of(host.name, json.loads("\n".join(output.stdout_lines)))
        transport = getattr(getattr(host.connector, "client", None), "get_transport", lambda: None)()
        if found and transport is None:
            raise BenchError(f"host {host.name!r}: bench tunnels over SSH; this host's connector is not SSH")
        key = settings[host.name].api_key.get_secret_value() if settings[host.name].api_key else ""
        for endpoint in found:
            where = endpoint.remote_url.removeprefix("http://")
            address, _, port = where.rpartition(":")
            tunnel = Tunnel(transport, address.strip("[]"), int(port))
            try:
                result, saved, plot = bench_endpoint(endpoint, f"http://127.0.0.1:{tunnel.port}", key, python,
                                                     options, out_dir)
            finally:
                tunnel.close()
            if endpoint.record:
                record = json.dumps({**result.to_json(), "saved": str(saved)})
                host.run_shell_command(StringCommand("sh", "-c", f"umask 022 && cat > {shlex.quote(endpoint.record)}"),
                                       _stdin=record, _timeout=timeout, **sudo)
            results.append((result, saved, plot))
        host.disconnect()
    return results
