"""The scrapers against hostile input and misbehaving servers (issue 16): one line and exit 2, or a
counted skip; never a traceback, a hang, a leaked secret or a request to a host not asked for."""

from __future__ import annotations

import bz2
import gzip
import json
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.fakes.github import FakeGitHub
from tests.fakes.hostile import EndlessPages, Trickle
from tests.test_scrape_github import REPO, one_line_error, read
from tests.test_scrape_mail import MAY_MESSAGE, Archive, _pipermail

SECRET = "s3cr3t-Pa55"
TOKEN = "tok0123456789abcdef"


@pytest.fixture
def gh_dir(perceval_dir: Path) -> Path:
    return perceval_dir / "github"


@pytest.fixture
def server():
    s = Archive()
    yield s
    s.close()


def artifacts(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def assert_no_secret(folder: Path, *texts: str, secrets: tuple[str, ...] = (SECRET, TOKEN)) -> None:
    files = artifacts(folder)
    assert files
    for p in files:
        data = p.read_bytes()
        if p.suffix == ".sqlite":  # also what SQLite keeps in its pages
            with sqlite3.connect(p) as db:
                data += json.dumps(db.execute("SELECT * FROM cursors").fetchall() +
                                   db.execute("SELECT * FROM meta").fetchall()).encode()
        for s in secrets:
            assert s.encode() not in data, (p, s)
    for t in texts:
        for s in secrets:
            assert s not in t


# ----------------------------------------------------------------------------- 7: credentials

def test_credentials_in_a_list_url_reach_no_artifact(perceval_dir, server, tmp_path, cli):
    url = _pipermail(server, perceval_dir)
    port = url.split(":")[2].split("/")[0]
    creds = url.replace("http://127.0.0.1", f"http://user:{SECRET}@127.0.0.1") + f"?token={TOKEN}"
    out = tmp_path / "o.csv"
    r = cli("scrape", "pipermail", creds, "--out", out)
    assert r.code == 0, r.err
    assert len(read(out)) == 8
    assert_no_secret(tmp_path, r.err, r.out)
    manifest = json.loads((tmp_path / "o.csv.manifest.json").read_text())
    assert manifest["url"] == f"http://127.0.0.1:{port}/pipermail/metrics-grimoire?token=REDACTED"
    # a failing month: the error line names the URL without the secrets
    server.failing.add("/pipermail/metrics-grimoire/2016-April.txt")
    r = cli("scrape", "pipermail", creds, "--out", out, "--retries", "0")
    assert r.code == 2 and "2016-April.txt" in r.err
    assert_no_secret(tmp_path, r.err, r.out)


def test_credentials_are_sent_to_the_list_site(perceval_dir, server, tmp_path, cli):
    seen: list[str] = []
    url = _pipermail(server, perceval_dir)
    original = server.dynamic

    def spy(path, query):  # called for paths not in files: record the token that came along
        seen.append(json.dumps(query))
        return original(path, query) if original else None
    server.dynamic = spy
    creds = url.replace("http://127.0.0.1", f"http://user:{SECRET}@127.0.0.1") + f"?token={TOKEN}"
    r = cli("scrape", "pipermail", creds + "&x=1", "--out", tmp_path / "o.csv")
    assert r.code == 0, r.err
    assert all("?token=" + TOKEN in q or f"token={TOKEN}" in q for q in server.take())


def test_api_url_credentials_reach_no_artifact(cli, gh_dir, tmp_path):
    with FakeGitHub().load_perceval(gh_dir) as gh:
        api = gh.api.replace("http://", f"http://bot:{SECRET}@") + f"/?access_token={TOKEN}"
        r = cli("scrape", "github", REPO, "--out", tmp_path / "g.csv", "--api-url", api)
        assert r.code == 0, r.err
        assert all(q["query"].get("access_token") == TOKEN for q in gh.requests)
        assert all(q["auth"].startswith("Basic ") for q in gh.requests)
        bad = cli("scrape", "github", "nope/missing", "--out", tmp_path / "n.csv", "--api-url", api)
    one_line_error(bad)
    assert_no_secret(tmp_path, r.err, r.out, bad.err)
    assert json.loads((tmp_path / "g.csv.manifest.json").read_text())["api_url"].endswith(
        "access_token=REDACTED")


# ----------------------------------------------------------------------------- 8: other hosts

def test_index_links_to_other_hosts_or_folders_are_not_followed(perceval_dir, server, tmp_path,
                                                                cli):
    other = Archive()
    try:
        other.files["/evil/2016-May.txt"] = MAY_MESSAGE
        url = _pipermail(server, perceval_dir)
        base = "/pipermail/metrics-grimoire/"
        index = server.files[base].decode()
        links = (f'<a href="{other.url}/evil/2016-May.txt">May</a>'
                 f'<a href="/pipermail/other-list/2016-June.txt">June</a>'
                 f'<a href="../../private/2016-July.txt">July</a>'
                 f'<a href="https://127.0.0.1:{server.url.rsplit(":", 1)[1]}{base}2016-Aug.txt">A</a>')
        server.files[base] = index.replace("<tr>", links + "<tr>", 1).encode()
        r = cli("scrape", "pipermail", url, "--out", tmp_path / "o.csv")
        assert r.code == 0, r.err
        assert other.take() == []
        assert all(p.startswith(base) for p in server.take())
        assert "mail:may-1@example.com" not in set(read(tmp_path / "o.csv")["id"])
        stats = json.loads((tmp_path / "o.csv.manifest.json").read_text())["mail"]
        assert stats["links_offsite"] == 4
    finally:
        other.close()


# ----------------------------------------------------------------------------- 12: outputs

@pytest.mark.parametrize("command", ["github", "mbox", "pipermail", "hyperkitty", "preprocess"])
@pytest.mark.parametrize("where", ["under_a_file", "a_folder"])
def test_unwritable_output_is_refused_before_any_work(cli, gh_dir, perceval_dir, server, tmp_path,
                                                      command, where):
    blocker = tmp_path / "plain.txt"
    blocker.write_text("x")
    (tmp_path / "folder.csv").mkdir()
    out = blocker / "o.csv" if where == "under_a_file" else tmp_path / "folder.csv"
    mbox = perceval_dir / "mbox" / "mbox_single.mbox"
    table = tmp_path / "in.csv"
    pd.DataFrame({"body": ["hi"]}).to_csv(table, index=False)
    with FakeGitHub().load_perceval(gh_dir) as gh:
        args = {"github": ["scrape", "github", REPO, "--api-url", gh.api],
                "mbox": ["scrape", "mbox", mbox],
                "pipermail": ["scrape", "pipermail", server.url + "/pipermail/x/"],
                "hyperkitty": ["scrape", "hyperkitty", server.url + "/hyperkitty/list/a@b.c/"],
                "preprocess": ["preprocess", table]}[command]
        r = cli(*args, "--out", out)
        assert gh.count() == 0
    assert server.take() == []
    one_line_error(r)
    assert "--out" in r.err


# ----------------------------------------------------------------------------- 14: hangs

@pytest.mark.parametrize("headers_too", [False, True])
def test_a_trickling_server_is_cut_off_by_the_deadline(cli, tmp_path, headers_too):
    with Trickle(interval=0.05, headers_too=headers_too) as slow:
        t0 = time.monotonic()
        r = cli("scrape", "github", REPO, "--out", tmp_path / "o.csv", "--api-url", slow.url,
                "--timeout", "1", "--deadline", "1", "--retries", "1")
        took = time.monotonic() - t0
    one_line_error(r)
    assert "deadline passed" in r.err and "after 2 tries" in r.err
    assert took < 8 and slow.connections == 2


def test_a_trickling_list_server_is_cut_off_too(tmp_path):
    from emocause.errors import UsageError
    from emocause.sources.api import scrape_pipermail

    with Trickle(interval=0.05) as slow:
        t0 = time.monotonic()
        with pytest.raises(UsageError, match="deadline passed.* after 1 tries"):
            scrape_pipermail(slow.url + "/pipermail/l/", timeout=1, deadline=1, retries=0)
        assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("mode, message", [("count", "same 1 items again"),
                                           ("self", "back to a page it already gave")])
def test_an_endless_next_link_stops_with_one_line(cli, gh_dir, tmp_path, mode, message):
    item = json.loads((gh_dir / "github_issue_comments_1").read_text())[0]
    with EndlessPages([item], mode) as endless:
        r = cli("scrape", "github", REPO, "--out", tmp_path / "o.csv", "--api-url", endless.url,
                "--include", "issue-comments", "--since", "2016-01-01", "--until", "2016-12-31")
        # the repeated URL is caught before it is sent; the repeated page when it arrives
        assert endless.requests == (2 if mode == "count" else 1)
    one_line_error(r)
    assert message in r.err and "stopped early: 1 records saved" in r.err


def test_pages_of_garbage_with_next_links_stop(cli, tmp_path):
    with EndlessPages(["junk", 1, None]) as endless:
        r = cli("scrape", "github", REPO, "--out", tmp_path / "o.csv", "--api-url", endless.url,
                "--include", "issues")
        assert endless.requests == 3
    one_line_error(r)
    assert "3 pages in a row without one usable item" in r.err


def test_a_huge_page_is_refused(gh_dir, tmp_path, monkeypatch):
    from emocause.errors import UsageError
    from emocause.sources import github as G

    monkeypatch.setattr(G, "MAX_PAGE_BYTES", 1000)
    with FakeGitHub().generate(gh_dir, issues=20, comments=0) as gh:
        client = G.GitHubClient(gh.api)
        with pytest.raises(UsageError, match="larger than"):
            client.get_page(f"/repos/{REPO}/issues", {"per_page": "100", "state": "all"})


# ----------------------------------------------------------------------------- 17: bombs

def _bomb(size: int) -> bytes:
    """An mbox whose second message is ``size`` bytes of one repeated line."""
    head = (b"From a@b.c Mon Jan  1 00:00:00 2024\nFrom: A <a@b.c>\nMessage-ID: <ok@x>\n"
            b"Date: Mon, 1 Jan 2024 10:00:00 +0000\nSubject: fine\n\nA normal message.\n\n"
            b"From a@b.c Mon Jan  1 00:00:01 2024\nFrom: A <a@b.c>\nMessage-ID: <bomb@x>\n"
            b"Date: Mon, 1 Jan 2024 10:00:01 +0000\nSubject: bomb\n\n")
    return head + b"x" * size + b"\n"


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress])
def test_a_message_past_the_cap_is_skipped_and_counted(cli, tmp_path, compress):
    path = tmp_path / "bomb.mbox.gz"
    path.write_bytes(compress(_bomb(3 << 20)))  # 3 MB in a few KB
    assert path.stat().st_size < 20_000
    out = tmp_path / "o.csv"
    r = cli("scrape", "mbox", path, "--out", out, "--max-message-mb", "1")
    assert r.code == 0, r.err
    assert read(out)["id"].tolist() == ["mail:ok@x"]
    stats = json.loads((tmp_path / "o.csv.manifest.json").read_text())
    assert stats["mail"]["too_large"] == 1 and stats["skipped"] == {"larger than --max-message-mb": 1}


def test_an_archive_expanding_past_the_cap_stops_with_one_line(cli, tmp_path):
    path = tmp_path / "bomb.mbox.gz"
    path.write_bytes(gzip.compress(_bomb(3 << 20)))
    r = cli("scrape", "mbox", path, "--out", tmp_path / "o.csv", "--max-archive-mb", "2")
    assert r.code == 2 and r.err.strip().splitlines()[-1].startswith("error: ")
    assert "decompresses to more than 2 MB" in r.err and "--max-archive-mb" in r.err
    # the message read before the cap is kept; a rerun with a higher cap finishes
    assert read(tmp_path / "o.csv")["id"].tolist() == ["mail:ok@x"]
    assert cli("scrape", "mbox", path, "--out", tmp_path / "o.csv", "--max-archive-mb", "8",
               "--max-message-mb", "1").code == 0


def test_library_caps_are_configurable(tmp_path):
    from emocause.sources.api import scrape_mbox
    from emocause.sources.mail import MailLimits

    path = tmp_path / "b.mbox"
    path.write_bytes(_bomb(200_000))
    res = scrape_mbox(path, limits=MailLimits(max_message_bytes=100_000))
    assert res.frame["id"].tolist() == ["mail:ok@x"] and res.counts["too_large"] == 1


def test_a_remote_month_past_the_download_cap_is_refused(server, tmp_path, cli):
    base = "/pipermail/big/"
    server.files[base] = b'<a href="2016-April.txt.gz">April</a>'
    server.files[base + "2016-April.txt.gz"] = b"x" * (3 << 20)
    r = cli("scrape", "pipermail", server.url + base, "--out", tmp_path / "o.csv",
            "--max-download-mb", "1")
    one_line_error(r)
    assert "larger than 1 MB" in r.err


def test_a_gzipped_remote_month_bomb_is_streamed_under_the_caps(server, tmp_path, cli):
    base = "/pipermail/bomb/"
    server.files[base] = b'<a href="2016-April.txt.gz">April</a>'
    server.files[base + "2016-April.txt.gz"] = gzip.compress(_bomb(4 << 20))
    r = cli("scrape", "pipermail", server.url + base, "--out", tmp_path / "o.csv",
            "--max-message-mb", "1")
    assert r.code == 0, r.err
    assert read(tmp_path / "o.csv")["id"].tolist() == ["mail:ok@x"]


# ----------------------------------------------------------------------------- 18: bounds

@pytest.mark.parametrize("args, needle", [
    (["--since", "1000-01-01"], "--since '1000-01-01' is out of range"),
    (["--until", "9999-12-31"], "--until '9999-12-31' is "),
    (["--since", "1970-01-01"], "monthly requests, more than --max-months 600"),
    (["--since", "2000-01-01", "--max-months", "12"], "more than --max-months 12"),
])
def test_hyperkitty_walks_are_bounded(server, tmp_path, cli, args, needle):
    r = cli("scrape", "hyperkitty", server.url + "/hyperkitty/list/a@b.c/", "--out",
            tmp_path / "o.csv", *args)
    one_line_error(r)
    assert needle in r.err
    assert server.take() == []  # refused before any request


def test_a_long_walk_says_how_many_requests_it_will_send(server, tmp_path, cli):
    def export(path, query):
        return gzip.compress(b"")
    server.dynamic = export
    r = cli("scrape", "hyperkitty", server.url + "/hyperkitty/list/a@b.c/", "--out",
            tmp_path / "o.csv", "--since", "2015-01", "--until", "2020-12")
    assert r.code == 0, r.err
    assert "fetching 72 monthly archives" in r.err and len(server.take()) == 72


@pytest.mark.parametrize("command", ["github", "mbox", "pipermail"])
def test_every_scrape_uses_the_one_date_parser(cli, gh_dir, perceval_dir, server, tmp_path,
                                               command):
    with FakeGitHub().load_perceval(gh_dir) as gh:
        target = {"github": ["github", REPO, "--api-url", gh.api],
                  "mbox": ["mbox", perceval_dir / "mbox" / "mbox_single.mbox"],
                  "pipermail": ["pipermail", server.url + "/pipermail/x/"]}[command]
        bad = cli("scrape", *target, "--out", tmp_path / "o.csv", "--until", "9999-12-31")
        month = cli("scrape", *target, "--out", tmp_path / "m.csv", "--until", "2023-12")
    one_line_error(bad)
    assert "--until '9999-12-31' is" in bad.err
    if command != "pipermail":  # (pipermail: no such list here, but the date was accepted)
        assert month.code == 0, month.err
        window = json.loads((tmp_path / "m.csv.manifest.json").read_text())["window"]
        assert window["until_exclusive"] == "2024-01-01T00:00:00Z"
    else:
        assert "until" not in month.err


def test_a_full_disk_while_writing_the_state_is_one_line(tmp_path):
    """SQLite's "database or disk is full", forced with a page limit on a real state file."""
    from emocause.errors import UsageError
    from emocause.sources.store import RecordStore

    store = RecordStore(tmp_path / "s.sqlite")
    store.commit([{"id": "a", "kind": "mail", "created_at": "x", "updated_at": "x", "body": "hi"}],
                 {"c": 1})
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count={pages}")
    big = [{"id": f"m{i}", "kind": "mail", "created_at": "x", "updated_at": "x", "body": "y" * 5000}
           for i in range(50)]
    with pytest.raises(UsageError, match="cannot write .*full.*rerun the same command"):
        store.commit(big, {"c": 2})
    assert store.count() == 1 and store.cursor("c") == 1  # the earlier commit is intact
    store.close()


def test_hyperkitty_credentials_reach_no_artifact(perceval_dir, server, tmp_path, cli):
    from tests.test_scrape_mail import _hyperkitty

    url = _hyperkitty(server, perceval_dir)
    creds = url.replace("http://127.0.0.1", f"http://user:{SECRET}@127.0.0.1") + f"?token={TOKEN}"
    out = tmp_path / "h.csv"
    r = cli("scrape", "hyperkitty", creds, "--out", out, "--since", "2016-03", "--until", "2016-04")
    assert r.code == 0, r.err
    got = server.take()
    assert len(got) == 2 and all(f"token={TOKEN}" in q and "/export/metrics.mbox.gz?" in q for q in got)
    df = read(out)
    assert len(df) == 4 and df["url"].str.startswith(url + "message/").all()
    assert_no_secret(tmp_path, r.err, r.out)
