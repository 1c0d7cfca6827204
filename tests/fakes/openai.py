"""A real HTTP server on 127.0.0.1 that speaks the OpenAI protocol: chat completions, files, batches.

Used by tests and benchmarks through the real clients (emocause's async client, the ``openai``
package).  It runs on one asyncio event loop (in a background thread, or in its own process with
``python -m tests.fakes.openai``), so hundreds of concurrent connections cost it little CPU and a
benchmark measures the client, not the server.

* ``POST /v1/chat/completions``: answers with scripted text (a function of the prompt), after an
  optional latency; checks the API key and the model name; counts every request it receives.
  Faults are injected per request: a status with headers (429 with or without ``Retry-After``,
  500, 401), or a misbehaving 200 answer (HTML, malformed JSON, a JSON array, ``choices: []``,
  ``message: null``, empty or wrongly typed content, a huge body with or without a
  ``Content-Length``, a body trickled one byte at a time).
* ``POST /v1/files`` (multipart upload), ``GET /v1/files/ID`` and ``/v1/files/ID/content``.
* ``POST /v1/batches``, ``GET /v1/batches/ID``, ``GET /v1/batches`` (newest first, with
  ``after``/``limit``), ``POST /v1/batches/ID/cancel``.  A batch moves validating -> in_progress ->
  finalizing -> completed on a clock (``batch_timing``), can be held in progress, expired or
  cancelled part-way (results for the first ``partial`` lines), and fails lines chosen by
  ``batch_failures`` into an error file, as the Batch API does.
* ``GET /_fake/stats``: request counts and the server process's CPU time (for benchmarks).
"""

from __future__ import annotations

import argparse
import asyncio
import email.parser
import email.policy
import gzip
import itertools
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

Responder = Callable[[str, dict[str, Any]], str]
#: Given a batch input line, an error ``{"status_code": int, "message": str}`` to fail it, or None.
LineFailure = Callable[[dict[str, Any]], "dict[str, Any] | None"]

_UTTERANCE = re.compile(r'"""(.*?)"""', re.S)
_ids = itertools.count(1)


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


def prompt_of(body: dict[str, Any]) -> str:
    messages = body.get("messages") if isinstance(body, dict) else None
    return "\n".join(str(m.get("content", "")) for m in messages or [] if isinstance(m, dict))


@dataclass
class Fault:
    """What the next chat request gets instead of a normal answer."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    mode: str = ""  # "" (an error status) or a misbehaving-200 mode, see FakeOpenAI.misbehave
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Batch:
    id: str
    input_file_id: str
    endpoint: str
    window: str
    metadata: dict[str, Any]
    lines: list[dict[str, Any]]
    invalid: str | None
    created_at: float
    status: str = "validating"
    since: float = 0.0  # when the current status began
    times: dict[str, float] = field(default_factory=dict)
    output_file_id: str | None = None
    error_file_id: str | None = None
    done: int = 0
    failed: int = 0
    cancel: bool = False
    expire: bool = False


class FakeOpenAI:
    def __init__(self, responder: Responder | None = None, latency: float = 0.0,
                 api_key: str | None = None, models: set[str] | None = None, *,
                 batch_timing: tuple[float, float, float] = (0.05, 0.1, 0.05),
                 batch_failures: LineFailure | None = None, partial: float = 0.5,
                 batch_invalid: str | None = None,
                 port: int = 0, record: bool = True) -> None:
        self.responder = responder or keyword_responder({})
        #: Keep each request's body in :attr:`requests` (off for million-request benchmarks).
        self.record = record
        self.latency = latency
        self.api_key = api_key
        self.models = models
        #: Every chat completion request received: {"path", "body", "auth"}.
        self.requests: list[dict[str, Any]] = []
        #: Every request received: (method, path).
        self.log: list[tuple[str, str]] = []
        #: Chat requests being answered now, and the most at once.
        self.inflight = 0
        self.max_inflight = 0
        self.faults: list[Fault] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, Batch] = {}
        #: seconds in validating, in_progress, finalizing
        self.batch_timing = batch_timing
        self.batch_failures = batch_failures
        #: share of lines answered when a batch is expired or cancelled part-way
        self.partial = partial
        #: when set, every batch fails validation with this message
        self.batch_invalid = batch_invalid
        #: while set, batches stay in_progress
        self.hold = threading.Event()
        self._lock = threading.Lock()
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._writers: set[asyncio.StreamWriter] = set()

    # -- control -----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def inject(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """The next ``times`` chat requests get ``status`` (with ``headers``)."""
        with self._lock:
            self.faults.extend(Fault(status, dict(headers or {})) for _ in range(times))

    def misbehave(self, mode: str, times: int = 1, **params: Any) -> None:
        """The next ``times`` chat requests get a bad 200 answer.

        ``mode``: ``html``, ``malformed`` (cut-off JSON), ``array`` (a JSON array), ``content``
        (``params["value"]`` as the message content, e.g. 42 or ""), ``no-choices``,
        ``null-message``, ``huge`` (``params["size"]`` bytes of content; ``chunked=True`` sends no
        Content-Length; ``gzip``: compressed, inflating to ``size``), ``trickle`` (a valid body sent one byte every ``params["every"]`` s).
        """
        with self._lock:
            self.faults.extend(Fault(200, {}, mode, dict(params)) for _ in range(times))

    @property
    def batch_lines(self) -> int:
        """Request lines in every batch ever created (a duplicate submission shows here)."""
        with self._lock:
            return sum(len(b.lines) for b in self.batches.values())

    def expire(self, batch_id: str | None = None) -> None:
        """Expire a batch (the latest if none given) at its next poll; ``partial`` of it is done."""
        with self._lock:
            b = self.batches[batch_id] if batch_id else list(self.batches.values())[-1]
            b.expire = True

    def stats(self) -> dict[str, Any]:
        t = os.times()
        with self._lock:
            return {"chat": len(self.requests), "requests": len(self.log), "max_inflight": self.max_inflight,
                    "batches": len(self.batches), "cpu_s": t.user + t.system}

    def __enter__(self) -> "FakeOpenAI":
        self._thread = threading.Thread(target=self._serve_in_thread, daemon=True, name="fake-openai")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake OpenAI server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        loop = self._loop
        if loop is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(self._stop(), loop)
        if self._thread is not None:
            self._thread.join(10)

    # -- serving -----------------------------------------------------------------------------------

    def _serve_in_thread(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._start())
            self._ready.set()
            loop.run_forever()
        finally:
            loop.close()

    async def _stop(self) -> None:
        """Close the listener and every connection; handlers end on their own (no cancellation)."""
        if self._server is not None:
            self._server.close()
        for w in list(self._writers):
            w.transport.abort()
        for _ in range(100):
            if len(asyncio.all_tasks()) <= 1:
                break
            await asyncio.sleep(0.01)
        asyncio.get_running_loop().stop()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", self._port,
                                                  backlog=1024, limit=1 << 20)
        self._port = self._server.sockets[0].getsockname()[1]

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for ln in lines[1:]:
                    if ln:
                        k, _, v = ln.partition(":")
                        headers[k.strip().lower()] = v.strip()
                if "content-length" in headers:
                    body = await reader.readexactly(int(headers["content-length"]))
                elif headers.get("transfer-encoding", "").lower() == "chunked":
                    body = await _read_chunked(reader)
                else:
                    body = b""
                keep = await self._dispatch(method, target, headers, body, writer)
                if not keep or headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes,
                        writer: asyncio.StreamWriter) -> bool:
        parts = urlsplit(target)
        path = parts.path.rstrip("/")
        with self._lock:
            self.log.append((method, path))
        if path == "/_fake/stats":
            return await _send(writer, 200, self.stats())
        if method == "POST" and path.endswith("/chat/completions"):
            return await self._chat(path, parts.query, headers, body, writer)
        if not self._authorized(headers):
            return await _send(writer, 401, _UNAUTHORIZED)
        if path.endswith("/files") and method == "POST":
            return await self._upload(headers, body, writer)
        m = re.search(r"/files/([^/]+)(/content)?$", path)
        if m and method == "GET":
            with self._lock:
                f = self.files.get(m.group(1))
            if f is None:
                return await _send(writer, 404, _error(f"No such File object: {m.group(1)}"))
            if m.group(2):
                return await _send_raw(writer, 200, f["data"], "application/octet-stream")
            return await _send(writer, 200, _file_object(f))
        if path.endswith("/batches") and method == "POST":
            return await self._create_batch(body, writer)
        if path.endswith("/batches") and method == "GET":
            return await self._list_batches(parse_qs(parts.query), writer)
        m = re.search(r"/batches/([^/]+)(/cancel)?$", path)
        if m:
            with self._lock:
                b = self.batches.get(m.group(1))
                if b is not None and m.group(2) and method == "POST":
                    if b.status in ("validating", "in_progress", "finalizing"):
                        b.cancel = True
                        self._set(b, "cancelling")
                if b is not None:
                    self._advance(b)
                    obj = self._batch_object(b)
            if b is None:
                return await _send(writer, 404, _error(f"No batch with id {m.group(1)}"))
            return await _send(writer, 200, obj)
        return await _send(writer, 404, _error("not found"))

    def _authorized(self, headers: dict[str, str]) -> bool:
        return self.api_key is None or headers.get("authorization") == f"Bearer {self.api_key}"

    async def _chat(self, path: str, query: str, headers: dict[str, str], raw: bytes,
                    writer: asyncio.StreamWriter) -> bool:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return await _send(writer, 400, _error("body is not JSON"))
        with self._lock:
            self.requests.append({"path": path, "body": body, "auth": headers.get("authorization", ""),
                                  "query": query} if self.record else {})
            n = len(self.requests)
            fault = self.faults.pop(0) if self.faults else None
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            return await self._answer(n, headers, body, fault, writer)
        finally:
            with self._lock:
                self.inflight -= 1

    async def _answer(self, n: int, headers: dict[str, str], body: dict[str, Any], fault: Fault | None,
                      writer: asyncio.StreamWriter) -> bool:
        if self.latency:
            await asyncio.sleep(self.latency)
        if not self._authorized(headers):
            return await _send(writer, 401, _UNAUTHORIZED)
        if fault is not None and not fault.mode:
            return await _send(writer, fault.status, _error(f"injected {fault.status}", "server_error"),
                               fault.headers)
        model = body.get("model", "")
        if self.models is not None and model not in self.models:
            return await _send(writer, 404, _error(f"The model `{model}` does not exist",
                                                   code="model_not_found"))
        prompt = prompt_of(body)
        answer = self.responder(prompt, body)
        completion = _completion(f"chatcmpl-{n}", model, prompt, answer)
        if fault is not None:
            return await _misbehave(writer, fault, completion)
        return await _send(writer, 200, completion)

    async def _upload(self, headers: dict[str, str], body: bytes, writer: asyncio.StreamWriter) -> bool:
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + headers.get("content-type", "").encode() + b"\r\n\r\n" + body)
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            fields[str(name)] = (part.get_filename(), part.get_payload(decode=True) or b"")
        if "file" not in fields or "purpose" not in fields:
            return await _send(writer, 400, _error("file and purpose are required"))
        fid = f"file-{next(_ids)}"
        f = {"id": fid, "data": fields["file"][1], "filename": fields["file"][0] or "upload",
             "purpose": fields["purpose"][1].decode(), "created_at": int(time.time())}
        with self._lock:
            self.files[fid] = f
        return await _send(writer, 200, _file_object(f))

    async def _create_batch(self, raw: bytes, writer: asyncio.StreamWriter) -> bool:
        try:
            req = json.loads(raw)
        except ValueError:
            return await _send(writer, 400, _error("body is not JSON"))
        with self._lock:
            f = self.files.get(req.get("input_file_id", ""))
        if f is None:
            return await _send(writer, 400, _error("input_file_id not found"))
        if req.get("endpoint") != "/v1/chat/completions" or req.get("completion_window") != "24h":
            return await _send(writer, 400, _error("unsupported endpoint or completion_window"))
        lines, invalid = [], None
        for k, ln in enumerate(f["data"].decode("utf-8", "replace").splitlines(), 1):
            if not ln.strip():
                continue
            try:
                item = json.loads(ln)
                if not isinstance(item, dict) or "custom_id" not in item or "body" not in item:
                    raise ValueError("missing custom_id or body")
                lines.append(item)
            except ValueError as exc:
                invalid = f"line {k}: {exc}"
        if len({x["custom_id"] for x in lines}) != len(lines):
            invalid = "duplicate custom_id"
        invalid = self.batch_invalid or invalid
        now = time.time()
        b = Batch(f"batch_{next(_ids)}", f["id"], req["endpoint"], req["completion_window"],
                  dict(req.get("metadata") or {}), lines, invalid, now, since=now, times={"validating": now})
        with self._lock:
            self.batches[b.id] = b
            obj = self._batch_object(b)
        return await _send(writer, 200, obj)

    async def _list_batches(self, query: dict[str, list[str]], writer: asyncio.StreamWriter) -> bool:
        limit = int(query.get("limit", ["20"])[0])
        after = query.get("after", [None])[0]
        with self._lock:
            items = list(reversed(self.batches.values()))
            if after is not None:
                ids = [b.id for b in items]
                items = items[ids.index(after) + 1:] if after in ids else []
            page = items[:limit]
            for b in page:
                self._advance(b)
            data = [self._batch_object(b) for b in page]
        return await _send(writer, 200, {"object": "list", "data": data,
                                         "first_id": data[0]["id"] if data else None,
                                         "last_id": data[-1]["id"] if data else None,
                                         "has_more": len(items) > limit})

    # -- batch life cycle (called with the lock held) ------------------------------------------------

    def _set(self, b: Batch, status: str, at: float | None = None) -> None:
        b.status, b.since = status, (time.time() if at is None else at)
        b.times[status] = b.since

    def _advance(self, b: Batch) -> None:
        """Move ``b`` along its timeline (each stage lasts its ``batch_timing``, polled or not)."""
        validating, running, finalizing = self.batch_timing
        now = time.time()
        if b.status == "validating" and now - b.since >= validating:
            self._set(b, "failed" if b.invalid else "in_progress", b.since + validating)
        if b.status == "in_progress":
            if b.expire:
                self._finish(b, "expired", int(len(b.lines) * self.partial), "batch_expired")
            elif not self.hold.is_set() and now - b.since >= running:
                self._set(b, "finalizing", b.since + running)
            else:
                b.done = min(len(b.lines), int(len(b.lines) * (now - b.since) / max(running, 1e-9)))
        if b.status == "finalizing" and now - b.since >= finalizing:
            self._finish(b, "completed", len(b.lines), None)
        if b.status == "cancelling":
            self._finish(b, "cancelled", int(len(b.lines) * self.partial), None)

    def _finish(self, b: Batch, status: str, answered: int, unfinished_code: str | None) -> None:
        out, err = [], []
        for k, line in enumerate(b.lines):
            rid = f"batch_req_{b.id}_{k}"
            if k >= answered:
                if unfinished_code:
                    err.append({"id": rid, "custom_id": line["custom_id"], "response": None,
                                "error": {"code": unfinished_code,
                                          "message": "This request could not be executed before the "
                                                     "completion window expired."}})
                continue
            failure = self.batch_failures(line) if self.batch_failures else None
            if failure:
                err.append({"id": rid, "custom_id": line["custom_id"],
                            "response": {"status_code": failure["status_code"], "request_id": rid,
                                         "body": _error(failure["message"], "server_error")},
                            "error": None})
                continue
            prompt = prompt_of(line["body"])
            answer = self.responder(prompt, line["body"])
            out.append({"id": rid, "custom_id": line["custom_id"],
                        "response": {"status_code": 200, "request_id": rid,
                                     "body": _completion(f"chatcmpl-{rid}", line["body"].get("model", ""),
                                                         prompt, answer)},
                        "error": None})
        b.done, b.failed = len(out), len(err)
        for name, rows in (("output", out), ("error", err)):
            if rows:
                fid = f"file-{next(_ids)}"
                self.files[fid] = {"id": fid, "purpose": "batch_output", "filename": f"{b.id}_{name}.jsonl",
                                   "created_at": int(time.time()),
                                   "data": "".join(json.dumps(r) + "\n" for r in rows).encode()}
                if name == "output":
                    b.output_file_id = fid
                else:
                    b.error_file_id = fid
        self._set(b, status)

    def _batch_object(self, b: Batch) -> dict[str, Any]:
        t = {k: int(v) for k, v in b.times.items()}
        errors = None
        if b.status == "failed":
            errors = {"object": "list", "data": [{"code": "invalid_request", "message": b.invalid,
                                                  "param": None, "line": None}]}
        return {
            "id": b.id, "object": "batch", "endpoint": b.endpoint, "errors": errors,
            "input_file_id": b.input_file_id, "completion_window": b.window, "status": b.status,
            "output_file_id": b.output_file_id, "error_file_id": b.error_file_id,
            "created_at": int(b.created_at), "in_progress_at": t.get("in_progress"),
            "expires_at": int(b.created_at) + 86400, "finalizing_at": t.get("finalizing"),
            "completed_at": t.get("completed"), "failed_at": t.get("failed"),
            "expired_at": t.get("expired"), "cancelling_at": t.get("cancelling"),
            "cancelled_at": t.get("cancelled"),
            "request_counts": {"total": len(b.lines), "completed": b.done, "failed": b.failed},
            "metadata": b.metadata,
        }


# -- wire helpers ------------------------------------------------------------------------------------

def _error(message: str, type_: str = "invalid_request_error", code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "code": code}}


_UNAUTHORIZED = _error("Incorrect API key provided", "invalid_request_error", "invalid_api_key")


def _completion(cid: str, model: str, prompt: str, answer: Any) -> dict[str, Any]:
    words = len(str(answer).split())
    return {"id": cid, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": answer}}],
            "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": words,
                      "total_tokens": len(prompt.split()) + words}}


def _file_object(f: dict[str, Any]) -> dict[str, Any]:
    return {"id": f["id"], "object": "file", "bytes": len(f["data"]), "created_at": f["created_at"],
            "filename": f["filename"], "purpose": f["purpose"], "status": "processed"}


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    out = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return bytes(out)
        out += await reader.readexactly(size)
        await reader.readexactly(2)


def _head(status: int, ctype: str, length: int | None, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", f"Content-Type: {ctype}"]
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _send_raw(writer: asyncio.StreamWriter, status: int, data: bytes, ctype: str,
                    headers: dict[str, str] | None = None) -> bool:
    writer.write(_head(status, ctype, len(data), headers) + data)
    await writer.drain()
    return True


async def _send(writer: asyncio.StreamWriter, status: int, payload: Any,
                headers: dict[str, str] | None = None) -> bool:
    return await _send_raw(writer, status, json.dumps(payload).encode(), "application/json", headers)


async def _misbehave(writer: asyncio.StreamWriter, fault: Fault, completion: dict[str, Any]) -> bool:
    mode, p = fault.mode, fault.params
    if mode == "html":
        return await _send_raw(writer, 200, b"<!doctype html><html><body><h1>Welcome to nginx!</h1>"
                                            b"</body></html>", "text/html")
    if mode == "malformed":
        return await _send_raw(writer, 200, json.dumps(completion).encode()[:40], "application/json")
    if mode == "array":
        return await _send(writer, 200, [completion])
    if mode == "content":
        completion["choices"][0]["message"]["content"] = p.get("value")
        return await _send(writer, 200, completion)
    if mode == "no-choices":
        completion["choices"] = []
        return await _send(writer, 200, completion)
    if mode == "null-message":
        completion["choices"][0]["message"] = None
        return await _send(writer, 200, completion)
    if mode == "huge":
        size = int(p.get("size", 50_000_000))
        head, tail = json.dumps(completion).encode().split(b'"content": ', 1)
        tail = tail.split(b"}", 1)[1]
        prefix, suffix = head + b'"content": "', b'"}' + tail
        length = None if p.get("chunked") else len(prefix) + size + len(suffix)
        writer.write(_head(200, "application/json", length))
        block = b"A" * (1 << 20)
        pieces = [prefix] + [block] * (size // len(block)) + [b"A" * (size % len(block)), suffix]
        for piece in pieces:
            if writer.transport.is_closing():
                return False
            writer.write(piece if length is not None else b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
        if length is None:
            writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True
    if mode == "gzip":  # a compressed body that inflates to ``size`` bytes of content
        completion["choices"][0]["message"]["content"] = "A" * int(p.get("size", 50_000_000))
        data = gzip.compress(json.dumps(completion).encode(), compresslevel=9)
        return await _send_raw(writer, 200, data, "application/json", {"Content-Encoding": "gzip"})
    if mode == "trickle":
        data = json.dumps(completion).encode()
        writer.write(_head(200, "application/json", len(data)))
        for i in range(len(data)):
            if writer.transport.is_closing():
                return False
            writer.write(data[i:i + 1])
            await writer.drain()
            await asyncio.sleep(float(p.get("every", 0.5)))
        return True
    raise ValueError(f"unknown misbehave mode {mode!r}")


def main(argv: list[str] | None = None) -> None:
    """Serve in this process (for benchmarks): print the URL, serve until stdin closes."""
    ap = argparse.ArgumentParser(description="fake OpenAI-compatible server")
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--rules", default="{}", help="JSON keyword -> answer")
    ap.add_argument("--default", default="Neutral")
    ap.add_argument("--no-record", action="store_true", help="keep no request bodies (long benchmarks)")
    args = ap.parse_args(argv)
    server = FakeOpenAI(keyword_responder(json.loads(args.rules), args.default), latency=args.latency,
                        record=not args.no_record)
    with server:
        print(server.url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
