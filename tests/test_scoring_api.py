"""The evaluation library: score_emotions / score_causes on DataFrames and files, and its documented examples."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from emocause.errors import UsageError
from emocause.evaluate import scoring
from tests.docs import run_blocks, section_blocks


def test_library_equals_the_cli_and_accepts_dataframes(cli, paper_dir):
    gold, pred = paper_dir / "github-test.csv", paper_dir / "github-test-granular-level-prompting.csv"
    from_files = scoring.score_emotions(gold, pred, pred_col="chatgpt-Pred-Actual", answers="all-levels",
                                        bootstrap=50, seed=3)
    frames = scoring.score_emotions(pd.read_csv(gold), pd.read_csv(pred), pred_col="chatgpt-Pred-Actual",
                                    answers="all-levels", bootstrap=50, seed=3)
    r = cli("evaluate", "emotions", "--gold", gold, "--pred", pred, "--pred-col", "chatgpt-Pred-Actual",
            "--answers", "all-levels", "--bootstrap", 50, "--seed", 3, "-f", "json")
    assert json.loads(r.out) == json.loads(from_files.render("json"))
    for key in ("per_label", "macro", "micro", "ci", "recall_ceiling", "answers", "mapping"):
        assert frames.report[key] == from_files.report[key], key
    assert frames.report["gold"]["path"] == "the gold table"
    assert from_files.manifest["gold"]["sha256"] and from_files.manifest["mapping"]["name"] == "default"
    assert from_files.manifest["answers"]["prompt"] == "all-levels"
    assert from_files.counts["answers"] == {"ok": 378, "off-list": 20, "unparsed": 2}
    assert "macro avg" in str(from_files)


def test_score_causes_as_a_function(paper_dir):
    s = scoring.score_causes(paper_dir / "manual_causes.csv", paper_dir / "causes.csv", pred_col="GPT-4",
                             mode="paper", bootstrap=0)
    assert s.kind == "causes" and s.report["bleu"]["2"] == pytest.approx(0.598, abs=0.003)
    assert s.manifest["parameters"]["bleu"] == "paper" and s.counts["rows"] == 450
    with pytest.raises(UsageError, match="--bleu must be one of"):
        scoring.score_causes(paper_dir / "manual_causes.csv", paper_dir / "causes.csv", mode="chars")


def test_the_documented_examples_run(tmp_path, monkeypatch, capsys):
    """The `python` blocks of this stage's section in docs/python-api.md, in one session."""
    import emocause

    for name in ("score_emotions", "score_causes"):
        if not hasattr(emocause, name):           # the lazy public API lives in emocause/__init__.py
            monkeypatch.setattr(emocause, name, getattr(scoring, name), raising=False)
    blocks = section_blocks("score_emotions and score_causes")
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    run_blocks(blocks)
    out = capsys.readouterr().out
    assert "{'ok': 3, 'off-list': 1, 'unparsed': 1}" in out and "| macro avg |" in out
    assert list(tmp_path.iterdir()) == []           # nothing written
