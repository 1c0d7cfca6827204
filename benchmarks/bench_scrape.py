"""Request economy and speed of `emocause scrape github` against a local fake API.

The fake API (tests/fakes/github.py, a real HTTP server on 127.0.0.1) holds a
repository generated from the recorded responses in ../shared/data/perceval/github:
200 issues and 5,000 issue comments by default, and answers every request after a
fixed latency (20 ms by default).  Two strategies fetch the same comments:

* emocause: the repository-wide list endpoints, 100 a page
  (``emocause.sources.api.scrape_github(..., include="issues,issue-comments")``, the
  library function the CLI calls);
* per issue: list the issues, then `GET /repos/O/R/issues/N/comments` for each issue
  (paged at 100), the way many scrapers and the GitHub UI walk a repository.

    python -m benchmarks.bench_scrape [--issues 200] [--comments 5000] [--latency 0.02]

Prints API requests per 1,000 comments for a window that ends now (the floor is 10 at
100 a page; target <= 12), comments per second, the ratio between the strategies, the
cost of an incremental rerun with nothing new, and what a past window costs: requests
against the floor (the window's comments / 100), without and with every comment edited
after the window.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("EMOCAUSE_PROGRESS", "0")

from emocause.sources.api import scrape_github
from tests.fakes.github import FakeGitHub

REPO = "zhquan_example/repo"


def perceval_dir() -> Path:
    shared = Path(os.environ.get("EMOCAUSE_SHARED", ROOT.parent / "shared"))
    path = shared / "data" / "perceval" / "github"
    if not path.is_dir():
        sys.exit(f"error: {path} not found (set EMOCAUSE_SHARED to the shared/ folder)")
    return path


def per_issue(server: FakeGitHub) -> tuple[int, int, float]:
    """List issues, then each issue's comments: (requests, comments, seconds)."""
    from emocause.sources.github import GitHubClient

    t0 = time.perf_counter()
    comments = 0
    with GitHubClient(server.api) as client:
        numbers: list[int] = []
        url: str | None = f"/repos/{REPO}/issues"
        params: dict | None = {"state": "all", "per_page": "100"}
        while url:
            page = client.get_page(url, params)
            numbers += [i["number"] for i in page.items]
            url, params = page.next_url, None
        for n in numbers:
            url, params = f"/repos/{REPO}/issues/{n}/comments", {"per_page": "100"}
            while url:
                page = client.get_page(url, params)
                comments += len(page.items)
                url, params = page.next_url, None
        requests = client.stats.requests
    return requests, comments, time.perf_counter() - t0


def run(issues: int, comments: int, latency: float) -> dict[str, float]:
    folder = perceval_dir()
    with tempfile.TemporaryDirectory() as tmp, \
            FakeGitHub(latency=latency).generate(folder, issues=issues, comments=comments) as server:
        out = Path(tmp) / "scrape.csv"
        kw = dict(out=out, api_url=server.api, include="issues,issue-comments")
        t0 = time.perf_counter()
        res = scrape_github(REPO, **kw)
        wall = time.perf_counter() - t0
        assert res.complete and res.counts["rows_by_kind"]["issue_comment"] == comments
        total_requests = server.count()
        comment_requests = server.count(f"/repos/{REPO}/issues/comments")
        n = server.count()
        t0 = time.perf_counter()
        scrape_github(REPO, **kw)
        rerun_wall = time.perf_counter() - t0
        rerun_requests = server.count() - n
        pi_requests, pi_comments, pi_wall = per_issue(server)
        assert pi_comments == comments
        past = past_windows(server, Path(tmp))
    return {
        "issues": issues, "comments": comments, "latency_s": latency,
        "emocause_requests": total_requests, "emocause_comment_requests": comment_requests,
        "emocause_requests_per_1000_comments": 1000 * comment_requests / comments,
        "emocause_all_requests_per_1000_comments": 1000 * total_requests / comments,
        "emocause_wall_s": wall, "emocause_comments_per_s": comments / wall,
        "per_issue_requests": pi_requests,
        "per_issue_requests_per_1000_comments": 1000 * pi_requests / comments,
        "per_issue_wall_s": pi_wall, "per_issue_comments_per_s": comments / pi_wall,
        "request_ratio": pi_requests / total_requests, "speed_ratio": pi_wall / wall,
        "rerun_requests": rerun_requests, "rerun_wall_s": rerun_wall, **past,
    }


def past_windows(server: FakeGitHub, tmp: Path) -> dict[str, float]:
    """The middle fifth of the comments as a past window: requests against the floor."""
    stamps = sorted(c["created_at"] for c in server.issue_comments.values())
    lo, hi = stamps[len(stamps) * 2 // 5], stamps[len(stamps) * 3 // 5]
    inside = sum(lo <= s <= hi for s in stamps)
    floor = -(-inside // 100)
    out: dict[str, float] = {"past_window_comments": inside, "past_window_floor": floor}
    for label in ("past_window", "past_window_all_edited"):
        if label == "past_window_all_edited":
            server.touch_all("2030-01-01T00:00:00Z")  # every comment edited after the window
        n = server.count()
        res = scrape_github(REPO, out=tmp / f"{label}.csv", api_url=server.api,
                            include="issue-comments", since=lo, until=hi)
        assert res.complete and res.counts["rows_by_kind"]["issue_comment"] == inside
        out[f"{label}_requests"] = server.count() - n
        out[f"{label}_extra_requests"] = server.count() - n - floor
    return out


def main_() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--issues", type=int, default=200)
    ap.add_argument("--comments", type=int, default=5000)
    ap.add_argument("--latency", type=float, default=0.02)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    a = ap.parse_args()
    r = run(a.issues, a.comments, a.latency)
    if a.json:
        print(json.dumps(r, indent=2))
        return
    print(f"fake GitHub API: {r['issues']} issues, {r['comments']:,} comments, "
          f"{r['latency_s'] * 1000:.0f} ms a request")
    print(f"emocause (repository-wide lists): {r['emocause_requests']} requests "
          f"({r['emocause_comment_requests']} for comments), "
          f"{r['emocause_requests_per_1000_comments']:.1f} comment requests per 1,000 comments "
          f"({r['emocause_all_requests_per_1000_comments']:.1f} counting the issue list), "
          f"{r['emocause_wall_s']:.2f} s, {r['emocause_comments_per_s']:,.0f} comments/s")
    print(f"per issue (one request per issue): {r['per_issue_requests']} requests, "
          f"{r['per_issue_requests_per_1000_comments']:.1f} per 1,000 comments, "
          f"{r['per_issue_wall_s']:.2f} s, {r['per_issue_comments_per_s']:,.0f} comments/s")
    print(f"ratio: {r['request_ratio']:.1f}x fewer requests, {r['speed_ratio']:.1f}x faster")
    print(f"rerun with nothing new: {r['rerun_requests']} requests, {r['rerun_wall_s']:.2f} s")
    print(f"past window ({r['past_window_comments']:,} comments in the middle fifth; floor "
          f"{r['past_window_floor']} requests): {r['past_window_requests']} requests "
          f"({r['past_window_extra_requests']:+} over the floor); with every comment edited after "
          f"the window: {r['past_window_all_edited_requests']} "
          f"({r['past_window_all_edited_extra_requests']:+}: the comments created before the "
          f"window now match since=)")
    target = r["emocause_requests_per_1000_comments"] <= 12
    print(f"target <= 12 requests per 1,000 comments: {'met' if target else 'NOT met'}")


if __name__ == "__main__":
    main_()
