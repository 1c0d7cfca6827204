"""Mailing-list sources on the real Perceval archives: parsing, compression, Pipermail and
HyperKitty over a real HTTP server on 127.0.0.1, resuming, deduplication, and classify."""

from __future__ import annotations

import bz2
import gzip
import json
import shutil
import threading
import zipfile
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.policy import compat32
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from emocause.sources.preprocess import preprocess
from emocause.sources import mail as M
from emocause.sources.records import parse_window, thread_roots
from tests.fakes.github import QuietServer

NOV = "CACRHdMaObu7Dc0FWTWEesvRCzUNDG=7oA7KFqAgtOs_UKjb3Og"
APRIL_ROOT = "mail:1460624816.5581.114.camel@example.com"


def parse_file(path: Path) -> tuple[list[dict], list[str]]:
    recs, skipped = [], []
    for raw in M.read_mbox(path):
        rec, why = M.parse_message(raw, "proj", lambda mid: f"{path}#{mid}")
        if rec is None:
            skipped.append(why)
        else:
            recs.append(rec)
    return recs, skipped


def read(out: Path) -> pd.DataFrame:
    return pd.read_csv(out, dtype=str, keep_default_na=False)


# ----------------------------------------------------------------------------- parsing

def test_single_message_headers_decoded(perceval_dir):
    (rec,), skipped = parse_file(perceval_dir / "mbox" / "mbox_single.mbox")
    assert skipped == []
    assert rec["id"] == "mail:4CF64D10.9020206@domain.com"
    assert rec["message_id"] == "<4CF64D10.9020206@domain.com>"
    assert rec["author"] == "goran@domain.com"  # Pipermail's "goran at domain.com" undone
    assert rec["created_at"] == "2010-12-01T13:26:40Z"  # +0100 -> UTC
    assert rec["title"] == "[List-name] Protocol Buffers anyone?"
    assert rec["body"].startswith("Hi!\n\nA message in English") and rec["body"].endswith("G?ran")
    assert rec["source"] == rec["kind"] == "mail" and rec["is_bot"] is False


def test_missing_fields_are_skipped_and_counted(perceval_dir):
    recs, skipped = parse_file(perceval_dir / "mbox" / "mbox_no_fields.mbox")
    # 6 messages: two copies of one id, one without Date, one with an empty Message-Id, one with
    # a blank Date, and one whose Date has junk before the day name (still parseable).
    assert sorted(skipped) == ["no_date", "no_date", "no_message_id"]
    assert [r["id"] for r in recs] == ["mail:4CF64D10.9020206@domain.com"] * 2 + [
        "mail:0000be042b7b@domain.com"]
    assert recs[-1]["created_at"] == "2016-09-21T19:42:07Z" and recs[-1]["title"] == (
        "[List-name] Invalid date")


def test_wrongly_declared_and_raw_8bit_headers(perceval_dir):
    (rec,), _ = parse_file(perceval_dir / "mbox" / "mbox_iso8859_encoding.mbox")
    assert rec["title"] == "[ovs-dev] Remittance Advice"  # =?utf-8?q?...?= after plain text
    assert rec["author"] == "lucíacharlie@wellsfargo.com"  # a raw Latin-1 byte in the header
    assert "Wire Confirmation No: BOA2019338564NBC." in rec["body"]


def test_unknown_charset_raw_utf8_header_and_body(perceval_dir):
    (rec,), _ = parse_file(perceval_dir / "mbox" / "mbox_unknown_encoding.mbox")
    assert rec["author"] == "yuancong@example.com"
    assert rec["title"] == "[platform-swt-dev] How to refresh a control in another thread?"
    assert rec["created_at"] == "2002-08-23T17:24:49Z"
    assert "I got a \"thread invalid access\" exception" in rec["body"]


def test_utf8_in_body_and_unix_from_line(perceval_dir):
    (rec,), _ = parse_file(perceval_dir / "mbox" / "mbox_unixfrom_encoding.mbox")
    assert rec["author"] == "christian@example.org"
    assert rec["title"] == "[Analytics] DNT, standards, and expectations"
    assert "“software getting tested”" in rec["body"]  # undeclared UTF-8 decoded
    assert rec["in_reply_to"] == "mail:CAKP=3WwxhP=nNqT5kJ+6ohUU-pgvRu+PkW=7ASLpiQguf7CKxg@example.org"
    assert rec["_references"][0] == "mail:4ADDAFD4-A226-4F68-B02D-EDA5DE355104@wikimedia.org"
    assert len(rec["_references"]) == 7


def test_complex_quoted_printable_and_rfc2047_name(perceval_dir):
    first, second = parse_file(perceval_dir / "mbox" / "mbox_complex.mbox")[0]
    assert first["author"] == "eloli@hotmail.com"
    assert first["title"] == "Re: Revisiting the Gnome Bindings"
    assert first["created_at"] == "2004-09-22T09:03:40Z"
    assert second["author"] == "danilo@gnome.org"
    assert "Ubuntu packaging stuff—it'd be worth" in second["body"]  # QP UTF-8 em dash
    # In-Reply-To with a trailing comment: only the <id> is kept
    assert second["in_reply_to"] == "mail:1205676169.6819.27.camel@user-computer.NETWORK"


def test_multipart_takes_text_plain_not_html(perceval_dir):
    vote, question = parse_file(perceval_dir / "mbox" / "mbox_multipart.mbox")[0]
    assert vote["id"] == "mail:019801ca633f$f4376140$dca623c0$@yang@example.com"
    assert vote["body"].startswith("technology.esl Committers,")
    assert "Vote summary: 4/0/0 with 0 not voting" in vote["body"]
    assert "<html" not in vote["body"] and "font-family" not in vote["body"]
    # the HTML alternative, converted, says the same
    html = next(p for p in message_from_bytes(next(M.read_mbox(perceval_dir / "mbox" /
                                                               "mbox_multipart.mbox")),
                                              policy=compat32).walk()
                if p.get_content_type() == "text/html")
    as_text = M.html_to_text(M.decode_bytes(html.get_payload(decode=True), "us-ascii"))
    assert as_text.startswith("technology.esl Committers,\n\nThis automatically generated")
    assert "Vote summary: 4/0/0 with 0 not voting\n\n+1 Thomas Guiu" in as_text
    assert "font-family" not in as_text and "<" not in as_text.split("EMO")[0]
    assert question["author"] == "daniel.nehren@example.com"
    assert question["body"].endswith("Daniel Nehren")


def test_html_only_mail_is_converted_and_attachments_ignored(tmp_path):
    raw = (b"From a@b.c Mon Jan  1 00:00:00 2024\n"
           b"From: CI <jenkins@ci.example.org>\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n"
           b"Message-ID: <h1@x>\nSubject: =?koi8-r?B?8NLJ18XU?=\nMIME-Version: 1.0\n"
           b"Content-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\n"
           b"Content-Type: text/html; charset=\"no-such-charset\"\n\n"
           b"<html><head><style>p {color: red}</style></head><body><p>Build <b>failed</b> "
           b"\xe2\x80\x94 see log</p><p>second</p></body></html>\n--XX\n"
           b"Content-Type: text/plain; name=log.txt\nContent-Disposition: attachment; "
           b"filename=log.txt\n\nATTACHED LOG\n--XX--\n")
    path = tmp_path / "one.mbox"
    path.write_bytes(raw)
    (rec,), _ = parse_file(path)
    assert rec["title"] == "Привет"  # base64 KOI8-R encoded word
    assert rec["body"] == "Build failed — see log\n\nsecond"  # inline tags join, blocks break
    assert "color" not in rec["body"] and "ATTACHED LOG" not in rec["body"]
    assert rec["author"] == "jenkins@ci.example.org" and rec["is_bot"] is True


def test_decoding_never_raises():
    assert M.decode_bytes("Grüße".encode("utf-8"), "iso-8859-1") == "Grüße"  # mislabeled UTF-8
    assert M.decode_bytes("Grüße".encode("cp1252"), "utf-8") == "Grüße"  # mislabeled cp1252
    assert M.decode_bytes("Grüße".encode("cp1252"), "x-unknown-8bit") == "Grüße"
    assert M.decode_bytes(b"\x81\x8d\x8f\x90\x9d", "base64") == "\x81\x8d\x8f\x90\x9d"
    assert M.decode_header_value("=?utf-8?B?not base64!?= tail") == "=?utf-8?B?not base64!?= tail"
    assert M.decode_header_value("=?bogus?Q?caf=E9?=") == "café"
    assert M.decode_header_value("=?utf-8?q?a?=\n =?utf-8?q?b?= c") == "ab c"  # RFC 2047 6.2


@pytest.mark.parametrize("addr, bot", [
    ("noreply@github.com", True), ("no-reply@x.org", True), ("jenkins@ci.apache.org", True),
    ("buildbot@python.org", True), ("mailer-daemon@x.org", True), ("notifications@github.com", True),
    ("dependabot-bot@x.org", True), ("robert@x.org", False), ("abbott@x.org", False),
    ("jgb@example.com", False)])
def test_bot_addresses(addr, bot):
    assert M.is_bot_address(addr) is bot


def test_preprocess_drops_signature_and_attribution(perceval_dir):
    (april, reply, _), _ = parse_file(perceval_dir / "pipermail" / "pipermail_2016_april.mbox")
    text = preprocess(april["body"], "mail")
    assert "twitter.com/jgbarah" in april["body"] and "twitter" not in text  # "-- " signature
    assert text.startswith("Hi all,") and "Comments are welcome." in text
    reply_text = preprocess(reply["body"], "mail")
    assert "<jgb@example.com>" in reply["body"]  # <jgb at example.com> in the body undone
    assert "Jesus M. Gonzalez-Barahona <[USER]>:" in reply_text
    assert reply_text.endswith("[BLOCK QUOTE].") and "> Hi all," not in reply_text
    (christian,), _ = parse_file(perceval_dir / "mbox" / "mbox_unixfrom_encoding.mbox")
    text = preprocess(christian["body"], "mail")
    assert "Aaron Halfaker wrote:" not in text and "next part" not in text
    assert text.startswith("Hi,\n\n[BLOCK QUOTE].\n\nIf WMF's main form")


def test_thread_roots_follow_in_reply_to(perceval_dir):
    recs = (parse_file(perceval_dir / "pipermail" / "pipermail_2015_november.mbox")[0]
            + parse_file(perceval_dir / "pipermail" / "pipermail_2016_april.mbox")[0])
    roots = thread_roots(recs)
    nov = [r["id"] for r in recs[:4]]
    # The first November message's own id (@mail.gmail.com) differs from the one its replies
    # cite (@example.com).  A reference to a message not in the archive never joins threads by
    # itself (issue 10, defect 7): the first reply, citing only that unknown id, falls back to its
    # subject and joins the first message, and the others follow their In-Reply-To chain.
    assert roots[nov[0]] == nov[0]
    assert {roots[i] for i in nov[1:]} == {nov[0]}
    assert f"mail:{NOV}@example.com" not in set(roots.values())
    assert {roots[r["id"]] for r in recs[4:]} == {APRIL_ROOT}


def test_archive_index_links(perceval_dir):
    html = (perceval_dir / "pipermail" / "pipermail_index.html").read_text()
    got = M.pipermail_archives(html, "http://h/pipermail/l/")
    assert [(p.key, p.url) for p in got] == [
        ("2015-11", "http://h/pipermail/l/2015-November.txt.gz"),
        ("2016-03", "http://h/pipermail/l/2016-March.txt"),
        ("2016-04", "http://h/pipermail/l/2016-April.txt")]
    apache = (perceval_dir / "pipermail" / "pipermail_apache_index.html").read_text()
    assert [p.url for p in M.pipermail_archives(apache, "http://h/mbox/l/")] == [
        "http://h/mbox/l/201511.mbox", "http://h/mbox/l/201603.mbox", "http://h/mbox/l/201604.mbox"]
    empty = (perceval_dir / "pipermail" / "pipermail_index_empty.html").read_text()
    assert M.pipermail_archives(empty, "http://h/") == []


# ----------------------------------------------------------------------------- mbox command

def _compressed_copies(src: Path, dest: Path) -> dict[str, Path]:
    dest.mkdir()
    files = sorted(src.glob("*.mbox"))
    gz, bz, zp = dest / "gz", dest / "bz2", dest / "all.zip"
    gz.mkdir()
    bz.mkdir()
    with zipfile.ZipFile(zp, "w", zipfile.ZIP_DEFLATED) as z:
        for f in files:
            data = f.read_bytes()
            (gz / (f.name + ".gz")).write_bytes(gzip.compress(data))
            (bz / (f.name + ".bz2")).write_bytes(bz2.compress(data))
            z.writestr(f"lists/{f.name}", data)
        z.writestr("README.txt", "not a mailbox")
    return {"gz": gz, "bz2": bz, "zip": zp}


def test_mbox_folder_and_compressed_copies_give_the_same_table(perceval_dir, tmp_path, cli):
    src = perceval_dir / "mbox"
    out = tmp_path / "plain.csv"
    r = cli("scrape", "mbox", src, "--out", out, "--project", "lists")
    assert r.code == 0, r.err
    df = read(out)
    assert len(df) == 9 and df["id"].is_unique
    assert "skipped: no Message-ID" in r.err and "skipped: no Date" in r.err
    manifest = json.loads((tmp_path / "plain.csv.manifest.json").read_text())
    stats = manifest["mail"]
    assert (stats["messages"], stats["no_message_id"], stats["no_date"], stats["duplicates"]) == (
        14, 1, 2, 2)  # mbox_single repeats the no_fields message: one duplicate more
    assert manifest["complete"] is True and set(df["project"]) == {"lists"}
    assert df.loc[df["id"] == "mail:4CF64D10.9020206@domain.com", "url"].item().endswith(
        "#4CF64D10.9020206@domain.com")
    cols = [c for c in df.columns if c != "url"]
    for name, path in _compressed_copies(src, tmp_path / "copies").items():
        o = tmp_path / f"{name}.csv"
        r = cli("scrape", "mbox", path, "--out", o, "--project", "lists")
        assert r.code == 0, r.err
        pd.testing.assert_frame_equal(read(o)[cols], df[cols])
        if name == "zip":
            assert json.loads(Path(f"{o}.manifest.json").read_text())["mail"]["not_mbox"] == 1


def test_mbox_rerun_skips_unchanged_files_and_reads_grown_ones(perceval_dir, tmp_path, cli):
    folder = tmp_path / "lists"
    folder.mkdir()
    for name in ("pipermail_2015_november.mbox", "pipermail_2016_march.mbox"):
        shutil.copy(perceval_dir / "pipermail" / name, folder / name)
    out = tmp_path / "o.jsonl"
    assert cli("scrape", "mbox", folder, "--out", out).code == 0
    assert len(pd.read_json(out, lines=True)) == 5
    r = cli("scrape", "mbox", folder, "--out", out)
    stats = json.loads(Path(f"{out}.manifest.json").read_text())["mail"]
    assert r.code == 0 and stats["files_unchanged"] == 2 and stats["messages"] == 0
    with (folder / "pipermail_2016_march.mbox").open("ab") as f:  # the archive grows
        f.write(b"\n" + (perceval_dir / "pipermail" / "pipermail_2016_april.mbox").read_bytes())
    assert cli("scrape", "mbox", folder, "--out", out).code == 0
    stats = json.loads(Path(f"{out}.manifest.json").read_text())["mail"]
    assert stats["files_unchanged"] == 1 and stats["messages"] == 4
    df = pd.read_json(out, lines=True, dtype=False)
    assert len(df) == 8 and df["id"].is_unique
    assert set(df["project"]) == {"lists"}  # default: the folder's name


def test_same_message_in_two_archives_is_kept_once(perceval_dir, tmp_path, cli):
    out = tmp_path / "o.csv"
    r = cli("scrape", "mbox", perceval_dir / "pipermail" / "pipermail_2016_april.mbox",
            perceval_dir / "hyperkitty" / "hyperkitty_2016_april.mbox", "--out", out)
    assert r.code == 0, r.err
    df = read(out)
    assert len(df) == 3 and df["id"].is_unique and set(df["thread"]) == {APRIL_ROOT}
    assert json.loads(Path(f"{out}.manifest.json").read_text())["mail"]["duplicates"] == 3
    assert df["in_reply_to"].tolist() == [
        "", APRIL_ROOT, "mail:CACRHdMZgAgzyhewu_aAJ2f2DWHVZdNH6J7zd2S=YWQuf-2yZDw@example.com"]


def test_since_until_filter_the_output(perceval_dir, tmp_path, cli):
    out = tmp_path / "o.csv"
    r = cli("scrape", "mbox", perceval_dir / "pipermail", "--out", out, "--since", "2015-11-20",
            "--until", "2016-04-20")
    assert r.code == 0, r.err
    df = read(out)
    assert df["created_at"].tolist() == ["2015-11-21T12:05:51Z", "2015-11-28T20:25:30Z",
                                         "2016-03-03T17:20:35Z", "2016-04-14T09:06:56Z"]
    stats = json.loads(Path(f"{out}.manifest.json").read_text())["mail"]
    assert stats["outside_window"] == 4 and stats["kept"] == 8


@pytest.mark.parametrize("args, message", [
    (["/no/such/archive.mbox"], "no such file or folder"),
    (["{pyproject}"], "not an mbox archive"),
    (["{mbox}", "--since", "last tuesday"], "--since"),
    (["{mbox}", "--since", "2020-01-01", "--until", "2019-01-01"], "is not before"),
    (["{bad_gz}"], "not a readable gzip archive"),
    (["{empty_dir}"], "no mbox archive in"),
])
def test_mbox_bad_input_is_one_line(perceval_dir, tmp_path, cli, args, message):
    bad_gz = tmp_path / "broken.mbox.gz"
    bad_gz.write_bytes(gzip.compress(b"From a@b Mon Jan  1 00:00:00 2024\n\nhi\n")[:-12])
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no mail here\n")
    fill = {"empty_dir": str(tmp_path / "empty"),
            "pyproject": str(Path(__file__).resolve().parents[1] / "pyproject.toml"),
            "mbox": str(perceval_dir / "mbox" / "mbox_single.mbox"), "bad_gz": str(bad_gz)}
    r = cli("scrape", "mbox", *[a.format(**fill) for a in args], "--out", tmp_path / "o.csv")
    assert r.code == 2
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], r.err
    assert not (tmp_path / "o.csv.state.sqlite").exists()


# ----------------------------------------------------------------------------- HTTP servers

class Archive:
    """A real HTTP server on 127.0.0.1: fixed paths, plus an optional handler; counts requests."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.failing: set[str] = set()  # paths answered with 503
        self.dynamic: Callable[[str, dict[str, list[str]]], bytes | None] | None = None
        self.requests: list[str] = []
        self._lock = threading.Lock()
        archive = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                with archive._lock:
                    archive.requests.append(self.path)
                if parts.path in archive.failing:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = archive.files.get(parts.path)
                if body is None and archive.dynamic is not None:
                    body = archive.dynamic(parts.path, parse_qs(parts.query))
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def take(self) -> list[str]:
        with self._lock:
            got, self.requests = self.requests, []
        return got

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def server() -> Iterator[Archive]:
    s = Archive()
    yield s
    s.close()


MAY_MESSAGE = (b"From gpoo at example.com  Mon May  2 10:00:00 2016\n"
               b"From: gpoo at example.com (=?ISO-8859-1?Q?Germ=E1n_Poo-Caama=F1o?=)\n"
               b"Date: Mon, 02 May 2016 10:00:00 +0000\n"
               b"Subject: Re: [Metrics-grimoire] MLStats may change the semantic of --force any\n"
               b"In-Reply-To: <1457025635.7479.7.camel@calcifer.org>\n"
               b"Message-ID: <may-1@example.com>\n\nThanks, that works for me.\n")


def _pipermail(server: Archive, perceval: Path) -> str:
    d = perceval / "pipermail"
    base = "/pipermail/metrics-grimoire/"
    # The index's own labels: April is plain-named but gzipped, March plain, November .txt.gz.
    server.files[base] = (d / "pipermail_index.html").read_bytes()
    server.files[base + "2016-April.txt"] = gzip.compress((d / "pipermail_2016_april.mbox").read_bytes())
    server.files[base + "2016-March.txt"] = (d / "pipermail_2016_march.mbox").read_bytes()
    server.files[base + "2015-November.txt.gz"] = gzip.compress(
        (d / "pipermail_2015_november.mbox").read_bytes())
    return server.url + base


def test_pipermail_fetches_months_and_reruns_incrementally(perceval_dir, server, tmp_path, cli):
    url = _pipermail(server, perceval_dir)
    out = tmp_path / "o.parquet"
    r = cli("scrape", "pipermail", url, "--out", out)
    assert r.code == 0, r.err
    base = "/pipermail/metrics-grimoire/"
    assert server.take() == [base, base + "2015-November.txt.gz", base + "2016-March.txt",
                             base + "2016-April.txt"]
    df = pd.read_parquet(out)
    assert len(df) == 8 and df["id"].is_unique and set(df["project"]) == {"metrics-grimoire"}
    assert set(df.loc[df["created_at"] < "2016", "url"]) == {url + "2015-November.txt.gz"}
    german = df[df["author"] == "gpoo@example.com"]
    assert german["title"].tolist() == [  # a folded Subject, unfolded
        "[Metrics-grimoire] MLStats may change the semantic of --force any time soon"]

    r = cli("scrape", "pipermail", url.rstrip("/"), "--out", out)  # rerun: only the latest month
    assert r.code == 0, r.err
    assert server.take() == [base, base + "2016-April.txt"]
    stats = json.loads(Path(f"{out}.manifest.json").read_text())["mail"]
    assert (stats["months_fetched"], stats["months_skipped"]) == (1, 2)
    assert len(pd.read_parquet(out)) == 8

    index = server.files[base].decode()
    server.files[base] = index.replace("<tr>", '<tr><td><a href="2016-May.txt.gz">May</a></td></tr>'
                                       "<tr>", 1).encode()
    server.files[base + "2016-May.txt.gz"] = gzip.compress(MAY_MESSAGE)
    assert cli("scrape", "pipermail", url, "--out", out).code == 0
    assert server.take() == [base, base + "2016-April.txt", base + "2016-May.txt.gz"]
    df = pd.read_parquet(out)
    assert len(df) == 9 and df["id"].is_unique
    may = df[df["id"] == "mail:may-1@example.com"].iloc[0]
    assert may["thread"] == "mail:1457025635.7479.7.camel@calcifer.org"  # its March parent


def test_pipermail_run_stopped_by_a_fault_resumes(perceval_dir, server, tmp_path, cli):
    url = _pipermail(server, perceval_dir)
    base = "/pipermail/metrics-grimoire/"
    server.failing.add(base + "2016-April.txt")
    out = tmp_path / "o.csv"
    r = cli("scrape", "pipermail", url, "--out", out, "--retries", "1")
    assert r.code == 2 and "HTTP 503 after 2 tries" in r.err and "stopped early" in r.err
    assert server.take() == [base, base + "2015-November.txt.gz", base + "2016-March.txt"] + [
        base + "2016-April.txt"] * 2
    assert len(read(out)) == 5  # the months before the fault are saved and exported
    assert json.loads(Path(f"{out}.manifest.json").read_text())["complete"] is False
    server.failing.clear()
    r = cli("scrape", "pipermail", url, "--out", out)
    assert r.code == 0, r.err
    # November is done; March (the latest fetched) is checked again; April is new
    assert server.take() == [base, base + "2016-March.txt", base + "2016-April.txt"]
    df = read(out)
    assert len(df) == 8 and df["id"].is_unique


def test_pipermail_window_skips_months_and_apache_layout(perceval_dir, server, tmp_path, cli):
    url = _pipermail(server, perceval_dir)
    out = tmp_path / "o.csv"
    r = cli("scrape", "pipermail", url, "--out", out, "--since", "2016-03-01", "--until", "2016-03-31")
    assert r.code == 0, r.err
    base = "/pipermail/metrics-grimoire/"
    assert server.take() == [base, base + "2016-March.txt"]
    assert read(out)["id"].tolist() == ["mail:1457025635.7479.7.camel@calcifer.org"]

    d = perceval_dir / "pipermail"
    server.files["/mod_mbox/dev/"] = (d / "pipermail_apache_index.html").read_bytes()
    server.files["/mod_mbox/dev/201603.mbox"] = (d / "pipermail_2016_march.mbox").read_bytes()
    server.files["/mod_mbox/dev/201604.mbox"] = (d / "pipermail_2016_april.mbox").read_bytes()
    out2 = tmp_path / "apache.csv"
    r = cli("scrape", "pipermail", server.url + "/mod_mbox/dev/", "--out", out2)
    assert r.code == 0, r.err  # 201511.mbox is listed but missing: counted, not fatal
    assert server.take() == ["/mod_mbox/dev/", "/mod_mbox/dev/201511.mbox",
                             "/mod_mbox/dev/201603.mbox", "/mod_mbox/dev/201604.mbox"]
    assert len(read(out2)) == 4 and set(read(out2)["project"]) == {"dev"}
    assert json.loads(Path(f"{out2}.manifest.json").read_text())["mail"]["months_missing"] == 1


@pytest.mark.parametrize("which, message", [
    ("missing", "archive index not found (HTTP 404)"),
    ("ftp", "expected an http(s) URL"),
    ("html", "2016-May.txt.gz: not an mbox archive (Content-Type:"),
])
def test_pipermail_bad_url_is_one_line(server, tmp_path, cli, which, message):
    server.files["/pipermail/html/"] = b'<a href="2016-May.txt.gz">May</a>'
    server.files["/pipermail/html/2016-May.txt.gz"] = b"<html>Please log in</html>"
    url = {"missing": server.url + "/pipermail/nothing/", "ftp": "ftp://host/list/",
           "html": server.url + "/pipermail/html/"}[which]
    r = cli("scrape", "pipermail", url, "--out", tmp_path / "o.csv")
    assert r.code == 2
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.err
    assert not (tmp_path / "o.csv.state.sqlite").exists()


def _hyperkitty(server: Archive, perceval: Path) -> str:
    months = {"2016-03-01": (perceval / "hyperkitty" / "hyperkitty_2016_march.mbox").read_bytes(),
              "2016-04-01": (perceval / "hyperkitty" / "hyperkitty_2016_april.mbox").read_bytes(),
              "2016-05-01": MAY_MESSAGE}
    base = "/hyperkitty/list/metrics@example.com/"

    def export(path: str, query: dict[str, list[str]]) -> bytes | None:
        if path != base + "export/metrics.mbox.gz":
            return None
        start, end = query["start"][0], query["end"][0]
        assert start < end
        return gzip.compress(months.get(start, b""))  # HyperKitty sends empty months too

    server.dynamic = export
    return server.url + base


def test_hyperkitty_monthly_exports_and_rerun(perceval_dir, server, tmp_path, cli):
    url = _hyperkitty(server, perceval_dir)
    out = tmp_path / "o.csv"
    r = cli("scrape", "hyperkitty", url, "--out", out, "--since", "2016-03-01", "--until", "2016-04-30")
    assert r.code == 0, r.err
    export = "/hyperkitty/list/metrics@example.com/export/metrics.mbox.gz"
    assert server.take() == [f"{export}?start=2016-03-01&end=2016-04-01",
                             f"{export}?start=2016-04-01&end=2016-05-01"]
    df = read(out)
    assert len(df) == 4 and set(df["project"]) == {"metrics@example.com"}
    root = df[df["id"] == APRIL_ROOT].iloc[0]
    assert root["url"] == M.hyperkitty_message_url(url, "1460624816.5581.114.camel@example.com")
    assert root["url"].startswith(url + "message/") and len(root["url"].split("/")[-2]) == 32

    assert cli("scrape", "hyperkitty", url, "--out", out, "--since", "2016-03-01",
               "--until", "2016-04-30").code == 0
    assert server.take() == [f"{export}?start=2016-04-01&end=2016-05-01"]  # the latest month only
    assert cli("scrape", "hyperkitty", url, "--out", out, "--since", "2016-03-01",
               "--until", "2016-06-30").code == 0
    assert server.take() == [f"{export}?start=2016-04-01&end=2016-05-01",
                             f"{export}?start=2016-05-01&end=2016-06-01",
                             f"{export}?start=2016-06-01&end=2016-07-01"]
    df = read(out)
    assert len(df) == 5 and df["id"].is_unique


def test_hyperkitty_unknown_list_and_bad_url(server, tmp_path, cli):
    r = cli("scrape", "hyperkitty", server.url + "/hyperkitty/list/nope@example.com/", "--out",
            tmp_path / "o.csv", "--since", "2016-01-01", "--until", "2016-01-31")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and "HTTP 404" in r.err, r.err
    r = cli("scrape", "hyperkitty", "https://host/hyperkitty/lists/", "--out", tmp_path / "o.csv")
    assert r.code == 2 and "HyperKitty list URL" in r.err and len(r.err.strip().splitlines()) == 1


def test_hyperkitty_default_range_is_the_last_year():
    from datetime import datetime, timezone

    months = M.hyperkitty_months("http://h/list/a@h/", "a", parse_window(None, None),
                                 datetime(2024, 3, 15, tzinfo=timezone.utc))
    assert [p.key for p in months][0] == "2023-03" and months[-1].key == "2024-03"
    assert len(months) == 13


# ----------------------------------------------------------------------------- downstream

def test_mail_output_feeds_classify(perceval_dir, tmp_path, cli):
    out = tmp_path / "mail.csv"
    assert cli("scrape", "mbox", perceval_dir / "pipermail" / "pipermail_2016_april.mbox",
               "--out", out).code == 0
    labeled = tmp_path / "labeled.csv"
    r = cli("classify", out, "--out", labeled)
    assert r.code == 0, r.err
    df = read(labeled)
    assert len(df) == 3 and (df["emotion_status"] == "ok").all()
    assert df["id"].tolist() == read(out)["id"].tolist()
