"""HTTP shared by the web sources (GitHub, Pipermail, HyperKitty): deadlines, caps, retries, paging.

Every request has a **total deadline** (connect, headers and body together),
not only a per-read timeout: a server that trickles one byte a second never
trips a read timeout, so each socket operation is bounded by what is left of
the request's deadline (a wrapper around httpcore's network backend) and the
body loop checks it again.  Every body is **streamed with a size cap**, so an
endless or huge answer costs at most the cap.  A paging walk goes through a
:class:`PageGuard`, which stops a repeated or runaway ``next`` sequence with a
clear line instead of sending requests forever.

Credentials in a URL (``user:pass@``, ``?token=``) are taken out of it once
(:func:`split_credentials`): they ride on the client (basic auth, default query
parameters) and the URL that is stored, logged or printed is
:func:`emocause.urls.redact_url`'s.

Waits go through an injectable ``sleep`` and ``clock`` so tests can run an
hour-long rate-limit wait in microseconds, and they tick once a second through
an ``on_wait`` callback so the CLI can show a countdown.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import httpx

from emocause import __version__
from emocause.errors import UsageError
from emocause.sources.limits import GITHUB_DEADLINE, GITHUB_TIMEOUT, MB, RETRIES
from emocause.urls import SECRET_PARAMS, redact_url

USER_AGENT = f"emocause/{__version__} (+research scraper)"

#: on_wait(reason, seconds_left): called before each one-second tick of a wait.
WaitHook = Callable[[str, float], None]


@dataclass(frozen=True)
class HttpOptions:
    """How patient a web source is: per-operation timeout, whole-request deadline, retries."""

    timeout: float = GITHUB_TIMEOUT    # seconds for one network operation (connect, one read)
    deadline: float = GITHUB_DEADLINE  # seconds for one whole request, first byte to last
    retries: int = RETRIES             # retries on 5xx, 429, timeouts and dropped connections
    backoff_base: float = 1.0

    def check(self) -> HttpOptions:
        if not self.timeout > 0 or not self.deadline > 0:
            raise UsageError("--timeout and --deadline must be positive numbers of seconds")
        if self.retries < 0:
            raise UsageError("--retries must be 0 or more")
        return self


@dataclass
class HttpStats:
    """Counters for the end-of-run summary."""

    requests: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    secondary_waits: int = 0
    wait_seconds: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "retries": self.retries,
                "rate_limit_waits": self.rate_limit_waits, "secondary_waits": self.secondary_waits,
                "wait_seconds": round(self.wait_seconds, 1), "errors": dict(self.errors)}


class Waiter:
    """Sleeps in one-second ticks, reporting the time left (the visible countdown)."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time, on_wait: WaitHook | None = None) -> None:
        self.sleep, self.clock, self.on_wait = sleep, clock, on_wait

    def wait(self, seconds: float, reason: str) -> float:
        """Wait ``seconds`` (measured on ``clock``); returns the time actually waited."""
        start = self.clock()
        end = start + max(0.0, seconds)
        while True:
            left = end - self.clock()
            if left <= 0:
                break
            if self.on_wait is not None:
                self.on_wait(reason, left)
            self.sleep(min(1.0, left))
        if self.on_wait is not None:
            self.on_wait(reason, 0.0)
        return self.clock() - start


def backoff(attempt: int, rng: random.Random, base: float = 1.0, cap: float = 60.0) -> float:
    """Exponential backoff with jitter: ``d/2 + U(0, d/2)`` with ``d = min(cap, base * 2**attempt)``.

    Half fixed, half random: retries from many clients spread out, yet never
    fire immediately again the way full jitter sometimes does.
    """
    d = min(cap, base * (2 ** attempt))
    return d / 2 + rng.uniform(0, d / 2)


RETRYABLE_STATUS = frozenset({408, 500, 502, 503, 504})


# ----------------------------------------------------------------------------- credentials

@dataclass(frozen=True)
class Target:
    """A user-given URL split into what is sent and what may be shown.

    ``url``: the URL requests go to, without ``user:pass@`` and secret query
    parameters; ``auth`` and ``params`` carry those (on the client, in memory
    only); ``shown``: the URL with credentials redacted, for rows, manifests,
    state files and messages.
    """

    url: str
    shown: str
    auth: tuple[str, str] | None = None
    params: tuple[tuple[str, str], ...] = ()


def split_credentials(url: str) -> Target:
    """Take credentials out of ``url`` (see :class:`Target`)."""
    parts = urlsplit(url)
    auth = None
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, netloc = netloc.rsplit("@", 1)
        user, _, password = userinfo.partition(":")
        auth = (unquote(user), unquote(password))
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    secret = tuple((k, v) for k, v in pairs if SECRET_PARAMS.search(k))
    public = [(k, v) for k, v in pairs if not SECRET_PARAMS.search(k)]
    clean = urlunsplit((parts.scheme, netloc, parts.path, urlencode(public), parts.fragment))
    return Target(clean, redact_url(url), auth, secret)


# ----------------------------------------------------------------------------- deadlines

_DEADLINE: ContextVar[float | None] = ContextVar("emocause_http_deadline", default=None)


class DeadlinePassed(httpx.TimeoutException):
    """The whole request took longer than its deadline."""


def _bounded(timeout: float | None) -> float | None:
    """A socket timeout no longer than what is left of the current request's deadline."""
    import httpcore

    end = _DEADLINE.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream:
    """An httpcore network stream whose every operation respects the request deadline."""

    def __init__(self, stream: Any) -> None:
        self._s = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._s.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._s.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._s.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> _DeadlineStream:
        return _DeadlineStream(self._s.start_tls(ssl_context, server_hostname, _bounded(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._s.get_extra_info(info)


class _DeadlineBackend:
    """Wraps httpcore's sync network backend so connects and reads obey the deadline."""

    def __init__(self, backend: Any) -> None:
        self._b = backend

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Any = None) -> _DeadlineStream:
        return _DeadlineStream(self._b.connect_tcp(host, port, _bounded(timeout), local_address,
                                                   socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> _DeadlineStream:
        return _DeadlineStream(self._b.connect_unix_socket(path, _bounded(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._b.sleep(seconds)


def _bound_transports(client: httpx.Client) -> None:
    """Put the deadline backend under every connection pool of ``client`` (also proxy mounts)."""
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    for t in transports:
        pool = getattr(t, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]


def make_client(options: HttpOptions, *, headers: dict[str, str] | None = None,
                auth: httpx.Auth | tuple[str, str] | None = None,
                params: tuple[tuple[str, str], ...] = (),
                transport: httpx.BaseTransport | None = None,
                follow_redirects: bool = True) -> httpx.Client:
    """An ``httpx.Client`` whose requests obey :func:`fetch`'s deadline down to each socket read."""
    client = httpx.Client(headers={"User-Agent": USER_AGENT, **(headers or {})}, auth=auth,
                          params=list(params) or None, timeout=options.timeout,
                          transport=transport, follow_redirects=follow_redirects)
    _bound_transports(client)
    return client


@contextmanager
def deadline_after(seconds: float) -> Iterator[float]:
    """Within the block, every socket operation of our clients ends by ``seconds`` from now."""
    end = time.monotonic() + seconds
    token = _DEADLINE.set(end)
    try:
        yield end
    finally:
        _DEADLINE.reset(token)


# ----------------------------------------------------------------------------- one request

@dataclass
class Reply:
    """A response read whole under the deadline and the size cap (or streamed into ``sink``)."""

    status_code: int
    headers: httpx.Headers
    url: httpx.URL
    content: bytes
    reason_phrase: str
    size: int
    links: dict[str, dict[str, str]]

    def json(self) -> Any:
        import json

        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode(self._charset() or "utf-8", errors="replace")

    def _charset(self) -> str | None:
        ctype = self.headers.get("content-type", "")
        for part in ctype.split(";")[1:]:
            k, _, v = part.strip().partition("=")
            if k.lower() == "charset" and v:
                return v.strip('"')
        return None


class TooLarge(Exception):
    """A body past its cap (not retried: the same URL would send it again)."""


def fetch(client: httpx.Client, url: str, *, params: dict[str, str] | None = None,
          deadline: float, max_bytes: int, sink: IO[bytes] | None = None) -> Reply:
    """One GET, read to the end within ``deadline`` seconds and ``max_bytes`` bytes.

    Raises ``httpx.TransportError`` (timeouts, the deadline, dropped
    connections: worth retrying) or :class:`TooLarge`.  With ``sink`` the
    body is written there instead of kept in memory.
    """
    with deadline_after(deadline) as end:
        try:
            with client.stream("GET", url, params=params) as resp:
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"the answer is larger than {max_bytes / MB:,.0f} MB")
                    if time.monotonic() > end:
                        raise DeadlinePassed("deadline")
                    if sink is not None:
                        sink.write(chunk)
                    else:
                        chunks.append(chunk)
                return Reply(resp.status_code, resp.headers, resp.url, b"".join(chunks),
                             resp.reason_phrase, size, resp.links)
        except httpx.TimeoutException as exc:
            if time.monotonic() >= end:
                raise DeadlinePassed(f"no complete answer within {deadline:g} s") from exc
            raise


def problem_of(exc: Exception) -> str:
    """A short name for a failed try, for counters and the final line."""
    if isinstance(exc, DeadlinePassed):
        return "deadline passed"
    return type(exc).__name__


def get_with_retries(client: httpx.Client, url: str, *, params: dict[str, str] | None = None,
                     options: HttpOptions, waiter: Waiter, rng: random.Random, stats: HttpStats,
                     what: str, max_bytes: int, sink: IO[bytes] | None = None) -> Reply:
    """GET with bounded retries on 5xx, 429 and transport errors/timeouts (honouring Retry-After).

    Returns any other response as is (the caller decides what a 404 means).
    After ``options.retries`` retries, raises one line that says progress is kept.
    """
    attempt = 0
    shown = redact_url(what)
    while True:
        stats.requests += 1
        if sink is not None:
            sink.seek(0)
            sink.truncate()
        retry_after = None
        try:
            resp = fetch(client, url, params=params, deadline=options.deadline, max_bytes=max_bytes,
                         sink=sink)
        except TooLarge as exc:
            raise UsageError(f"{shown}: {exc}; not read") from None
        except httpx.TransportError as exc:  # timeouts, the deadline, refused/reset connections
            problem = problem_of(exc)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # redirect loops, bad encodings
            raise UsageError(f"{shown}: {type(exc).__name__}: {redact_url(str(exc))}") from None
        else:
            if resp.status_code not in RETRYABLE_STATUS and resp.status_code != 429:
                return resp
            problem = f"HTTP {resp.status_code}"
            retry_after = resp.headers.get("Retry-After")
        retry_pause(problem, attempt, options.retries, what=shown, waiter=waiter, rng=rng,
                    stats=stats, base=options.backoff_base, retry_after=retry_after)
        attempt += 1


def retry_pause(problem: str, attempt: int, max_retries: int, *, what: str, waiter: Waiter,
                rng: random.Random, stats: HttpStats, base: float = 1.0,
                retry_after: str | None = None, where: str = "") -> None:
    """Count a failed try, then give up with one line or wait before retry ``attempt + 1``.

    The one place that decides how long a retry waits (``Retry-After`` when the
    server gives whole seconds, at most ten minutes, else :func:`backoff`), for
    every web source.
    """
    stats.error(problem)
    if attempt >= max_retries:
        at = f" for {where}" if where else ""
        raise UsageError(f"{what}: {problem}{at} after {attempt + 1} tries; what was fetched is "
                         f"saved, rerun the same command to resume")
    ra = (retry_after or "").strip()
    delay = min(600.0, float(ra)) if ra.isdigit() else backoff(attempt, rng, base)
    stats.retries += 1
    stats.wait_seconds += waiter.wait(delay, f"{problem}: retry {attempt + 1}/{max_retries}")


# ----------------------------------------------------------------------------- paging

class PageGuard:
    """Stops a paging walk that repeats itself or runs away.

    A request (URL and query) sent twice in one walk, a page whose items are
    exactly the previous page's again, or :data:`MAX_UNUSABLE` pages in a row
    without one usable item mean the server's ``next`` links (or its ``since``
    filter) go round in circles: one line instead of endless requests.
    """

    MAX_UNUSABLE = 3

    def __init__(self, what: str) -> None:
        self.what = what
        self._sent: set[str] = set()
        self._last: frozenset[Any] | None = None
        self._unusable = 0

    def request(self, url: str, params: dict[str, Any] | None = None) -> None:
        key = str(httpx.URL(url).copy_merge_params(params or {}))
        if key in self._sent:
            raise UsageError(f"{self.what}: the server sent the walk back to a page it already "
                             f"gave ({redact_url(key)}); stopping. What was fetched is saved")
        self._sent.add(key)

    def page(self, ids: list[Any], items: int | None = None) -> None:
        """A page arrived with ``items`` items, of which ``ids`` were usable records."""
        got = frozenset(ids)
        if items and not got:
            self._unusable += 1
            if self._unusable >= self.MAX_UNUSABLE:
                raise UsageError(f"{self.what}: {self._unusable} pages in a row without one usable "
                                 f"item; stopping. What was fetched is saved")
            return
        self._unusable = 0
        if got and got == self._last:
            raise UsageError(f"{self.what}: the server answered the next page with the same "
                             f"{len(got)} items again (a runaway 'next' link); stopping. What was "
                             f"fetched is saved")
        self._last = got
