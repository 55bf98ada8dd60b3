"""Test stand-in for the Open WebUI image: honours HOST, PORT and DATA_DIR like the real start script,
answers /health with {"status": true}, and records the environment it was started with (secrets as
hashes only) in DATA_DIR so tests can check what the deploy configured and that the data survives.

Accounts behave as Open WebUI 0.12.4's do (checked against the real one in tests/test_openwebui_real.py):
on a start with no account, WEBUI_ADMIN_EMAIL / WEBUI_ADMIN_PASSWORD create the admin and switch sign-up off
until the next start; the first person to sign up becomes admin with the same switch; /api/config shows
`features.enable_signup`; the admin can sign in and set ENABLE_SIGNUP and DEFAULT_USER_ROLE through
/api/v1/auths/admin/config. Accounts are kept in DATA_DIR/standin-users.json, and the model entries the admin
creates or updates (/api/v1/models/create, /api/v1/models/model/update) in DATA_DIR/standin-models.json, and
the functions (/api/v1/functions/create, /id/ID/update, /id/ID/toggle, /id/ID/toggle/global: made off and for no
model, as the real one makes them) in DATA_DIR/standin-functions.json.

Like the real one, a signed-in user's /api/models lists the models of every OpenAI connection
(OPENAI_API_BASE_URLS with OPENAI_API_KEYS, each asked for its /models) and, with ENABLE_OLLAMA_API, of every
Ollama server (OLLAMA_BASE_URLS, its /api/tags); /api/chat/completions sends a chat to the connection serving
the model (to Ollama's /api/chat with the model entry's num_ctx, as Open WebUI does) and answers with its
reasoning and answer apart.

With ENABLE_API_KEYS, a person's own key works as Open WebUI 0.12.4's does (checked against the real one in
tests/test_openwebui_api_keys.py): POST /api/v1/auths/api_key makes one (admins always, others with
USER_PERMISSIONS_FEATURES_API_KEYS), DELETE revokes it; a key ("Bearer sk-...") reaches only
API_KEYS_ALLOWED_ENDPOINTS (with ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS), an unknown one gets 401, and its chat
completions come back as the engine answered. With AUDIT_LOG_LEVEL set and chat/completions in
AUDIT_INCLUDED_PATHS, each model call is one line in AUDIT_LOGS_FILE_PATH, in the real audit log's format
(openwebui-audit-line.json, recorded from the real one).
"""

import hashlib
import json
import os
import secrets
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

data_dir = os.environ.get("DATA_DIR", "/app/backend/data")
os.makedirs(data_dir, exist_ok=True)
seen = {k: v for k, v in os.environ.items() if k.isupper() and not k.startswith(("PATH", "HOSTNAME", "HOME"))}
for secret in ("WEBUI_SECRET_KEY", "OPENAI_API_KEYS", "WEBUI_ADMIN_PASSWORD", "DATABASE_URL", "REDIS_URL"):
    if secret in seen:
        seen[secret] = "sha256:" + hashlib.sha256(seen[secret].encode()).hexdigest()
with open(os.path.join(data_dir, "standin-env.json"), "w") as out:
    json.dump(seen, out, indent=2, sort_keys=True)
starts = os.path.join(data_dir, "standin-starts.log")
with open(starts, "a") as out:
    out.write("start\n")



def postgresql_tables(url: str) -> None:
    """On PostgreSQL, make Open WebUI 0.12.4's tables as its first start does (alembic), from the schema the real
    one made (openwebui-postgresql.sql, recorded and compared in tests/test_openwebui_database.py)."""
    import urllib.parse

    import psycopg2  # Debian's python3-psycopg2, in the stand-in image

    parts = urllib.parse.urlsplit(url)
    connection = psycopg2.connect(host=parts.hostname, port=parts.port, user=parts.username, password=parts.password,
                                  dbname=parts.path.lstrip("/"), connect_timeout=10)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('public.alembic_version')")
        if cursor.fetchone()[0] is None:
            with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "openwebui-postgresql.sql")) as sql:
                cursor.execute(sql.read())
    connection.close()


if os.environ.get("DATABASE_URL", "").startswith("postgresql"):
    postgresql_tables(os.environ["DATABASE_URL"])

USERS = os.path.join(data_dir, "standin-users.json")
MODELS = os.path.join(data_dir, "standin-models.json")  # model entries the admin created (names, advice)
models: dict[str, dict] = {}
FUNCTIONS = os.path.join(data_dir, "standin-functions.json")  # the functions the admin keeps (filters)
functions: dict[str, dict] = {}
if os.path.exists(MODELS):
    with open(MODELS) as saved:
        models = json.load(saved)
if os.path.exists(FUNCTIONS):
    with open(FUNCTIONS) as saved:
        functions = json.load(saved)
users: dict[str, dict] = {}
if os.path.exists(USERS):
    with open(USERS) as saved:
        users = json.load(saved)
tokens: dict[str, str] = {}
config = {"ENABLE_SIGNUP": os.environ.get("ENABLE_SIGNUP", "True") == "True",
          "DEFAULT_USER_ROLE": os.environ.get("DEFAULT_USER_ROLE", "pending"), "SHOW_ADMIN_DETAILS": True}


def save_users() -> None:
    with open(USERS, "w") as out:
        json.dump(users, out)


def add_user(email: str, password: str, role: str, name: str = "") -> dict:
    users[email] = {"email": email, "password": hashlib.sha256(password.encode()).hexdigest(), "role": role,
                    "name": name or email.split("@")[0], "id": hashlib.sha256(email.encode()).hexdigest()[:32]}
    save_users()
    return users[email]


def env_true(name: str) -> bool:
    return os.environ.get(name, "False").lower() == "true"


def record_usage(user: dict, model: str, usage: dict, agent: str = "") -> None:
    """One line of the audit log for a model call, as Open WebUI 0.12.4's utils/audit.py and logger.py write it."""
    included = [p for p in os.environ.get("AUDIT_INCLUDED_PATHS", "").split(",") if p]
    if os.environ.get("AUDIT_LOG_LEVEL", "NONE").upper() == "NONE" or "chat/completions" not in included:
        return
    path = os.environ.get("AUDIT_LOGS_FILE_PATH", os.path.join(data_dir, "audit.log"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    line = {"id": secrets.token_hex(16), "timestamp": int(time.time()),
            "user": {k: user.get(k, "") for k in ("id", "name", "email", "role")},
            "audit_level": os.environ["AUDIT_LOG_LEVEL"].upper(), "verb": "POST",
            "request_uri": f"http://127.0.0.1:{port}/api/chat/completions", "response_status_code": None,
            "source_ip": "127.0.0.1", "user_agent": agent, "model_id": model,
            "usage": {"input_tokens": prompt, "output_tokens": completion, "total_tokens": prompt + completion},
            "request_object": None, "response_object": None,
            "extra": {"event": "model_usage", "request_id": secrets.token_hex(16)}}
    with open(path, "a") as out:
        out.write(json.dumps(line) + "\n")


if not users and os.environ.get("WEBUI_ADMIN_EMAIL") and os.environ.get("WEBUI_ADMIN_PASSWORD"):
    add_user(os.environ["WEBUI_ADMIN_EMAIL"], os.environ["WEBUI_ADMIN_PASSWORD"], "admin")
    config["ENABLE_SIGNUP"] = False  # as Open WebUI does after its first account, until it restarts


def connections() -> list[tuple[str, str]]:
    """(base URL, key) of every OpenAI connection, as Open WebUI pairs them (';'-separated)."""
    urls = [u for u in os.environ.get("OPENAI_API_BASE_URLS", "").split(";") if u]
    keys = os.environ.get("OPENAI_API_KEYS", "").split(";")
    return [(url, keys[i] if i < len(keys) else "") for i, url in enumerate(urls)]


def ask(url: str, key: str, payload: dict | None = None) -> dict:
    request = urllib.request.Request(url, data=json.dumps(payload).encode() if payload is not None else None,
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())


def connection_models() -> tuple[dict[str, tuple[str, str]], list[str]]:
    """Model id -> its connection, and the connections that did not answer."""
    found, errors = {}, []
    for url, key in connections():
        try:
            for model in ask(f"{url}/models", key).get("data", []):
                found[model["id"]] = (url, key)
        except (OSError, ValueError) as exc:
            errors.append(f"{url}: {exc}")
    if os.environ.get("ENABLE_OLLAMA_API") == "True":
        for url in [u for u in os.environ.get("OLLAMA_BASE_URLS", "").split(";") if u]:
            try:
                for model in ask(f"{url}/api/tags", "").get("models", []):
                    found[model["name"]] = (url, OLLAMA)
            except (OSError, ValueError) as exc:
                errors.append(f"{url}: {exc}")
    return found, errors


OLLAMA = "ollama"  # the "key" of an Ollama connection: it has none, and speaks its own API


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

    def _function(self, form: dict) -> None:
        """The admin's function calls: create (off, for no model), update its code, toggle on/off or global."""
        parts = self.path.split("/")[4:]  # ["create"] or ["id", ID, "update" | "toggle" | ("toggle", "global")]
        if parts == ["create"]:
            if not form.get("id", "").isidentifier() or form["id"].lower() in functions:
                self._send(400, {"detail": "id not taken and an identifier"})
                return
            function = {k: form[k] for k in ("name", "content", "meta")}
            function.update(id=form["id"].lower(), type="filter", is_active=False, is_global=False)
            functions[function["id"]] = function
        elif len(parts) >= 3 and parts[0] == "id" and parts[1] in functions:
            function = functions[parts[1]]
            action = "/".join(parts[2:])
            if action == "update":
                function.update({k: form[k] for k in ("name", "content", "meta")})
            elif action in ("toggle", "toggle/global"):
                key = "is_active" if action == "toggle" else "is_global"
                function[key] = not function[key]
            else:
                self._send(404, {"detail": "not found"})
                return
        else:
            self._send(401, {"detail": "We could not find what you're looking for :/"})
            return
        with open(FUNCTIONS, "w") as out:
            json.dump(functions, out)
        self._send(200, function)

    def _admin(self) -> bool:
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if users.get(tokens.get(token, ""), {}).get("role") == "admin":
            return True
        self._send(401, {"detail": "not an admin"})
        return False

    def _user(self) -> bool:
        return self._session_user() is not None

    def _session_user(self) -> dict | None:
        user = users.get(tokens.get(self.headers.get("Authorization", "").removeprefix("Bearer "), ""))
        if user is None:
            self._send(401, {"detail": "Not authenticated"})
        return user

    def _key_user(self) -> dict | None:
        """The person whose API key came, or None (and the refusal sent) as Open WebUI's get_current_user does."""
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        user = next((u for u in users.values() if u.get("api_key") == key), None)
        if user is None:
            self._send(401, {"detail": "Your session has expired or the token is invalid. Please sign in again."})
            return None
        if not env_true("ENABLE_API_KEYS") or (user["role"] != "admin"
                                               and not env_true("USER_PERMISSIONS_FEATURES_API_KEYS")):
            self._send(403, {"detail": "Use of API key is not enabled in the environment."})
            return None
        allowed = [p.strip() for p in os.environ.get("API_KEYS_ALLOWED_ENDPOINTS", "").split(",") if p.strip()]
        path = self.path.split("?", 1)[0]
        if env_true("ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS") and not any(
                path == a or path.startswith(a + "/") for a in allowed):
            self._send(403, {"detail": "You do not have permission to access this resource."})
            return None
        return user

    def _by_key(self) -> bool:
        return self.headers.get("Authorization", "").startswith("Bearer sk-")

    def do_GET(self):
        if self.path in ("/health", "/ready"):
            self._send(200, {"status": True})
        elif self.path == "/api/config":
            features = {"auth": True, "enable_signup": config["ENABLE_SIGNUP"]}
            self._send(200, {"name": "Open WebUI", "features": features})
        elif self.path == "/api/v1/auths/admin/config":
            if self._admin():
                self._send(200, config)
        elif self._by_key():
            if self._key_user() is None:
                return
            if self.path == "/api/models":
                found, _errors = connection_models()
                self._send(200, {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "openai"}
                                                            for m in sorted(found)]})
            else:
                self._send(404, {"detail": "not found"})
        elif self.path == "/api/models":
            if self._user():
                found, errors = connection_models()
                self._send(200, {"data": [{"id": m, "connection": c[0]} for m, c in sorted(found.items())],
                                 "errors": errors})
        elif self.path.startswith("/api/v1/functions/id/"):
            if self._admin():
                function = functions.get(self.path.rsplit("/", 1)[1])
                self._send(200 if function else 401,
                           function or {"detail": "We could not find what you're looking for :/"})
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

    def do_DELETE(self):
        if self.path == "/api/v1/auths/api_key":
            user = self._session_user()
            if user is not None:
                user.pop("api_key", None)
                save_users()
                self._send(200, True)
        else:
            self._send(404, {"detail": "not found"})

    def do_POST(self):
        form = self._body()
        if self._by_key():
            user = self._key_user()
            if user is None:
                return
            if self.path != "/api/chat/completions":
                self._send(404, {"detail": "not found"})
                return
            found, _errors = connection_models()
            if form.get("model") not in found or found[form["model"]][1] == OLLAMA:
                self._send(400, {"detail": "Model not found"})
                return
            url, key = found[form["model"]]
            try:
                answer = ask(f"{url}/chat/completions", key, {**form, "stream": False})
            except (OSError, ValueError) as exc:
                self._send(502, {"detail": f"{url}: {exc}"})
                return
            record_usage(user, form["model"], answer.get("usage") or {}, self.headers.get("User-Agent", ""))
            self._send(200, answer)  # as the engine answered
        elif self.path == "/api/v1/auths/api_key":
            user = self._session_user()
            if user is None:
                return
            if not env_true("ENABLE_API_KEYS") or (user["role"] != "admin"
                                                   and not env_true("USER_PERMISSIONS_FEATURES_API_KEYS")):
                self._send(403, {"detail": "Use of API key is not enabled in the environment."})
                return
            user["api_key"] = "sk-" + secrets.token_hex(16)
            save_users()
            self._send(200, {"api_key": user["api_key"]})
        elif self.path == "/api/v1/auths/add":
            if self._admin():
                user = add_user(form["email"], form["password"], form.get("role", "pending"), form.get("name", ""))
                self._send(200, {"id": user["id"], "email": user["email"], "role": user["role"]})
        elif self.path == "/api/v1/auths/signin":
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
        elif self.path.startswith("/api/v1/functions/"):
            if self._admin():
                self._function(form)
        elif self.path == "/api/v1/auths/admin/config":
            if self._admin():
                config.update({k: form[k] for k in ("ENABLE_SIGNUP", "DEFAULT_USER_ROLE") if k in form})
                self._send(200, config)
        elif self.path == "/api/chat/completions":
            user = self._session_user()
            if user is None:
                return
            found, _errors = connection_models()
            if form.get("model") not in found:
                self._send(400, {"detail": "Model not found"})
                return
            url, key = found[form["model"]]
            try:
                if key == OLLAMA:
                    params = models.get(form["model"], {}).get("params") or {}
                    options = {"num_ctx": params["num_ctx"]} if "num_ctx" in params else {}
                    answer = ask(f"{url}/api/chat", "", {"model": form["model"], "messages": form.get("messages"),
                                                         "stream": False, "think": True, "options": options})
                    message = {**answer["message"], "reasoning": answer["message"].get("thinking")}
                else:
                    answer = ask(f"{url}/chat/completions", key, {**form, "stream": False})
                    message = answer["choices"][0]["message"]
                    record_usage(user, form["model"], answer.get("usage") or {}, self.headers.get("User-Agent", ""))
            except (OSError, ValueError) as exc:
                self._send(502, {"detail": f"{url}: {exc}"})
                return
            # the engines name the reasoning field differently (vLLM: reasoning; SGLang: reasoning_content)
            reasoning = message.get("reasoning") or message.get("reasoning_content") or ""
            self._send(200, {"model": form["model"], "connection": url, "reasoning": reasoning,
                             "content": message.get("content", "")})
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
