"""``emocause scrape github`` against a real HTTP server replaying GitHub's API (tests/fake_github.py)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.fakes.github import FakeGitHub

REPO = "zhquan_example/repo"
TOKEN = "ghp_test0secret0value0never0written0anywhere"


@pytest.fixture
def gh_dir(perceval_dir: Path) -> Path:
    return perceval_dir / "github"


def scrape(cli, server: FakeGitHub, out: Path, *extra: object):
    return cli("scrape", "github", REPO, "--out", out, "--api-url", server.api, *extra)


def read(out: Path) -> pd.DataFrame:
    return pd.read_csv(out, dtype=str, keep_default_na=False)


def one_line_error(r) -> None:
    """Exit 2 and one ``error:`` line, the last on stderr (notes before it are fine)."""
    assert r.code == 2, (r.out, r.err)
    lines = r.err.strip().splitlines()
    assert "Traceback" not in r.err and lines[-1].startswith("error: "), r.err
    assert sum(line.startswith("error: ") for line in lines) == 1, r.err


# ----------------------------------------------------------------------------- records

def test_recorded_responses_become_records(cli, gh_dir, tmp_path):
    out = tmp_path / "recs.csv"
    with FakeGitHub().load_perceval(gh_dir) as server:
        r = scrape(cli, server, out, "--include", "issues,issue-comments,review-comments,reviews")
    assert r.code == 0, r.err
    df = read(out).set_index("id")
    assert list(read(out).columns[:3]) == ["id", "source", "project"]
    assert set(df["kind"]) == {"issue", "issue_comment", "review_comment", "review"}
    pr1 = df.loc["github:issue:1"]
    assert (pr1["kind"], pr1["thread"], pr1["is_pull_request"], pr1["author"]) == ("issue", "1", "True",
                                                                                  "zhquan_example")
    assert pr1["created_at"] == "2016-02-01T07:10:24Z" and pr1["url"].endswith("/pull/1")
    assert df.loc["github:issue:3", "is_pull_request"] == "False"  # the plain issue
    c1 = df.loc["github:issue_comment:1"]
    # the comments list does not say PR or not; the issue list does (issue #1 is a pull request)
    assert (c1["thread"], c1["is_pull_request"], c1["author_association"]) == ("1", "True", "COLLABORATOR")
    assert c1["body"] == c1["text"] == "My first comment"
    rc = df.loc["github:review_comment:1"]
    assert (rc["kind"], rc["thread"], rc["author_association"]) == ("review_comment", "1", "OWNER")
    assert rc["body"].startswith("This module is not used.")
    reviews = df[df["kind"] == "review"]
    assert set(reviews["text"]) == {"LGTM!", "Looks good to me. Thanks!"}
    assert (reviews["thread"] == "1").all()
    ghost = df.loc["github:review:205729156"]
    assert ghost["author"] == "" and ghost["is_bot"] == "False"  # a deleted account
    assert (df["source"] == "github").all() and (df["project"] == REPO).all()
    manifest = json.loads(out.with_name("recs.csv.manifest.json").read_text())
    assert manifest["complete"] is True and manifest["rows"] == len(df)
    assert manifest["rows_by_kind"]["review"] == 2 and manifest["project"] == REPO


def test_reviews_cost_requests_only_when_asked(cli, gh_dir, tmp_path):
    with FakeGitHub().load_perceval(gh_dir) as server:
        assert scrape(cli, server, tmp_path / "a.csv").code == 0
        assert server.count("/reviews") == 0 and server.count() == 3  # one request per list
        r = scrape(cli, server, tmp_path / "b.csv", "--include", "reviews")
        assert r.code == 0 and "adding issues" in r.err
        assert server.count("/reviews") == 2  # one per pull request
    assert set(read(tmp_path / "b.csv")["kind"]) == {"issue", "review"}


# ----------------------------------------------------------------------------- paging and economy

def test_pages_through_link_headers_without_gaps_or_duplicates(cli, gh_dir, tmp_path):
    out = tmp_path / "big.jsonl"
    with FakeGitHub().generate(gh_dir, issues=30, comments=450, review_comments=120) as server:
        r = scrape(cli, server, out)
        assert r.code == 0, r.err
        per_endpoint = {p: server.count(f"/repos/{REPO}{p}")
                        for p in ("/issues/comments", "/pulls/comments")}
        want_ids = ({f"github:issue_comment:{i}" for i in server.issue_comments}
                    | {f"github:review_comment:{i}" for i in server.review_comments}
                    | {f"github:issue:{i}" for i in server.issues})
        queries = [q["query"] for q in server.requests]
    df = pd.read_json(out, lines=True, dtype=False)
    assert len(df) == len(want_ids) == 600 and set(df["id"]) == want_ids and df["id"].is_unique
    # 100 per page, restarting at the last second seen: ceil(450 / 99) = 5 and ceil(120 / 99) = 2
    assert per_endpoint == {"/issues/comments": 5, "/pulls/comments": 2}
    assert all(q["per_page"] == "100" and q["sort"] == "updated" and q["direction"] == "asc"
               for q in queries)
    pr_comments = df[df["kind"] == "issue_comment"]
    expected_pr = {str(n) for n in range(3, 31, 3)}
    assert set(pr_comments[pr_comments["is_pull_request"]]["thread"].astype(str)) == expected_pr
    comments = df[df["kind"] == "issue_comment"]
    assert comments["text"].str.contains(r"\[USER\], see \[URL\]").all()


def test_follows_next_links_when_a_whole_page_shares_one_second(cli, gh_dir, tmp_path):
    """Bulk edits put 100+ items in one second: restarting at that second would not move."""
    from datetime import timedelta

    out = tmp_path / "same.csv"
    with FakeGitHub().generate(gh_dir, issues=5, comments=230, step=timedelta(0)) as server:
        r = scrape(cli, server, out, "--include", "issue-comments")
        assert r.code == 0, r.err
        pages = [q["query"].get("page") for q in server.requests]
    assert pages == [None, "2", "3"]
    assert len(read(out)) == 230 and read(out)["id"].is_unique


def test_window_filters_on_creation_time(cli, gh_dir, tmp_path):
    out = tmp_path / "w.csv"
    with FakeGitHub().load_perceval(gh_dir) as server:
        r = scrape(cli, server, out, "--since", "2016-01-01", "--until", "2016-02-01")
        assert r.code == 0, r.err
    df = read(out)
    # the plain issue (2016-01-22) and PR #1 (created 2016-02-01, --until is the whole day)
    assert sorted(df["id"]) == ["github:issue:1", "github:issue:3"]
    assert all("2016-01-01" <= t < "2016-02-02" for t in df["created_at"])


# ----------------------------------------------------------------------------- reruns

def test_rerun_is_incremental_and_edited_comment_replaces_old(cli, gh_dir, tmp_path):
    out = tmp_path / "r.csv"
    with FakeGitHub().generate(gh_dir, issues=12, comments=150) as server:
        assert scrape(cli, server, out).code == 0
        first = server.count()
        before = read(out)
        assert scrape(cli, server, out).code == 0
        assert server.count() - first == 3  # one request per endpoint: nothing changed
        server.edit_comment(500_007, "Edited: this is still broken", "2030-01-01T00:00:00Z")
        n = server.count()
        r = scrape(cli, server, out)
        assert r.code == 0
        assert server.count() - n == 3
    after = read(out)
    assert len(after) == len(before) == 162 and after["id"].is_unique
    row = after.set_index("id").loc["github:issue_comment:500007"]
    assert row["body"] == row["text"] == "Edited: this is still broken"
    assert row["updated_at"] == "2030-01-01T00:00:00Z"
    assert row["created_at"] == before.set_index("id").loc["github:issue_comment:500007", "created_at"]
    assert "updated (edited since)" in r.err


def test_resume_after_kill_loses_at_most_the_page_in_flight(gh_dir, tmp_path):
    out = tmp_path / "k.csv"
    env = {**os.environ, "EMOCAUSE_PROGRESS": "0"}
    with FakeGitHub(latency=0.01).generate(gh_dir, issues=20, comments=700) as server:
        cmd = [sys.executable, "-m", "emocause", "scrape", "github", REPO, "--out", str(out),
               "--api-url", server.api, "--include", "issue-comments"]
        server.hold_at("/issues/comments", 4)  # the 4th page request never answers
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert server.held.wait(60)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        server.hold.set()
        assert not out.exists()  # killed before the export: the state is what survives
        state = out.with_name("k.csv.state.sqlite")
        with sqlite3.connect(state) as db:
            stored = db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
            cursor = json.loads(db.execute("SELECT value FROM cursors WHERE name='issue-comments'")
                                .fetchone()[0])
        assert stored == 3 * 100 - 2  # three pages committed (each restarts on the last one's second)
        assert cursor["complete"] is False and cursor["query_since"]
        sent_before = server.count("/issues/comments")
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        resumed = server.requests[sent_before:]
    assert resumed[0]["query"]["since"] == cursor["query_since"]  # not from the start
    assert len(resumed) == 5  # 402 comments left: ceil(402 / 99)
    df = read(out)
    assert len(df) == 700 and df["id"].is_unique


def test_other_repository_in_same_output_is_refused(cli, gh_dir, tmp_path):
    out = tmp_path / "x.csv"
    with FakeGitHub().load_perceval(gh_dir) as server:
        assert scrape(cli, server, out).code == 0
        r = cli("scrape", "github", "other/repo", "--out", out, "--api-url", server.api)
    one_line_error(r)
    assert "already holds a different scrape" in r.err and REPO in r.err


# ----------------------------------------------------------------------------- faults and limits

def test_502_is_retried_and_counted(cli, gh_dir, tmp_path):
    out = tmp_path / "f.csv"
    with FakeGitHub().load_perceval(gh_dir) as server:
        server.inject(502, path="/issues/comments")
        r = scrape(cli, server, out)
        assert r.code == 0, r.err
        assert server.count("/issues/comments") == 2
    manifest = json.loads(out.with_name("f.csv.manifest.json").read_text())
    assert manifest["http"]["retries"] == 1 and manifest["http"]["errors"] == {"HTTP 502": 1}
    assert len(read(out)) == 11


def test_persistent_failure_keeps_what_was_fetched(cli, gh_dir, tmp_path):
    out = tmp_path / "p.csv"
    with FakeGitHub().load_perceval(gh_dir) as server:
        server.inject(503, path="/pulls/comments", times=5)
        r = scrape(cli, server, out, "--retries", "0")
        one_line_error(r)
        assert "HTTP 503" in r.err and "rerun the same command" in r.err
        assert set(read(out)["kind"]) == {"issue", "issue_comment"}  # exported anyway
        assert json.loads(out.with_name("p.csv.manifest.json").read_text())["complete"] is False
        server.faults.clear()
        assert scrape(cli, server, out).code == 0
    assert set(read(out)["kind"]) == {"issue", "issue_comment", "review_comment"}


def test_secondary_rate_limit_honours_retry_after(cli, gh_dir, tmp_path):
    abuse = json.loads((gh_dir / "abuse_rate_limit").read_text())
    with FakeGitHub().load_perceval(gh_dir) as server:
        server.inject(403, path="/issues", headers={"Retry-After": "1"}, body=abuse)
        t0 = time.monotonic()
        r = scrape(cli, server, tmp_path / "s.csv")
        took = time.monotonic() - t0
    assert r.code == 0, r.err
    assert "secondary rate limit: waiting 1 s" in r.err
    assert took >= 1.0


def test_primary_rate_limit_waits_for_reset_with_countdown(gh_dir, tmp_path):
    """The quota runs out mid-walk: the client waits (on a fake clock) instead of failing."""
    from emocause.sources import github as G
    from emocause.sources.records import Window
    from emocause.sources.session import drain
    from emocause.sources.store import RecordStore

    with FakeGitHub(rate_limit=3).generate(gh_dir, issues=10, comments=600) as server:
        now = [time.time()]
        ticks: list[tuple[str, float]] = []

        def sleep(seconds: float) -> None:
            now[0] += seconds
            if now[0] >= server.reset_at:  # the hour has passed: GitHub resets the quota
                server.remaining, server.reset_at = server.rate_limit, int(now[0] + 3600)

        client = G.GitHubClient(server.api, sleep=sleep, clock=lambda: now[0],
                                on_wait=lambda reason, left: ticks.append((reason, left)))
        store = RecordStore(tmp_path / "state.sqlite")
        source = G.GitHubSource(client, REPO, Window(), ["issue-comments"])
        drain(source, store)
        stats = source.stats
        assert store.count() == 600
    assert client.stats.rate_limit_waits == 2  # 7 pages with 3 requests an hour
    # it waited *before* the request that would fail: no 403 was spent
    assert client.stats.errors == {} and server.count() == stats.pages == 7
    reasons = {reason for reason, _ in ticks}
    assert any(r.startswith("rate limit: waiting for reset at") for r in reasons)
    first_wait = []
    for _, left in ticks:
        if left <= 0:
            break
        first_wait.append(left)
    # one tick a second, counting down from about an hour
    assert first_wait[0] > 3000 and first_wait == sorted(first_wait, reverse=True)
    assert len(first_wait) == pytest.approx(first_wait[0], abs=2)


def test_403_with_exhausted_quota_waits_until_reset(gh_dir, tmp_path):
    from emocause.sources import github as G

    with FakeGitHub().load_perceval(gh_dir) as server:
        now = [time.time()]
        reset = int(now[0] + 120)
        server.inject(403, path="/issues", headers={"X-RateLimit-Remaining": "0",
                                                    "X-RateLimit-Reset": str(reset)},
                      body={"message": "API rate limit exceeded"})
        waited: list[float] = []

        def sleep(s: float) -> None:
            waited.append(s)
            now[0] += s

        client = G.GitHubClient(server.api, sleep=sleep, clock=lambda: now[0])
        page = client.get_page(f"/repos/{REPO}/issues", {"state": "all"})
    assert len(page.items) == 3 and client.stats.rate_limit_waits == 1
    assert 120 <= sum(waited) <= 122


def test_backoff_on_timeouts_is_bounded(gh_dir):
    """A server that never answers in time: retries with growing waits, then one clear line."""
    from emocause.errors import UsageError
    from emocause.sources import github as G

    with FakeGitHub(latency=0.5).load_perceval(gh_dir) as server:
        waits: list[float] = []
        client = G.GitHubClient(server.api, timeout=0.1, max_retries=3, sleep=waits.append,
                                clock=lambda: 0.0 + sum(waits))
        with pytest.raises(UsageError, match="ReadTimeout .* after 4 tries"):
            client.get_page(f"/repos/{REPO}/issues")
    assert len(waits) >= 3 and server.count() == 4


# ----------------------------------------------------------------------------- secrets and bad input

def test_token_is_sent_but_never_written(cli, gh_dir, tmp_path, monkeypatch):
    out = tmp_path / "t.parquet"
    monkeypatch.setenv("MY_GH", TOKEN)
    with FakeGitHub(token=TOKEN).load_perceval(gh_dir) as server:
        server.inject(502, path="/pulls/comments")
        r = scrape(cli, server, out, "--token-env", "MY_GH", "--include",
                   "issues,issue-comments,review-comments,reviews")
        assert r.code == 0, r.err
        assert all(q["auth"] == f"Bearer {TOKEN}" for q in server.requests)
        monkeypatch.setenv("MY_GH", TOKEN + "x")  # a wrong token: 401, one line, token not echoed
        bad = scrape(cli, server, tmp_path / "bad.csv", "--token-env", "MY_GH")
    one_line_error(bad)
    assert "401" in bad.err and "$MY_GH" in bad.err and TOKEN not in bad.err
    assert TOKEN not in r.err + r.out
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) >= 3
    for p in files:
        assert TOKEN.encode() not in p.read_bytes(), p


def test_missing_token_on_a_server_that_needs_one(cli, gh_dir, tmp_path):
    with FakeGitHub(token=TOKEN).load_perceval(gh_dir) as server:
        r = scrape(cli, server, tmp_path / "n.csv")
    one_line_error(r)
    assert "set $GITHUB_TOKEN" in r.err
    assert not (tmp_path / "n.csv.state.sqlite").exists()  # nothing fetched, nothing left behind


@pytest.mark.parametrize("args, needle", [
    (["nope/missing"], "404 Not Found for /repos/nope/missing/issues"),
    (["not-a-repo"], "expected OWNER/REPO"),
    ([REPO, "--include", "issues,wiki"], "unknown wiki"),
    ([REPO, "--since", "last tuesday"], "--since 'last tuesday'"),
    ([REPO, "--since", "2024-01-01", "--until", "2023-01-01"], "is not before"),
    ([REPO, "--token-env", "UNSET_VARIABLE_X"], "UNSET_VARIABLE_X: that environment variable is not set"),
])
def test_bad_input_is_one_line_exit_2(cli, gh_dir, tmp_path, args, needle):
    with FakeGitHub().load_perceval(gh_dir) as server:
        r = cli("scrape", "github", *args, "--out", tmp_path / "o.csv", "--api-url", server.api)
    one_line_error(r)
    assert needle in r.err, r.err


def test_unknown_output_format_is_refused_before_any_request(cli, gh_dir, tmp_path):
    with FakeGitHub().load_perceval(gh_dir) as server:
        r = scrape(cli, server, tmp_path / "o.xlsx")
        assert server.count() == 0
    one_line_error(r)
    assert "unknown table format" in r.err


# ----------------------------------------------------------------------------- downstream

def test_scraped_table_feeds_classify(cli, gh_dir, tmp_path):
    out = tmp_path / "s.csv"
    with FakeGitHub().load_perceval(gh_dir) as server:
        assert scrape(cli, server, out, "--include", "issues,issue-comments,reviews").code == 0
    r = cli("classify", out, "--out", tmp_path / "e.csv")
    assert r.code == 0, r.err
    df = read(tmp_path / "e.csv")
    assert len(df) == len(read(out)) and (df["emotion_status"] == "ok").all()
    assert set(df["emotion"]) <= {"Anger", "Fear", "Joy", "Love", "Sadness", "Surprise", "Neutral"}


def test_widening_the_window_fetches_what_was_left_out(cli, gh_dir, tmp_path):
    out = tmp_path / "wide.csv"
    with FakeGitHub().generate(gh_dir, issues=10, comments=300) as server:
        # generated items start 2023-01-01 and are 7 minutes apart: 310 items span ~36 hours
        assert scrape(cli, server, out, "--since", "2023-01-01T12:00:00Z", "--until",
                      "2023-01-01T20:00:00Z").code == 0
        narrow = read(out)
        assert scrape(cli, server, out).code == 0
        wide = read(out)
        assert scrape(cli, server, out, "--until", "2023-01-01T20:00:00Z").code == 0
        again = read(out)
    assert 0 < len(narrow) < len(wide) == 310 and wide["id"].is_unique
    assert all("2023-01-01T12:00:00Z" <= t <= "2023-01-01T20:00:00Z" for t in narrow["created_at"])
    # the output is the asked window; the state keeps everything fetched
    assert set(again["id"]) == set(wide[wide["created_at"] <= "2023-01-01T20:00:00Z"]["id"])


def test_start_cursor_rules():
    from emocause.sources.github import start_cursor
    from emocause.sources.records import Window

    w = Window("2023-01-01T00:00:00Z", None)
    fresh = start_cursor(None, w)
    assert fresh["query_since"] == "2023-01-01T00:00:00Z" and fresh["next"] is None
    done = {"base": w.since, "until": None, "query_since": "2023-03-01T00:00:00Z", "next": None,
            "hwm": "2023-05-01T10:00:00Z", "complete": True}
    # a rerun restarts one second before the newest item stored
    assert start_cursor(done, w)["query_since"] == "2023-05-01T09:59:59Z"
    # an earlier --since than the cursor covers starts over
    assert start_cursor(done, Window("2022-01-01T00:00:00Z", None)) == start_cursor(None, Window(
        "2022-01-01T00:00:00Z", None))
    # a later --until than the last run's rewinds to where that run stopped keeping items
    capped = dict(done, until="2023-02-01T00:00:00Z")
    assert start_cursor(capped, w)["query_since"] == "2023-01-31T23:59:59Z"
    # an interrupted tie walk resumes through its saved next URL
    tie = dict(done, complete=False, hwm="2023-03-01T00:00:00Z", next="http://x/next?page=3")
    assert start_cursor(tie, w)["next"] == "http://x/next?page=3"


def test_bots_and_ghosts_are_marked(gh_dir):
    from emocause.sources.records import from_issue_comment, from_review_comment

    item = json.loads((gh_dir / "github_issue_comments_1").read_text())[0]
    bot = from_issue_comment({**item, "user": {"login": "dependabot[bot]", "type": "Bot"}}, REPO)
    app = from_issue_comment({**item, "user": {"login": "tensorflow-copybara", "type": "Bot"}}, REPO)
    ghost = from_issue_comment({**item, "user": None}, REPO)
    person = from_issue_comment(item, REPO)
    assert (bot["is_bot"], app["is_bot"], ghost["is_bot"], person["is_bot"]) == (True, True, False, False)
    assert ghost["author"] == "" and person["author"] == "zhquan_example"
    assert person["id"] == "github:issue_comment:1" and person["thread"] == "1"
    rc = json.loads((gh_dir / "github_request_pull_request_1_comments").read_text())[1]
    reply = from_review_comment({**rc, "in_reply_to_id": 1}, REPO)
    assert reply["in_reply_to"] == "github:review_comment:1" and reply["is_pull_request"] is True


# ----------------------------------------------------------------------------- issue 10

def _history(gh_dir, **kw) -> FakeGitHub:
    """23 issue comments created 2005-2018, then all edited on one day of 2018 (a migration)."""
    from datetime import datetime, timedelta, timezone

    server = FakeGitHub().generate(gh_dir, issues=3, comments=23,
                                   start=datetime(2003, 5, 1, tzinfo=timezone.utc),
                                   step=timedelta(days=210), **kw)
    server.touch_all("2018-06-01T12:00:00Z")
    return server


def test_past_window_keeps_comments_edited_after_it(cli, gh_dir, tmp_path):
    """Defect 1: the window is on created_at; edits after --until must not hide a comment."""
    out = tmp_path / "past.csv"
    with _history(gh_dir) as server:
        created = sorted(c["created_at"] for c in server.issue_comments.values())
        want = {f"github:issue_comment:{i}" for i, c in server.issue_comments.items()
                if "2005-01-01" <= c["created_at"] < "2013-01-01"}
        r = scrape(cli, server, out, "--since", "2005-01-01", "--until", "2012-12-31",
                   "--include", "issue-comments", "--per-page", "7")
        assert r.code == 0, r.err
        first = [q["query"] for q in server.requests]
        n = server.count()
        # a rerun asks only for what changed since the walk began: nothing
        assert scrape(cli, server, out, "--since", "2005-01-01", "--until", "2012-12-31",
                      "--include", "issue-comments", "--per-page", "7").code == 0
        rerun = [q["query"] for q in server.requests[n:]]
        # an in-window comment edited later is picked up by the next run
        server.edit_comment(500_001, "Edited much later", "2030-01-01T00:00:00Z")
        assert scrape(cli, server, out, "--since", "2005-01-01", "--until", "2012-12-31",
                      "--include", "issue-comments", "--per-page", "7").code == 0
    assert created[0] < "2006" and created[-1] > "2017"
    df = read(out)
    assert len(want) == 14 and set(df["id"]) == want  # before the fix: 6 of them
    manifest = json.loads(out.with_name("past.csv.manifest.json").read_text())
    assert manifest["complete"] is True and manifest["walks"] == {"issue-comments": "created"}
    assert all(q["sort"] == "created" and q["per_page"] == "7" for q in first)
    assert first[0]["since"] == "2005-01-01T00:00:00Z"
    assert len(first) == 3  # 14 in the window at 7 a page, and the page that passes --until
    # since = when the last walk began (the server's clock) less five minutes
    recent = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 900))
    assert len(rerun) == 1 and rerun[0]["since"] > recent
    assert df.set_index("id").loc["github:issue_comment:500001", "body"] == "Edited much later"


def test_window_ending_now_keeps_the_request_budget(cli, gh_dir, tmp_path):
    with FakeGitHub().generate(gh_dir, issues=10, comments=990) as server:
        r = scrape(cli, server, tmp_path / "now.csv", "--include", "issue-comments",
                   "--since", "2023-01-01")
        assert r.code == 0, r.err
        assert server.count() == 10  # ceil(990 / 99): about 10 requests per 1,000 comments
        assert all(q["query"]["sort"] == "updated" for q in server.requests)


def test_2012_pull_request_shape_and_reviews(cli, gh_dir, tmp_path):
    """Defect 2: plain issues with "pull_request": {"html_url": null, ...} are not pull requests."""
    out = tmp_path / "old.csv"
    with FakeGitHub().generate(gh_dir, issues=9, comments=12, old_format=True) as server:
        plain = [i for i in server.issues.values() if i["pull_request"]["html_url"] is None]
        assert len(plain) == 6
        server.inject(404, path="/pulls/3/reviews")  # one real pull request gone: skip, go on
        r = scrape(cli, server, out, "--include", "issues,issue-comments,reviews")
        assert r.code == 0, r.err
        asked = sorted(int(q["path"].split("/")[-2]) for q in server.requests
                       if q["path"].endswith("/reviews"))
        assert asked == [3, 6, 9]  # only the pull requests; before the fix, all nine
        manifest = json.loads(out.with_name("old.csv.manifest.json").read_text())
        assert manifest["skipped"] == {"pull request gone (HTTP 404)": 1}
        assert manifest["complete"] is True and "skipped: pull request gone (HTTP 404)" in r.err
        n = server.count("/reviews")
        assert scrape(cli, server, out, "--include", "issues,issue-comments,reviews").code == 0
        assert server.count("/reviews") - n == 1  # the skipped one is asked again, nothing else
    df = read(out).set_index("id")
    flags = {int(i.split(":")[-1]) - 1000: v for i, v in df["is_pull_request"].items()
             if i.startswith("github:issue:")}
    assert flags == {n: str(n % 3 == 0) for n in range(1, 10)}
    comments = df[df["kind"] == "issue_comment"]
    assert set(comments[comments["is_pull_request"] == "True"]["thread"]) == {"3", "6", "9"}


def test_reviews_with_bad_or_missing_times_are_counted(cli, gh_dir, tmp_path):
    """Defect 3: a review whose submitted_at does not parse is counted, not silently dropped."""
    out = tmp_path / "rv.csv"
    with FakeGitHub().load_perceval(gh_dir) as server:
        good = server.reviews[1][0]
        server.reviews[1] += [dict(good, id=9001, submitted_at="yesterday"),
                              dict(good, id=9002, submitted_at=1454316624),
                              dict(good, id=9003, submitted_at=None, state="PENDING")]
        r = scrape(cli, server, out, "--include", "issues,reviews")
        assert r.code == 0, r.err
    manifest = json.loads(out.with_name("rv.csv.manifest.json").read_text())
    assert manifest["skipped"] == {"submitted_at is not a timestamp": 2,
                                   "pending review (no submitted_at)": 1}
    assert "skipped: submitted_at" in r.err
    assert "github:review:9001" not in set(read(out)["id"])


@pytest.mark.parametrize("page, reasons", [
    (["a", 3], {"not an object": 2}),
    ([{}], {"no id": 1}),
    ([{"id": 7, "created_at": 1454316624, "updated_at": "2016-02-01T08:00:00Z"}],
     {"created_at is not a timestamp": 1}),
    ([{"id": 8, "created_at": "2016-02-01T08:00:00Z", "body": {"x": 1}}], {"body is not text": 1}),
    ([{"id": 9, "created_at": "2016-02-01T08:00:00Z", "user": "ghost", "html_url": 5}], {}),
])
def test_malformed_items_are_skipped_and_counted(cli, gh_dir, tmp_path, page, reasons):
    """Issue 16 item 15: never a traceback; each item skipped for its reason."""
    out = tmp_path / "m.csv"
    with FakeGitHub().load_perceval(gh_dir) as server:
        server.inject(200, path="/issues/comments", body=page)
        r = scrape(cli, server, out)
    assert r.code == 0, r.err
    assert "Traceback" not in r.err
    manifest = json.loads(out.with_name("m.csv.manifest.json").read_text())
    assert manifest["skipped"] == reasons
    ids = set(read(out)["id"])
    assert ("github:issue_comment:9" in ids) == (not reasons)


def test_machine_accounts_are_bots_unless_opted_out(cli, gh_dir, tmp_path):
    from emocause.sources.records import from_issue_comment, is_bot_user

    item = json.loads((gh_dir / "github_issue_comments_1").read_text())[0]
    for login, bot in [("k8s-ci-robot", True), ("jenkins-bot", True), ("bot", True),
                       ("release_bot", True), ("abbot", False), ("botanist", False),
                       ("zhquan_example", False)]:
        assert is_bot_user({"login": login, "type": "User"}) is bot, login
        assert is_bot_user({"login": login, "type": "User"}, heuristic=False) is False
    assert from_issue_comment({**item, "user": {"login": "ci-bot", "type": "User"}}, REPO)["is_bot"]
    with FakeGitHub().load_perceval(gh_dir) as server:
        for c in server.issue_comments.values():
            c["user"] = dict(c["user"], login="deploy-bot")
        assert scrape(cli, server, tmp_path / "a.csv", "--include", "issue-comments").code == 0
        assert scrape(cli, server, tmp_path / "b.csv", "--include", "issue-comments",
                      "--no-bot-heuristic").code == 0
    assert set(read(tmp_path / "a.csv")["is_bot"]) == {"True"}
    assert set(read(tmp_path / "b.csv")["is_bot"]) == {"False"}
    assert json.loads((tmp_path / "b.csv.manifest.json").read_text())["parameters"][
        "bot_heuristic"] is False


def test_email_reply_attribution_is_dropped(gh_dir):
    """Defect 13, on the shape the labeled dataset itself holds (a reply sent by e-mail)."""
    from emocause.sources.records import from_issue_comment

    item = json.loads((gh_dir / "github_issue_comments_1").read_text())[0]
    body = ("Unbelievable how TS devs are stubborn on this.\n\nOn Tue, Sep 14, 2021, 11:33 Daniel "
            "Kuschny ***@***.***> wrote:\n\n> Closed #123 via #456.\n>\n> —\n> You are receiving "
            "this because you were mentioned.\n")
    rec = from_issue_comment({**item, "body": body}, REPO)
    assert rec["text"] == "Unbelievable how TS devs are stubborn on this.\n\n[BLOCK QUOTE]."
    trailing = from_issue_comment({**item, "body": "Thanks!\n\nOn Mon, Jan 4, 2021 at 10:00 AM "
                                                    "Jane <notifications@github.com>\nwrote:\n"}, REPO)
    assert trailing["text"] == "Thanks!"


@pytest.mark.parametrize("spec", ["../x", "./.", "a/..", "../../etc", "a/b/c", ".."])
def test_path_like_repo_specs_send_nothing(cli, gh_dir, tmp_path, spec):
    """Issue 16 item 11: OWNER/REPO is checked against GitHub's rules before any request."""
    with FakeGitHub().load_perceval(gh_dir) as server:
        r = cli("scrape", "github", spec, "--out", tmp_path / "o.csv", "--api-url", server.api)
        assert server.count() == 0
    one_line_error(r)
    assert "expected OWNER/REPO" in r.err
    assert not (tmp_path / "o.csv.state.sqlite").exists()


def test_library_scrape_github_writes_only_when_given_out(gh_dir, tmp_path, monkeypatch):
    from emocause.sources.api import scrape_github

    monkeypatch.chdir(tmp_path)
    with FakeGitHub().load_perceval(gh_dir) as server:
        res = scrape_github(REPO, api_url=server.api, include=["issues", "issue-comments"])
        assert list(tmp_path.iterdir()) == []  # nothing written without out
        assert res.complete and len(res.frame) == 5 and res.counts["requests"] == 2
        assert res.manifest["project"] == REPO and res.manifest["command"] == "scrape github"
        again = scrape_github(REPO, api_url=server.api, include="issues,issue-comments",
                              out=tmp_path / "lib.parquet", since="2016-01-01")
    assert again.out == tmp_path / "lib.parquet" and again.out.exists()
    assert (tmp_path / "lib.parquet.manifest.json").exists()
    assert list(again.frame.columns) == list(res.frame.columns)


def test_empty_result_keeps_every_column(cli, gh_dir, tmp_path):
    from emocause.sources.records import COLUMNS

    out = tmp_path / "empty.csv"
    with FakeGitHub().load_perceval(gh_dir) as server:
        r = scrape(cli, server, out, "--since", "2020-01-01", "--until", "2020-12-31")
    assert r.code == 0, r.err
    assert out.read_text().splitlines() == [",".join(COLUMNS)]
