"""A real HTTP server on 127.0.0.1 that speaks the GitHub REST API's list endpoints.

Used by the scraper tests and ``benchmarks/bench_scrape.py`` through the real
``httpx`` client.  It holds a repository in memory (seeded from the recorded
responses in ``../shared/data/perceval/github``, or generated from them at any
size) and serves, like GitHub:

* ``GET /repos/O/R/issues``, ``/issues/comments``, ``/pulls/comments`` with
  ``since`` (updated at or after), ``sort=updated|created``, ``direction``,
  ``per_page`` (max 100) and ``page``, answering ``Link`` headers
  (``next``, ``last``, ``first``, ``prev``) with absolute URLs;
* ``GET /repos/O/R/issues/N/comments`` and ``/pulls/N/comments`` (the per-issue
  strategy the benchmark compares against) and ``/pulls/N/reviews`` (404 when issue N
  is not a pull request, as on GitHub);
* ``X-RateLimit-Limit/Remaining/Reset/Used`` on every response, a primary limit
  (403 with ``X-RateLimit-Remaining: 0``) when the quota is spent, and 404 for
  other repositories, 401 for a wrong token.

Faults can be injected per path (403 secondary limits, 429, 502, ...), every
request is recorded (path, query, whether it carried the token), and an
optional latency is added to each response.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

ISO = "%Y-%m-%dT%H:%M:%SZ"


class QuietServer(ThreadingHTTPServer):
    """A threading HTTP server that does not print a traceback when a client hangs up mid-answer
    (the tests' clients do that on purpose: size caps, deadlines)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime(ISO)


class FakeGitHub:
    def __init__(self, repo: str = "zhquan_example/repo", *, token: str | None = None,
                 latency: float = 0.0, rate_limit: int = 5000, reset_in: float = 3600.0) -> None:
        self.repo = repo
        self.token = token
        self.latency = latency
        self.rate_limit = rate_limit
        self.remaining = rate_limit
        self.reset_at = int(time.time() + reset_in)
        self.issues: dict[int, dict[str, Any]] = {}
        self.issue_comments: dict[int, dict[str, Any]] = {}
        self.review_comments: dict[int, dict[str, Any]] = {}
        self.reviews: dict[int, list[dict[str, Any]]] = {}
        self.requests: list[dict[str, Any]] = []
        self.faults: list[dict[str, Any]] = []
        # hold_at(path, n): the n-th request (1-based) whose path contains ``path`` blocks until
        # ``release`` is set (or 60 s pass); ``held`` is set when it starts blocking.
        self.hold: threading.Event | None = None
        self.hold_path = ""
        self.hold_n = 0
        self.held = threading.Event()
        self._lock = threading.Lock()
        self._httpd = QuietServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # -- data --------------------------------------------------------------------------------------

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def _rewrite(self, item: dict[str, Any]) -> dict[str, Any]:
        """Point a recorded item's URLs at this repository."""
        text = json.dumps(item)
        for old in ("zhquan_example/repo", "chaoss/wg-evolution"):
            text = text.replace(old, self.repo)
        return json.loads(text)

    def load_perceval(self, folder: Path) -> FakeGitHub:
        """The recorded responses, as one consistent repository (two pull requests, #1 and #2)."""
        def read(name: str) -> Any:
            return json.loads((folder / name).read_text(encoding="utf-8"))

        for name in ("github_request", "github_request_from_2016_03_01", "github_issue_2"):
            for item in read(name):
                item = self._rewrite(item)
                if name == "github_issue_2":  # the recorded plain issue, renumbered #3
                    item.update(id=3, number=3, html_url=item["html_url"].replace("/2", "/3"))
                self.issues[item["id"]] = item
        for name in ("github_issue_comments_1", "github_issue_comments_2"):
            for item in read(name):
                self.issue_comments[item["id"]] = self._rewrite(item)
        for name in ("github_request_pull_request_1_comments", "github_request_pull_request_2_comments"):
            for item in read(name):
                self.review_comments[item["id"]] = self._rewrite(item)
        for number in (1, 2):
            reviews = [self._rewrite(r) for r in read(f"github_request_pull_request_{number}_reviews")]
            for r in reviews:
                r["pull_request_url"] = f"https://api.github.com/repos/{self.repo}/pulls/{number}"
            self.reviews[number] = reviews
        return self

    def generate(self, folder: Path, issues: int, comments: int, review_comments: int = 0,
                 start: datetime = datetime(2023, 1, 1, tzinfo=timezone.utc),
                 step: timedelta = timedelta(minutes=7), prs_every: int = 3,
                 old_format: bool = False) -> FakeGitHub:
        """A repository of any size built from the recorded items (distinct ids and times).

        Every third issue is a pull request.  Comments go round-robin over the issues;
        timestamps increase by ``step`` so each item has its own second.  ``old_format``:
        plain issues carry ``"pull_request": {"html_url": null, ...}``, as 2012-era
        responses did.
        """
        issue_t = json.loads((folder / "github_issue_2").read_text(encoding="utf-8"))[0]
        pr_t = json.loads((folder / "github_request").read_text(encoding="utf-8"))[0]
        comment_t = json.loads((folder / "github_issue_comments_1").read_text(encoding="utf-8"))[0]
        review_t = json.loads((folder / "github_request_pull_request_1_comments")
                              .read_text(encoding="utf-8"))[0]
        t = start
        base = f"https://github.com/{self.repo}"
        api = f"https://api.github.com/repos/{self.repo}"
        for n in range(1, issues + 1):
            is_pr = n % prs_every == 0
            item = self._rewrite(copy.deepcopy(pr_t if is_pr else issue_t))
            kind = "pull" if is_pr else "issues"
            item.update(id=1000 + n, number=n, title=f"Issue {n}", body=f"Body of issue {n}",
                        created_at=iso(t), updated_at=iso(t), html_url=f"{base}/{kind}/{n}")
            if is_pr:
                item["pull_request"] = {"url": f"{api}/pulls/{n}", "html_url": f"{base}/pull/{n}"}
            elif old_format:
                item["pull_request"] = {"html_url": None, "diff_url": None, "patch_url": None}
            else:
                item.pop("pull_request", None)
            self.issues[item["id"]] = item
            t += step
        numbers = sorted(i["number"] for i in self.issues.values())
        prs = [i["number"] for i in self.issues.values() if i.get("pull_request")]
        for k in range(comments):
            n = numbers[k % len(numbers)]
            item = self._rewrite(copy.deepcopy(comment_t))
            item.update(id=500_000 + k, body=f"Comment {k} on #{n}: thanks @someone, see https://x.org",
                        created_at=iso(t), updated_at=iso(t), issue_url=f"{api}/issues/{n}",
                        html_url=f"{base}/issues/{n}#issuecomment-{500_000 + k}")
            self.issue_comments[item["id"]] = item
            self._touch_issue(n, t)
            t += step
        for k in range(review_comments):
            n = prs[k % len(prs)]
            item = self._rewrite(copy.deepcopy(review_t))
            item.update(id=900_000 + k, body=f"Review comment {k} on #{n}", created_at=iso(t),
                        updated_at=iso(t), pull_request_url=f"{api}/pulls/{n}",
                        html_url=f"{base}/pull/{n}#discussion_r{900_000 + k}")
            self.review_comments[item["id"]] = item
            t += step
        return self

    def _touch_issue(self, number: int, t: datetime) -> None:
        for item in self.issues.values():
            if item["number"] == number:
                item["updated_at"] = iso(t)

    def edit_comment(self, comment_id: int, body: str, updated_at: str) -> None:
        with self._lock:
            self.issue_comments[comment_id].update(body=body, updated_at=updated_at)

    def touch_all(self, updated_at: str) -> None:
        """Every issue comment edited at one time (a bulk edit, a migration)."""
        with self._lock:
            for c in self.issue_comments.values():
                c["updated_at"] = updated_at

    def pull_numbers(self) -> set[int]:
        """Numbers of the issues that are pull requests (a ``pull_request`` object naming a URL)."""
        return {i["number"] for i in self.issues.values()
                if isinstance(i.get("pull_request"), dict)
                and any(i["pull_request"].get(k) for k in ("url", "html_url"))}

    # -- faults and accounting -------------------------------------------------------------------

    def inject(self, status: int, *, path: str = "", times: int = 1,
               headers: dict[str, str] | None = None, body: Any = None) -> None:
        """The next ``times`` requests whose path contains ``path`` get ``status``."""
        with self._lock:
            self.faults.extend({"status": status, "path": path, "headers": dict(headers or {}),
                                "body": body} for _ in range(times))

    def hold_at(self, path: str, n: int) -> None:
        self.hold, self.hold_path, self.hold_n = threading.Event(), path, n
        self.held.clear()

    def count(self, path: str = "") -> int:
        with self._lock:
            return sum(1 for r in self.requests if path in r["path"])

    # -- HTTP ------------------------------------------------------------------------------------

    def _collection(self, path: str) -> tuple[list[dict[str, Any]] | None, str]:
        prefix = f"/repos/{self.repo}"
        if not path.startswith(prefix + "/"):
            return None, ""
        rest = path[len(prefix):].rstrip("/")
        if rest == "/issues":
            return list(self.issues.values()), "updated"
        if rest == "/issues/comments":
            return list(self.issue_comments.values()), "updated"
        if rest == "/pulls/comments":
            return list(self.review_comments.values()), "updated"
        parts = rest.strip("/").split("/")
        if len(parts) == 3 and parts[1].isdigit():
            number = int(parts[1])
            if parts[0] == "issues" and parts[2] == "comments":
                return [c for c in self.issue_comments.values()
                        if c["issue_url"].endswith(f"/issues/{number}")], "created"
            if parts[0] == "pulls" and parts[2] == "comments":
                return [c for c in self.review_comments.values()
                        if c["pull_request_url"].endswith(f"/pulls/{number}")], "created"
            if parts[0] == "pulls" and parts[2] == "reviews":
                if number not in self.pull_numbers():  # GitHub: a plain issue has no reviews
                    return None, ""
                return list(self.reviews.get(number, [])), "submitted"
        return None, ""

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                with server._lock:
                    used = server.rate_limit - server.remaining
                    rate = {"X-RateLimit-Limit": str(server.rate_limit),
                            "X-RateLimit-Remaining": str(server.remaining),
                            "X-RateLimit-Reset": str(server.reset_at),
                            "X-RateLimit-Used": str(used), "X-RateLimit-Resource": "core"}
                for k, v in {**rate, **(headers or {})}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                split = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(split.query).items()}
                auth = self.headers.get("Authorization", "")
                with server._lock:
                    server.requests.append({"path": split.path, "query": query, "auth": auth,
                                            "headers": dict(self.headers)})
                    fault = next((f for f in server.faults if f["path"] in split.path), None)
                    if fault is not None:
                        server.faults.remove(fault)
                if (server.hold is not None and server.hold_path in split.path
                        and server.count(server.hold_path) >= server.hold_n):
                    server.held.set()
                    server.hold.wait(60)
                if server.latency:
                    time.sleep(server.latency)
                if server.token is not None and auth != f"Bearer {server.token}":
                    self._send(401, {"message": "Bad credentials",
                                     "documentation_url": "https://docs.github.com/rest"})
                    return
                if fault is not None:
                    self._send(fault["status"], fault["body"] if fault["body"] is not None else
                               {"message": f"injected {fault['status']}"}, fault["headers"])
                    return
                with server._lock:
                    if server.remaining <= 0 and time.time() < server.reset_at:
                        exhausted = True
                    else:
                        if server.remaining <= 0:
                            server.remaining = server.rate_limit
                            server.reset_at = int(time.time() + 3600)
                        server.remaining -= 1
                        exhausted = False
                if exhausted:
                    self._send(403, {"message": "API rate limit exceeded for 127.0.0.1.",
                                     "documentation_url": "https://docs.github.com/rest/rate-limit"})
                    return
                with server._lock:
                    items, field = server._collection(split.path)
                    page = self._list(split.path, query, items, field) if items is not None else None
                if page is not None:
                    self._send(200, *page)
                    return
                if items is None:
                    self._send(404, {"message": "Not Found",
                                     "documentation_url": "https://docs.github.com/rest"})
                    return

            def _list(self, path: str, query: dict[str, str], items: list[dict[str, Any]],
                      field: str) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
                """One page of a list, and its Link header (called under the lock)."""
                key = {"updated": "updated_at", "created": "created_at",
                       "submitted": "submitted_at"}[field]
                if field == "updated":
                    key = "created_at" if query.get("sort") == "created" else "updated_at"
                    since = query.get("since")
                    if since:
                        items = [i for i in items if i["updated_at"] >= since]
                items = list(items)
                reverse = query.get("direction", "desc" if field == "updated" else "asc") == "desc"
                # str(): a test may plant malformed items (a number for a time, no id)
                items.sort(key=lambda i: (str(i.get(key) or ""), str(i.get("id")).zfill(20)),
                           reverse=reverse)
                per_page = max(1, min(100, int(query.get("per_page", 30))))
                page = max(1, int(query.get("page", 1)))
                last = max(1, -(-len(items) // per_page))
                chunk = copy.deepcopy(items[(page - 1) * per_page: page * per_page])
                links = []
                for rel, p in (("prev", page - 1), ("next", page + 1), ("last", last), ("first", 1)):
                    if (rel == "prev" and page == 1) or (rel == "next" and page >= last) or \
                            (rel in ("last", "first") and last == 1):
                        continue
                    q = urlencode({**query, "page": str(p)})
                    links.append(f'<{server.api}{path}?{q}>; rel="{rel}"')
                return chunk, ({"Link": ", ".join(links)} if links else None)

        return Handler

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.hold is not None:
            self.hold.set()
        self._httpd.shutdown()
        self._httpd.server_close()
