"""The library level: runner, frames and jobs with a small in-process Backend (no server, no model)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd
import pytest

import emocause
from emocause.annotate import frames, jobs, prompts
from emocause.annotate.cache import Cache
from emocause.annotate.runner import DEFAULT_MAX_CHARS, RunStats, run_requests
from emocause.backends import Backend, BackendOptions, Request, Response
from emocause.errors import UsageError
from tests.fakes.openai import utterance


class KeywordBackend(Backend):
    """Answers like an LLM would: a label for label prompts, a quoted span for span prompts.

    Rows whose text contains a ``fail_on`` word fail (as after every retry); every
    request is recorded, so tests see exactly what was sent.
    """

    name = "keyword"

    def __init__(self, rules: dict[str, str] | None = None, fail_on: Sequence[str] = ()) -> None:
        super().__init__("keyword-1")
        self.rules = rules or {"broken": "Annoyance", "thank": "Gratitude", "love": "Love"}
        self.fail_on = tuple(fail_on)
        self.seen: list[Request] = []
        self.closed = False

    def answer(self, req: Request) -> str:
        if req.task == "span":
            return '"' + " ".join(req.text.split()[:3]) + '"'
        if req.task == "yesno":
            return "Yes" if "broken" in req.text else "No"
        return next((v for k, v in self.rules.items() if k in req.text.lower()), "Neutral")

    def generate(self, requests, on_result):
        for i, req in enumerate(requests):
            self.seen.append(req)
            if any(word in req.text for word in self.fail_on):
                on_result(i, Response(None, error="HTTP 500: boom"))
            else:
                on_result(i, Response(self.answer(req), usage={"prompt_tokens": 10, "completion_tokens": 1}))

    def close(self) -> None:
        self.closed = True


COMMENTS = ["The build is broken again", "thanks, that fixed it", "", "I love this release",
            "The build is broken again", "Bumped the version"]


def frame() -> pd.DataFrame:
    return pd.DataFrame({"id": [f"c{i}" for i in range(len(COMMENTS))], "body": COMMENTS,
                         "extra": list("abcdef")}, index=[10, 11, 12, 13, 14, 15])


# ---------------------------------------------------------------------------------------- runner

def test_runner_sends_identical_prompts_once_caches_answers_and_keeps_order(tmp_path):
    template = prompts.load("basic")
    stats = RunStats()
    prep = frames.build_requests(COMMENTS, template, "github", DEFAULT_MAX_CHARS, stats)
    backend = KeywordBackend()
    cache = Cache(tmp_path / "c.sqlite")
    answers = run_requests(backend, prep.requests, cache, stats)
    assert [a.text if a else None for a in answers] == [
        "Annoyance", "Gratitude", None, "Love", "Annoyance", "Neutral"]
    assert len(backend.seen) == 4 and stats.sent == 4 and stats.skipped == 1
    assert stats.prompt_tokens == 40 and cache.stats()["entries"] == 4
    again = RunStats()
    assert [a.text if a else None for a in run_requests(backend, prep.requests, cache, again)] == \
        [a.text if a else None for a in answers]
    assert len(backend.seen) == 4 and again.cached == 5 and again.sent == 0
    cache.close()


def test_runner_counts_failures_per_row_and_never_caches_them(tmp_path):
    template = prompts.load("basic")
    stats = RunStats()
    prep = frames.build_requests(COMMENTS, template, "github", DEFAULT_MAX_CHARS, stats)
    cache = Cache(tmp_path / "c.sqlite")
    run_requests(KeywordBackend(fail_on=("broken",)), prep.requests, cache, stats)
    assert stats.failed == 2 and stats.errors == {"HTTP 500": 2}  # two rows, one request
    assert cache.stats()["entries"] == 3
    cache.close()


# ---------------------------------------------------------------------------------------- frames

def test_build_requests_skips_empty_rows_and_cuts_long_text():
    template = prompts.load("cause")
    stats = RunStats()
    long = "word " * 2000
    prep = frames.build_requests(["  ", long, "fine"], template, "jira", DEFAULT_MAX_CHARS, stats,
                                 emotions=["Anger", "Anger", None])
    assert prep.requests[0] is None and prep.requests[2] is None  # empty text; no emotion
    assert stats.skipped == 2 and stats.truncated == 1
    assert len(prep.requests[1].text) <= DEFAULT_MAX_CHARS and "JIRA" in prep.requests[1].prompt
    assert prep.requests[1].emotion == "Anger" and utterance(prep.requests[1].prompt) == prep.requests[1].text


def test_yes_no_answers_become_the_prompts_emotion_or_neutral():
    template = prompts.load("frustration-detect")
    stats = RunStats()
    cols = frames.label_columns([Response("Yes"), Response("No"), Response("maybe"), None,
                                 Response(None, error="timeout")], template, stats)
    assert cols["emotion_label"] == ["Frustration", "Neutral", "Unparsed", None, None]
    assert cols["emotion_raw"][2] == "maybe"
    assert cols["emotion"] == ["Anger", "Neutral", "Unparsed", None, None]
    assert cols["emotion_status"] == ["ok", "ok", "unparsed", "skipped", "failed: timeout"]
    assert stats.unparsed == 1


def test_attach_keeps_index_columns_and_integer_offsets():
    df = frame()
    spans = frames.span_columns([Response('"is broken"'), None] + [Response('"nope"')] * 4,
                                df["body"].tolist(), RunStats())
    out = frames.attach(df, spans)
    assert list(out.index) == list(df.index) and list(out.columns[:3]) == ["id", "body", "extra"]
    assert str(out["cause_start"].dtype) == "Int64" and out.loc[10, "cause_start"] == 10
    assert out.loc[11, "cause_status"] == "skipped" and "cause" not in df.columns  # input untouched


# ------------------------------------------------------------------------------------------ jobs

def test_classify_a_dataframe_returns_a_result_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    backend = KeywordBackend()
    result = emocause.classify(frame(), backend=backend, prompt="all-levels", platform="mail")
    assert list(tmp_path.iterdir()) == [] and result.out is None and result.manifest_path is None
    assert not backend.closed  # a Backend the caller made is the caller's to close
    df = result.frame
    assert list(df.index) == list(frame().index) and list(df.columns[:3]) == ["id", "body", "extra"]
    # Gratitude is not on the all-levels list: mapped anyway (the default mapping) and marked off-list
    assert list(df["emotion"]) == ["Anger", "Love", None, "Love", "Anger", "Neutral"]
    assert list(df["emotion_status"]) == ["ok", "off-list", "skipped", "ok", "ok", "ok"]
    assert result.counts["rows"] == 6 and result.counts["sent"] == 4 and result.counts["skipped"] == 1
    assert result.counts["emotions"] == {"Anger": 2, "Love": 2, "Neutral": 1} and result.counts["off_list"] == 1
    assert result.manifest["mapping"]["name"] == "default"
    assert result.failed == 0 and result.answered == 5 and result.ok
    m = result.manifest
    assert m["command"] == "classify" and m["backend"] == "keyword" and m["model"] == "keyword-1"
    assert m["output"] is None and m["counts"] == result.counts
    assert m["prompt"]["name"] == "all-levels" and m["prompt"]["sha256"] == prompts.load("all-levels").sha256
    assert m["parameters"]["platform"] == "mail" and m["parameters"]["text_col"] == "body"
    assert m["parameters"]["id_col"] == "id" and m["parameters"]["max_chars"] == DEFAULT_MAX_CHARS
    assert m["input"] == {"path": None, "sha256": None, "rows": 6}
    assert m["outcome"] == {"failed": 0, "of": 5, "max_failed": "0", "ok": True}
    assert all("mailing list" in r.prompt for r in backend.seen)


def test_with_out_the_table_and_manifest_are_what_the_result_holds(tmp_path):
    src = tmp_path / "in.csv"
    frame().to_csv(src, index=False)
    out = tmp_path / "sub" / "labeled.parquet"
    result = emocause.classify(src, backend=KeywordBackend(), out=out, limit=4)
    assert result.out == out and result.manifest_path == tmp_path / "sub" / "labeled.parquet.manifest.json"
    written = pd.read_parquet(out)
    assert len(written) == 4 and list(written["emotion"].fillna("-")) == ["Anger", "Love", "-", "Love"]
    assert json.loads(result.manifest_path.read_text()) == json.loads(json.dumps(result.manifest, default=str))
    assert result.manifest["input"]["path"] == str(src) and len(result.manifest["input"]["sha256"]) == 64


def test_extract_causes_per_row_emotion_skips_no_emotion_rows():
    df = frame()
    df["emotion"] = ["Anger", "Joy", "Anger", "Love", "Neutral", "Unparsed"]
    backend = KeywordBackend()
    result = emocause.extract_causes(df, emotion_col="emotion", backend=backend, text_col="body")
    assert [r.emotion for r in backend.seen] == ["Anger", "Joy", "Love"]
    out = result.frame
    assert list(out["cause"].fillna("-")) == ["The build is", "thanks, that fixed", "-", "I love this", "-", "-"]
    assert list(out["cause_status"]) == ["ok", "ok", "skipped", "ok", "skipped", "skipped"]
    assert result.counts["grounded"] == 3 and result.manifest["command"] == "causes"
    assert result.manifest["parameters"]["emotion_col"] == "emotion"


def test_options_objects_keywords_and_their_errors():
    backend = KeywordBackend()
    options = jobs.ClassifyOptions(platform="jira", limit=2)
    result = emocause.classify(frame(), options=options, backend=backend, limit=3)  # keyword wins
    assert result.counts["rows"] == 3 and "JIRA" in backend.seen[0].prompt
    with pytest.raises(TypeError, match="unexpected options colour"):
        emocause.classify(frame(), backend=backend, colour="red")
    with pytest.raises(TypeError, match="cannot change a ready Backend"):
        emocause.classify(frame(), backend=backend, model="other")
    with pytest.raises(UsageError, match="--platform 'gitlab'"):
        emocause.classify(frame(), backend=backend, platform="gitlab")
    with pytest.raises(UsageError, match="extracts spans"):
        emocause.classify(frame(), backend=backend, prompt="cause")
    with pytest.raises(UsageError, match="exactly one of --emotion"):
        emocause.extract_causes(frame(), backend=backend)
    with pytest.raises(TypeError, match="DataFrame or a table path"):
        emocause.classify([1, 2], backend=backend)


def test_failed_rows_against_max_failed():
    df = frame()
    result = emocause.classify(df, backend=KeywordBackend(fail_on=("broken",)), no_cache=True)
    assert result.failed == 2 and result.answered == 5 and not result.ok
    assert result.manifest["outcome"] == {"failed": 2, "of": 5, "max_failed": "0", "ok": False}
    assert list(result.frame["emotion_status"])[0] == "failed: HTTP 500: boom"
    for limit, ok in (("1", False), ("2", True), ("39%", False), ("40%", True), (2, True)):
        again = emocause.classify(df, backend=KeywordBackend(fail_on=("broken",)), no_cache=True,
                                  max_failed=limit)
        assert again.ok is ok, limit
    for bad in ("abc", "-1", "1.5", "150%"):
        with pytest.raises(UsageError, match="--max-failed"):
            emocause.classify(df, backend=KeywordBackend(), max_failed=bad)


def test_estimate_counts_what_a_run_would_send(tmp_path):
    cache = tmp_path / "c.sqlite"
    backend = KeywordBackend()
    before = emocause.estimate(frame(), backend=backend, cache=cache)
    assert before.counts["prompts"] == 5 and before.counts["unique_prompts"] == 4
    assert before.counts["to_send"] == 4 and before.counts["cost_usd"] is None and backend.seen == []
    emocause.classify(frame(), backend=backend, cache=cache, limit=2)
    after = emocause.estimate(frame(), backend=backend, cache=cache)
    assert after.counts["cached"] == 2 and after.counts["to_send"] == 2
    causes = emocause.estimate(frame(), task="causes", emotion="Anger", backend=backend, cache=cache)
    assert causes.counts["to_send"] == 4 and len(backend.seen) == 2


def test_backend_options_precedence(tmp_path, monkeypatch):
    cfg = tmp_path / "config.toml"
    cfg.write_text('backend = "openai"\nmodel = "cfg-model"\nconcurrency = 3\nbatch_size = 7\n')
    monkeypatch.setenv("EMOCAUSE_CONFIG", str(cfg))
    got = BackendOptions().resolved()
    assert (got.backend, got.model, got.concurrency, got.batch_size, got.retries) == ("openai", "cfg-model", 3, 7, 6)
    monkeypatch.setenv("EMOCAUSE_CONCURRENCY", "5")
    assert BackendOptions().resolved().concurrency == 5
    assert BackendOptions(concurrency=9).resolved().concurrency == 9
    # the configured model belongs to the configured backend
    assert BackendOptions(backend="hf").resolved().model is None
    assert BackendOptions(backend="openai").resolved().model == "cfg-model"
    with pytest.raises(UsageError, match="--concurrency: concurrency must be between 1 and 256"):
        BackendOptions(concurrency=0).resolved()
    with pytest.raises(UsageError, match="--batch needs --backend openai"):
        BackendOptions(backend="hf", batch=True).resolved()
    cfg.write_text('base_url = ["http://gpu1:8000/v1", "http://gpu2:8000/v1"]\n')
    assert BackendOptions().resolved().base_url == ["http://gpu1:8000/v1", "http://gpu2:8000/v1"]


def test_the_mapping_option_reaches_the_answers_and_the_manifest():
    backend = KeywordBackend(rules={"broken": "Worry"})
    default = emocause.classify(frame(), backend=backend, no_cache=True)
    paper = emocause.classify(frame(), backend=backend, no_cache=True, mapping="paper")
    assert default.frame["emotion"].iloc[0] == "Fear"   # Worry is Fear in the annotation guide
    assert paper.frame["emotion"].iloc[0] != "Fear"     # the paper counted it a hallucination
    assert paper.manifest["mapping"]["name"] == "paper" != default.manifest["mapping"]["name"]
    with pytest.raises(UsageError, match="unknown mapping 'nope'"):
        emocause.classify(frame(), backend=backend, mapping="nope")
