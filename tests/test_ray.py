"""``--engine ray`` on a real local Ray instance: the same table, byte for byte, as a local run.

One Ray instance (2 CPUs) serves every test here: the openai backend against two real local
servers spread over two actors, the trained (tfidf-svm) backend loaded once per actor, Parquet
parts in a folder, and the CLI flags.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import emocause
from tests.conftest import PAPER
from tests.fakes.openai import FakeOpenAI, keyword_responder
from tests.test_stream import RULES, rows, write_input

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_openai_over_two_actors_and_two_servers_matches_the_local_run(tmp_path, local_ray):
    src = write_input(tmp_path / "in.jsonl", rows(40))
    with FakeOpenAI(keyword_responder(RULES)) as a, FakeOpenAI(keyword_responder(RULES)) as b:
        common = {"backend": "openai", "model": "test-model", "base_url": [a.url, b.url], "concurrency": 8}
        for name in ("t.parquet", "t.csv.gz", "t.json"):
            emocause.classify(src, out=tmp_path / f"local-{name}", cache=tmp_path / "local.sqlite", **common)
            sent = a.count + b.count
            r = emocause.classify(src, out=tmp_path / f"ray-{name}", engine="ray", actors=2, chunk_rows=6,
                                  cache=tmp_path / f"ray-{name}.sqlite", **common)
            assert (tmp_path / f"ray-{name}").read_bytes() == (tmp_path / f"local-{name}").read_bytes(), name
            # 10 distinct texts: each shard sends its own once (shards run at once, so a text
            # repeated in several shards may be sent by each before the cache has it)
            assert a.count + b.count - sent == r.counts["sent"] and 10 <= r.counts["sent"] <= 33
            assert a.count > 0 and b.count > 0  # both servers got work
            p = r.manifest["parameters"]
            assert p["engine"] == "ray" and p["actors"] == 2 and p["shards"] == 7
        # a rerun on the same cache sends nothing; the folder output keeps Parquet parts and a manifest
        sent = a.count + b.count
        r = emocause.classify(src, out=tmp_path / "parts", engine="ray", actors=2, chunk_rows=6,
                              cache=tmp_path / "ray-t.json.sqlite", **common)
        assert a.count + b.count == sent and r.counts["cached"] == r.counts["rows"] - r.counts["skipped"] == 33
    parts = sorted((tmp_path / "parts").glob("part-*.parquet"))
    assert len(parts) == 7 and r.manifest_path == tmp_path / "parts" / "manifest.json"
    assert json.loads(r.manifest_path.read_text())["parameters"]["parts"] == [p.name for p in parts]
    local = pd.read_parquet(tmp_path / "local-t.parquet")
    pd.testing.assert_frame_equal(r.table(), local)


@pytest.mark.skipif(not (PAPER / "github-train.csv").is_file(), reason="needs ../shared paper data")
def test_trained_model_loaded_once_per_actor_matches_the_local_run(tmp_path, local_ray, cli):
    from emocause.cli.app import main

    model = tmp_path / "svm"
    assert main(["train", str(PAPER / "github-train.csv"), "--model-out", str(model)]) == 0
    src = PAPER / "github-test.csv"
    common = ["--backend", "trained", "--model", model, "--limit", 300, "--text-col", "Text"]
    r = cli("classify", src, "--out", tmp_path / "local.parquet", *common)
    assert r.code == 0, r.err
    r = cli("classify", src, "--out", tmp_path / "ray.parquet", *common, "--engine", "ray", "--actors", 2,
            "--chunk-rows", 50)
    assert r.code == 0, r.err
    assert (tmp_path / "ray.parquet").read_bytes() == (tmp_path / "local.parquet").read_bytes()
    m = json.loads((tmp_path / "ray.parquet.manifest.json").read_text())
    assert m["parameters"]["actors"] == 2 and m["parameters"]["shards"] == 6 and m["counts"]["rows"] == 300


def test_engine_flags_are_checked_before_any_work(tmp_path, cli):
    src = write_input(tmp_path / "in.csv", rows(5))
    r = cli("classify", src, "--out", "-", "--engine", "ray")
    assert r.code == 2 and "not stdout" in r.err
    r = cli("classify", src, "--out", tmp_path / "o.csv", "--address", "auto")
    assert r.code == 2 and "--engine ray" in r.err
    r = cli("classify", src, "--out", tmp_path / "o.csv", "--engine", "spark")
    assert r.code == 2 and "use one of local, ray" in r.err
