"""GitHub issues, pull requests and their comments through the REST API, resumably.

Request economy: the repository-level list endpoints return every issue,
every issue comment and every review comment of a repository, 100 per page,
sorted by ``updated_at``, filtered server-side with ``since``.  A year of a
large project therefore costs about one request per 100 comments, against one
(or more) per issue for the per-issue endpoints.  Only reviews need a request
per pull request, so they are fetched only when asked for.

Never losing a comment: pages are walked in ascending ``updated_at`` order.
GitHub paginates by page number, so an item updated *during* the walk moves to
the end and shifts every later item back by one: following ``page=2, 3, ...``
blindly would skip one item per move.  Instead, each next request restarts the
query at ``since = (highest updated_at committed) - 1 s``; the items in that
last second are fetched twice and deduplicated by the store, and no shift can
skip anything.  Only when a whole page shares one second (bulk edits) would a
restart make no progress; then the ``Link: rel="next"`` URL is followed.  The
same rule resumes an interrupted run and makes a rerun incremental: it asks
only for what changed since the last run, and an edited comment replaces its
older version.

Rate limits: a primary limit (403/429 with ``X-RateLimit-Remaining: 0``) waits
until ``X-RateLimit-Reset``; when a response says the quota is spent, the
client waits *before* sending the request that would fail.  A secondary limit
honours ``Retry-After`` (or waits at least a minute, as GitHub asks).  5xx and
timeouts are retried with exponential backoff and jitter, a bounded number of
times.  401 and 404 stop with one line.

The token is sent only as an ``Authorization: Bearer`` header to the API host
(never to another host named in a ``Link`` header); it is never logged,
stored, or put in an error message.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from emocause.errors import UsageError
from emocause.sources import records as R
from emocause.sources.http import (RETRYABLE_STATUS, USER_AGENT, HttpStats, Waiter, WaitHook,
                                   backoff, retry_pause)
from emocause.sources.store import RecordStore, UpsertCounts

API_URL = "https://api.github.com"
PER_PAGE = 100
#: --include values, and the default (reviews cost one request per pull request).
INCLUDE_ALL = ("issues", "issue-comments", "review-comments", "reviews")
INCLUDE_DEFAULT = ("issues", "issue-comments", "review-comments")


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

    items: list[dict[str, Any]]
    next_url: str | None
    last_page: int | None


def _page_number(url: str | None) -> int | None:
    if not url:
        return None
    value = httpx.URL(url).params.get("page")
    return int(value) if value and value.isdigit() else None


def _message(resp: httpx.Response) -> str:
    try:
        msg = resp.json().get("message", "")
    except (ValueError, AttributeError):
        msg = ""
    return " ".join(str(msg).split())[:200] or resp.reason_phrase


class GitHubClient:
    """GET pages from the GitHub REST API with rate-limit waits and bounded retries.

    ``sleep`` and ``clock`` are injectable so tests control time; ``on_wait``
    receives ``(reason, seconds_left)`` once a second during any wait.
    """

    def __init__(self, api_url: str = API_URL, token: str | None = None, *,
                 token_name: str = "GITHUB_TOKEN", max_retries: int = 6, timeout: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 on_wait: WaitHook | None = None, seed: int = 0, backoff_base: float = 1.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        origin = httpx.URL(self.api_url)
        if origin.scheme not in ("http", "https") or not origin.host:
            raise UsageError(f"--api-url {api_url!r}: expected a URL like {API_URL}")
        self._origin = (origin.scheme, origin.host, origin.port)
        self.authenticated = bool(token)
        self.token_name = token_name
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.stats = HttpStats()
        self.clock = clock
        self.waiter = Waiter(sleep, clock, on_wait)
        self._rng = random.Random(seed)
        self._remaining: int | None = None
        self._reset: float | None = None
        self._http = httpx.Client(
            headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
                     "User-Agent": USER_AGENT},
            auth=_BearerAuth(token) if token else None, timeout=timeout, transport=transport,
            follow_redirects=True)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one page --------------------------------------------------------------------------------

    def get_page(self, path_or_url: str, params: dict[str, Any] | None = None) -> Page:
        """GET a list page: ``path_or_url`` is an API path (``/repos/o/r/issues``) or a next URL."""
        url = path_or_url if "://" in path_or_url else self.api_url + path_or_url
        u = httpx.URL(url)
        if (u.scheme, u.host, u.port) != self._origin:
            raise UsageError(f"GitHub API: refusing to follow a link to another host ({u.host})")
        where = u.path
        attempt = 0
        while True:
            self._wait_if_exhausted()
            self.stats.requests += 1
            try:
                resp = self._http.get(url, params=params)
            except httpx.TransportError as exc:
                problem = type(exc).__name__
            else:
                self._note_limits(resp)
                status = resp.status_code
                if status == 200:
                    try:
                        data = resp.json()
                    except ValueError:
                        data, problem = None, "invalid JSON"
                    else:
                        if not isinstance(data, list):
                            raise UsageError(f"GitHub API: {where} returned {type(data).__name__}, "
                                             f"expected a list")
                        nxt = resp.links.get("next", {}).get("url")
                        return Page(data, nxt, _page_number(resp.links.get("last", {}).get("url")))
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
                elif status == 404:
                    hint = "" if self.authenticated else f" (or private: set ${self.token_name})"
                    raise UsageError(f"GitHub API: 404 Not Found for {where}: check OWNER/REPO and "
                                     f"--api-url{hint}")
                elif status in RETRYABLE_STATUS:
                    problem = f"HTTP {status}"
                else:
                    raise UsageError(f"GitHub API: {status} {_message(resp)} for {where}")
            retry_pause(problem, attempt, self.max_retries, what="GitHub API", where=where,
                        waiter=self.waiter, rng=self._rng, stats=self.stats, base=self.backoff_base)
            attempt += 1

    # -- rate limits -----------------------------------------------------------------------------

    def _note_limits(self, resp: httpx.Response) -> None:
        rem, reset = resp.headers.get("X-RateLimit-Remaining"), resp.headers.get("X-RateLimit-Reset")
        self._remaining = int(rem) if rem and rem.isdigit() else None
        self._reset = float(reset) if reset and reset.isdigit() else None

    def _reset_wait(self) -> tuple[float, str]:
        if self._reset is None:
            return 60.0, "rate limit (no reset time given)"
        at = time.strftime("%H:%M:%S UTC", time.gmtime(self._reset))
        # +1 s: the reset is whole seconds and clocks differ a little.
        return max(1.0, self._reset - self.clock() + 1.0), f"rate limit: waiting for reset at {at}"

    def _wait_if_exhausted(self) -> None:
        """The last response said the quota is spent: wait now instead of spending a request."""
        if self._remaining == 0 and self._reset is not None and self._reset > self.clock():
            seconds, reason = self._reset_wait()
            self.stats.rate_limit_waits += 1
            self.stats.wait_seconds += self.waiter.wait(seconds, reason)
        if self._remaining == 0:
            self._remaining = None

    def _primary_wait(self, resp: httpx.Response) -> None:
        seconds, reason = self._reset_wait()
        self.stats.rate_limit_waits += 1
        self.stats.wait_seconds += self.waiter.wait(seconds, reason)
        self._remaining = None

    def _secondary_wait(self, resp: httpx.Response, attempt: int, where: str) -> None:
        if attempt >= self.max_retries:
            raise UsageError(f"GitHub API: secondary rate limit for {where} after {attempt + 1} "
                             f"tries; everything fetched so far is saved, rerun later to resume")
        ra = resp.headers.get("Retry-After", "").strip()
        # Without Retry-After GitHub asks for at least a minute, then exponentially longer.
        seconds = float(ra) if ra.isdigit() else max(60.0, backoff(attempt, self._rng, 60.0, 900.0))
        self.stats.secondary_waits += 1
        self.stats.wait_seconds += self.waiter.wait(
            seconds, f"secondary rate limit: waiting {seconds:.0f} s")


# ----------------------------------------------------------------------------- scraping

@dataclass
class Endpoint:
    name: str  # the --include name and the cursor name
    path: str
    params: dict[str, str]
    build: Callable[[dict[str, Any], str], dict[str, Any]]
    stops_at_until: bool  # updated_at ~ created_at: paging may stop once past --until


def endpoints(repo: str) -> list[Endpoint]:
    asc = {"sort": "updated", "direction": "asc", "per_page": str(PER_PAGE)}
    return [
        # Issues are updated by every new comment, so an issue created in the window may be
        # updated long after it: this endpoint is never cut short by --until.
        Endpoint("issues", f"/repos/{repo}/issues", {"state": "all", **asc}, R.from_issue, False),
        Endpoint("issue-comments", f"/repos/{repo}/issues/comments", asc, R.from_issue_comment, True),
        Endpoint("review-comments", f"/repos/{repo}/pulls/comments", asc, R.from_review_comment, True),
    ]


def start_cursor(cur: dict[str, Any] | None, window: R.Window) -> dict[str, Any]:
    """Where an endpoint's walk starts this run, from its stored cursor (pure).

    Cursor keys: ``base`` (the --since it was made for), ``until`` (the --until
    it was made for), ``query_since`` (``since`` of the current query),
    ``next`` (a next-page URL to follow, only in the tie case), ``hwm`` (highest
    ``updated_at`` committed), ``complete`` (the last walk reached the end).
    """
    fresh = {"base": window.since, "until": window.until, "query_since": window.since,
             "next": None, "hwm": None, "complete": False}
    if cur is None:
        return fresh
    if cur.get("base") is not None and (window.since is None or window.since < cur["base"]):
        return fresh  # asked for older data than the cursor covers: walk again from --since
    cur = dict(cur)
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


@dataclass
class ScrapeStats:
    pages: int = 0
    fetched: int = 0  # items received
    outside_window: int = 0
    empty_reviews: int = 0
    pull_requests_reviewed: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)


class Progress:
    """What the scraper tells its display (the CLI passes a rich bar; tests pass nothing)."""

    def start(self, label: str) -> None: ...

    def page(self, n_items: int, estimated_total: int | None) -> None: ...

    def done(self) -> None: ...


class RepoScraper:
    """Scrape one repository into a :class:`RecordStore`, endpoint by endpoint."""

    def __init__(self, client: GitHubClient, store: RecordStore, repo: str, window: R.Window,
                 include: Sequence[str] = INCLUDE_DEFAULT, progress: Progress | None = None) -> None:
        self.client, self.store, self.repo, self.window = client, store, repo, window
        self.include = tuple(include)
        self.progress = progress or Progress()
        self.stats = ScrapeStats()

    def run(self) -> ScrapeStats:
        for ep in endpoints(self.repo):
            if ep.name in self.include:
                self._walk(ep)
        if "reviews" in self.include:
            self._reviews()
        return self.stats

    def _keep(self, recs: Iterable[dict[str, Any] | None]) -> list[dict[str, Any]]:
        out = []
        for r in recs:
            if r is None:
                continue
            if self.window.contains(r["created_at"]):
                out.append(r)
            else:
                self.stats.outside_window += 1
        return out

    def _walk(self, ep: Endpoint) -> None:
        cur = start_cursor(self.store.cursor(ep.name), self.window)
        self.progress.start(ep.name)
        done = 0
        while True:
            if cur["next"]:
                page = self.client.get_page(cur["next"])
            else:
                params = dict(ep.params)
                if cur["query_since"]:
                    params["since"] = cur["query_since"]
                page = self.client.get_page(ep.path, params)
            self.stats.pages += 1
            self.stats.fetched += len(page.items)
            recs = self._keep(ep.build(item, self.repo) for item in page.items)
            stamps = [R.normalize_time(i.get("updated_at")) for i in page.items]
            page_max = max((s for s in stamps if s), default=None)
            hwm = max((x for x in (cur["hwm"], page_max) if x), default=None)
            # Sorted by updated_at: every later page was updated after this one's last item.
            past_until = (ep.stops_at_until and self.window.until is not None
                          and page_max is not None and page_max >= self.window.until)
            cur = dict(cur, hwm=hwm)
            if page.next_url is None or not page.items or past_until:
                cur.update(next=None, complete=True)
            elif hwm and sum(1 for s in stamps if s >= R.shift(hwm, -1)) < len(stamps):
                # Restarting at the last second seen skips at least part of this page: progress.
                cur.update(query_since=R.shift(hwm, -1), next=None)
            else:  # the whole page is one second: restarting would not move, so page on
                cur.update(next=page.next_url)
            self.stats.counts.add(self.store.commit(recs, {ep.name: cur}))
            done += len(page.items)
            estimate = None
            if page.last_page and not cur["next"]:
                estimate = done + (page.last_page - 1) * len(page.items)
            self.progress.page(len(page.items), estimate)
            if cur["complete"]:
                self.progress.done()
                return

    def _reviews(self) -> None:
        """One request (or more, past 100 reviews) per pull request not yet done or updated since."""
        w = self.window
        prs = [r for r in self.store.records("issue")
               if r["is_pull_request"] and r["project"] == self.repo
               and (w.until is None or r["created_at"] < w.until)
               and (w.since is None or r["updated_at"] >= w.since)]
        done = self.store.cursors("reviews:")
        todo = [r for r in prs
                if done.get(f"reviews:{r['thread']}", {}).get("pr_updated_at", "") < r["updated_at"]]
        self.progress.start("reviews")
        for pr in todo:
            number = int(pr["thread"])
            recs: list[dict[str, Any]] = []
            url: str | None = f"/repos/{self.repo}/pulls/{number}/reviews"
            params: dict[str, Any] | None = {"per_page": str(PER_PAGE)}
            while url:
                page = self.client.get_page(url, params)
                self.stats.pages += 1
                self.stats.fetched += len(page.items)
                for item in page.items:
                    if not str(item.get("body") or "").strip():
                        self.stats.empty_reviews += 1  # an approval without words: nothing to read
                        continue
                    recs.append(R.from_review(item, self.repo, number))
                url, params = page.next_url, None
            self.stats.counts.add(self.store.commit(
                self._keep(recs), {f"reviews:{number}": {"pr_updated_at": pr["updated_at"]}}))
            self.stats.pull_requests_reviewed += 1
            self.progress.page(1, len(todo))
        self.progress.done()
