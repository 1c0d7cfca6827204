"""GitHub issues, pull requests and their comments through the REST API, resumably.

Request economy: the repository-level list endpoints return every issue,
every issue comment and every review comment of a repository, 100 per page,
filtered server-side with ``since`` (items *updated* at or after it).  A year
of a large project therefore costs about one request per 100 comments, against
one (or more) per issue for the per-issue endpoints.  Only reviews need a
request per pull request, so they are fetched only when asked for.

Two walks, chosen by the window (``--since``/``--until`` select on *created*
time):

* **A window that ends now** (no ``--until``, or one in the future) walks in
  ascending ``updated_at``.  GitHub paginates by page number, so an item
  updated *during* the walk moves to the end and shifts every later item back
  by one: following ``page=2, 3, ...`` blindly would skip one item per move.
  Instead each next request restarts the query at ``since = (highest
  updated_at committed) - 1 s``; the items of that last second come twice and
  are deduplicated by the store.  Only when a whole page shares one second
  (bulk edits) would a restart make no progress; then the ``Link: rel="next"``
  URL is followed.  The same rule resumes an interrupted run and makes a rerun
  incremental.
* **A past window** walks in ascending ``created_at`` (``sort=created``, still
  ``since`` = ``--since``) and stops at the first page created past
  ``--until``.  An update-ordered walk cannot stop early there: comments
  created in the window but edited after it sort behind the window's end.  New
  items are created *after* the window, so they never shift its pages.  A rerun
  asks only for what was updated since the previous walk began (the server's
  ``Date``, less a margin).

Rate limits: a primary limit (403/429 with ``X-RateLimit-Remaining: 0``) waits
until ``X-RateLimit-Reset``; when a response says the quota is spent, the
client waits *before* sending the request that would fail.  A secondary limit
honours ``Retry-After`` (or waits at least a minute, as GitHub asks).  5xx,
timeouts and the whole-request deadline are retried with exponential backoff
and jitter, a bounded number of times.  401 and 404 stop with one line, except
a 404 for one pull request's reviews, which is counted and skipped.  Items that
are not well-formed (not an object, no id, a timestamp that is not one) are
skipped and counted by reason.

The token is sent only as an ``Authorization: Bearer`` header to the API host
(never to another host named in a ``Link`` header); it is never logged,
stored, or put in an error message.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from emocause.errors import UsageError
from emocause.sources import records as R
from emocause.sources.http import (RETRYABLE_STATUS, HttpOptions, HttpStats, PageGuard,
                                   Reply, TooLarge, Waiter, WaitHook, backoff, fetch, make_client,
                                   problem_of, retry_pause, split_credentials)
from emocause.sources.limits import MB
from emocause.sources.session import Batch, Progress, Source
from emocause.sources.store import RecordStore
from emocause.urls import check_http_url, redact_url

API_URL = "https://api.github.com"
PER_PAGE = 100
#: --include values, and the default (reviews cost one request per pull request).
INCLUDE_ALL = ("issues", "issue-comments", "review-comments", "reviews")
INCLUDE_DEFAULT = ("issues", "issue-comments", "review-comments")
#: A page of 100 items is well under 1 MB; anything past this is not a GitHub page.
MAX_PAGE_BYTES = 64 * MB
#: A rerun of a past window asks for what changed since the last walk began, less this margin
#: (seconds) for clock differences between GitHub's servers.
RESYNC_MARGIN = 300


# ----------------------------------------------------------------------------- client

class _BearerAuth(httpx.Auth):
    """Adds the token per request, so it lives in one private attribute and nowhere else."""

    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request):
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "_BearerAuth(***)"


@dataclass
class Page:
    """One page of a list endpoint."""

    items: list[Any]
    next_url: str | None
    last_page: int | None
    date: str = ""  # the server's Date header, canonical ('' when absent)


def _page_number(url: str | None) -> int | None:
    if not url:
        return None
    try:
        value = httpx.URL(url).params.get("page")
    except httpx.InvalidURL:
        return None
    return int(value) if value and value.isdigit() else None


def _message(resp: Reply) -> str:
    try:
        data = resp.json()
        msg = data.get("message", "") if isinstance(data, dict) else ""
    except (ValueError, UnicodeDecodeError):
        msg = ""
    return " ".join(str(msg).split())[:200] or resp.reason_phrase


def _server_date(resp: Reply) -> str:
    try:
        return R.iso_utc(parsedate_to_datetime(resp.headers.get("Date", "")))
    except (TypeError, ValueError, IndexError, OverflowError):
        return ""


class GitHubClient:
    """GET pages from the GitHub REST API with rate-limit waits, deadlines and bounded retries.

    ``sleep`` and ``clock`` are injectable so tests control time; ``on_wait``
    receives ``(reason, seconds_left)`` once a second during any wait.
    Credentials in ``api_url`` (``user:pass@``, ``?access_token=``) are used but
    never shown: :attr:`shown_url` is the URL for messages and manifests.
    """

    def __init__(self, api_url: str = API_URL, token: str | None = None, *,
                 token_name: str = "GITHUB_TOKEN", options: HttpOptions | None = None,
                 max_retries: int | None = None, timeout: float | None = None,
                 deadline: float | None = None, backoff_base: float | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 on_wait: WaitHook | None = None, seed: int = 0,
                 transport: httpx.BaseTransport | None = None) -> None:
        base = options or HttpOptions()
        self.options = HttpOptions(
            timeout=base.timeout if timeout is None else timeout,
            deadline=base.deadline if deadline is None else deadline,
            retries=base.retries if max_retries is None else max_retries,
            backoff_base=base.backoff_base if backoff_base is None else backoff_base).check()
        check_http_url(api_url, "--api-url", API_URL)
        target = split_credentials(api_url.strip())
        self.api_url = target.url.rstrip("/")
        self.shown_url = target.shown.rstrip("/")
        origin = httpx.URL(self.api_url)
        self._origin = (origin.scheme, origin.host, origin.port)
        self.authenticated = bool(token) or target.auth is not None
        self.token_name = token_name
        self.max_retries = self.options.retries
        self.stats = HttpStats()
        self.clock = clock
        self.waiter = Waiter(sleep, clock, on_wait)
        self._rng = random.Random(seed)
        self._remaining: int | None = None
        self._reset: float | None = None
        auth: Any = _BearerAuth(token) if token else target.auth
        self._http = make_client(self.options, auth=auth, params=target.params,
                                 transport=transport,
                                 headers={"Accept": "application/vnd.github+json",
                                          "X-GitHub-Api-Version": "2022-11-28"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url_for(self, path_or_url: str) -> str:
        """The absolute URL for an API path or a next URL (checked to be on the API's origin)."""
        url = path_or_url if "://" in path_or_url else self.api_url + path_or_url
        try:
            u = httpx.URL(url)
        except httpx.InvalidURL:
            raise UsageError(f"GitHub API: the server sent an unusable link "
                             f"({redact_url(url)[:200]})") from None
        if (u.scheme, u.host, u.port) != self._origin:
            raise UsageError(f"GitHub API: refusing to follow a link to another host ({u.host})")
        return url

    # -- one page --------------------------------------------------------------------------------

    def get_page(self, path_or_url: str, params: dict[str, Any] | None = None, *,
                 missing_ok: bool = False) -> Page | None:
        """GET a list page: ``path_or_url`` is an API path (``/repos/o/r/issues``) or a next URL.

        With ``missing_ok`` a 404 or 410 returns ``None`` (one item gone) instead of stopping.
        """
        url = self.url_for(path_or_url)
        where = httpx.URL(url).path
        attempt = 0
        while True:
            self._wait_if_exhausted()
            self.stats.requests += 1
            try:
                resp = fetch(self._http, url, params=params, deadline=self.options.deadline,
                             max_bytes=MAX_PAGE_BYTES)
            except httpx.TransportError as exc:
                problem = problem_of(exc)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise UsageError(f"GitHub API: {type(exc).__name__} for {where}") from None
            except TooLarge as exc:
                raise UsageError(f"GitHub API: {where}: {exc}") from None
            else:
                self._note_limits(resp)
                status = resp.status_code
                if status == 200:
                    try:
                        data = resp.json()
                    except (ValueError, UnicodeDecodeError):
                        data, problem = None, "invalid JSON"
                    else:
                        if not isinstance(data, list):
                            raise UsageError(f"GitHub API: {where} returned "
                                             f"{type(data).__name__}, expected a list")
                        nxt = resp.links.get("next", {}).get("url")
                        return Page(data, nxt, _page_number(resp.links.get("last", {}).get("url")),
                                    _server_date(resp))
                elif status in (403, 429) and resp.headers.get("X-RateLimit-Remaining") == "0":
                    self._primary_wait(resp)
                    continue
                elif status in (403, 429) and (status == 429 or "Retry-After" in resp.headers or
                                               "rate limit" in _message(resp).lower() or
                                               "abuse" in _message(resp).lower()):
                    self._secondary_wait(resp, attempt, where)
                    attempt += 1
                    continue
                elif status == 401:
                    if self.authenticated:
                        raise UsageError(f"GitHub API: 401 {_message(resp)}: the token in "
                                         f"${self.token_name} was rejected (expired, revoked or "
                                         f"mistyped?)")
                    raise UsageError(f"GitHub API: 401 {_message(resp)}: this server needs a token; "
                                     f"set ${self.token_name}")
                elif status in (404, 410) and missing_ok:
                    return None
                elif status == 404:
                    hint = "" if self.authenticated else f" (or private: set ${self.token_name})"
                    raise UsageError(f"GitHub API: 404 Not Found for {where}: check OWNER/REPO and "
                                     f"--api-url{hint}")
                elif status in RETRYABLE_STATUS:
                    problem = f"HTTP {status}"
                else:
                    raise UsageError(f"GitHub API: {status} {_message(resp)} for {where}")
            retry_pause(problem, attempt, self.max_retries, what="GitHub API", where=where,
                        waiter=self.waiter, rng=self._rng, stats=self.stats,
                        base=self.options.backoff_base)
            attempt += 1

    # -- rate limits -----------------------------------------------------------------------------

    def _note_limits(self, resp: Reply) -> None:
        rem, reset = resp.headers.get("X-RateLimit-Remaining"), resp.headers.get("X-RateLimit-Reset")
        self._remaining = int(rem) if rem and rem.isdigit() else None
        self._reset = float(reset) if reset and reset.isdigit() else None

    def _reset_wait(self) -> tuple[float, str]:
        if self._reset is None:
            return 60.0, "rate limit (no reset time given)"
        try:
            at = time.strftime("%H:%M:%S UTC", time.gmtime(self._reset))
        except (OverflowError, OSError, ValueError):
            at = "an unreadable time"
        # +1 s: the reset is whole seconds and clocks differ a little.  A reset more than an hour
        # and a bit away is not GitHub's: wait an hour at most, then ask again.
        return min(3700.0, max(1.0, self._reset - self.clock() + 1.0)), \
            f"rate limit: waiting for reset at {at}"

    def _wait_if_exhausted(self) -> None:
        """The last response said the quota is spent: wait now instead of spending a request."""
        if self._remaining == 0 and self._reset is not None and self._reset > self.clock():
            seconds, reason = self._reset_wait()
            self.stats.rate_limit_waits += 1
            self.stats.wait_seconds += self.waiter.wait(seconds, reason)
        if self._remaining == 0:
            self._remaining = None

    def _primary_wait(self, resp: Reply) -> None:
        seconds, reason = self._reset_wait()
        self.stats.rate_limit_waits += 1
        self.stats.wait_seconds += self.waiter.wait(seconds, reason)
        self._remaining = None

    def _secondary_wait(self, resp: Reply, attempt: int, where: str) -> None:
        if attempt >= self.max_retries:
            raise UsageError(f"GitHub API: secondary rate limit for {where} after {attempt + 1} "
                             f"tries; everything fetched so far is saved, rerun later to resume")
        ra = resp.headers.get("Retry-After", "").strip()
        # Without Retry-After GitHub asks for at least a minute, then exponentially longer.
        seconds = (min(3600.0, float(ra)) if ra.isdigit()
                   else max(60.0, backoff(attempt, self._rng, 60.0, 900.0)))
        self.stats.secondary_waits += 1
        self.stats.wait_seconds += self.waiter.wait(
            seconds, f"secondary rate limit: waiting {seconds:.0f} s")


# ----------------------------------------------------------------------------- cursors

@dataclass
class Endpoint:
    name: str  # the --include name and the cursor name
    path: str
    params: dict[str, str]
    build: Callable[..., dict[str, Any]]


def endpoints(repo: str, per_page: int = PER_PAGE) -> list[Endpoint]:
    page = {"direction": "asc", "per_page": str(per_page)}
    return [
        Endpoint("issues", f"/repos/{repo}/issues", {"state": "all", **page}, R.from_issue),
        Endpoint("issue-comments", f"/repos/{repo}/issues/comments", page, R.from_issue_comment),
        Endpoint("review-comments", f"/repos/{repo}/pulls/comments", page, R.from_review_comment),
    ]


def walk_mode(window: R.Window, now: float) -> str:
    """``updated`` for a window that ends now (or later), ``created`` for a past window."""
    if window.until is None or window.until > R.iso_utc(_utc(now)):
        return "updated"
    return "created"


def _utc(ts: float):  # -> datetime
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ts, tz=timezone.utc)


def _covers_since(cur: Mapping[str, Any], window: R.Window) -> bool:
    base = cur.get("base")
    return base is None or (window.since is not None and window.since >= base)


def start_cursor(cur: dict[str, Any] | None, window: R.Window,
                 mode: str = "updated") -> dict[str, Any]:
    """Where an endpoint's walk starts this run, from its stored cursor (pure).

    Cursor keys: ``mode`` (``updated`` or ``created``: the order walked),
    ``base`` (the --since it covers), ``until`` (the --until it was made for),
    ``query_since`` (``since`` of the current query), ``next`` (a next-page URL
    to follow), ``hwm`` (highest ``updated_at`` seen), ``started`` (the
    server's time when a created-order walk began), ``complete`` (the walk
    reached the end).  A cursor written before walks had a mode is an
    ``updated`` one.
    """
    fresh = {"mode": mode, "base": window.since, "until": window.until,
             "query_since": window.since, "next": None, "hwm": None, "started": None,
             "complete": False}
    if cur is None or not _covers_since(cur, window):
        return fresh  # nothing stored, or older data asked for than the cursor covers
    had = cur.get("mode", "updated")
    if mode == "created":
        return _start_created(cur, had, window, fresh)
    if had == "created":
        # A complete past-window walk has everything created before its --until (as of when it
        # ran, which was after that --until): carry on from there in update order.
        if not cur.get("complete") or cur.get("until") is None:
            return fresh
        restart = R.shift(cur["until"], -1)
        since = max(restart, window.since) if window.since else restart
        return dict(fresh, base=cur.get("base"), query_since=since)
    cur = dict(cur, mode="updated")
    cur.setdefault("started", None)
    hwm = cur.get("hwm")
    old_until = cur.get("until")
    if old_until is not None and (window.until is None or window.until > old_until):
        # Items created after the old --until were filtered out: rewind to it.
        upto = min(hwm, old_until) if hwm else old_until
        restart = R.shift(upto, -1)
    elif hwm and (cur["complete"] or cur.get("query_since") is None
                  or R.shift(hwm, -1) > cur["query_since"]):
        restart = R.shift(hwm, -1)
    elif not cur["complete"]:
        restart = None  # resume the tie walk through its saved next URL (or its first page)
    else:
        restart = cur.get("query_since")
    if restart is not None:
        if window.since is not None and restart < window.since:
            restart = window.since
        cur.update(query_since=restart, next=None)
    cur.update(base=window.since if cur.get("base") is None else cur["base"], until=window.until,
               complete=False)
    return cur


def _start_created(cur: dict[str, Any], had: str, window: R.Window,
                   fresh: dict[str, Any]) -> dict[str, Any]:
    until = cur.get("until")
    if had == "created":
        if until is None or window.until is None or window.until > until:
            return fresh  # a later --until than the walk stopped at
        if not cur.get("complete"):
            return dict(cur)  # resume: its next URL, or its first page again
        started = cur.get("started")
        if not started:
            return fresh
        since = R.shift(started, -RESYNC_MARGIN)
        since = max(since, window.since) if window.since else since
        return dict(fresh, base=cur.get("base"), query_since=since)
    # An update-order walk that reached the end had every item as of its newest update, if it
    # was not cut at an --until (cursors of versions before 0.x stopped there early).
    if not cur.get("complete") or until is not None or not cur.get("hwm"):
        return fresh
    since = R.shift(cur["hwm"], -1)
    since = max(since, window.since) if window.since else since
    return dict(fresh, base=cur.get("base"), query_since=since)


# ----------------------------------------------------------------------------- the source

@dataclass
class ScrapeStats:
    pages: int = 0
    fetched: int = 0  # items received
    outside_window: int = 0
    empty_reviews: int = 0
    pull_requests_reviewed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    walks: dict[str, str] = field(default_factory=dict)  # endpoint -> updated | created

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + n


class GitHubSource(Source):
    """One repository's issues, comments and reviews (see the module docstring for the walks)."""

    command = "scrape github"

    def __init__(self, client: GitHubClient, repo: str, window: R.Window,
                 include: Sequence[str] = INCLUDE_DEFAULT, *, per_page: int = PER_PAGE,
                 bot_heuristic: bool = True, now: Callable[[], float] = time.time) -> None:
        super().__init__(window)
        self.client, self.repo = client, repo
        self.include = tuple(include)
        self.per_page = per_page
        self.bot_heuristic = bot_heuristic
        self.now = now
        self.stats = ScrapeStats()
        self._complete = False

    @property
    def identity(self) -> dict[str, Any]:
        return {"source": "github", "project": self.repo, "api_url": self.client.shown_url}

    @property
    def parameters(self) -> dict[str, Any]:
        o = self.client.options
        return {"include": list(self.include), "api_url": self.client.shown_url,
                "per_page": self.per_page, "retries": o.retries, "timeout": o.timeout,
                "deadline": o.deadline, "authenticated": self.client.authenticated,
                "bot_heuristic": self.bot_heuristic}

    def fetch(self, store: RecordStore, progress: Progress) -> Iterator[Batch]:
        self._complete = False
        self.client.waiter.on_wait = self.client.waiter.on_wait or progress.wait
        mode = walk_mode(self.window, self.now())
        for ep in endpoints(self.repo, self.per_page):
            if ep.name in self.include:
                yield from self._walk(ep, mode, store, progress)
        if "reviews" in self.include:
            yield from self._reviews(store, progress)
        self._complete = True

    def complete(self) -> bool:
        return self._complete

    def close(self) -> None:
        self.client.close()

    # -- items -----------------------------------------------------------------------------------

    def _build(self, build: Callable[..., dict[str, Any]], items: list[Any],
               *args: Any) -> list[dict[str, Any]]:
        out = []
        for item in items:
            try:
                out.append(build(item, self.repo, *args, bot_heuristic=self.bot_heuristic))
            except R.SkipItem as skip:
                self.stats.skip(skip.reason)
        return out

    def _keep(self, recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for r in recs:
            if self.window.contains(r["created_at"]):
                out.append(r)
            else:
                self.stats.outside_window += 1
        return out

    # -- list endpoints ----------------------------------------------------------------------------

    def _walk(self, ep: Endpoint, mode: str, store: RecordStore,
              progress: Progress) -> Iterator[Batch]:
        cur = start_cursor(store.cursor(ep.name), self.window, mode)
        self.stats.walks[ep.name] = mode
        guard = PageGuard(f"GitHub API {ep.path}")
        progress.start(ep.name)
        done = 0
        while True:
            if cur["next"]:
                url, params = cur["next"], None
            else:
                url, params = ep.path, dict(ep.params, sort=mode)
                if cur["query_since"]:
                    params["since"] = cur["query_since"]
            guard.request(self.client.url_for(url), params)
            page = self.client.get_page(url, params)
            if page is None:  # only with missing_ok; a list endpoint's 404 has raised
                return
            self.stats.pages += 1
            self.stats.fetched += len(page.items)
            recs = self._build(ep.build, page.items)
            guard.page([r["id"] for r in recs], len(page.items))
            updated = [r["updated_at"] for r in recs]
            page_max = max(updated, default=None)
            hwm = max((x for x in (cur["hwm"], page_max) if x), default=None)
            cur = dict(cur, hwm=hwm)
            if mode == "created" and not cur.get("started"):
                cur["started"] = page.date or None
            if page.next_url is None or not page.items:
                cur.update(next=None, complete=True)
            elif mode == "created":
                newest = max((r["created_at"] for r in recs), default=None)
                if self.window.until is not None and newest is not None and newest >= self.window.until:
                    cur.update(next=None, complete=True)  # created in order: the rest is later
                else:
                    cur.update(next=redact_url(page.next_url))
            elif hwm and any(s < R.shift(hwm, -1) for s in updated):
                # Restarting at the last second seen skips at least part of this page: progress.
                cur.update(query_since=R.shift(hwm, -1), next=None)
            else:  # the whole page is one second: restarting would not move, so page on
                cur.update(next=redact_url(page.next_url))
            yield Batch(self._keep(recs), {ep.name: cur})
            done += len(page.items)
            estimate = None
            if page.last_page and (mode == "created" or not cur["next"]):
                estimate = done + (page.last_page - 1) * len(page.items)
            progress.advance(len(page.items), estimate)
            if cur["complete"]:
                progress.done()
                return

    # -- reviews -------------------------------------------------------------------------------

    def _reviews(self, store: RecordStore, progress: Progress) -> Iterator[Batch]:
        """One request (or more, past a page) per pull request not yet done or updated since."""
        w = self.window
        prs = [r for r in store.records("issue")
               if r["is_pull_request"] and r["project"] == self.repo
               and (w.until is None or r["created_at"] < w.until)
               and (w.since is None or r["updated_at"] >= w.since)]
        done = store.cursors("reviews:")
        todo = [r for r in prs
                if done.get(f"reviews:{r['thread']}", {}).get("pr_updated_at", "") < r["updated_at"]]
        progress.start("reviews", len(todo))
        for pr in todo:
            number = int(pr["thread"])
            recs: list[dict[str, Any]] = []
            url: str | None = f"/repos/{self.repo}/pulls/{number}/reviews"
            params: dict[str, Any] | None = {"per_page": str(self.per_page)}
            guard = PageGuard(f"GitHub API {url}")
            missing = False
            while url:
                guard.request(self.client.url_for(url), params)
                page = self.client.get_page(url, params, missing_ok=True)
                if page is None:  # the pull request is gone (or was never one): count, go on
                    self.stats.skip("pull request gone (HTTP 404)")
                    missing = True
                    break
                self.stats.pages += 1
                self.stats.fetched += len(page.items)
                got = self._build(R.from_review, page.items, number)
                guard.page([r["id"] for r in got], len(page.items))
                for rec in got:
                    if rec["body"].strip():
                        recs.append(rec)
                    else:
                        self.stats.empty_reviews += 1  # an approval without words: nothing to read
                url, params = page.next_url, None
            # A missing pull request gets no cursor: the next run asks again (one request).
            cursors = {} if missing else {f"reviews:{number}": {"pr_updated_at": pr["updated_at"]}}
            yield Batch(self._keep(recs), cursors)
            if not missing:
                self.stats.pull_requests_reviewed += 1
            progress.advance(1)
        progress.done()

    # -- reporting -------------------------------------------------------------------------------

    def counts(self) -> dict[str, Any]:
        st, http = self.stats, self.client.stats
        return {"requests": http.requests, "pages": st.pages, "items_received": st.fetched,
                "outside_window": st.outside_window, "skipped": dict(st.skipped),
                "pull_requests_reviewed": st.pull_requests_reviewed,
                "reviews_without_text": st.empty_reviews, "retries": http.retries,
                "rate_limit_waits": http.rate_limit_waits + http.secondary_waits,
                "seconds_waited": round(http.wait_seconds, 1), "walks": dict(st.walks)}

    def summary(self) -> dict[str, Any]:
        c = self.counts()
        rows: dict[str, Any] = {
            "requests": c["requests"], "pages": c["pages"], "items received": c["items_received"],
            "outside --since/--until": c["outside_window"],
            "pull requests reviewed": c["pull_requests_reviewed"],
            "reviews without text": c["reviews_without_text"], "retries": c["retries"],
            "rate-limit waits": c["rate_limit_waits"], "seconds waited": c["seconds_waited"]}
        rows.update({f"skipped: {k}": v for k, v in sorted(c["skipped"].items())})
        return rows

    def manifest_extra(self) -> dict[str, Any]:
        return {"http": self.client.stats.as_dict(), "walks": dict(self.stats.walks)}
