"""The ``lite`` engine's own stand-in server: the OpenAI chat API with the reasoning apart from the answer, its
health on /livez (vLLM's /health answers 404 here), a key when LITE_API_KEY is set.

    python server.py SERVED_NAME PORT
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME, PORT = sys.argv[1], int(sys.argv[2])
KEY = os.environ.get("LITE_API_KEY", "")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self):
        return not KEY or self.headers.get("Authorization") == f"Bearer {KEY}"

    def do_GET(self):
        if self.path == "/livez":
            self._send(200, {"status": "ok"})
        elif self.path == "/v1/models" and self._authorised():
            self._send(200, {"object": "list", "data": [{"id": NAME, "object": "model", "owned_by": "lite"}]})
        elif self.path == "/v1/models":
            self._send(401, {"error": "unauthorised"})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.path != "/v1/chat/completions":
            return self._send(404, {"error": "not found"})
        if not self._authorised():
            return self._send(401, {"error": "unauthorised"})
        if body.get("model") != NAME:
            return self._send(404, {"error": f"model {body.get('model')!r} not served"})
        message = {"role": "assistant", "reasoning": "One token asked; one token given.", "content": "4"}
        self._send(200, {"id": "lite-1", "object": "chat.completion", "model": NAME,
                         "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}})


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
