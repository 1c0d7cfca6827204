"""Retry and waiting shared by the web sources (GitHub, Pipermail, HyperKitty).

Waits go through an injectable ``sleep`` and ``clock`` so tests can run an
hour-long rate-limit wait in microseconds, and they tick once a second through
an ``on_wait`` callback so the CLI can show a countdown.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from emocause import __version__
from emocause.errors import UsageError

USER_AGENT = f"emocause/{__version__} (+research scraper)"

#: on_wait(reason, seconds_left): called before each one-second tick of a wait.
WaitHook = Callable[[str, float], None]


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


def get_with_retries(client: httpx.Client, url: str, *, params: dict | None = None,
                     max_retries: int, waiter: Waiter, rng: random.Random, stats: HttpStats,
                     what: str) -> httpx.Response:
    """GET with bounded retries on 5xx, 429 and transport errors/timeouts (honouring Retry-After).

    Returns any other response as is (the caller decides what a 404 means).
    After ``max_retries`` retries, raises one line that says progress is kept.
    """
    attempt = 0
    while True:
        stats.requests += 1
        try:
            resp = client.get(url, params=params)
        except httpx.TransportError as exc:  # timeouts, refused/reset connections
            problem = type(exc).__name__
            resp = None
        else:
            if resp.status_code not in RETRYABLE_STATUS and resp.status_code != 429:
                return resp
            problem = f"HTTP {resp.status_code}"
        retry_after = resp.headers.get("Retry-After") if resp is not None else None
        retry_pause(problem, attempt, max_retries, what=what, waiter=waiter, rng=rng, stats=stats,
                    retry_after=retry_after)
        attempt += 1


def retry_pause(problem: str, attempt: int, max_retries: int, *, what: str, waiter: Waiter,
                rng: random.Random, stats: HttpStats, base: float = 1.0,
                retry_after: str | None = None, where: str = "") -> None:
    """Count a failed try, then give up with one line or wait before retry ``attempt + 1``.

    The one place that decides how long a retry waits (``Retry-After`` when the
    server gives whole seconds, else :func:`backoff`), for every web source.
    """
    stats.error(problem)
    if attempt >= max_retries:
        at = f" for {where}" if where else ""
        raise UsageError(f"{what}: {problem}{at} after {attempt + 1} tries; what was fetched is "
                         f"saved, rerun the same command to resume")
    ra = (retry_after or "").strip()
    delay = float(ra) if ra.isdigit() else backoff(attempt, rng, base)
    stats.retries += 1
    stats.wait_seconds += waiter.wait(delay, f"{problem}: retry {attempt + 1}/{max_retries}")
