"""Backend ``openai``: OpenAI and any OpenAI-compatible server (vLLM, Ollama, llama.cpp).

Requests go out through ``aiohttp`` on one asyncio event loop in a background thread, keeping
``concurrency`` requests in flight; each answer is handed to the caller's ``on_result`` (which
commits it to the cache) as it arrives.  aiohttp was measured against the ``openai`` package's
own async client and httpx: 0.14 ms of client CPU per request against 1.1 to 2.4 ms
(docs/benchmarks.md), which is what lets one process keep hundreds of requests in flight.

* **Retries** follow the ``openai`` package's rules: 408, 409, 429, 5xx, connection errors and
  timeouts are retried with exponential backoff (0.5 s doubling to 8 s, 0-25% jitter), honouring
  ``Retry-After``/``retry-after-ms`` up to 120 s and ``x-should-retry``.  A 200 answer that is not
  a usable completion (not JSON, an HTML page, no choices, a null message, empty or non-text
  content, over the size cap) is a failure too: retried, and never cached.
* **Deadlines**: ``timeout`` bounds each attempt from connecting to the last byte, so a server
  that trickles its body cannot hold a request longer.  Answers are capped at
  :data:`MAX_ANSWER_BYTES` of body and :func:`max_answer_chars` of text.
* **Several endpoints** (``base_url`` a list: replicas of one model): each request goes to the
  endpoint with the fewest requests outstanding; an endpoint that fails to connect or time out
  :data:`TRIP_AFTER` times in a row leaves the rotation for a cool-down that doubles up to 60 s,
  and once every endpoint has failed for ``unreachable_after`` seconds the remaining requests
  fail at once (a rerun retries them) instead of waiting out their retries one by one.
* **Cache identity**: answers are cached per endpoint (``scheme://host:port/path``, never
  credentials), so ``gpt-4`` on a local server and on api.openai.com never share entries.  With
  several endpoints a cached answer from any of them is reused; ``endpoint_group`` names a
  group whose members share entries whatever URLs they have (docs/scale.md).
* **Batch API** (``batch=True``): see :mod:`emocause.backends.openai_batch`.

An authentication failure (401/403) or an unknown model (404) raises
:class:`FatalBackendError` at once: every other request would fail the same way.  The API key
is read from ``OPENAI_API_KEY`` and never stored, logged or written; URLs are shown only through
:func:`emocause.urls.redact_url`.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import email.utils
import json
import math
import os
import random
import threading
import time
import urllib.request
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from emocause.backends.base import Backend, OnResult, Request, Response
from emocause.errors import FatalBackendError, UsageError
from emocause.urls import check_http_url, redact_text, redact_url

DEFAULT_MODEL = "gpt-4"
DEFAULT_URL = "https://api.openai.com/v1"
RETRYABLE = {408, 409, 429}
#: Largest answer body read (bytes): a completion of a few thousand tokens is far below it.
MAX_ANSWER_BYTES = 1 << 20
#: Longest Retry-After honoured (seconds); a longer one is not waited for (as in ``openai``).
MAX_RETRY_AFTER = 120.0
#: Consecutive connection failures or timeouts that take an endpoint out of rotation.
TRIP_AFTER = 3


def max_answer_chars(max_tokens: int) -> int:
    """Longest answer text accepted for ``max_tokens`` (no tokenizer makes 64-character tokens)."""
    return 1024 + 64 * max(0, int(max_tokens))


def endpoint_identity(url: str) -> str:
    """``scheme://host:port/path`` of ``url``: lower-case, default port filled in, no credentials,
    query or trailing slash.  Part of every cache key."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}{parts.path.rstrip('/')}"


@dataclass
class Endpoint:
    """One server and its health as this run sees it."""

    url: str  # as given; may carry credentials, so never shown
    identity: str
    shown: str  # redacted, for messages and manifests
    outstanding: int = 0
    streak: int = 0  # consecutive connection failures / timeouts
    failing_since: float | None = None
    down_until: float = 0.0
    sent: int = 0
    failures: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    chat: str = ""
    proxy: str | None = None

    def __post_init__(self) -> None:
        self.chat = self.chat_url
        # $HTTPS_PROXY / $HTTP_PROXY / $NO_PROXY, as the openai package honours them (looked up
        # once here, not per request)
        host = urlsplit(self.url).hostname or ""
        proxies = urllib.request.getproxies()
        if not urllib.request.proxy_bypass(host):
            self.proxy = proxies.get(urlsplit(self.url).scheme.lower())

    @property
    def chat_url(self) -> str:
        """``.../chat/completions`` under the base path (query kept, credentials removed)."""
        p = urlsplit(self.url)
        netloc = p.netloc.rsplit("@", 1)[-1]
        return urlunsplit((p.scheme, netloc, p.path.rstrip("/") + "/chat/completions", p.query, ""))

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        """``user:password`` given in the URL (sent as HTTP basic auth instead of the API key)."""
        p = urlsplit(self.url)
        if p.username is None:
            return None
        return unquote(p.username), unquote(p.password or "")


class Endpoints:
    """Load balancing and circuit breaking over the endpoints of one backend (event-loop only)."""

    def __init__(self, endpoints: list[Endpoint], unreachable_after: float) -> None:
        self.items = endpoints
        self.unreachable_after = unreachable_after
        self._turn = 0

    def pick(self, avoid: Endpoint | None = None) -> Endpoint | None:
        """The up endpoint with the fewest requests in flight (``None``: all are unreachable)."""
        now = time.monotonic()
        if all(e.failing_since is not None and now - e.failing_since >= self.unreachable_after
               for e in self.items):
            return None
        # a tripped endpoint whose cool-down is over takes one probe request at a time
        ready = [e for e in self.items
                 if e.down_until <= now and (e.streak < TRIP_AFTER or e.outstanding == 0)]
        up = [e for e in ready if e is not avoid] or ready or [min(self.items, key=lambda e: e.down_until)]
        self._turn = (self._turn + 1) % len(self.items)
        n = len(up)
        return min((up[(self._turn + k) % n] for k in range(n)), key=lambda e: e.outstanding)

    def ok(self, e: Endpoint) -> None:
        e.streak, e.failing_since, e.down_until = 0, None, 0.0

    def reset(self) -> None:
        """Forget past failures (a new call may find the servers back)."""
        for e in self.items:
            self.ok(e)

    def failed(self, e: Endpoint) -> None:
        now = time.monotonic()
        e.failures += 1
        e.streak += 1
        if e.failing_since is None:
            e.failing_since = now
        if e.streak >= TRIP_AFTER:
            e.down_until = now + min(60.0, 2.0 * 2 ** (e.streak - TRIP_AFTER))

    def unreachable(self) -> str:
        return "; ".join(f"{e.shown} failing for {time.monotonic() - (e.failing_since or 0):.0f} s"
                         for e in self.items)


class RetryableError(Exception):
    """This attempt failed in a way worth retrying (an error status, no answer, a bad answer)."""

    def __init__(self, message: str, after: float | None = None, broken: bool = False) -> None:
        super().__init__(message)
        self.after = after  # the server's Retry-After, seconds
        self.broken = broken  # the endpoint did not answer at all (counts against its health)


class _Fail(Exception):
    """This request failed for good (a 4xx other than the retryable ones)."""


def _one_line(text: Any, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


def api_message(body: bytes) -> str:
    """The server's own error message (the JSON body's ``error.message``), on one line."""
    try:
        data = json.loads(body)
    except ValueError:
        return _one_line(body.decode("utf-8", "replace"), 200) or "no message"
    msg = data.get("message") if isinstance(data, dict) else None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        msg = data["error"].get("message", msg)
    elif isinstance(data, dict) and isinstance(data.get("error"), str):
        msg = data["error"]
    return _one_line(msg or "no message")


def retry_after(headers: Any) -> float | None:
    """Seconds the server asked to wait (``retry-after-ms``, ``Retry-After`` seconds or date)."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / scale
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value) if name == "retry-after" else None
            except (TypeError, ValueError):
                when = None
            if when is None:
                continue
            seconds = when.timestamp() - time.time()
        return seconds if math.isfinite(seconds) else MAX_RETRY_AFTER + 1
    return None


def parse_completion(data: Any, max_tokens: int) -> tuple[str, dict[str, int]]:
    """Text and token usage of a chat completion, or :class:`RetryableError` saying why it is unusable."""
    if not isinstance(data, dict):
        raise RetryableError(f"bad answer: a JSON {type(data).__name__}, not a completion object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise RetryableError("empty answer: no choices")
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        raise RetryableError("empty answer: no message")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise RetryableError(f"bad answer: content is a {type(content).__name__}, not text")
    if not content or not content.strip():
        reason = choice.get("finish_reason")
        raise RetryableError("empty answer" + (f" (finish_reason {_one_line(reason, 40)})" if reason else ""))
    if len(content) > max_answer_chars(max_tokens):
        raise RetryableError(f"answer too large: {len(content):,} characters for max_tokens={max_tokens}")
    usage: dict[str, int] = {}
    raw = data.get("usage")
    if isinstance(raw, dict):
        for k in ("prompt_tokens", "completion_tokens"):
            v = raw.get(k)
            usage[k] = v if isinstance(v, int) and v >= 0 else 0
    return content, usage


class _Loop:
    """One asyncio event loop in a daemon thread, for the backend's lifetime."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                       name="emocause-openai")
        self.thread.start()

    def submit(self, coro: Any) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.loop.is_running():
            self.loop.close()


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, model: str | None = None, base_url: str | Sequence[str] | None = None,
                 concurrency: int = 8, temperature: float = 0.0, max_retries: int = 6,
                 timeout: float = 60.0, api_key: str | None = None, batch: bool = False,
                 endpoint_group: str | None = None, unreachable_after: float = 120.0,
                 poll_interval: float = 60.0, **_: Any) -> None:
        super().__init__(model or DEFAULT_MODEL)
        urls = [base_url] if isinstance(base_url, str) else list(base_url or [])
        urls = [u for u in urls if u and str(u).strip()] or \
            ([os.environ["OPENAI_BASE_URL"]] if os.environ.get("OPENAI_BASE_URL") else [])
        self.base_urls = [check_http_url(u, "--base-url", "http://127.0.0.1:8000/v1") for u in urls]
        self.base_url = self.base_urls[0] if self.base_urls else None
        self.endpoints = Endpoints(
            [Endpoint(u, endpoint_identity(u), redact_url(u)) for u in (self.base_urls or [DEFAULT_URL])],
            unreachable_after)
        if len({e.identity for e in self.endpoints.items}) != len(self.endpoints.items):
            raise UsageError("--base-url: the same endpoint is given twice")
        self.endpoint_group = (endpoint_group or "").strip() or None
        self.concurrency = max(1, int(concurrency))
        self.temperature = float(temperature)
        self.max_retries = max(0, int(max_retries))
        self.timeout = float(timeout)
        self.batch = bool(batch)
        self.poll_interval = float(poll_interval)
        self._key = api_key
        self._loop: _Loop | None = None
        self._session: Any = None
        self._headers: dict[str, str] = {}
        self._random = random.Random()
        self.state: Any = None
        self.progress: Any = None

    # -- identity ----------------------------------------------------------------------------------

    def params(self) -> dict[str, Any]:
        return {"temperature": self.temperature}

    def cache_scopes(self) -> tuple[str, ...]:
        if self.endpoint_group:
            return (f"group:{self.endpoint_group}",)
        return tuple(e.identity for e in self.endpoints.items)

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        first = self.endpoints.items[0]
        d["base_url_host"] = urlsplit(first.shown).netloc
        d["endpoints"] = [e.shown for e in self.endpoints.items]
        d["cache_scopes"] = list(self.cache_scopes())
        d["concurrency"] = self.concurrency
        d["max_retries"] = self.max_retries
        d["timeout_s"] = self.timeout
        d["batch"] = self.batch
        return d

    def bind_run(self, state: Any = None, progress: Any = None) -> None:
        self.state, self.progress = state, progress

    def api_key(self) -> str:
        """The key to send (checked before any request; local servers need none)."""
        if self._key is None:
            key = os.environ.get("OPENAI_API_KEY")
            if not key:
                if self.base_url is None:
                    raise UsageError("OPENAI_API_KEY is not set; export it, or pass --base-url for "
                                     "a local OpenAI-compatible server that needs no key")
                key = "not-needed"  # local servers accept any key
            self._key = key
        return self._key

    def redact(self, message: str) -> str:
        """``message`` without the API key or URL credentials."""
        if self._key and len(self._key) > 3:
            message = message.replace(self._key, "***")
        return redact_text(message)

    def body(self, req: Request) -> dict[str, Any]:
        """The chat completion request for ``req`` (the same in direct and batch mode)."""
        return {"model": self.model, "messages": [{"role": "user", "content": req.prompt}],
                "temperature": self.temperature, "max_tokens": req.max_tokens}

    @property
    def submits_ahead(self) -> bool:  # type: ignore[override]
        """With ``batch``, a streamed run submits every chunk's batch before awaiting any."""
        return self.batch

    def submit(self, requests: Sequence[Request]) -> None:
        """Batch mode: submit ``requests`` (those not already in a live batch) and return at once."""
        if self.batch and requests:
            from emocause.backends.openai_batch import run_batch

            self.api_key()
            run_batch(self, requests, None)

    # -- direct requests ---------------------------------------------------------------------------

    def generate(self, requests: Sequence[Request], on_result: OnResult) -> None:
        """Keep ``concurrency`` requests in flight; report each answer as it completes."""
        if not requests:
            return
        self.api_key()  # a missing key is reported before anything starts
        if self.batch:
            from emocause.backends.openai_batch import run_batch

            run_batch(self, requests, on_result)
            return
        self.run_direct(requests, on_result)

    def run_direct(self, requests: Sequence[Request], on_result: OnResult) -> None:
        """Run the requests on the event loop; call ``on_result`` here, in the caller's thread.

        Answers cross threads through a deque and one event that is set only when it was clear,
        so under load one wake-up hands over many answers; the cache commits here run in
        parallel with the network work on the loop (SQLite releases the GIL).
        """
        if self._loop is None:
            self._loop = _Loop()
        self.endpoints.reset()
        inbox: collections.deque[Any] = collections.deque()
        ready = threading.Event()
        fut = self._loop.submit(self._run_all(requests, inbox, ready))
        done = 0
        try:
            while done < len(requests):
                if not ready.wait(0.25):  # short waits, so Ctrl-C reaches this thread
                    if fut.done() and fut.exception() is not None:
                        raise fut.exception()  # type: ignore[misc]
                    continue
                ready.clear()
                while inbox:
                    item = inbox.popleft()
                    if isinstance(item, BaseException):
                        raise item
                    on_result(*item)
                    done += 1
        finally:
            if not fut.done():
                fut.cancel()
                try:
                    fut.result(timeout=10)
                except BaseException:  # noqa: BLE001 - the cancellation itself
                    pass

    async def _session_for_loop(self) -> Any:
        if self._session is None:
            import aiohttp

            connector = aiohttp.TCPConnector(limit=self.concurrency, limit_per_host=self.concurrency,
                                             enable_cleanup_closed=True)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True,
                                                  timeout=aiohttp.ClientTimeout(total=None))
            self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
            for e in self.endpoints.items:
                user = e.basic_auth
                basic = base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode() if user else ""
                e.headers = {**self._headers, "Authorization": f"Basic {basic}" if user
                             else f"Bearer {self.api_key()}"}
        return self._session

    async def _run_all(self, requests: Sequence[Request], inbox: collections.deque[Any],
                       ready: threading.Event) -> None:
        session = await self._session_for_loop()
        window = asyncio.Semaphore(self.concurrency)
        tasks: set[asyncio.Task[None]] = set()
        idle = asyncio.Event()
        stop = False

        def deliver(item: Any) -> None:
            inbox.append(item)
            if not ready.is_set():
                ready.set()

        async def one(i: int, req: Request) -> None:
            nonlocal stop
            try:
                deliver((i, await self._request(session, req)))
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # noqa: BLE001 - FatalBackendError, or a bug: the caller raises it
                stop = True
                deliver(exc)
            finally:
                window.release()

        def finished(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            if not tasks:
                idle.set()

        try:
            for i, req in enumerate(requests):
                await window.acquire()
                if stop:
                    break
                task = asyncio.create_task(one(i, req))
                tasks.add(task)
                task.add_done_callback(finished)
            if tasks:
                await idle.wait()
        finally:
            for task in list(tasks):
                task.cancel()

    def _backoff(self, attempt: int, after: float | None) -> float:
        if after is not None and 0 < after <= MAX_RETRY_AFTER:
            return after
        return min(0.5 * 2 ** (attempt - 1), 8.0) * (1 - 0.25 * self._random.random())

    async def _request(self, session: Any, req: Request) -> Response:
        payload = json.dumps(self.body(req)).encode()
        t0 = time.perf_counter()
        attempt = 0
        last: Endpoint | None = None
        while True:
            ep = self.endpoints.pick(avoid=last)
            if ep is None:
                return Response(None, error=f"connection error: every endpoint unreachable "
                                f"({self.endpoints.unreachable()})", seconds=time.perf_counter() - t0)
            last = ep
            ep.outstanding += 1
            ep.sent += 1
            try:
                text, usage = await self._attempt(session, ep, payload, req.max_tokens)
                self.endpoints.ok(ep)
                scope = f"group:{self.endpoint_group}" if self.endpoint_group else ep.identity
                return Response(text, usage=usage, seconds=time.perf_counter() - t0, endpoint=scope)
            except _Fail as exc:
                self.endpoints.ok(ep)
                return Response(None, error=self.redact(str(exc)), seconds=time.perf_counter() - t0)
            except RetryableError as exc:
                (self.endpoints.failed if exc.broken else self.endpoints.ok)(ep)
                error, after = self.redact(str(exc)), exc.after
            finally:
                ep.outstanding -= 1
            if attempt >= self.max_retries or (after is not None and after > MAX_RETRY_AFTER):
                return Response(None, error=error, seconds=time.perf_counter() - t0)
            attempt += 1
            self.stats["retried"] = self.stats.get("retried", 0) + 1
            await asyncio.sleep(self._backoff(attempt, after))

    async def _attempt(self, session: Any, ep: Endpoint, payload: bytes,
                       max_tokens: int) -> tuple[str, dict[str, int]]:
        import aiohttp

        try:
            async with asyncio.timeout(self.timeout):
                async with session.post(ep.chat, data=payload, headers=ep.headers, proxy=ep.proxy,
                                        allow_redirects=False) as r:
                    status = r.status
                    declared = r.content_length
                    if declared is not None and declared > MAX_ANSWER_BYTES:
                        raise RetryableError(f"answer too large: {declared:,} bytes (cap {MAX_ANSWER_BYTES:,})")
                    headers = r.headers
                    if declared is not None and "Content-Encoding" not in headers:
                        body = await r.read()  # exactly the declared bytes, already under the cap
                    else:  # chunked or compressed: count the bytes as they come
                        body = await _read_capped(r.content, MAX_ANSWER_BYTES)
        except TimeoutError:
            raise RetryableError(f"timeout: no complete answer within {self.timeout:g} s", broken=True) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise RetryableError(f"connection error: {_one_line(exc, 200) or type(exc).__name__}",
                         broken=True) from None
        if status in (401, 403):
            raise FatalBackendError(
                f"the server at {ep.shown} refused the API key (HTTP {status}); check OPENAI_API_KEY")
        if status == 404:
            raise FatalBackendError(
                f"model {self.model!r} not found at {ep.shown} (HTTP 404); check --model and --base-url")
        if status != 200:
            message = f"HTTP {status}: {api_message(body)}"
            should = headers.get("x-should-retry")
            if should == "false" or (should != "true" and status not in RETRYABLE and status < 500):
                raise _Fail(message)
            raise RetryableError(message, after=retry_after(headers), broken=status in (502, 503, 504))
        try:
            data = json.loads(body)
        except ValueError:
            ctype = headers.get("Content-Type", "").split(";")[0].strip()
            raise RetryableError(f"bad answer: not JSON ({_one_line(ctype, 60) or 'no content type'}, "
                         f"{len(body):,} bytes)") from None
        return parse_completion(data, max_tokens)

    def close(self) -> None:
        if self._loop is None:
            return
        if self._session is not None:
            try:
                self._loop.submit(self._session.close()).result(timeout=10)
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
            self._session = None
        self._loop.close()
        self._loop = None


async def _read_capped(stream: Any, cap: int) -> bytes:
    """The whole body, or :class:`RetryableError` as soon as it passes ``cap`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await stream.read(1 << 16)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > cap:
            raise RetryableError(f"answer too large: over {cap:,} bytes")
        chunks.append(chunk)
