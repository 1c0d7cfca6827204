"""The openai backend against real local servers: bad answers, deadlines, caps, endpoints, cache identity.

Library-level tests call :func:`emocause.annotate.runner.run_requests` with a backend from
:func:`emocause.backends.create`; CLI tests run the real entry point.  Every server is a real
HTTP server on 127.0.0.1 (tests/fakes/openai.py).
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pandas as pd
import pytest

from emocause import backends
from emocause.annotate.cache import Cache
from emocause.annotate.runner import RunStats, run_requests
from emocause.backends.base import Request
from emocause.backends.openai import MAX_ANSWER_BYTES, endpoint_identity
from tests.fakes.openai import FakeOpenAI, keyword_responder

RULES = {"broken": "Annoyance", "thanks": "Joy", "scared": "Fear"}


def reqs(n: int, word: str = "broken") -> list[Request]:
    return [Request(prompt=f'Classify """comment {i}: the build is {word}"""', text=f"c{i}", task="label",
                    max_tokens=8) for i in range(n)]


def run(server_or_urls, requests, cache=None, **opts):
    urls = server_or_urls if isinstance(server_or_urls, list) else [server_or_urls.url]
    b = backends.create("openai", model="m", base_url=urls, **opts)
    stats = RunStats()
    try:
        out = run_requests(b, requests, cache, stats)
    finally:
        b.close()
    return out, stats, b


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_csv(path: Path, texts: list[str]) -> Path:
    pd.DataFrame({"id": range(len(texts)), "text": texts}).to_csv(path, index=False)
    return path


# -- issue 16 item 3 and 13: empty or malformed 200 answers are failures, retried, never cached -----

@pytest.mark.parametrize("mode,params,reason", [
    ("no-choices", {}, "empty answer: no choices"),
    ("null-message", {}, "empty answer: no message"),
    ("content", {"value": ""}, "empty answer"),
    ("content", {"value": None}, "empty answer"),
    ("content", {"value": 42}, "bad answer: content is a int, not text"),
    ("content", {"value": {"text": "Joy"}}, "bad answer: content is a dict, not text"),
    ("html", {}, "bad answer: not JSON (text/html"),
    ("malformed", {}, "bad answer: not JSON (application/json"),
    ("array", {}, "bad answer: a JSON list, not a completion object"),
])
def test_bad_200_answers_fail_the_row_and_are_never_cached(tmp_path, mode, params, reason):
    cache = Cache(tmp_path / "c.sqlite")
    with FakeOpenAI(keyword_responder(RULES)) as server:
        server.misbehave(mode, times=1, **params)
        out, stats, _ = run(server, reqs(3), cache, concurrency=1, max_retries=0)
        assert stats.failed == 1 and stats.sent == 3
        bad = [r for r in out if not r.ok]
        assert len(bad) == 1 and bad[0].error.startswith(reason), bad[0].error
        assert cache.stats()["entries"] == 2  # the failed answer is not cached
        # the rerun sends only the failed row, and it now succeeds
        out2, stats2, _ = run(server, reqs(3), cache, concurrency=1, max_retries=0)
        assert stats2.sent == 1 and stats2.cached == 2 and all(r.ok for r in out2)
        assert server.count == 4


def test_a_bad_answer_is_retried_within_the_run(tmp_path):
    with FakeOpenAI(keyword_responder(RULES)) as server:
        server.misbehave("no-choices", times=1)
        server.misbehave("html", times=1)
        out, stats, _ = run(server, reqs(2), None, concurrency=1, max_retries=2)
        assert all(r.ok and r.text == "Annoyance" for r in out)
        assert stats.retried == 2 and stats.failed == 0 and server.count == 4


def test_malformed_answers_through_the_cli_are_recorded_rows_not_a_traceback(tmp_path, cli):
    src = write_csv(tmp_path / "in.csv", [f"the build is broken {i}" for i in range(6)])
    with FakeOpenAI(keyword_responder(RULES)) as server:
        for mode in ("html", "malformed", "array"):
            server.misbehave(mode, times=1)
        server.misbehave("content", times=1, value=[1, 2])
        r = cli("classify", src, "--out", tmp_path / "o.csv", "--backend", "openai", "--model", "m",
                "--base-url", server.url, "--retries", "0", "--concurrency", "1")
    assert r.code in (0, 3) and "Traceback" not in r.err, r.err
    df = pd.read_csv(tmp_path / "o.csv", keep_default_na=False)
    assert df["emotion_status"].str.startswith("failed: bad answer").sum() == 4
    assert (df["emotion"] == "Anger").sum() == 2


# -- item 17: answer size caps -------------------------------------------------------------------------

@pytest.mark.parametrize("chunked", [False, True])
def test_a_50_mb_answer_to_an_8_token_prompt_is_refused(tmp_path, chunked):
    cache = Cache(tmp_path / "c.sqlite")
    with FakeOpenAI(keyword_responder(RULES)) as server:
        server.misbehave("huge", times=1, size=50_000_000, chunked=chunked)
        t0 = time.perf_counter()
        out, stats, _ = run(server, reqs(2), cache, concurrency=1, max_retries=0)
        elapsed = time.perf_counter() - t0
    assert elapsed < 20  # not 50 MB read and parsed
    assert stats.failed == 1 and out[0].error.startswith("answer too large")
    assert f"{MAX_ANSWER_BYTES:,}" in out[0].error
    assert cache.stats()["entries"] == 1


def test_a_compressed_answer_that_inflates_past_the_cap_is_refused():
    with FakeOpenAI(keyword_responder(RULES)) as server:
        server.misbehave("gzip", times=1, size=50_000_000)  # about 50 KB on the wire
        out, stats, _ = run(server, reqs(2), None, concurrency=1, max_retries=0)
    assert out[0].error == f"answer too large: over {MAX_ANSWER_BYTES:,} bytes" and out[1].ok


def test_an_answer_far_longer_than_max_tokens_allows_is_refused(tmp_path):
    with FakeOpenAI(keyword_responder(RULES)) as server:
        server.misbehave("content", times=1, value="Joy " * 5000)
        out, stats, _ = run(server, reqs(1), None, max_retries=0)
    assert not out[0].ok and out[0].error == "answer too large: 20,000 characters for max_tokens=8"


# -- item 14: a trickling server hits the total deadline --------------------------------------------

def test_a_server_that_trickles_its_body_hits_the_total_deadline():
    with FakeOpenAI(keyword_responder(RULES)) as server:
        server.misbehave("trickle", times=2, every=0.2)  # each byte well within any read timeout
        t0 = time.perf_counter()
        out, stats, _ = run(server, reqs(1), None, timeout=1.5, max_retries=1)
        elapsed = time.perf_counter() - t0
    assert not out[0].ok and out[0].error == "timeout: no complete answer within 1.5 s"
    assert stats.retried == 1
    assert elapsed < 6  # two attempts of 1.5 s and a backoff, not the minute the body takes


# -- the retried count (one per retry, not one per failed response) ---------------------------------

def test_retried_counts_retries_not_failed_responses(tmp_path, cli):
    src = write_csv(tmp_path / "in.csv", ["the build is broken", "thanks a lot", "scared of this"])
    with FakeOpenAI(keyword_responder(RULES)) as server:
        server.inject(500, 2)  # the first request fails twice: 1 retry, then failed
        r = cli("classify", src, "--out", tmp_path / "o.csv", "--backend", "openai", "--model", "m",
                "--base-url", server.url, "--retries", "1", "--concurrency", "1")
        assert server.count == 4
    manifest = json.loads((tmp_path / "o.csv.manifest.json").read_text())
    assert manifest["counts"]["retried"] == 1 and manifest["counts"]["failed"] == 1, r.err


# -- item 2 (part): an unusable --base-url is refused before anything runs ---------------------------

@pytest.mark.parametrize("url,needle", [
    ("http://127.0.0.1:99999/v1", "not a valid URL (bad port?)"),
    ("ftp://127.0.0.1/v1", "expected an http(s) URL"),
    ("127.0.0.1:8000/v1", "expected an http(s) URL"),
    ("http:///v1", "expected an http(s) URL"),
])
def test_unusable_base_url_is_one_line_exit_2(tmp_path, cli, url, needle):
    src = write_csv(tmp_path / "in.csv", ["the build is broken"])
    r = cli("classify", src, "--out", tmp_path / "o.csv", "--backend", "openai", "--model", "m",
            "--base-url", url)
    assert r.code == 2 and needle in r.err and r.err.strip().count("\n") == 0, r.err
    assert "--base-url" in r.err and not (tmp_path / "o.csv").exists()


# -- item 7: credentials in a base URL never reach an artifact -----------------------------------

def test_credentials_in_the_base_url_are_used_but_never_written(tmp_path, cli):
    src = write_csv(tmp_path / "in.csv", ["the build is broken", "thanks"])
    cache = tmp_path / "cache.sqlite"
    with FakeOpenAI(keyword_responder(RULES)) as server:
        url = server.url.replace("http://", "http://alice:pa55word-XYZ@") + "?api_token=tok-SECRET-123"
        r = cli("classify", src, "--out", tmp_path / "o.csv", "--backend", "openai", "--model", "m",
                "--base-url", url, "--cache", cache)
        assert r.code == 0, r.err
        assert server.requests[0]["auth"].startswith("Basic ")  # the URL's user:password is sent
        assert server.requests[0]["query"] == "api_token=tok-SECRET-123"
        server.inject(400, 1)
        r2 = cli("classify", write_csv(tmp_path / "in2.csv", ["scared"]), "--out", tmp_path / "o2.csv",
                 "--backend", "openai", "--model", "m", "--base-url", url, "--cache", cache)
    for f in tmp_path.iterdir():
        data = f.read_bytes()
        assert b"pa55word-XYZ" not in data and b"tok-SECRET-123" not in data, f
    for text in (r.err, r.out, r2.err, r2.out):
        assert "pa55word-XYZ" not in text and "tok-SECRET-123" not in text
    manifest = json.loads((tmp_path / "o.csv.manifest.json").read_text())
    assert manifest["endpoints"] == [url.replace("alice:pa55word-XYZ@", "").replace(
        "tok-SECRET-123", "REDACTED")]


# -- item 4: the cache is keyed by endpoint ----------------------------------------------------------

def test_the_same_model_on_two_servers_never_shares_cache_entries(tmp_path, cli):
    src = write_csv(tmp_path / "in.csv", ["the build is broken", "thanks a lot"])
    cache = tmp_path / "cache.sqlite"
    args = ["--backend", "openai", "--model", "gpt-4", "--cache", cache]
    with FakeOpenAI(keyword_responder({"broken": "Annoyance"})) as local, \
            FakeOpenAI(keyword_responder({"broken": "Fear"})) as hosted:
        assert cli("classify", src, "--out", tmp_path / "a.csv", "--base-url", local.url, *args).code == 0
        assert cli("classify", src, "--out", tmp_path / "b.csv", "--base-url", hosted.url, *args).code == 0
        assert local.count == 2 and hosted.count == 2  # no answer of one served as the other's
        assert cli("classify", src, "--out", tmp_path / "c.csv", "--base-url", hosted.url, *args).code == 0
        assert hosted.count == 2  # its own answers are cached
    a = pd.read_csv(tmp_path / "a.csv", keep_default_na=False)
    b = pd.read_csv(tmp_path / "b.csv", keep_default_na=False)
    assert a.loc[0, "emotion"] == "Anger" and b.loc[0, "emotion"] == "Fear"
    st = json.loads(cli("cache", "stats", "--cache", cache, "--json").out)
    groups = {(r["model"], r["endpoint"]): r["entries"] for r in st["by_model"]}
    assert groups == {("gpt-4", endpoint_identity(local.url)): 2, ("gpt-4", endpoint_identity(hosted.url)): 2}
    text = cli("cache", "stats", "--cache", cache).out
    assert endpoint_identity(local.url) in text and endpoint_identity(hosted.url) in text


def test_endpoint_identity_normalises_and_drops_credentials():
    assert endpoint_identity("HTTP://User:pw@LocalHost:8000/v1/?token=x") == "http://localhost:8000/v1"
    assert endpoint_identity("https://api.openai.com/v1") == "https://api.openai.com:443/v1"
    assert endpoint_identity("http://h/v1") == endpoint_identity("http://h:80/v1/")
    assert endpoint_identity("http://h:8000/v1") != endpoint_identity("http://h:8001/v1")


def test_replicas_reuse_each_others_answers_and_a_group_shares_across_urls(tmp_path):
    cache = Cache(tmp_path / "c.sqlite")
    with FakeOpenAI(keyword_responder(RULES)) as a, FakeOpenAI(keyword_responder(RULES)) as b:
        run(a, reqs(4), cache)
        _, stats, _ = run([a.url, b.url], reqs(8), cache)  # 4 cached from a, 4 sent
        assert stats.cached == 4 and stats.sent == 4
        answered_by_b = b.count
        assert 0 < answered_by_b < 4
        _, stats, _ = run(b, reqs(8), cache)  # b alone: only what b answered is its own
        assert stats.cached == answered_by_b and stats.sent == 8 - answered_by_b
        # an explicit group shares whatever the URLs
        run([a.url], reqs(3, "scared"), cache, endpoint_group="llama-70b")
        _, stats, _ = run([b.url], reqs(3, "scared"), cache, endpoint_group="llama-70b")
        assert stats.cached == 3 and stats.sent == 0


# -- several endpoints: balance by load, take a failing one out of rotation --------------------------

def test_requests_are_balanced_across_replicas_within_the_window():
    with FakeOpenAI(keyword_responder(RULES), latency=0.05) as a, \
            FakeOpenAI(keyword_responder(RULES), latency=0.05) as b:
        out, stats, _ = run([a.url, b.url], reqs(120), None, concurrency=8)
        assert all(r.ok for r in out) and a.count + b.count == 120
        assert min(a.count, b.count) >= 40  # both carry a fair share
        assert a.max_inflight + b.max_inflight <= 8 + 1  # the in-flight window holds


def test_a_failing_endpoint_is_taken_out_of_rotation():
    dead = f"http://127.0.0.1:{closed_port()}/v1"
    with FakeOpenAI(keyword_responder(RULES), latency=0.01) as good, \
            FakeOpenAI(keyword_responder(RULES)) as flaky:
        flaky.inject(503, times=10_000)
        out, stats, b = run([good.url, flaky.url, dead], reqs(90), None, concurrency=4, max_retries=6)
        assert all(r.ok for r in out), [r.error for r in out if not r.ok][:3]
        assert flaky.count <= 8  # tripped after 3 failures in a row, not 1/3 of the traffic
        assert good.count == 90
        by_url = {e.shown: e for e in b.endpoints.items}
        assert by_url[dead].failures <= 8


def test_every_endpoint_unreachable_fails_the_rows_fast_instead_of_hanging():
    urls = [f"http://127.0.0.1:{closed_port()}/v1"]
    t0 = time.perf_counter()
    out, stats, _ = run(urls, reqs(40), None, concurrency=4, max_retries=6, unreachable_after=1.0)
    elapsed = time.perf_counter() - t0
    assert stats.failed == 40 and all(r.error.startswith("connection error") for r in out)
    assert elapsed < 15  # 40 rows x 6 retries would be minutes of backoff


def test_base_url_given_twice_on_the_command_line_uses_both(tmp_path, cli):
    src = write_csv(tmp_path / "in.csv", [f"the build is broken, case {i}" for i in range(40)])
    with FakeOpenAI(keyword_responder(RULES), latency=0.02) as a, \
            FakeOpenAI(keyword_responder(RULES), latency=0.02) as b:
        r = cli("classify", src, "--out", tmp_path / "o.csv", "--backend", "openai", "--model", "m",
                "--base-url", a.url, "--base-url", b.url, "--concurrency", "4")
        assert r.code == 0, r.err
        assert a.count + b.count == 40 and a.count >= 10 and b.count >= 10
    m = json.loads((tmp_path / "o.csv.manifest.json").read_text())
    assert m["endpoints"] == [a.url, b.url]
    assert m["cache_scopes"] == [endpoint_identity(a.url), endpoint_identity(b.url)]
    assert (pd.read_csv(tmp_path / "o.csv")["emotion"] == "Anger").all()
