"""The cascade (``--gate``): a tfidf-svm gate trained and calibrated on the paper's training split
through the real CLI, in front of a real local OpenAI-compatible server."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from emocause.annotate import gate
from tests.conftest import PAPER
from tests.fakes.openai import FakeOpenAI, keyword_responder, utterance

pytestmark = pytest.mark.skipif(not (PAPER / "github-train.csv").is_file(), reason="needs ../shared paper data")


@pytest.fixture(scope="module")
def gate_dir(tmp_path_factory):
    from emocause.cli.app import main

    out = tmp_path_factory.mktemp("gate") / "svm"
    assert main(["train", str(PAPER / "github-train.csv"), "--model-out", str(out)]) == 0
    assert main(["calibrate-gate", str(PAPER / "github-train.csv"), "--model", str(out), "--folds", "3"]) == 0
    return out


def test_threshold_keeps_the_asked_share_of_emotional_rows():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(500, 6))
    emotional = rng.random(500) < 0.6
    for recall in (0.8, 0.95, 1.0):
        t = gate.threshold_for(scores, emotional, recall)
        best = scores.max(axis=1)[emotional]
        assert (best >= t).mean() >= recall  # enough kept
        assert (best > t).mean() < recall or recall == 1.0  # and no higher threshold would do


def test_calibration_is_recorded_with_its_training_data(gate_dir):
    calibration = json.loads((gate_dir / gate.GATE_FILE).read_text())
    assert calibration["recall"] == 0.95 and calibration["folds"] == 3 and calibration["rows"] == 1600
    assert calibration["calibrated_on"]["path"].endswith("github-train.csv")
    assert 0.5 < calibration["passed_share"] < 1


def test_gated_rows_are_not_sent_and_are_marked(gate_dir, tmp_path, cli):
    test = pd.read_csv(PAPER / "github-test.csv").head(120)
    src = tmp_path / "test.csv"
    test.to_csv(src, index=False)
    passes = gate.Gate(str(gate_dir)).passes(test["Text"].astype(str).str.strip().tolist())
    assert 0 < sum(passes) < len(passes)
    with FakeOpenAI(keyword_responder({}, default="Joy")) as server:
        args = ["--backend", "openai", "--model", "m", "--base-url", server.url, "--text-col", "Text",
                "--gate", gate_dir, "--cache", tmp_path / "c.sqlite"]
        dry = cli("classify", src, "--out", tmp_path / "o.csv", *args, "--dry-run")
        assert dry.code == 0 and "gated (not sent)" in dry.err
        r = cli("classify", src, "--out", tmp_path / "o.csv", *args)
        assert r.code == 0, r.err
        sent = {utterance(q["body"]["messages"][0]["content"]) for q in server.requests}
    out = pd.read_csv(tmp_path / "o.csv", keep_default_na=False)
    texts = test["Text"].astype(str).str.strip()
    assert sent == {t for t, p in zip(texts, passes) if p}
    gated = out["emotion_status"] == "gated"
    assert list(~gated) == passes
    assert (out.loc[gated, "emotion"] == "Neutral").all() and (out.loc[~gated, "emotion"] == "Joy").all()
    m = json.loads((tmp_path / "o.csv.manifest.json").read_text())
    assert m["counts"]["gated"] == len(passes) - sum(passes)
    assert m["counts"]["calls_saved_share"] == round((len(passes) - sum(passes)) / len(passes), 4)
    assert m["gate"]["threshold"] == json.loads((gate_dir / gate.GATE_FILE).read_text())["threshold"]
    assert m["outcome"]["of"] == sum(passes) and "gated (not sent)" in r.err


def test_gate_errors_are_one_line(gate_dir, tmp_path, cli):
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": ["a broken build"]}).to_csv(src, index=False)
    r = cli("classify", src, "--out", tmp_path / "o.csv", "--gate-threshold", "0.1")
    assert r.code == 2 and "--gate-threshold goes with --gate" in r.err
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "model.json").write_text((gate_dir / "model.json").read_text())
    r = cli("classify", src, "--out", tmp_path / "o.csv", "--gate", bare)
    assert r.code == 2 and "calibrate-gate" in r.err and r.err.strip().count("\n") == 0


def test_the_shipped_model_is_a_calibrated_gate(tmp_path, cli):
    """`--gate default`: the fine-tuned default, with the threshold from its own out-of-fold scores;
    a comment it scores clearly neutral is not sent, a clearly emotional one is."""
    texts = ["Bumped the version to 2.3.1 and updated the changelog.",
             "This is really annoying, the build breaks every single time and nobody cares!"]
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": texts}).to_csv(src, index=False)
    g = gate.Gate("default")
    try:
        assert g.threshold == gate.SHIPPED_CALIBRATION["threshold"]
        assert g.passes(texts) == [False, True]
    finally:
        g.close()
    with FakeOpenAI(keyword_responder({}, default="Anger")) as server:
        r = cli("classify", src, "--out", tmp_path / "o.csv", "--backend", "openai", "--model", "m",
                "--base-url", server.url, "--gate", "default", "--no-cache")
        assert r.code == 0, r.err
        sent = [utterance(q["body"]["messages"][0]["content"]) for q in server.requests]
    assert sent == [texts[1]]
    m = json.loads((tmp_path / "o.csv.manifest.json").read_text())
    assert m["gate"]["calibration"]["recall"] == 0.95 and m["counts"]["gated"] == 1
