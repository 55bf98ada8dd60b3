"""Test stand-in for the Open WebUI image: honours HOST, PORT and DATA_DIR like the real start script,
answers /health with {"status": true}, and records the environment it was started with (secrets as
hashes only) in DATA_DIR so tests can check what the deploy configured and that the data survives.

Accounts behave as Open WebUI 0.12.4's do (checked against the real one in tests/test_openwebui_real.py):
on a start with no account, WEBUI_ADMIN_EMAIL / WEBUI_ADMIN_PASSWORD create the admin and switch sign-up off
until the next start; the first person to sign up becomes admin with the same switch; /api/config shows
`features.enable_signup`; the admin can sign in and set ENABLE_SIGNUP and DEFAULT_USER_ROLE through
/api/v1/auths/admin/config. Accounts are kept in DATA_DIR/standin-users.json, and the model entries the admin
creates or updates (/api/v1/models/create, /api/v1/models/model/update) in DATA_DIR/standin-models.json.
"""

import hashlib
import json
import os
import secrets
import signal
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

data_dir = os.environ.get("DATA_DIR", "/app/backend/data")
os.makedirs(data_dir, exist_ok=True)
seen = {k: v for k, v in os.environ.items() if k.isupper() and not k.startswith(("PATH", "HOSTNAME", "HOME"))}
for secret in ("WEBUI_SECRET_KEY", "OPENAI_API_KEYS", "WEBUI_ADMIN_PASSWORD"):
    if secret in seen:
        seen[secret] = "sha256:" + hashlib.sha256(seen[secret].encode()).hexdigest()
with open(os.path.join(data_dir, "standin-env.json"), "w") as out:
    json.dump(seen, out, indent=2, sort_keys=True)
starts = os.path.join(data_dir, "standin-starts.log")
with open(starts, "a") as out:
    out.write("start\n")

USERS = os.path.join(data_dir, "standin-users.json")
MODELS = os.path.join(data_dir, "standin-models.json")  # model entries the admin created (names, advice)
models: dict[str, dict] = {}
if os.path.exists(MODELS):
    with open(MODELS) as saved:
        models = json.load(saved)
users: dict[str, dict] = {}
if os.path.exists(USERS):
    with open(USERS) as saved:
        users = json.load(saved)
tokens: dict[str, str] = {}
config = {"ENABLE_SIGNUP": os.environ.get("ENABLE_SIGNUP", "True") == "True",
          "DEFAULT_USER_ROLE": os.environ.get("DEFAULT_USER_ROLE", "pending"), "SHOW_ADMIN_DETAILS": True}


def add_user(email: str, password: str, role: str) -> dict:
    users[email] = {"email": email, "password": hashlib.sha256(password.encode()).hexdigest(), "role": role}
    with open(USERS, "w") as out:
        json.dump(users, out)
    return users[email]


if not users and os.environ.get("WEBUI_ADMIN_EMAIL") and os.environ.get("WEBUI_ADMIN_PASSWORD"):
    add_user(os.environ["WEBUI_ADMIN_EMAIL"], os.environ["WEBUI_ADMIN_PASSWORD"], "admin")
    config["ENABLE_SIGNUP"] = False  # as Open WebUI does after its first account, until it restarts


class Handler(BaseHTTPRequestHandler):
    def _send(self, code: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")

    def _admin(self) -> bool:
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if users.get(tokens.get(token, ""), {}).get("role") == "admin":
            return True
        self._send(401, {"detail": "not an admin"})
        return False

    def do_GET(self):
        if self.path in ("/health", "/ready"):
            self._send(200, {"status": True})
        elif self.path == "/api/config":
            features = {"auth": True, "enable_signup": config["ENABLE_SIGNUP"]}
            self._send(200, {"name": "Open WebUI", "features": features})
        elif self.path == "/api/v1/auths/admin/config":
            if self._admin():
                self._send(200, config)
        elif self.path.startswith("/api/v1/models/model?id="):
            if self._admin():
                entry = models.get(urllib.parse.unquote(self.path.split("=", 1)[1]))
                self._send(200 if entry else 401, entry or {"detail": "We could not find what you're looking for :/"})
        else:
            body = b"<html><body>stand-in Open WebUI</body></html>"
            self.send_response(200 if self.path == "/" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_POST(self):
        form = self._body()
        if self.path == "/api/v1/auths/signin":
            user = users.get(form.get("email", ""))
            if not user or user["password"] != hashlib.sha256(form.get("password", "").encode()).hexdigest():
                self._send(400, {"detail": "The email or password provided is incorrect."})
                return
            token = secrets.token_hex(8)
            tokens[token] = user["email"]
            self._send(200, {"token": token, "role": user["role"], "email": user["email"]})
        elif self.path == "/api/v1/auths/signup":
            if users and not config["ENABLE_SIGNUP"]:
                self._send(403, {"detail": "You do not have permission to access this resource."})
                return
            user = add_user(form["email"], form["password"], config["DEFAULT_USER_ROLE"] if users else "admin")
            if len(users) == 1:
                config["ENABLE_SIGNUP"] = False
            self._send(200, {"token": "t", "role": user["role"], "email": user["email"]})
        elif self.path in ("/api/v1/models/create", "/api/v1/models/model/update"):
            if self._admin():
                models[form["id"]] = form
                with open(MODELS, "w") as out:
                    json.dump(models, out)
                self._send(200, form)
        elif self.path == "/api/v1/auths/admin/config":
            if self._admin():
                config.update({k: form[k] for k in ("ENABLE_SIGNUP", "DEFAULT_USER_ROLE") if k in form})
                self._send(200, config)
        else:
            self._send(404, {"detail": "not found"})

    def log_message(self, fmt, *fmt_args):
        print("stand-in Open WebUI: " + fmt % fmt_args, flush=True)


host = os.environ.get("HOST", "0.0.0.0")
port = int(os.environ.get("PORT", "8080"))
print(f"stand-in Open WebUI on {host}:{port}, data in {data_dir}", flush=True)
# PID 1 in a container ignores SIGTERM unless it handles it: stop like the real servers do.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
ThreadingHTTPServer((host, port), Handler).serve_forever()
