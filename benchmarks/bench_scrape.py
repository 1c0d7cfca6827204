"""Request economy and speed of `emocause scrape github` against a local fake API.

The fake API (tests/fake_github.py, a real HTTP server on 127.0.0.1) holds a
repository generated from the recorded responses in ../shared/data/perceval/github:
200 issues and 5,000 issue comments by default, and answers every request after a
fixed latency (20 ms by default).  Two strategies fetch the same comments:

* emocause: the repository-wide list endpoints, 100 a page, sorted by update time
  (`emocause scrape github --include issues,issue-comments`, in-process, real CLI);
* per issue: list the issues, then `GET /repos/O/R/issues/N/comments` for each issue
  (paged at 100), the way many scrapers and the GitHub UI walk a repository.

    python -m benchmarks.bench_scrape [--issues 200] [--comments 5000] [--latency 0.02]

Prints API requests per 1,000 comments (the floor is 10 at 100 a page; target <= 12),
comments per second, and the ratio between the strategies, then the cost of an
incremental rerun with nothing new.
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

from emocause.cli.app import main
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
        args = ["scrape", "github", REPO, "--out", str(out), "--api-url", server.api,
                "--include", "issues,issue-comments"]
        t0 = time.perf_counter()
        assert main(args) == 0
        wall = time.perf_counter() - t0
        total_requests = server.count()
        comment_requests = server.count(f"/repos/{REPO}/issues/comments")
        n = server.count()
        t0 = time.perf_counter()
        assert main(args) == 0
        rerun_wall = time.perf_counter() - t0
        rerun_requests = server.count() - n
        n = server.count()
        pi_requests, pi_comments, pi_wall = per_issue(server)
        assert pi_comments == comments
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
        "rerun_requests": rerun_requests, "rerun_wall_s": rerun_wall,
    }


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
    target = r["emocause_requests_per_1000_comments"] <= 12
    print(f"target <= 12 requests per 1,000 comments: {'met' if target else 'NOT met'}")


if __name__ == "__main__":
    main_()
