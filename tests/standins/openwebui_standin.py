"""Test stand-in for the Open WebUI image: honours HOST, PORT and DATA_DIR like the real start script,
answers /health with {"status": true}, and records the environment it was started with (secrets as
hashes only) in DATA_DIR so tests can check what the deploy configured and that the data survives."""

import hashlib
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

data_dir = os.environ.get("DATA_DIR", "/app/backend/data")
os.makedirs(data_dir, exist_ok=True)
seen = {k: v for k, v in os.environ.items() if k.isupper() and not k.startswith(("PATH", "HOSTNAME", "HOME"))}
for secret in ("WEBUI_SECRET_KEY", "OPENAI_API_KEYS"):
    if secret in seen:
        seen[secret] = "sha256:" + hashlib.sha256(seen[secret].encode()).hexdigest()
with open(os.path.join(data_dir, "standin-env.json"), "w") as out:
    json.dump(seen, out, indent=2, sort_keys=True)
starts = os.path.join(data_dir, "standin-starts.log")
with open(starts, "a") as out:
    out.write("start\n")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path in ("/health", "/ready"):
            body = json.dumps({"status": True}).encode()
            self.send_response(200)
        else:
            body = b"<html><body>stand-in Open WebUI</body></html>"
            self.send_response(200 if self.path == "/" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *fmt_args):
        print("stand-in Open WebUI: " + fmt % fmt_args, flush=True)


host = os.environ.get("HOST", "0.0.0.0")
port = int(os.environ.get("PORT", "8080"))
print(f"stand-in Open WebUI on {host}:{port}, data in {data_dir}", flush=True)
# PID 1 in a container ignores SIGTERM unless it handles it: stop like the real servers do.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
ThreadingHTTPServer((host, port), Handler).serve_forever()
