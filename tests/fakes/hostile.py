"""Misbehaving servers on 127.0.0.1 for the reliability tests: real sockets, real HTTP clients.

* :class:`Trickle` answers every request slowly, one byte at a time: the body only
  (``headers_too=False``) or the status line and headers as well.  Per-read timeouts
  never fire against it; only a total deadline ends the request.
* :class:`EndlessPages` answers a JSON list with a ``Link: rel="next"`` that never ends:
  to the next page number (the same items again), or to the very URL just asked.
"""

from __future__ import annotations

import json
import socket
import threading
import time
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
