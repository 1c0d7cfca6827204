"""Paper fidelity (issue 15): the paper's released raw answers, parsed as emocause parses answers.

The independent references are the paper's own mapped columns
(``*-mapped`` in ``github-test-granular-level-prompting.csv``) and scikit-learn.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from emocause.emotions.answers import parse_answer
from emocause.emotions.taxonomy import BASIC, HALLUCINATION, LABEL_SETS, UNPARSED

GRANULAR = "github-test-granular-level-prompting.csv"
#: (model, raw answer column, the paper's mapped column, the paper's macro-F1)
MODELS = [("flan-alpaca", "flan-alpaca-All-Pred-Actual", "flan-alpaca-mapped", 0.460),
          ("GPT-4", "GPT-4-All-Pred-Actual", "GPT-4-mapped", 0.435),
          ("ChatGPT", "chatgpt-Pred-Actual", "chatgpt-mapped", 0.400)]

#: Every distinct raw answer of the three models to the all-levels prompt:
#: (answer, label, status, basic emotion under default, paper, goemotions-ekman).
ANSWERS = [
    ('admiration', 'Admiration', 'ok', 'Joy', 'Joy', 'Joy'),
    ('Admiration', 'Admiration', 'ok', 'Joy', 'Joy', 'Joy'),
    ('Amusement', 'Amusement', 'ok', 'Joy', 'Joy', 'Joy'),
    ('Anger', 'Anger', 'ok', 'Anger', 'Anger', 'Anger'),
    ('annoyance', 'Annoyance', 'ok', 'Anger', 'Anger', 'Anger'),
    ('Annoyance', 'Annoyance', 'ok', 'Anger', 'Anger', 'Anger'),
    ('Appreciation', 'Unparsed', 'unparsed', 'Unparsed', 'Unparsed', 'Unparsed'),
    ('Approval', 'Approval', 'ok', 'Joy', 'Joy', 'Joy'),
    ('Caring', 'Caring', 'ok', 'Love', 'Love', 'Joy'),
    ('Concern', 'Unparsed', 'unparsed', 'Unparsed', 'Unparsed', 'Unparsed'),
    ('concerned', 'Unparsed', 'unparsed', 'Unparsed', 'Unparsed', 'Unparsed'),
    ('Confidence.', 'Unparsed', 'unparsed', 'Unparsed', 'Unparsed', 'Unparsed'),
    ('Confused', 'Confusion', 'ok', 'Surprise', 'Surprise', 'Surprise'),
    ('confusion', 'Confusion', 'ok', 'Surprise', 'Surprise', 'Surprise'),
    ('Confusion', 'Confusion', 'ok', 'Surprise', 'Surprise', 'Surprise'),
    ('curiosity', 'Curiosity', 'ok', 'Surprise', 'Surprise', 'Surprise'),
    ('Curiosity', 'Curiosity', 'ok', 'Surprise', 'Surprise', 'Surprise'),
    ('Desire', 'Desire', 'ok', 'Love', 'Love', 'Joy'),
    ('Disappointed', 'Disappoint', 'ok', 'Sadness', 'Sadness', 'Sadness'),
    ('Disappointment', 'Disappoint', 'ok', 'Sadness', 'Sadness', 'Sadness'),
    ('disappointment', 'Disappoint', 'ok', 'Sadness', 'Sadness', 'Sadness'),
    ('Disappointment.', 'Disappoint', 'ok', 'Sadness', 'Sadness', 'Sadness'),
    ('disapproval', 'Disapproval', 'ok', 'Anger', 'Anger', 'Anger'),
    ('Disapproval', 'Disapproval', 'ok', 'Anger', 'Anger', 'Anger'),
    ('Embarrassment', 'Embarrassment', 'ok', 'Sadness', 'Sadness', 'Sadness'),
    ('embarrassment', 'Embarrassment', 'ok', 'Sadness', 'Sadness', 'Sadness'),
    ('Excited', 'Excitement', 'ok', 'Joy', 'Joy', 'Joy'),
    ('excitement', 'Excitement', 'ok', 'Joy', 'Joy', 'Joy'),
    ('Excitement', 'Excitement', 'ok', 'Joy', 'Joy', 'Joy'),
    ('Excitement.', 'Excitement', 'ok', 'Joy', 'Joy', 'Joy'),
    ('Fear', 'Fear', 'ok', 'Fear', 'Fear', 'Fear'),
    ('Fear.', 'Fear', 'ok', 'Fear', 'Fear', 'Fear'),
    ('Grateful', 'Gratitude', 'off-list', 'Love', 'Love', 'Joy'),
    ('Gratitude', 'Gratitude', 'off-list', 'Love', 'Love', 'Joy'),
    ('gratitude', 'Gratitude', 'off-list', 'Love', 'Love', 'Joy'),
    ('Gratitude.', 'Gratitude', 'off-list', 'Love', 'Love', 'Joy'),
    ('Joy', 'Joy', 'ok', 'Joy', 'Joy', 'Joy'),
    ('joy', 'Joy', 'ok', 'Joy', 'Joy', 'Joy'),
    ('Joy.', 'Joy', 'ok', 'Joy', 'Joy', 'Joy'),
    ('Nervousness', 'Nervousness', 'ok', 'Fear', 'Fear', 'Fear'),
    ('Neutral', 'Neutral', 'ok', 'Neutral', 'Neutral', 'Neutral'),
    ('Neutral.', 'Neutral', 'ok', 'Neutral', 'Neutral', 'Neutral'),
    ('No emotion detected.', 'Neutral', 'ok', 'Neutral', 'Neutral', 'Neutral'),
    ('Optimism', 'Optimism', 'ok', 'Joy', 'Joy', 'Joy'),
    ('Optimism.', 'Optimism', 'ok', 'Joy', 'Joy', 'Joy'),
    ('Pride', 'Pride', 'ok', 'Joy', 'Joy', 'Joy'),
    ('Realization', 'Realization', 'ok', 'Surprise', 'Surprise', 'Surprise'),
    ('Relief', 'Relief', 'ok', 'Joy', 'Joy', 'Joy'),
    ('Remorse', 'Remorse', 'ok', 'Sadness', 'Sadness', 'Sadness'),
    ('remorse', 'Remorse', 'ok', 'Sadness', 'Sadness', 'Sadness'),
    ('Sadness', 'Sadness', 'ok', 'Sadness', 'Sadness', 'Sadness'),
    ('surprise', 'Surprise', 'ok', 'Surprise', 'Surprise', 'Surprise'),
    ('Surprise', 'Surprise', 'ok', 'Surprise', 'Surprise', 'Surprise'),
    ('Worry', 'Worry', 'ok', 'Fear', 'Unparsed', 'Fear'),
    ('Yes', 'Unparsed', 'unparsed', 'Unparsed', 'Unparsed', 'Unparsed'),
]


@pytest.fixture
def granular(paper_dir):
    return pd.read_csv(paper_dir / GRANULAR, keep_default_na=False, dtype=str)


def test_the_table_covers_every_distinct_raw_answer(granular):
    seen = set()
    for _, raw, _, _ in MODELS:
        seen |= set(granular[raw])
    assert seen == {row[0] for row in ANSWERS}


@pytest.mark.parametrize("raw,label,status,default,paper,ekman", ANSWERS)
def test_every_raw_answer_under_each_mapping(raw, label, status, default, paper, ekman):
    listed = LABEL_SETS["all-levels"]
    for mapping, basic in (("default", default), ("paper", paper), ("goemotions-ekman", ekman)):
        a = parse_answer(raw, listed, mapping)
        assert (a.label, a.basic) == (label, basic), mapping
        assert a.status == ("unparsed" if basic == UNPARSED else status), mapping


@pytest.mark.parametrize("model,raw,mapped,_", MODELS)
def test_paper_mapping_agrees_with_the_papers_mapped_columns(granular, model, raw, mapped, _):
    listed = LABEL_SETS["all-levels"]
    ours = [parse_answer(r, listed, "paper").basic for r in granular[raw]]
    theirs = [UNPARSED if m == HALLUCINATION else m for m in granular[mapped]]
    agree = np.mean([a == b for a, b in zip(ours, theirs)])
    assert agree >= 0.995, model
    assert agree == 1.0, [(r, a, b) for r, a, b in zip(granular[raw], ours, theirs) if a != b]


def _sklearn_macro_f1(gold: pd.DataFrame, labels: list[str]) -> float:
    y = gold[list(BASIC)].astype(int).to_numpy()
    p = np.array([[int(lab == e) for e in BASIC] for lab in labels])
    return float(f1_score(y, p, average="macro", zero_division=0))


@pytest.mark.parametrize("model,raw,mapped,published", MODELS)
def test_macro_f1_from_raw_answers_reproduces_the_paper(cli, paper_dir, granular, model, raw, mapped, published):
    gold = pd.read_csv(paper_dir / "github-test.csv", dtype={"id": str}).set_index("id").loc[granular["id"]]
    base = ("evaluate", "emotions", "--gold", paper_dir / "github-test.csv", "--pred", paper_dir / GRANULAR,
            "--pred-col", raw, "--answers", "all-levels", "--bootstrap", 0, "--format", "json")
    scores = {}
    for mapping in ("paper", "default"):
        r = cli(*base, "--mapping", mapping)
        assert r.code == 0, r.err
        scores[mapping] = json.loads(r.out)
    paper = scores["paper"]["macro"]["f1"]
    assert paper == pytest.approx(published, abs=0.003), model
    assert scores["default"]["macro"]["f1"] == pytest.approx(published, abs=0.02), model
    # independent: scikit-learn on the paper's own mapped column
    assert paper == pytest.approx(_sklearn_macro_f1(gold, list(granular[mapped])), abs=1e-12)
    assert scores["paper"]["mapping"]["name"] == "paper"
    st = scores["paper"]["answers"]["statuses"]
    assert sum(st.values()) == 400


def test_gpt4_worry_verdicts_are_the_difference(cli, paper_dir):
    """The paper marks GPT-4's two `Worry` answers as hallucinations although its list offers Worry."""
    out = {}
    for mapping in ("paper", "default"):
        r = cli("evaluate", "emotions", "--gold", paper_dir / "github-test.csv", "--pred", paper_dir / GRANULAR,
                "--pred-col", "GPT-4-All-Pred-Actual", "--answers", "all-levels", "--mapping", mapping,
                "--bootstrap", 0, "--format", "json")
        out[mapping] = json.loads(r.out)
    assert out["paper"]["answers"]["unparsed"] == {"Concern": 3, "Worry": 2}
    assert out["default"]["answers"]["unparsed"] == {"Concern": 3}
    assert out["default"]["answers"]["off_list"] == {"Gratitude": 40}
    assert out["default"]["macro"]["f1"] == pytest.approx(0.450, abs=0.002)
    assert out["default"]["per_label"]["Fear"]["support"] == out["paper"]["per_label"]["Fear"]["support"]
    assert out["default"]["per_label"]["Fear"]["f1"] > out["paper"]["per_label"]["Fear"]["f1"]


#: What a local OpenAI-compatible server answers, and what classify must make of it (all-levels).
SERVER = [("Gratitude.", "Gratitude", "Love", "off-list"), ("Confused", "Confusion", "Surprise", "ok"),
          ("Curiosity", "Curiosity", "Surprise", "ok"), ("Disapproval", "Disapproval", "Anger", "ok"),
          ("Approval", "Approval", "Joy", "ok"), ("Appreciation", "Unparsed", "Unparsed", "unparsed"),
          ("Yes", "Unparsed", "Unparsed", "unparsed"), ("No emotion detected.", "Neutral", "Neutral", "ok")]


def test_classify_against_a_local_server_parses_as_the_paper(cli, tmp_path):
    from tests.fakes.openai import FakeOpenAI, keyword_responder

    rules = {f"comment{i}x": answer for i, (answer, *_) in enumerate(SERVER)}
    src = tmp_path / "in.csv"
    pd.DataFrame({"id": range(len(SERVER)), "text": [f"this is comment{i}x" for i in range(len(SERVER))]}
                 ).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    with FakeOpenAI(keyword_responder(rules)) as server:
        r = cli("classify", src, "--out", out, "--prompt", "all-levels", "--backend", "openai",
                "--model", "m", "--base-url", server.url)
        assert r.code == 0, r.err
        prompt = server.requests[0]["body"]["messages"][0]["content"]
    assert ", ".join(LABEL_SETS["all-levels"]) in prompt and "Neutral" in prompt
    df = pd.read_csv(out, keep_default_na=False).sort_values("id")
    got = list(zip(df["emotion_raw"], df["emotion_label"], df["emotion"], df["emotion_status"]))
    assert got == SERVER
    manifest = json.loads((tmp_path / "out.csv.manifest.json").read_text())
    assert manifest["mapping"]["name"] == "default" and len(manifest["mapping"]["sha256"]) == 64
    assert manifest["counts"]["off_list"] == 1 and manifest["counts"]["unparsed"] == 2
    # the raw answers scored by evaluate --answers give what classify's emotion column gives
    gold = tmp_path / "gold.csv"
    pd.DataFrame({"id": range(len(SERVER)), **{e: [int(b == e) for *_, b, _ in SERVER] for e in BASIC}}
                 ).to_csv(gold, index=False)
    raw = cli("evaluate", "emotions", "--gold", gold, "--pred", out, "--pred-col", "emotion_raw",
              "--answers", "all-levels", "--bootstrap", 0, "-f", "json")
    mapped = cli("evaluate", "emotions", "--gold", gold, "--pred", out, "--bootstrap", 0, "-f", "json")
    assert raw.code == 0 and mapped.code == 0, raw.err + mapped.err
    assert json.loads(raw.out)["macro"] == json.loads(mapped.out)["macro"]
    assert json.loads(raw.out)["macro"]["f1"] == pytest.approx(4 / 6)   # Fear and Sadness have no rows


def test_reproduction_report_is_generated_by_the_library(paper_dir, tmp_path, capsys):
    """`make reproduce` runs scripts/reproduce_paper.py: the library, no subprocess, same file twice."""
    from scripts import reproduce_paper

    out = tmp_path / "r.md"
    args = ["--paper-dir", str(paper_dir), "--out", str(out), "--bootstrap", "20"]
    assert reproduce_paper.main(args) == 0
    text = out.read_text()
    assert "### From the raw answers: the paper's mapping and emocause's default" in text
    assert "| `Worry` | GPT-4 | 2 | Unparsed | Unparsed | Fear |" in text
    assert "GPT-4 macro-F1, raw answers, `--mapping paper` | 0.435 | 0.4354 |" in text
    assert "Reproduced (tolerance 0.003).**" in text and "NOT reproduced" not in text
    first = text
    assert reproduce_paper.main(args) == 0 and out.read_text() == first
    assert reproduce_paper.main(["--paper-dir", str(tmp_path), "--out", str(out)]) == 2
    assert "missing github-test.csv" in capsys.readouterr().err

