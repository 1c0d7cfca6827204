"""``--batch``: the OpenAI Batch API against a real local server implementing files and batches.

Status transitions, partial failures with an error file, expiry, cancellation, reattaching after a
SIGKILL (a real subprocess) and after a death between submitting and recording, and the dry run's
batch price.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import openai
import pandas as pd
import pytest

from emocause import backends
from emocause.annotate.cache import Cache
from emocause.annotate.runner import RunStats, run_requests
from emocause.backends.base import Request
from emocause.backends.openai_batch import METADATA_KEY, chunk_key, custom_id, split
from tests.fakes.openai import FakeOpenAI, keyword_responder, utterance

RULES = {"broken": "Annoyance", "thanks": "Gratitude", "scared": "Fear", "wow": "amazed"}
TEXTS = ["The nightly build is broken again", "thanks, that fixed it", "I am scared of this migration",
         "wow, 10x faster", "Bumped the version", "", "broken broken broken"]


def write(path: Path, texts: list[str] = TEXTS) -> Path:
    pd.DataFrame({"id": [f"c{i}" for i in range(len(texts))], "text": texts}).to_csv(path, index=False)
    return path


def args(server: FakeOpenAI, cache: Path, *extra: object) -> list[object]:
    return ["--backend", "openai", "--model", "test-model", "--base-url", server.url, "--cache", cache, *extra]


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False)


def test_batch_run_matches_a_direct_run_and_fills_the_cache(tmp_path, cli):
    src = write(tmp_path / "in.csv")
    with FakeOpenAI(keyword_responder(RULES)) as server:
        r = cli("classify", src, "--out", tmp_path / "batch.csv", "--batch", *args(server, tmp_path / "b.sqlite"))
        assert r.code == 0, r.err
        assert server.count == 0 and len(server.batches) == 1  # nothing sent directly
        (batch,) = server.batches.values()
        assert list(batch.times) == ["validating", "in_progress", "finalizing", "completed"]
        assert len(batch.lines) == 6 and batch.lines[0]["body"]["max_tokens"] == 8
        assert batch.metadata[METADATA_KEY] and "submitted batch" in r.err
        direct = cli("classify", src, "--out", tmp_path / "direct.csv", *args(server, tmp_path / "d.sqlite"))
        assert direct.code == 0 and server.count == 6
        # the batch's answers are cached exactly as direct ones: a direct rerun sends nothing
        again = cli("classify", src, "--out", tmp_path / "again.csv", *args(server, tmp_path / "b.sqlite"))
        assert again.code == 0 and server.count == 6 and len(server.batches) == 1
    b, d = read(tmp_path / "batch.csv"), read(tmp_path / "direct.csv")
    pd.testing.assert_frame_equal(b, d)
    assert list(b["emotion"]) == ["Anger", "Love", "Fear", "Surprise", "Neutral", "", "Anger"]
    m = json.loads((tmp_path / "batch.csv.manifest.json").read_text())
    assert m["batch"] is True and m["counts"]["sent"] == 6 and m["counts"]["failed"] == 0
    assert m["counts"]["prompt_tokens"] > 0


def test_rows_the_batch_failed_are_reported_and_resubmitted_by_the_rerun(tmp_path, cli):
    src = write(tmp_path / "in.csv")
    cache = tmp_path / "c.sqlite"
    fail = {"on": True}

    def failures(line):
        if fail["on"] and "scared" in utterance(line["body"]["messages"][0]["content"]):
            return {"status_code": 500, "message": "The server had an error processing your request"}
        return None

    with FakeOpenAI(keyword_responder(RULES), batch_failures=failures) as server:
        r = cli("classify", src, "--out", tmp_path / "o.csv", "--batch", *args(server, cache))
        assert r.code in (0, 3), r.err
        df = read(tmp_path / "o.csv")
        row = df[df.id == "c2"].iloc[0]
        assert row["emotion_status"] == "failed: batch: HTTP 500: The server had an error processing your request"
        answered = ~df["emotion_status"].str.startswith("failed") & (df["emotion_status"] != "skipped")
        assert answered.sum() == 5
        assert Cache(cache).stats()["entries"] == 5  # the failed row is not cached
        fail["on"] = False
        r = cli("classify", src, "--out", tmp_path / "o.csv", "--batch", *args(server, cache))
        assert r.code == 0, r.err
        assert len(server.batches) == 2 and len(list(server.batches.values())[1].lines) == 1
        assert server.batch_lines == 7
    assert read(tmp_path / "o.csv").loc[2, "emotion"] == "Fear"


def _when(predicate, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def test_an_expired_batch_keeps_its_answers_and_reports_the_rest(tmp_path, cli):
    src = write(tmp_path / "in.csv")
    cache = tmp_path / "c.sqlite"
    with FakeOpenAI(keyword_responder(RULES), partial=0.5) as server:
        server.hold.set()

        def expire_when_running():
            _when(lambda: any(b.status == "in_progress" for b in server.batches.values()))
            server.expire()

        t = threading.Thread(target=expire_when_running)
        t.start()
        r = cli("classify", src, "--out", tmp_path / "o.csv", "--batch", *args(server, cache))
        t.join()
        assert r.code in (0, 3), r.err
        df = read(tmp_path / "o.csv")
        expired = df["emotion_status"].str.startswith("failed: batch: batch_expired").sum()
        assert expired == 3 and Cache(cache).stats()["entries"] == 3
        assert "is expired" in r.err
        server.hold.clear()
        r = cli("classify", src, "--out", tmp_path / "o.csv", "--batch", *args(server, cache))
        assert r.code == 0 and len(server.batches) == 2 and server.batch_lines == 9
    assert not read(tmp_path / "o.csv")["emotion_status"].str.startswith("failed").any()


def test_a_cancelled_batch_keeps_what_it_finished(tmp_path):
    cache = Cache(tmp_path / "c.sqlite")
    reqs = [Request(prompt=f'Q """comment {i} is broken"""', text=str(i), task="label", max_tokens=8)
            for i in range(10)]
    with FakeOpenAI(keyword_responder(RULES), partial=0.3) as server:
        server.hold.set()

        def cancel_when_running():
            _when(lambda: any(b.status == "in_progress" for b in server.batches.values()))
            client = openai.OpenAI(api_key="x", base_url=server.url)
            client.batches.cancel(next(iter(server.batches)))

        t = threading.Thread(target=cancel_when_running)
        t.start()
        b = backends.create("openai", model="m", base_url=server.url, batch=True)
        stats = RunStats()
        out = run_requests(b, reqs, cache, stats)
        t.join()
    assert stats.failed == 7 and sum(r.ok for r in out) == 3
    assert {r.error for r in out if not r.ok} == {"batch cancelled: no answer for this request"}
    assert cache.stats()["entries"] == 3


def test_a_batch_that_fails_validation_fails_its_rows_with_the_reason(tmp_path):
    cache = Cache(tmp_path / "c.sqlite")
    with FakeOpenAI(keyword_responder(RULES), batch_invalid="line 3: model not supported") as server:
        b = backends.create("openai", model="m", base_url=server.url, batch=True)
        stats = RunStats()
        out = run_requests(b, five_requests(), cache, stats)
        assert next(iter(server.batches.values())).status == "failed"
    assert stats.failed == 5 and cache.stats()["entries"] == 0
    assert {r.error for r in out} == {"batch failed: line 3: model not supported: no answer for this request"}


def test_a_killed_batch_run_reattaches_and_never_submits_twice(tmp_path):
    """SIGKILL a real `emocause classify --batch` while its batch runs; the rerun reattaches."""
    n = 40
    src = write(tmp_path / "in.csv", [f"comment {i}: the build is broken in module m{i}" for i in range(n)])
    cache = tmp_path / "c.sqlite"
    env = {**os.environ, "EMOCAUSE_PROGRESS": "0"}
    with FakeOpenAI(keyword_responder(RULES)) as server:
        server.hold.set()
        cmd = [sys.executable, "-m", "emocause", "classify", str(src), "--out", str(tmp_path / "o.csv"),
               "--batch", *map(str, args(server, cache))]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _when(lambda: any(b.status == "in_progress" for b in server.batches.values()), 60)
        _when(lambda: server.log.count(("GET", f"/v1/batches/{next(iter(server.batches))}")) >= 2, 60)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert not (tmp_path / "o.csv").exists()
        server.hold.clear()
        rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        assert "reattaching to 1 batch(es) holding 40" in rerun.stderr
        assert len(server.batches) == 1 and server.batch_lines == n  # never submitted twice
        assert server.count == 0
        (batch,) = server.batches.values()
    out = read(tmp_path / "o.csv")
    assert len(out) == n and (out["emotion"] == "Anger").all()
    row = Cache(cache).batch_get(batch.metadata[METADATA_KEY])
    assert row["batch_id"] == batch.id and row["collected"] == 1 and row["status"] == "completed"


def five_requests() -> list[Request]:
    return [Request(prompt=f'Q """comment {i} is broken"""', text=str(i), task="label", max_tokens=8)
            for i in range(5)]


def recorded_intent(cache: Cache, server: FakeOpenAI, reqs: list[Request]):
    """A batch backend, and the chunk an earlier run recorded for ``reqs`` before it died."""
    b = backends.create("openai", model="m", base_url=server.url, batch=True)
    ids = [custom_id(b, r) for r in reqs]
    key = chunk_key(ids)
    cache.batch_intent(key, b.cache_scopes()[0], "m", ids)
    return b, ids, key


def test_a_batch_submitted_but_not_recorded_is_found_by_its_metadata(tmp_path):
    """The process died after creating the batch and before storing its id: no second batch."""
    cache = Cache(tmp_path / "c.sqlite")
    reqs = five_requests()
    with FakeOpenAI(keyword_responder(RULES)) as server:
        b, ids, key = recorded_intent(cache, server, reqs)
        client = openai.OpenAI(api_key="x", base_url=server.url)
        lines = "".join(json.dumps({"custom_id": c, "method": "POST", "url": "/v1/chat/completions",
                                    "body": b.body(r)}) + "\n" for c, r in zip(ids, reqs))
        f = client.files.create(file=("x.jsonl", lines.encode()), purpose="batch")
        client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h",
                              metadata={METADATA_KEY: key})
        stats = RunStats()
        out = run_requests(b, reqs, cache, stats)
        assert len(server.batches) == 1 and all(r.ok for r in out)
        assert cache.batch_get(key)["collected"] == 1


def test_a_recorded_batch_never_submitted_is_submitted_once(tmp_path):
    cache = Cache(tmp_path / "c.sqlite")
    reqs = five_requests()
    with FakeOpenAI(keyword_responder(RULES)) as server:
        b, _, key = recorded_intent(cache, server, reqs)  # died before uploading
        out = run_requests(b, reqs, cache, RunStats())
        assert len(server.batches) == 1 and all(r.ok for r in out)
        assert cache.batch_get(key)["collected"] == 1


def test_split_respects_the_line_and_byte_limits():
    lines = [(f"id{i}", b"x" * 10) for i in range(25)]
    assert [len(g) for g in split(lines, max_lines=10)] == [10, 10, 5]
    assert [len(g) for g in split(lines, max_bytes=35)] == [3] * 8 + [1]


def test_dry_run_shows_the_batch_price_beside_the_normal_price(tmp_path, cli):
    src = write(tmp_path / "in.csv")
    r = cli("classify", src, "--out", tmp_path / "o.csv", "--dry-run", "--backend", "openai",
            "--model", "gpt-4o-mini", "--base-url", "http://127.0.0.1:9/v1")
    assert r.code == 0, r.err
    rows = {ln.rsplit(None, 1)[0].strip(): ln.split()[-1] for ln in r.err.splitlines() if "(USD)" in ln}
    normal, batch = float(rows["estimated cost (USD)"]), float(rows["estimated cost with --batch (USD)"])
    assert normal > 0 and batch == pytest.approx(normal / 2, abs=1e-4)


@pytest.mark.parametrize("extra,needle", [
    (["--no-cache"], "--batch keeps the batch ids in the cache database"),
    (["--backend", "embedding"], "--batch needs --backend openai (the backend is embedding)"),
    (["--base-url", "http://127.0.0.1:9/v1"], "--batch sends to one endpoint"),
])
def test_batch_usage_errors_are_one_line(tmp_path, cli, extra, needle):
    src = write(tmp_path / "in.csv")
    with FakeOpenAI(keyword_responder(RULES)) as server:
        r = cli("classify", src, "--out", tmp_path / "o.csv", "--batch", "--backend", "openai", "--model", "m",
                "--base-url", server.url, *extra)
        assert server.count == 0 and not server.batches
    assert r.code == 2 and needle in r.err and r.err.strip().count("\n") == 0, r.err
