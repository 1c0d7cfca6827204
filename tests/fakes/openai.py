"""A real HTTP server on 127.0.0.1 that speaks the OpenAI ``/v1/chat/completions`` protocol.

Used by tests and benchmarks through the real ``openai`` client.  It answers
with scripted text (a function of the prompt), can inject faults (429 with or
without ``Retry-After``, 500, 401), adds latency, checks the API key and the
model name, and counts every request it receives.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[str, dict[str, Any]], str]

_UTTERANCE = re.compile(r'"""(.*?)"""', re.S)


def utterance(prompt: str) -> str:
    """The comment quoted inside a rendered emocause prompt."""
    m = _UTTERANCE.search(prompt)
    return m.group(1) if m else prompt


def keyword_responder(rules: dict[str, str], default: str = "Neutral") -> Responder:
    """Answer ``rules[k]`` for the first keyword ``k`` found in the comment, else ``default``."""

    def respond(prompt: str, body: dict[str, Any]) -> str:
        text = utterance(prompt).lower()
        for key, answer in rules.items():
            if key.lower() in text:
                return answer
        return default

    return respond


class FakeOpenAI:
    def __init__(self, responder: Responder | None = None, latency: float = 0.0,
                 api_key: str | None = None, models: set[str] | None = None) -> None:
        self.responder = responder or keyword_responder({})
        self.latency = latency
        self.api_key = api_key
        self.models = models
        self.requests: list[dict[str, Any]] = []
        self.faults: list[tuple[int, dict[str, str]]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms Nagle + delayed-ACK stall per response

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append({"path": self.path, "body": body,
                                            "auth": self.headers.get("Authorization", "")})
                    fault = server.faults.pop(0) if server.faults else None
                if server.latency:
                    time.sleep(server.latency)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                    return
                if server.api_key is not None and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    self._send(401, {"error": {"message": "Incorrect API key provided",
                                               "type": "invalid_request_error", "code": "invalid_api_key"}})
                    return
                if fault is not None:
                    status, headers = fault
                    self._send(status, {"error": {"message": f"injected {status}", "type": "server_error"}},
                               headers)
                    return
                model = body.get("model", "")
                if server.models is not None and model not in server.models:
                    self._send(404, {"error": {"message": f"The model `{model}` does not exist",
                                               "type": "invalid_request_error", "code": "model_not_found"}})
                    return
                prompt = "\n".join(m.get("content", "") for m in body.get("messages", []))
                answer = server.responder(prompt, body)
                self._send(200, {
                    "id": f"chatcmpl-{len(server.requests)}", "object": "chat.completion",
                    "created": int(time.time()), "model": model,
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": answer}}],
                    "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": len(answer.split()),
                              "total_tokens": len(prompt.split()) + len(answer.split())},
                })

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def inject(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """The next ``times`` chat requests get ``status`` (with ``headers``)."""
        with self._lock:
            self.faults.extend([(status, dict(headers or {}))] * times)

    def __enter__(self) -> "FakeOpenAI":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
