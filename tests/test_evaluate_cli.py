"""``emocause evaluate emotions|causes`` through the real CLI: label formats, joins, outputs, errors."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import precision_recall_fscore_support

from emocause.emotions.taxonomy import BASIC

SIX = ["Anger", "Love", "Fear", "Joy", "Sadness", "Surprise"]   # the GitHub file's column order


def write(path, rows, columns):
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


@pytest.fixture
def gold(tmp_path):
    """Six 0/1 columns, as in the GitHub data set; row 5 has two emotions, row 6 none."""
    rows = [
        ("1", "I hate this", 1, 0, 0, 0, 0, 0),
        ("2", "love it", 0, 1, 0, 0, 0, 0),
        ("3", "scary upgrade", 0, 0, 1, 0, 0, 0),
        ("4", "yay", 0, 0, 0, 1, 0, 0),
        ("5", "wow, lovely", 0, 1, 0, 0, 0, 1),
        ("6", "ok", 0, 0, 0, 0, 0, 0),
        ("7", "sad news", 0, 0, 0, 0, 1, 0),
        ("8", "grr", 1, 0, 0, 0, 0, 0),
    ]
    return write(tmp_path / "gold.csv", rows, ["id", "Text", *SIX])


PRED_LABELS = {"1": "Annoyance", "2": "Love", "3": "Neutral", "4": "gratitude", "5": "Surprise, Love",
               "6": "Hallucination", "7": "", "8": "Unparsed"}


def expected_matrices():
    """Gold and prediction matrices in BASIC order for the fixtures above."""
    g = {"1": {"Anger"}, "2": {"Love"}, "3": {"Fear"}, "4": {"Joy"}, "5": {"Love", "Surprise"}, "6": set(),
         "7": {"Sadness"}, "8": {"Anger"}}
    # "gratitude" is Love under the default mapping (the gold data's guide; issue 15 corrected Joy)
    p = {"1": {"Anger"}, "2": {"Love"}, "3": set(), "4": {"Love"}, "5": {"Love", "Surprise"}, "6": set(),
         "7": set(), "8": set()}
    ids = [str(i) for i in range(1, 9)]
    y = np.array([[e in g[i] for e in BASIC] for i in ids])
    q = np.array([[e in p[i] for e in BASIC] for i in ids])
    return y, q


def run_json(cli, *args):
    r = cli("evaluate", *args, "--format", "json")
    assert r.code == 0, r.err
    return json.loads(r.out), r


def check_against_sklearn(report, y, p):
    P, R, F, S = precision_recall_fscore_support(y, p, average=None, zero_division=0)
    for i, e in enumerate(BASIC):
        got = report["per_label"][e]
        assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((P[i], R[i], F[i]))
        assert got["support"] == S[i]
    mp, mr, mf, _ = precision_recall_fscore_support(y, p, average="macro", zero_division=0)
    assert report["macro"] == pytest.approx({"precision": mp, "recall": mr, "f1": mf})


def test_label_column_with_fine_grained_and_no_emotion_values(cli, gold, tmp_path):
    pred = write(tmp_path / "pred.csv", list(PRED_LABELS.items()), ["id", "emotion"])
    report, r = run_json(cli, "emotions", "--gold", gold, "--pred", pred, "--bootstrap", 0)
    assert report["n"] == 8 and report["labels"] == list(BASIC)
    assert report["gold"]["format"] == "binary" and report["pred"] == {
        "path": str(pred), "format": "labels", "column": "emotion"}
    assert "ci" not in report and r.err == ""
    y, p = expected_matrices()
    check_against_sklearn(report, y, p)
    assert report["per_label"]["Anger"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3),
                                            "support": 2}


def test_comma_separated_gold_and_binary_pred(cli, tmp_path):
    gold = write(tmp_path / "g.csv", [("a", "Joy, Love"), ("b", "neutral"), ("c", "Fear;Sadness")],
                 ["id", "labels"])
    pred = write(tmp_path / "p.csv", [("a", 1, 0, 0, 1, 0, 0), ("b", 0, 0, 0, 0, 0, 1), ("c", 0, 0, 1, 0, 0, 0)],
                 ["id", "Joy", "Anger", "Fear", "Love", "Sadness", "Surprise"])
    report, _ = run_json(cli, "emotions", "--gold", gold, "--pred", pred, "--bootstrap", 0)
    assert report["gold"]["format"] == "labels" and report["pred"]["format"] == "binary"
    assert report["per_label"]["Joy"]["f1"] == 1.0 and report["per_label"]["Love"]["f1"] == 1.0
    assert report["per_label"]["Surprise"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert report["per_label"]["Sadness"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert report["micro"]["precision"] == pytest.approx(3 / 4)


def test_binary_column_mapped_to_one_emotion(cli, tmp_path):
    """JIRA files: one `label` 0/1 column per emotion."""
    gold = write(tmp_path / "jira.csv", [("x", 1), ("y", 0), ("z", 1)], ["text", "label"])
    pred = write(tmp_path / "pred.csv", [("x", "anger"), ("y", "Joy"), ("z", "Neutral")], ["text", "emotion"])
    report, _ = run_json(cli, "emotions", "--gold", gold, "--gold-col", "label=Anger", "--pred", pred,
                         "--bootstrap", 0)
    assert report["labels"] == ["Anger"] and report["join"]["method"] == "position"
    assert report["per_label"]["Anger"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3),
                                            "support": 2}
    r = cli("evaluate", "emotions", "--gold", gold, "--gold-col", "label", "--pred", pred)
    assert r.code == 2 and "label=Anger" in r.err and r.err.count("\n") == 1


def test_pred_prefers_the_classify_emotion_column(cli, gold, tmp_path):
    """`emocause classify` keeps the input's gold columns; the `emotion` column is the prediction."""
    df = pd.read_csv(gold, dtype=str)
    df["emotion"] = df["id"].map(PRED_LABELS)
    df.to_csv(tmp_path / "classified.csv", index=False)
    report, _ = run_json(cli, "emotions", "--gold", gold, "--pred", tmp_path / "classified.csv",
                         "--bootstrap", 0)
    assert report["pred"]["column"] == "emotion"
    check_against_sklearn(report, *expected_matrices())
    same, _ = run_json(cli, "emotions", "--gold", gold, "--pred", tmp_path / "classified.csv",
                       "--pred-col", ",".join(SIX), "--bootstrap", 0)
    assert same["macro"]["f1"] == 1.0


def test_unknown_labels_are_reported(cli, gold, tmp_path):
    labels = dict(PRED_LABELS, **{"3": "banana", "6": "Yes"})
    pred = write(tmp_path / "pred.csv", list(labels.items()), ["id", "emotion"])
    report, r = run_json(cli, "emotions", "--gold", gold, "--pred", pred, "--bootstrap", 0)
    assert report["unrecognised"]["pred"] == {"banana": 1, "Yes": 1}
    assert "2 pred label(s) are not emotions" in r.err
    check_against_sklearn(report, *expected_matrices())


def test_id_join_with_missing_extra_and_duplicated_ids(cli, gold, tmp_path):
    rows = [(k, v) for k, v in PRED_LABELS.items() if k not in ("7", "8")]
    rows += [("2", "Anger"), ("99", "Joy"), ("", "Joy")]      # duplicate (ignored), extra, empty id
    pred = write(tmp_path / "pred.csv", rows, ["id", "emotion"])
    report, r = run_json(cli, "emotions", "--gold", gold, "--pred", pred, "--bootstrap", 0)
    j = report["join"]
    assert report["n"] == 6 and j["method"] == "id" and j["matched"] == 6
    assert j["missing_in_pred"] == {"count": 2, "ids": ["7", "8"]}
    assert j["not_in_gold"] == {"count": 1, "ids": ["99"]}
    assert j["duplicated_in_pred"] == {"count": 1, "ids": ["2"]}
    assert j["empty_ids"] == {"gold": 0, "pred": 1}
    assert "2 gold row(s) have no prediction" in r.err and "repeat in pred" in r.err
    y, p = expected_matrices()
    check_against_sklearn(report, y[:6], p[:6])          # the first "2" (Love) is used, not "Anger"
    # duplicated gold ids
    df = pd.read_csv(gold, dtype=str)
    pd.concat([df, df.iloc[[0]]]).to_csv(tmp_path / "gold_dup.csv", index=False)
    report, r = run_json(cli, "emotions", "--gold", tmp_path / "gold_dup.csv", "--pred", pred, "--bootstrap", 0)
    assert report["join"]["duplicated_in_gold"] == {"count": 1, "ids": ["1"]}


def test_ids_are_normalised_and_named_differently(cli, gold, tmp_path):
    pred = write(tmp_path / "pred.csv", [(f"{k}.0", v) for k, v in PRED_LABELS.items()], ["comment_id", "label"])
    report, _ = run_json(cli, "emotions", "--gold", gold, "--pred", pred, "--bootstrap", 0)
    assert report["join"]["gold_id"] == "id" and report["join"]["pred_id"] == "comment_id"
    assert report["n"] == 8


def test_positional_join_checks_counts(cli, tmp_path):
    gold = write(tmp_path / "g.csv", [("Joy",), ("Anger",)], ["emotion"])
    pred = write(tmp_path / "p.csv", [("Joy",), ("Sadness",)], ["emotion"])
    report, _ = run_json(cli, "emotions", "--gold", gold, "--pred", pred, "--bootstrap", 0)
    assert report["join"]["method"] == "position" and report["n"] == 2
    short = write(tmp_path / "short.csv", [("Joy",)], ["emotion"])
    r = cli("evaluate", "emotions", "--gold", gold, "--pred", short)
    assert r.code == 2 and "row counts differ (2 gold vs 1 pred)" in r.err and r.err.count("\n") == 1


def test_no_common_id_is_an_error(cli, gold, tmp_path):
    pred = write(tmp_path / "p.csv", [("a", "Joy")], ["id", "emotion"])
    r = cli("evaluate", "emotions", "--gold", gold, "--pred", pred)
    assert r.code == 2 and "no id of" in r.err and r.err.count("\n") == 1


def test_bootstrap_is_seeded_through_the_cli(cli, gold, tmp_path):
    pred = write(tmp_path / "pred.csv", list(PRED_LABELS.items()), ["id", "emotion"])
    args = ("emotions", "--gold", gold, "--pred", pred, "--bootstrap", 50)
    a, _ = run_json(cli, *args, "--seed", 1)
    b, _ = run_json(cli, *args, "--seed", 1)
    c, _ = run_json(cli, *args, "--seed", 2)
    assert a["ci"] == b["ci"] and a["ci"] != c["ci"]
    assert a["bootstrap"] == {"resamples": 50, "seed": 1, "level": 0.95, "method": "percentile"}
    lo, hi = a["ci"]["macro"]["f1"]
    assert lo <= a["macro"]["f1"] <= hi


def test_compare_is_a_paired_test(cli, gold, tmp_path):
    pred = write(tmp_path / "pred.csv", list(PRED_LABELS.items()), ["id", "emotion"])
    report, _ = run_json(cli, "emotions", "--gold", gold, "--pred", pred, "--compare", pred, "--bootstrap", 30)
    c = report["compare"]
    assert c["diff"] == 0.0 and c["p_value"] == 1.0 and c["n"] == 8 and c["resamples"] == 30
    report, _ = run_json(cli, "emotions", "--gold", gold, "--pred", pred, "--compare", gold,
                         "--compare-col", ",".join(SIX), "--bootstrap", 30)
    assert report["compare"]["b"] == 1.0 and report["compare"]["diff"] == pytest.approx(1.0 - report["macro"]["f1"])


def test_formats(cli, gold, tmp_path):
    pred = write(tmp_path / "pred.csv", list(PRED_LABELS.items()), ["id", "emotion"])
    base = ("evaluate", "emotions", "--gold", gold, "--pred", pred, "--bootstrap", 20)
    table = cli(*base)
    assert table.code == 0 and "macro avg" in table.out and "Anger" in table.out and "[" in table.out
    md = cli(*base, "--format", "markdown")
    assert md.code == 0 and "| label | precision | recall | F1 | support |" in md.out
    rows = list(csv.DictReader(io.StringIO(cli(*base, "-f", "csv").out)))
    f1 = {r["label"]: r for r in rows if r["section"] == "per_label" and r["metric"] == "f1"}
    assert set(f1) == set(BASIC)
    report, _ = run_json(cli, "emotions", "--gold", gold, "--pred", pred, "--bootstrap", 20)
    assert float(f1["Anger"]["value"]) == pytest.approx(report["per_label"]["Anger"]["f1"])
    assert float(f1["Anger"]["ci_low"]) == pytest.approx(report["ci"]["per_label"]["Anger"]["f1"][0])
    bad = cli(*base, "--format", "xml")
    assert bad.code == 2 and "--format must be one of" in bad.err


@pytest.mark.parametrize("case", ["missing_col", "empty_file", "header_only", "no_file", "not_binary"])
def test_bad_inputs_give_one_line_and_exit_2(cli, gold, tmp_path, case):
    pred = tmp_path / "pred.csv"
    args = ["evaluate", "emotions", "--gold", gold, "--pred", pred]
    if case == "missing_col":
        write(pred, list(PRED_LABELS.items()), ["id", "emotion"])
        args += ["--pred-col", "nope"]
    elif case == "empty_file":
        pred.write_text("")
    elif case == "header_only":
        pred.write_text("id,emotion\n")
    elif case == "not_binary":
        write(pred, list(PRED_LABELS.items()), ["id", "emotion"])
        args += ["--pred-col", "Anger=Anger"]
        write(pred, [("1", "2")], ["id", "Anger"])
    r = cli(*args)
    assert r.code == 2, r.err
    assert r.err.startswith("error: ") and r.err.count("\n") == 1 and "Traceback" not in r.err
    if case == "missing_col":
        assert "'nope'" in r.err and "columns are: id, emotion" in r.err


# ---------------------------------------------------------------- causes

def test_causes_paper_mode_reproduces_0598(cli, paper_dir):
    report, r = run_json(cli, "causes", "--gold", paper_dir / "manual_causes.csv", "--pred",
                         paper_dir / "causes.csv", "--pred-col", "GPT-4", "--bleu", "paper", "--bootstrap", 50)
    assert report["n"] == 450 and report["mode"] == "paper"
    assert report["bleu"]["2"] == pytest.approx(0.598, abs=0.003)
    assert set(report["bleu"]) == {"1", "2", "3", "4"} and report["corpus_bleu"] is None
    lo, hi = report["ci"]["bleu"]["2"]
    assert lo < 0.598 < hi
    assert report["text"] == {"column": "modified_comment", "from": "pred"}
    assert report["grounded"]["share"] > 0.95
    assert report["span_words"]["pred"] == pytest.approx(8.84, abs=0.01)
    assert r.err == ""


def test_causes_word_mode_prints_the_sacrebleu_signature(cli, paper_dir):
    r = cli("evaluate", "causes", "--gold", paper_dir / "manual_causes.csv", "--pred", paper_dir / "causes.csv",
            "--pred-col", "GPT-4", "--bootstrap", 0)
    assert r.code == 0, r.err
    assert "nrefs:1|case:mixed|eff:yes|tok:13a|smooth:exp|version:" in r.out
    assert "BLEU-2 (corpus)" in r.out and "BLEU-2 (row average)" in r.out


def test_causes_from_an_emocause_causes_output(cli, tmp_path):
    gold = write(tmp_path / "gold.csv", [("1", "the build fails on CI", "build fails"),
                                         ("2", "thanks for the fix", "thanks for the fix")],
                 ["id", "modified_comment", "Cause Span"])
    pred = write(tmp_path / "out.csv", [("2", "thanks for the fix", "thanks for the fix"),
                                              ("1", "the build fails on CI", "The build fails")],
                 ["id", "text", "cause"])
    report, _ = run_json(cli, "causes", "--gold", gold, "--pred", pred, "--bootstrap", 0)
    assert report["pred"]["column"] == "cause" and report["text"] == {"column": "text", "from": "pred"}
    assert report["exact_match"] == 1.0 and report["token_f1"] == 1.0
    assert report["grounded"]["share"] == 1.0
    rows = list(csv.DictReader(io.StringIO(cli("evaluate", "causes", "--gold", gold, "--pred", pred,
                                               "--bootstrap", 0, "-f", "csv").out)))
    assert {r["metric"] for r in rows} >= {"bleu1", "bleu4", "token_f1", "exact_match", "mean_words"}
    md = cli("evaluate", "causes", "--gold", gold, "--pred", pred, "--bootstrap", 0, "-f", "markdown")
    assert "| BLEU-2 (row average) |" in md.out


def test_causes_without_text_column_warns(cli, tmp_path):
    gold = write(tmp_path / "gold.csv", [("1", "build fails")], ["id", "Cause Span"])
    pred = write(tmp_path / "pred.csv", [("1", "build fails")], ["id", "cause"])
    report, r = run_json(cli, "causes", "--gold", gold, "--pred", pred, "--bootstrap", 0)
    assert report["grounded"] is None and "grounded share not computed" in r.err


def test_causes_bad_inputs(cli, paper_dir, tmp_path):
    gold, pred = paper_dir / "manual_causes.csv", paper_dir / "causes.csv"
    r = cli("evaluate", "causes", "--gold", gold, "--pred", pred)            # causes.csv has no `cause` column
    assert r.code == 2 and "pass --pred-col" in r.err and "GPT-4" in r.err and r.err.count("\n") == 1
    r = cli("evaluate", "causes", "--gold", gold, "--pred", pred, "--pred-col", "GPT-5")
    assert r.code == 2 and "'GPT-5'" in r.err
    r = cli("evaluate", "causes", "--gold", gold, "--pred", pred, "--pred-col", "GPT-4", "--bleu", "chars")
    assert r.code == 2 and "--bleu must be one of word, paper" in r.err
    r = cli("evaluate", "causes", "--gold", gold, "--pred", pred, "--pred-col", "GPT-4", "--gold-col", "Span")
    assert r.code == 2 and "'Span'" in r.err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    r = cli("evaluate", "causes", "--gold", empty, "--pred", pred, "--pred-col", "GPT-4")
    assert r.code == 2 and "empty" in r.err and r.err.count("\n") == 1


def test_paper_emotion_outputs(cli, paper_dir):
    """GPT-4's mapped labels on the GitHub test set, joined on id with the gold file."""
    report, _ = run_json(cli, "emotions", "--gold", paper_dir / "github-test.csv", "--pred",
                         paper_dir / "github-test-granular-level-prompting.csv", "--pred-col", "GPT-4-mapped",
                         "--bootstrap", 0)
    assert report["n"] == 400 and report["join"]["matched"] == 400
    assert report["per_label"]["Surprise"]["support"] == 65
    assert 0.3 < report["macro"]["f1"] < 0.6
    assert report["unrecognised"]["pred"] == {}


# ---------------------------------------------------------------- recall ceiling, raw answers, bounds

def test_recall_ceiling_is_printed_and_correct(cli, gold, tmp_path):
    pred = write(tmp_path / "pred.csv", list(PRED_LABELS.items()), ["id", "emotion"])
    report, _ = run_json(cli, "emotions", "--gold", gold, "--pred", pred, "--bootstrap", 0)
    # 8 gold positives on 7 rows with an emotion; row 5 (Love, Surprise) best gives Surprise (support 1)
    assert report["recall_ceiling"] == {"micro": 7 / 8, "macro": pytest.approx(5.5 / 6), "positives": 8,
                                        "reachable": 7, "multi_label_rows": 1, "no_support": []}
    table = cli("evaluate", "emotions", "--gold", gold, "--pred", pred, "--bootstrap", 0)
    assert "recall ceiling for one label per row: micro 0.875, macro 0.917" in table.out


def test_recall_ceiling_equals_the_best_one_label_assignment_by_brute_force():
    import itertools

    from sklearn.metrics import recall_score

    from emocause.evaluate.scoring import recall_ceiling

    rng = np.random.default_rng(4)
    y = rng.random((30, 6)) < 0.25
    y[:, 5] = False                                   # an emotion nobody has: recall 0 by definition
    choices = [np.flatnonzero(row) for row in y]
    multi = [i for i, c in enumerate(choices) if len(c) > 1]
    assert 2 <= len(multi) <= 12
    best_macro = best_micro = 0.0
    for combo in itertools.product(*(choices[i] for i in multi)):
        p = np.zeros_like(y)
        for i, c in enumerate(choices):
            if len(c) == 1:
                p[i, c[0]] = True
        for i, e in zip(multi, combo):
            p[i, e] = True
        best_macro = max(best_macro, recall_score(y, p, average="macro", zero_division=0))
        best_micro = max(best_micro, recall_score(y, p, average="micro", zero_division=0))
    got = recall_ceiling(y)
    assert got["macro"] == pytest.approx(best_macro) and got["micro"] == pytest.approx(best_micro)


@pytest.mark.parametrize("args,message", [
    (("--bootstrap", "1000000000"), "--bootstrap must be between 0 and 100,000"),
    (("--bootstrap", "-1"), "--bootstrap must be between 0 and 100,000"),
    (("--mapping", "ekman"), "unknown mapping 'ekman'; use one of default, paper, goemotions-ekman"),
    (("--answers", "cause", "--pred-col", "emotion"), "--answers cause: a span prompt"),
    (("--answers", "all-levels", "--pred-col", "Anger=Anger"), "--answers needs one column of raw answers"),
])
def test_bad_evaluate_options_are_one_line(cli, gold, tmp_path, args, message):
    pred = write(tmp_path / "pred.csv", [(k, v, 0) for k, v in PRED_LABELS.items()], ["id", "emotion", "Anger"])
    r = cli("evaluate", "emotions", "--gold", gold, "--pred", pred, *args)
    assert r.code == 2 and message in r.err and r.err.count("\n") == 1, r.err


def test_causes_bootstrap_is_bounded(cli, tmp_path):
    gold = write(tmp_path / "gold.csv", [("1", "build fails")], ["id", "Cause Span"])
    pred = write(tmp_path / "pred.csv", [("1", "build fails")], ["id", "cause"])
    r = cli("evaluate", "causes", "--gold", gold, "--pred", pred, "--bootstrap", 10 ** 9)
    assert r.code == 2 and "--bootstrap must be between 0 and 100,000" in r.err and r.err.count("\n") == 1


def test_raw_answers_column_with_answers_option(cli, gold, tmp_path):
    raw = {"1": "Annoyed.", "2": "Affection", "3": "Worry", "4": "Grateful", "5": "Surprise",
           "6": "Appreciation", "7": "Yes", "8": "Emotion: Fury"}
    pred = write(tmp_path / "pred.csv", list(raw.items()), ["id", "answer"])
    report, r = run_json(cli, "emotions", "--gold", gold, "--pred", pred, "--pred-col", "answer",
                         "--answers", "secondary", "--bootstrap", 0)
    a = report["answers"]
    assert a["prompt"] == "secondary" and a["labels"] == 35
    # Annoyed (Annoyance), Worry, Fury are not on the secondary list but are known: mapped, marked
    assert a["off_list"] == {"Annoyance": 1, "Worry": 1, "Fury": 1} and a["unparsed"] == {
        "Appreciation": 1, "Yes": 1}
    assert a["statuses"] == {"ok": 3, "off-list": 3, "unparsed": 2}
    assert "3 answer(s) name a known emotion the secondary prompt does not list" in r.err
    ids = [str(i) for i in range(1, 9)]
    expected = {"1": "Anger", "2": "Love", "3": "Fear", "4": "Love", "5": "Surprise", "8": "Anger"}
    g, _ = expected_matrices()
    p = np.array([[expected.get(i) == e for e in BASIC] for i in ids])
    check_against_sklearn(report, g, p)
    paper, _ = run_json(cli, "emotions", "--gold", gold, "--pred", pred, "--pred-col", "answer",
                        "--answers", "secondary", "--mapping", "paper", "--bootstrap", 0)
    assert paper["answers"]["unparsed"] == {"Appreciation": 1, "Yes": 1, "Worry": 1}
    assert paper["mapping"]["name"] == "paper"
