"""Misbehaving servers on 127.0.0.1 for the reliability tests: real sockets, real HTTP clients.

* :class:`Trickle` answers every request slowly, one byte at a time: the body only
  (``headers_too=False``) or the status line and headers as well.  Per-read timeouts
  never fire against it; only a total deadline ends the request.
* :class:`EndlessPages` answers a JSON list with a ``Link: rel="next"`` that never ends:
  to the next page number (the same items again), or to the very URL just asked.
* :class:`HostileServer` gives each path prefix a behaviour: a fixed answer (any status, body
  and content type), an OpenAI completion of a broken shape, a huge answer, a flood of bytes
  with no length; it counts requests per path (used by scripts/hostile_sweep.py).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.github import QuietServer


class Trickle:
    """A TCP server that sends an HTTP answer one byte every ``interval`` seconds, forever."""

    def __init__(self, *, interval: float = 0.2, headers_too: bool = False) -> None:
        self.interval, self.headers_too = interval, headers_too
        self.connections = 0
        self._stop = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000000\r\n\r\n")
        try:
            conn.recv(65536)
            if not self.headers_too:
                conn.sendall(head)
                head = b""
            pending = head + b"["
            while not self._stop.wait(self.interval):
                byte, pending = (pending[:1], pending[1:]) if pending else (b" ", b"")
                conn.sendall(byte)
        except OSError:
            pass
        finally:
            conn.close()

    def __enter__(self) -> Trickle:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sock.close()


class EndlessPages:
    """A JSON list endpoint whose ``next`` link never ends (``mode``: ``count`` or ``self``)."""

    def __init__(self, items: list[Any], mode: str = "count") -> None:
        self.items, self.mode = items, mode
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                server.requests += 1
                split = urlsplit(self.path)
                page = int(parse_qs(split.query).get("page", ["1"])[-1])
                link = (f"{server.url}{split.path}?page={page + 1}" if server.mode == "count"
                        else server.url + self.path)
                data = json.dumps(server.items).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Link", f'<{link}>; rel="next"')
                self.end_headers()
                self.wfile.write(data)

        self._httpd = QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> EndlessPages:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def wait_until(predicate: Any, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return False


# ---------------------------------------------------------------- routed misbehaviour (scripts/hostile_sweep.py)

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
    """Always the same answer; a body that is neither bytes nor str is sent as JSON."""
    data = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return lambda h, s: send(h, status, data, ctype, headers)


def chat(message: Any = None, choices: Any = None, content: Any = "Neutral", ctype: str = "application/json",
         status: int = 200) -> Behaviour:
    """An OpenAI chat completion whose ``choices``, ``message`` or ``content`` replace the normal parts."""
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


def flood(size: int, ctype: str = "text/csv") -> Behaviour:
    """``size`` bytes as fast as the client reads them, with no Content-Length (ends by closing)."""
    def behave(h: BaseHTTPRequestHandler, s: HostileServer) -> None:
        h.send_response(200)
        h.send_header("Content-Type", ctype)
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True
        chunk, sent = b"x" * 65536, 0
        try:
            while sent < size:
                h.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            pass
    return behave


class HostileServer:
    """``routes`` maps a path prefix to a behaviour (the longest matching prefix wins, else 404);
    requests are counted per path, so a test can tell whether a client went where it should not."""

    def __init__(self, routes: dict[str, Behaviour] | None = None) -> None:
        self.routes: dict[str, Behaviour] = dict(routes or {})
        self.hits: Counter[str] = Counter()
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

        self._httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def count(self, prefix: str = "") -> int:
        with self._lock:
            return sum(n for p, n in self.hits.items() if p.startswith(prefix))

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
