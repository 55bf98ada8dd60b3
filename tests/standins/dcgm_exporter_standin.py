"""Test stand-in for NVIDIA's DCGM exporter image (no GPU here): serves /metrics in dcgm-exporter's format.

Takes the exporter's own arguments as the stack's unit passes them: ``-f FILE`` (the field list: ``field, type,
help`` lines) and ``-a ADDRESS`` (``host:port`` or ``:port``). Every field of the file is exported for each GPU
with the labels dcgm-exporter puts on its samples (gpu, UUID, device, modelName, Hostname), as in its README's
sample output; the values are those of a busy RTX 4090. ``STANDIN_GPUS`` sets how many GPUs (default 1), and a
file ``xid`` beside the field list sets the XID error value reported (0 when absent).
"""

from __future__ import annotations

import os
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VALUES = {"DCGM_FI_DEV_FB_USED": 21500, "DCGM_FI_DEV_FB_FREE": 2564, "DCGM_FI_DEV_GPU_UTIL": 87,
          "DCGM_FI_DEV_MEM_COPY_UTIL": 41, "DCGM_FI_DEV_GPU_TEMP": 64, "DCGM_FI_DEV_MEMORY_TEMP": 0,
          "DCGM_FI_DEV_POWER_USAGE": 311.5, "DCGM_FI_DEV_SM_CLOCK": 2520, "DCGM_FI_DEV_MEM_CLOCK": 10501}


def fields(path: Path) -> list[tuple[str, str, str]]:
    out = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, kind, text = (part.strip() for part in line.split(",", 2))
            out.append((name, kind, text))
    return out


def page(field_list: list[tuple[str, str, str]], gpus: int, xid: int) -> str:
    lines = []
    for name, kind, text in field_list:
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
        for gpu in range(gpus):
            labels = (f'gpu="{gpu}",UUID="GPU-00000000-0000-0000-0000-00000000000{gpu}",device="nvidia{gpu}",'
                      f'modelName="NVIDIA GeForce RTX 4090",Hostname="{socket.gethostname()}"')
            value = xid if name == "DCGM_FI_DEV_XID_ERRORS" else VALUES.get(name, 0)
            lines.append(f"{name}{{{labels}}} {value}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    counters = Path(argv[argv.index("-f") + 1])
    host, _, port = argv[argv.index("-a") + 1].rpartition(":")
    field_list = fields(counters)  # a bad field list stops the exporter, as the real one refuses it
    gpus = int(os.environ.get("STANDIN_GPUS", "1"))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path != "/metrics":
                self.send_error(404)
                return
            xid_file = counters.parent / "xid"
            body = page(field_list, gpus, int(xid_file.read_text()) if xid_file.exists() else 0).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    print(f"dcgm-exporter stand-in: {len(field_list)} fields, {gpus} GPU(s), on {host or '0.0.0.0'}:{port}",
          flush=True)
    ThreadingHTTPServer((host or "0.0.0.0", int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
