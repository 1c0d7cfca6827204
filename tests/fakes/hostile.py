"""A real HTTP server on 127.0.0.1 that misbehaves on purpose (used by scripts/hostile_sweep.py).

Each path prefix gets a behaviour: a fixed answer (any status, body and content type), a body
trickled one byte at a time (slowloris), a huge body, a GitHub-style list whose ``next`` link
never ends or points back at itself, or an OpenAI chat completion with a broken shape.  The
server counts requests per path, so a test can tell whether a client went where it should not.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Behaviour = Callable[[BaseHTTPRequestHandler, "HostileServer"], None]


def send(h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str = "application/json",
         headers: dict[str, str] | None = None) -> None:
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.end_headers()
    h.wfile.write(body)


def fixed(status: int, body: bytes | str | Any, ctype: str = "application/json",
          headers: dict[str, str] | None = None) -> Behaviour:
    """Always the same answer; a non-bytes, non-str body is sent as JSON."""
    data = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return lambda h, s: send(h, status, data, ctype, headers)


def chat(message: Any = None, choices: Any = None, content: Any = "Neutral", ctype: str = "application/json",
         status: int = 200) -> Behaviour:
    """An OpenAI chat completion; ``choices``/``message``/``content`` replace the normal parts."""
    def behave(h: BaseHTTPRequestHandler, s: HostileServer) -> None:
        msg = {"role": "assistant", "content": content} if message is None else message
        ch = [{"index": 0, "finish_reason": "stop", "message": msg}] if choices is None else choices
        body = {"id": "x", "object": "chat.completion", "created": int(time.time()), "model": "m",
                "choices": ch, "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}
        send(h, status, json.dumps(body).encode(), ctype)
    return behave


def huge_chat(size: int) -> Behaviour:
    """A valid completion whose answer is ``size`` bytes long."""
    return chat(content="Anger " * (size // 6))


def slowloris(interval: float = 1.0, total: float = 600.0, status: int = 200,
              ctype: str = "application/json") -> Behaviour:
    """Headers at once, then one byte of body every ``interval`` seconds (never finishing in time)."""
    def behave(h: BaseHTTPRequestHandler, s: HostileServer) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(10**6))
        h.end_headers()
        end = time.monotonic() + total
        try:
            while time.monotonic() < end and not s.stopping.is_set():
                h.wfile.write(b" ")
                h.wfile.flush()
                s.stopping.wait(interval)
        except OSError:
            pass
    return behave


def endless_pages(item: Callable[[int], Any], same: bool = False) -> Behaviour:
    """A GitHub-style list: every page has one item and a ``next`` link (to page+1, or to itself)."""
    def behave(h: BaseHTTPRequestHandler, s: HostileServer) -> None:
        split = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        page = int(query.get("page", "1") or 1)
        nxt = page if same else page + 1
        query["page"] = str(nxt)
        link = f'<{s.url}{split.path}?{"&".join(f"{k}={v}" for k, v in query.items())}>; rel="next"'
        send(h, 200, json.dumps([item(page)]).encode(), "application/json", {"Link": link})
    return behave


class HostileServer:
    """``routes`` maps a path prefix to a behaviour; the longest matching prefix wins (else 404)."""

    def __init__(self, routes: dict[str, Behaviour] | None = None) -> None:
        self.routes: dict[str, Behaviour] = dict(routes or {})
        self.hits: Counter[str] = Counter()
        self.bytes_in = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length", 0) or 0)
                if length:
                    self.rfile.read(length)
                path = urlsplit(self.path).path
                with server._lock:
                    server.hits[path] += 1
                match = max((p for p in server.routes if path.startswith(p)), key=len, default=None)
                if match is None:
                    send(self, 404, b'{"message": "Not Found"}')
                    return
                server.routes[match](self, server)

            do_GET = do_POST = _serve  # noqa: N815

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def count(self, prefix: str = "") -> int:
        with self._lock:
            return sum(n for p, n in self.hits.items() if p.startswith(prefix))

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
