"""Streamed classify/causes (issue 14): chunk by chunk, the same bytes as a whole-table run.

Every input format (CSV, TSV, JSON Lines, JSON, Parquet, compressed or not) and every output
format is run twice against a real local OpenAI-compatible server: once whole (``stream=False``,
the old path) and once streamed in small chunks; the files must be identical, byte for byte.
A real subprocess is killed mid-run with SIGKILL and rerun: the table is complete and in order.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import emocause
from emocause import tables
from emocause.errors import UsageError
from emocause.annotate.cache import Cache
from tests.fakes.openai import FakeOpenAI, keyword_responder

RULES = {"broken": "Annoyance", "thanks": "Gratitude", "scared": "Fear", "wow": "amazed", "love": "Love"}
TEXTS = ["The nightly build is broken again", "thanks, that fixed it", "", "I am scared of this migration",
         'a "quoted" word, a comma\nand a newline', "wow, 10x faster", "Bumped the version", "  ",
         "ünïcödé thanks 🎉", "=cmd|' /C calc'!A0 is broken", "I love this API", "nothing here"]


def rows(n: int = 30) -> list[dict]:
    """Records whose columns vary in type from row to row, as scraped JSON does."""
    rng = random.Random(7)
    out = []
    for i in range(n):
        r: dict = {"id": f"{i:03d}", "text": TEXTS[i % len(TEXTS)]}
        if i % 3:
            r["score"] = i if i % 5 else None  # whole numbers with gaps
        if i % 4 == 0:
            r["late"] = rng.choice([1.5, "x", True, 7])  # a key first seen late, of mixed kinds
        if i > 20:
            r["meta"] = {"reactions": i}
        out.append(r)
    return out


def write_input(path: Path, records: list[dict]) -> Path:
    name = path.name
    if ".jsonl" in name:  # written by hand: pandas would give every row every key
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
        if name.endswith(".zst"):
            import zstandard

            data = zstandard.ZstdCompressor().compress(data)
        path.write_bytes(data)
        return path
    df = pd.DataFrame([{k: r.get(k) for k in ("id", "text", "score")} for r in records])
    if name.endswith(".parquet"):
        df["score"] = df["score"].astype("Int64")
    tables.write_table(df, path)
    return path


def server_kwargs(server: FakeOpenAI, cache: Path) -> dict:
    return {"backend": "openai", "model": "test-model", "base_url": server.url, "cache": cache}


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI(keyword_responder(RULES)) as s:
        yield s


CASES = [("in.csv", ["out.csv", "out.parquet"]),
         ("in.tsv", ["out.tsv.bz2", "out.jsonl"]),
         ("in.csv.gz", ["out.csv.gz", "out.json"]),
         ("in.jsonl", ["out.jsonl", "out.parquet", "out.csv"]),
         ("in.jsonl.zst", ["out.jsonl.zst", "out.json.xz"]),
         ("in.json", ["out.json", "out.parquet"]),
         ("in.parquet", ["out.parquet", "out.csv", "out.jsonl"])]


@pytest.mark.parametrize("source,outputs", CASES, ids=[c[0] for c in CASES])
def test_streamed_output_is_byte_identical_to_the_whole_table_run(tmp_path, server, source, outputs):
    src = write_input(tmp_path / source, rows())
    cache = tmp_path / "cache.sqlite"
    for name in outputs:
        whole = emocause.classify(src, out=tmp_path / f"whole-{name}", stream=False, **server_kwargs(server, cache))
        streamed = emocause.classify(src, out=tmp_path / f"streamed-{name}", stream=True, chunk_rows=4,
                                     **server_kwargs(server, cache))
        a, b = (tmp_path / f"whole-{name}").read_bytes(), (tmp_path / f"streamed-{name}").read_bytes()
        assert a == b, name
        assert whole.frame is not None and not whole.streamed
        assert streamed.frame is None and streamed.streamed
        assert streamed.counts["emotions"] == whole.counts["emotions"] and streamed.counts["rows"] == 30
        assert streamed.manifest["parameters"]["stream"] is True
        assert streamed.manifest["parameters"]["chunk_rows"] == 4
        back = streamed.table()
        assert len(back) == 30 and list(back["id"].astype(str).str.zfill(3)) == [f"{i:03d}" for i in range(30)]
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_streamed_causes_with_offsets_and_flags_are_byte_identical(tmp_path, server):
    src = write_input(tmp_path / "in.csv", rows(25))
    cache = tmp_path / "cache.sqlite"
    labeled = tmp_path / "labeled.parquet"
    emocause.classify(src, out=labeled, **server_kwargs(server, cache))  # streamed: path + out
    for name in ("c.parquet", "c.csv", "c.jsonl"):
        emocause.extract_causes(labeled, emotion_col="emotion", out=tmp_path / f"whole-{name}", stream=False,
                                **server_kwargs(server, cache))
        r = emocause.extract_causes(labeled, emotion_col="emotion", out=tmp_path / f"streamed-{name}",
                                    chunk_rows=3, **server_kwargs(server, cache))
        assert r.streamed and r.counts["grounded"] >= 1
        assert (tmp_path / f"whole-{name}").read_bytes() == (tmp_path / f"streamed-{name}").read_bytes()


def test_cli_streams_by_default_and_a_dataframe_stays_in_memory(tmp_path, server, cli):
    src = write_input(tmp_path / "in.jsonl", rows())
    cache = tmp_path / "cache.sqlite"
    r = cli("classify", src, "--out", tmp_path / "cli.parquet", "--backend", "openai", "--model", "test-model",
            "--base-url", server.url, "--cache", cache, "--chunk-rows", "7")
    assert r.code == 0, r.err
    m = json.loads((tmp_path / "cli.parquet.manifest.json").read_text())
    assert m["parameters"]["stream"] is True and m["parameters"]["chunk_rows"] == 7
    emocause.classify(src, out=tmp_path / "lib.parquet", stream=False, **server_kwargs(server, cache))
    assert (tmp_path / "cli.parquet").read_bytes() == (tmp_path / "lib.parquet").read_bytes()
    df = tables.read_table(src)
    in_memory = emocause.classify(df, **server_kwargs(server, cache))
    assert in_memory.frame is not None and not in_memory.streamed
    with pytest.raises(UsageError, match="give out"):
        emocause.classify(src, stream=True, **server_kwargs(server, cache))


def test_streamed_stdout_is_the_whole_table(tmp_path, server):
    src = write_input(tmp_path / "in.csv", rows(12))
    cache = tmp_path / "cache.sqlite"
    emocause.classify(src, out=tmp_path / "ref.csv", stream=False, **server_kwargs(server, cache))
    env = {**os.environ, "EMOCAUSE_PROGRESS": "0"}
    proc = subprocess.run([sys.executable, "-m", "emocause", "classify", str(src), "--out", "-", "--backend",
                           "openai", "--model", "test-model", "--base-url", server.url, "--cache", str(cache),
                           "--chunk-rows", "5"], env=env, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (tmp_path / "ref.csv").read_bytes()


def test_bad_line_deep_in_a_streamed_input_stops_before_any_request(tmp_path, cli):
    lines = ["id,text"] + [f"{i},comment {i} is broken" for i in range(200)] + ["201,one,field,too,many"]
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    with FakeOpenAI(keyword_responder(RULES)) as s:
        r = cli("classify", tmp_path / "in.csv", "--out", tmp_path / "o.csv", "--backend", "openai",
                "--model", "m", "--base-url", s.url, "--chunk-rows", "10")
        assert r.code == 2 and "line 202: 5 fields where the header has 2" in r.err
        assert s.count == 0 and not (tmp_path / "o.csv").exists()


def test_dry_run_counts_unique_prompts_across_chunks(tmp_path, server):
    src = write_input(tmp_path / "in.csv", rows(36))  # each text appears three times
    cache = tmp_path / "cache.sqlite"
    small = emocause.estimate(src, chunk_rows=2, **server_kwargs(server, cache))
    large = emocause.estimate(src, chunk_rows=1000, **server_kwargs(server, cache))
    assert small.counts == large.counts
    assert small.counts["prompts"] == 30 and small.counts["unique_prompts"] == small.counts["to_send"] == 10
    emocause.classify(src, out=tmp_path / "o.csv", **server_kwargs(server, cache))
    after = emocause.estimate(src, chunk_rows=2, **server_kwargs(server, cache))
    assert after.counts["cached"] == 10 and after.counts["to_send"] == 0


def test_streamed_batch_run_submits_every_chunk_before_waiting(tmp_path, cli):
    src = write_input(tmp_path / "in.csv", [{"id": str(i), "text": f"comment {i} is broken"} for i in range(9)])
    with FakeOpenAI(keyword_responder(RULES), batch_timing=(0.05, 0.3, 0.05)) as s:
        r = cli("classify", src, "--out", tmp_path / "batch.csv", "--backend", "openai", "--model", "m",
                "--base-url", s.url, "--cache", tmp_path / "b.sqlite", "--batch", "--chunk-rows", "3")
        assert r.code == 0, r.err
        assert len(s.batches) == 3 and s.count == 0
        created = sorted(b.created_at for b in s.batches.values())
        first_done = min(b.times["completed"] for b in s.batches.values())
        assert created[-1] < first_done  # all three ran at once
        direct = cli("classify", src, "--out", tmp_path / "direct.csv", "--backend", "openai", "--model", "m",
                     "--base-url", s.url, "--cache", tmp_path / "d.sqlite")
        assert direct.code == 0
    assert (tmp_path / "batch.csv").read_bytes() == (tmp_path / "direct.csv").read_bytes()


def test_killed_streamed_run_resumes_and_writes_the_whole_table_in_order(tmp_path):
    """SIGKILL a real streamed run mid-way: no table is left half-written; the rerun completes it."""
    n = 80
    records = [{"id": f"r{i}", "text": f"comment {i}: the tests are broken in module m{i}"} for i in range(n)]
    src = write_input(tmp_path / "in.csv", records)
    cache = tmp_path / "cache.sqlite"
    out = tmp_path / "o.parquet"
    with FakeOpenAI(keyword_responder(RULES), latency=0.04) as server:
        env = {**os.environ, "EMOCAUSE_PROGRESS": "0"}
        cmd = [sys.executable, "-m", "emocause", "classify", str(src), "--out", str(out), "--cache", str(cache),
               "--backend", "openai", "--model", "test-model", "--base-url", server.url, "--concurrency", "2",
               "--chunk-rows", "10"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while server.count < 35 and time.time() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        first = server.count
        assert 35 <= first < n and not out.exists()
        assert any(p.name.startswith(".o.parquet.") for p in tmp_path.iterdir())  # the killed run's parts
        committed = Cache(cache).stats()["entries"]
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        assert server.count - first == n - committed  # only what was not committed is sent again
        emocause.classify(src, out=tmp_path / "ref.parquet", stream=False, cache=cache, backend="openai",
                          model="test-model", base_url=server.url)
        assert server.count - first == n - committed
    assert out.read_bytes() == (tmp_path / "ref.parquet").read_bytes()
    table = pd.read_parquet(out)
    assert list(table["id"]) == [f"r{i}" for i in range(n)] and (table["emotion"] == "Anger").all()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # leftovers removed
